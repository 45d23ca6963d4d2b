"""The OpenAPI schema tells the truth about error bodies: every operation declares the 4xx it can answer."""
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorOutputSerializer(serializers.Serializer):
    """A refusal: ``detail`` says why, in the reader's language."""

    detail = serializers.CharField()


class BadRequestOutputSerializer(serializers.Serializer):
    """Bad input: ``detail`` says why, or each wrong field (query parameter or body) lists its messages."""

    detail = serializers.CharField(required=False)


ERRORS = {
    "400": OpenApiResponse(BadRequestOutputSerializer, description="The request's parameters or body are not valid."),
    "401": OpenApiResponse(
        ErrorOutputSerializer,
        description="The token is unknown, revoked (logged out, password changed) or expired: ask for a new one. "
        "Sent with WWW-Authenticate: Token.",
    ),
    "403": OpenApiResponse(ErrorOutputSerializer, description="Not signed in, or your role may not do this."),
    "404": OpenApiResponse(ErrorOutputSerializer, description="It does not exist, or you may not see it."),
    "409": OpenApiResponse(ErrorOutputSerializer, description="Not possible in the current state (e.g. no model yet)."),
    "429": OpenApiResponse(ErrorOutputSerializer, description="Too many attempts: wait and try again."),
}
# Any input may be refused, any token may have been revoked, any caller may lack the right, any path may be unknown.
ALWAYS = ("400", "401", "403", "404")


class RiimAutoSchema(AutoSchema):
    """Add the error responses every API view can give to what the view declares for success."""

    def _get_response_bodies(self, direction="response"):
        bodies = super()._get_response_bodies(direction)
        codes = list(ALWAYS)
        if self.method != "GET":  # a write may clash with the current state (a run already going, no model yet)
            codes.append("409")
        if self.view.get_throttles():
            codes.append("429")
        for code in codes:
            if code not in bodies:
                bodies[code] = self._get_response_for_code(ERRORS[code], code, direction=direction)
        return bodies


def error_responses(*codes: int) -> dict:
    """The error responses an endpoint declares beyond the ones every endpoint has (e.g. 409)."""
    return {code: ERRORS[str(code)] for code in codes}

"""DRF exception handler that renders ApplicationError as a 4xx with its message."""
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from apps.common.exceptions import ApplicationError, NotFoundError


def exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        return Response({"detail": str(exc.message), **exc.extra}, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.messages)
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    return drf_exception_handler(exc, context)


NO_SUCH_ENDPOINT = _("There is no such address in the API.")


class ApiNotFoundApi(APIView):
    """Answer any address under the API that no endpoint matches with a JSON 404, like every other API error.

    Without it Django's HTML 404 page would answer clients that only read JSON.
    """

    authentication_classes = []  # nothing here to protect: the same 404 for everyone
    permission_classes = []
    schema = None  # not an operation of the API

    def http_method_not_allowed(self, request, *args, **kwargs):
        raise NotFoundError(NO_SUCH_ENDPOINT)

    options = http_method_not_allowed

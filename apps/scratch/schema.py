"""The Scratch key in the OpenAPI schema: an HTTP Bearer scheme of its own, separate from the API tokens."""
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ScratchKeyScheme(OpenApiAuthenticationExtension):
    target_class = "apps.scratch.authentication.ScratchKeyAuthentication"
    name = "scratchKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer",
                "description": "A student's Scratch key for one project (POST /api/v1/projects/{slug}/scratch-key/)."}

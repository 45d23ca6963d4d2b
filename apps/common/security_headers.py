"""Permissions-Policy: browser features (camera, microphone, location...) denied unless a view asks.

The Content-Security-Policy itself is django-csp's (settings.CONTENT_SECURITY_POLICY); this module
adds the header django-csp does not write. Every response denies every feature in
settings.RIIM_PERMISSIONS_POLICY; a page that needs one of them opts in with a decorator:

    from apps.common.security_headers import permissions_policy

    @permissions_policy(camera="self")
    def webcam_page(request): ...

or, for a class-based view, ``permissions_policy(camera="self")(MyView.as_view())`` in urls.py.
"""
from functools import wraps

RESPONSE_ATTRIBUTE = "riim_permissions_policy"


def permissions_policy_header(policy: dict[str, str]) -> str:
    """Return the header value for {feature: allowlist}: "" denies (``camera=()``), "self" allows this site."""
    parts = []
    for feature, allowlist in policy.items():
        parts.append(f"{feature}=({allowlist})" if allowlist else f"{feature}=()")
    return ", ".join(parts)


def permissions_policy(**features: str):
    """Allow features on one view's responses: ``@permissions_policy(camera="self")``."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            response = view(request, *args, **kwargs)
            setattr(response, RESPONSE_ATTRIBUTE, {**getattr(response, RESPONSE_ATTRIBUTE, {}), **features})
            return response

        return wrapped

    return decorator


class PermissionsPolicyMiddleware:
    """Write Permissions-Policy on every response: the settings' denials plus the view's own grants."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings

        response = self.get_response(request)
        policy = {**settings.RIIM_PERMISSIONS_POLICY, **getattr(response, RESPONSE_ATTRIBUTE, {})}
        response.headers.setdefault("Permissions-Policy", permissions_policy_header(policy))
        return response

"""Request rates per user (per typed username for the token endpoint), read from settings at run time.

DRF binds ``DEFAULT_THROTTLE_RATES`` when it is imported; these read ``RIIM_THROTTLE_RATES`` on each
request, so each deployment (and a test) sets its own. Exceeding a rate is a 429 with ``Retry-After``.
Form views (the join page) use the same throttles through ``throttle_wait``.
"""
import math

from django.conf import settings
from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle

from apps.accounts.lockout import client_address


class SettingsRateMixin:
    def get_rate(self):
        return settings.RIIM_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view):
        # The rate is looked up now, not when the throttle was built by DRF's __init__.
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)


class UserScopedRateThrottle(SettingsRateMixin, ScopedRateThrottle):
    """The view's ``throttle_scope`` rate per user, on writes only: reading a list is never throttled."""

    def __init__(self):
        pass  # the scope is known only from the view, the rate only at request time

    def allow_request(self, request, view):
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope or request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        ident = request.user.pk if request.user and request.user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class TokenObtainThrottle(SettingsRateMixin, SimpleRateThrottle):
    """Token requests per typed username and address: one classroom address is shared by every student."""

    scope = "auth_token"

    def __init__(self):
        pass

    def get_cache_key(self, request, view):
        username = str(request.data.get("username", "") if hasattr(request.data, "get") else "").strip().lower()
        return self.cache_format % {"scope": self.scope, "ident": f"{username}|{client_address(request)}"}


class JoinCodeUserThrottle(SettingsRateMixin, SimpleRateThrottle):
    """Join-code attempts per signed-in user: nobody finds a class's code by trying codes one after another."""

    scope = "join_code"

    def __init__(self):
        pass

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class JoinCodeAddressThrottle(SettingsRateMixin, SimpleRateThrottle):
    """Join-code attempts per address, wide enough for a class joining at once behind one school address,
    so that many accounts together cannot try without end either."""

    scope = "join_code_address"

    def __init__(self):
        pass

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": client_address(request)}


def throttle_wait(request, throttles, view=None) -> int:
    """Return the seconds to wait before every throttle allows the request (0: allowed, and counted by each)."""
    waits = [throttle.wait() for throttle in throttles if not throttle.allow_request(request, view)]
    if not waits:
        return 0
    return max(1, math.ceil(max((wait for wait in waits if wait is not None), default=1)))

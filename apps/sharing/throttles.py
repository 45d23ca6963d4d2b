"""The public model link's rate: requests per address, since a link has no user to count."""
from rest_framework.throttling import SimpleRateThrottle

from apps.accounts.lockout import client_address
from apps.accounts.throttles import SettingsRateMixin


class ModelLinkAddressThrottle(SettingsRateMixin, SimpleRateThrottle):
    """Model file requests per address, wide enough for a whole class behind one school address."""

    scope = "model_link"

    def __init__(self):
        pass  # the rate is read at request time (SettingsRateMixin)

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": client_address(request)}

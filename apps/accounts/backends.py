"""Django's model backend, refusing a locked username before any password is checked."""
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from apps.accounts.lockout import client_address, login_lockout_seconds


class LoginLockoutBackend(ModelBackend):
    """The one authentication backend: a locked name is refused on every login path (form, admin, token)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is not None and username and login_lockout_seconds(username=username, address=client_address(request)):
            request.riim_login_locked = True
            raise PermissionDenied  # Django stops here: no password is checked
        return super().authenticate(request, username=username, password=password, **kwargs)

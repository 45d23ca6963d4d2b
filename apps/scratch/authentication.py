"""``Authorization: Bearer <Scratch key>`` for the few endpoints RIIM's Scratch blocks call."""
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from apps.scratch.keys import scratch_key_hash
from apps.scratch.models import ScratchKey

KEY_MISSING = _("This needs your Scratch key. Make one on the project's page in RIIM; Scratch asks for it once.")
KEY_UNKNOWN = _("This Scratch key does not exist. Make one on the project's page in RIIM and paste it again.")
KEY_REVOKED = _("This Scratch key no longer works: it was withdrawn, or your password changed. Make a new one on "
                "the project's page in RIIM.")
KEY_EXPIRED = _("This Scratch key has expired. Make a new one on the project's page in RIIM.")


class ScratchKeyAuthentication(BaseAuthentication):
    """Authenticate as the key's student; ``request.auth`` is the ``ScratchKey`` (and so its one project)."""

    keyword = "Bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].decode(errors="replace") != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(KEY_UNKNOWN)
        key = parts[1].decode(errors="replace")
        row = ScratchKey.objects.select_related("user", "project").filter(key_hash=scratch_key_hash(key)).first()
        if row is None or not row.user.is_active:
            raise exceptions.AuthenticationFailed(KEY_UNKNOWN)
        if row.revoked_at is not None:
            raise exceptions.AuthenticationFailed(KEY_REVOKED)
        if row.expires_at <= timezone.now():
            raise exceptions.AuthenticationFailed(KEY_EXPIRED)
        return row.user, row

    def authenticate_header(self, request):
        return self.keyword  # so a missing or refused key is a 401, not a 403

"""Writes on accounts: revoking API tokens."""
from rest_framework.authtoken.models import Token


def user_tokens_revoke(*, user) -> int:
    """Delete every API token of the user and return how many; the next login issues a new key.

    ``User.save`` calls it whenever a new password is saved (changed on the web, reset, set in the admin
    or by ``manage.py changepassword``, reset by the class's teacher): a key handed out under the old
    password must not outlive it. Any other kind of key that acts for the account belongs here too, so
    that every new password ends it.
    """
    from apps.scratch.services import scratch_keys_revoke_for_user

    deleted, _per_model = Token.objects.filter(user=user).delete()
    scratch_keys_revoke_for_user(user=user)  # the keys RIIM's Scratch blocks send
    return deleted

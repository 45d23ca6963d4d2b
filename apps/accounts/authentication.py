"""API token authentication whose lookup is one hand-written query: every API request pays for it."""
from rest_framework import authentication
from rest_framework.authtoken.models import Token

from apps.accounts.models import User


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's ``Authorization: Token <key>``, reading the token's user in one query without the ORM's compilation.

    An unknown key or an inactive user falls through to DRF's own check, which answers with its usual 401.
    """

    def authenticate_credentials(self, key):
        sql = (
            f"SELECT u.* FROM {User._meta.db_table} u "
            f"JOIN {Token._meta.db_table} t ON t.user_id = u.{User._meta.pk.column} WHERE t.key = %s"
        )
        user = next(iter(User.objects.raw(sql, [key])), None)
        if user is None or not user.is_active:
            return super().authenticate_credentials(key)
        return user, Token(key=key, user=user)

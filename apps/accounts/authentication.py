"""API token authentication whose lookup is one hand-written query: every API request pays for it."""
from functools import cache

from rest_framework import authentication
from rest_framework.authtoken.models import Token

from apps.accounts.models import User
from apps.common.rows import RowReader


@cache
def _token_user():
    """(reader, SQL) of the token's user: its plain columns (dates are read only if used)."""
    reader = RowReader(User, "u")
    sql = (
        f"SELECT {reader.columns} FROM {User._meta.db_table} u "
        f"JOIN {Token._meta.db_table} t ON t.user_id = u.{User._meta.pk.column} WHERE t.key = %s"
    )
    return reader, sql


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's ``Authorization: Token <key>``, reading the token's user in one query without the ORM's compilation.

    An unknown key or an inactive user falls through to DRF's own check, which answers with its usual 401.
    """

    def authenticate_credentials(self, key):
        reader, sql = _token_user()
        found = reader.fetch_one(sql, [key])
        user = found[0] if found else None
        if user is None or not user.is_active:
            return super().authenticate_credentials(key)
        return user, Token(key=key, user=user)

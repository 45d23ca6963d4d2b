"""API token authentication whose lookup is one hand-written query: every API request pays for it.

Tokens expire ``RIIM_TOKEN_MAX_AGE`` seconds after they were issued; ``POST /api/v1/auth/logout/``
revokes one earlier, and a new password revokes all of the user's (``apps.accounts.services``).
"""
from datetime import timedelta
from functools import cache

from django.conf import settings
from django.db import connections
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from apps.accounts.models import User
from apps.common.rows import RowReader

TOKEN_EXPIRED = _("The token has expired: ask for a new one.")


class TokenRefused(exceptions.APIException):
    """401 with a Token challenge for a key that no longer authenticates (unknown, revoked, or its user inactive).

    DRF turns AuthenticationFailed into 403 when the session authenticator comes first, which a client
    cannot tell from "not allowed"; a refused token is a plain case of "authenticate again".
    """

    status_code = 401
    default_code = "token_invalid"
    auth_header = "Token"  # sent as WWW-Authenticate by DRF's exception handler


class TokenExpired(TokenRefused):
    default_detail = TOKEN_EXPIRED
    default_code = "token_expired"


@cache
def _token_user():
    """(reader, SQL) of the token's user: its plain columns (dates are read only if used), then whether the token is fresh."""
    reader = RowReader(User, "u")
    sql = (
        f"SELECT {reader.columns}, t.created >= %s FROM {User._meta.db_table} u "
        f"JOIN {Token._meta.db_table} t ON t.user_id = u.{User._meta.pk.column} WHERE t.key = %s"
    )
    return reader, sql


def token_is_expired(token: Token) -> bool:
    return token.created < timezone.now() - timedelta(seconds=settings.RIIM_TOKEN_MAX_AGE)


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's ``Authorization: Token <key>``, reading the token's user in one query without the ORM's compilation.

    An unknown (or revoked) key or an inactive user falls through to DRF's own check, whose message is
    kept in a 401; an expired token is a 401 that says so.
    """

    def authenticate_credentials(self, key):
        reader, sql = _token_user()
        cutoff = timezone.now() - timedelta(seconds=settings.RIIM_TOKEN_MAX_AGE)
        ops = connections[User.objects.db].ops
        found = reader.fetch_one(sql, [ops.adapt_datetimefield_value(cutoff), key])
        user, fresh = (found[0], bool(found[1][0])) if found else (None, False)
        if user is None or not user.is_active:
            try:
                return super().authenticate_credentials(key)
            except exceptions.AuthenticationFailed as exc:
                raise TokenRefused(exc.detail, exc.detail.code) from None
        if not fresh:
            raise TokenExpired
        return user, Token(key=key, user=user)

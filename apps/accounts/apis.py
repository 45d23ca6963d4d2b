from django.contrib.auth import logout
from django.db import transaction
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.authentication import token_is_expired
from apps.accounts.lockout import client_address, login_failures_clear, login_locked_message, login_lockout_seconds
from apps.accounts.throttles import TokenObtainThrottle


class TokenObtainApi(ObtainAuthToken):
    """POST {username, password} → {token}. A username locked by failed logins gets 429 with Retry-After."""

    throttle_classes = [TokenObtainThrottle]

    @extend_schema(
        request=inline_serializer("TokenRequest", {"username": serializers.CharField(), "password": serializers.CharField()}),
        responses=inline_serializer("TokenResponse", {"token": serializers.CharField()}),
    )
    def post(self, request, *args, **kwargs):
        username = request.data.get("username", "") if hasattr(request.data, "get") else ""
        locked = login_lockout_seconds(username=username, address=client_address(request))
        if locked:
            raise exceptions.Throttled(wait=locked, detail=login_locked_message(locked))
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        login_failures_clear(username=user.get_username())
        with transaction.atomic():
            token, _created = Token.objects.select_for_update().get_or_create(user=user)
            if token_is_expired(token):  # an expired token is replaced, never handed out again
                token.delete()
                token = Token.objects.create(user=user)
        return Response({"token": token.key})


class TokenLogoutApi(APIView):
    """Revoke the token the request was made with (and end the session, if any)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        if isinstance(request.auth, Token):
            Token.objects.filter(key=request.auth.key).delete()
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)

from rest_framework import exceptions
from rest_framework.permissions import BasePermission

from apps.scratch.authentication import KEY_MISSING
from apps.scratch.models import ScratchKey


class HasScratchKey(BasePermission):
    """Only a request that came with a Scratch key: a session or an API token is none (401)."""

    def has_permission(self, request, view):
        if isinstance(request.auth, ScratchKey):
            return True
        raise exceptions.NotAuthenticated(KEY_MISSING)

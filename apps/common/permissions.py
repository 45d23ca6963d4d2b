from rest_framework.permissions import BasePermission


class IsAuthenticatedReadOrContributor(BasePermission):
    """Graders (role) may only read; everything else is checked per project by the services."""

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        return not request.user.is_grader or request.user.is_superuser

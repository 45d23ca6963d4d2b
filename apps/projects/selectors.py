from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from apps.common.exceptions import NotFoundError
from apps.projects.models import Project

PROJECT_NOT_FOUND = _("The project does not exist or you are not a member of it.")


def project_list(*, user) -> QuerySet[Project]:
    """Return the projects the user may see (all of them for staff)."""
    qs = Project.objects.select_related("owner")
    if user.is_superuser:  # platform administrators; teachers may be is_staff to use the admin
        return qs
    return qs.filter(Q(owner=user) | Q(memberships__user=user)).distinct()


def project_get(*, user, slug) -> Project:
    """Return one visible project by slug, or raise NotFoundError (never reveal others' projects)."""
    project = project_list(user=user).filter(slug=slug).first()
    if project is None:
        raise NotFoundError(PROJECT_NOT_FOUND)
    return project

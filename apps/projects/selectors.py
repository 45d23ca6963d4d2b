from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery, Value
from django.utils.translation import gettext_lazy as _

from apps.common.exceptions import NotFoundError
from apps.projects.models import Invitation, Membership, Project

PROJECT_NOT_FOUND = _("The project does not exist or you are not a member of it.")


def project_list(*, user) -> QuerySet[Project]:
    """Return the projects the user may see (all of them for staff)."""
    qs = Project.objects.select_related("owner")
    if user.is_superuser:  # platform administrators; teachers may be is_staff to use the admin
        return qs
    return qs.filter(Q(owner=user) | Q(memberships__user=user)).distinct()


def project_list_with_roles(*, user) -> QuerySet[Project]:
    """The visible projects, each carrying the user's membership role, for pages that show or filter by it.

    ``project_role`` reads the annotation, so listing N projects with their roles costs one query, not N.
    """
    qs = Project.objects.select_related("owner").annotate(
        viewer_id=Value(user.pk),
        viewer_role=Subquery(Membership.objects.filter(project=OuterRef("pk"), user=user.pk).values("role")[:1]),
    )
    if user.is_superuser:
        return qs
    # No join on memberships: one row per project, so aggregates over other relations count right.
    return qs.filter(Q(owner=user) | Q(viewer_role__isnull=False))


def project_get(*, user, slug) -> Project:
    """Return one visible project by slug, or raise NotFoundError (never reveal others' projects)."""
    project = project_list(user=user).filter(slug=slug).first()
    if project is None:
        raise NotFoundError(PROJECT_NOT_FOUND)
    return project


def invitation_list_pending(*, user) -> QuerySet[Invitation]:
    """Return the invitations addressed to the user's username for projects they are not in yet."""
    return (
        Invitation.objects.filter(username=user.get_username())
        .exclude(project__memberships__user=user)
        .select_related("project", "invited_by")
    )


def password_resettable_usernames(*, project, usernames=None) -> set[str]:
    """Return the usernames of the project's students whose password its teacher may reset.

    Accounts are global, so an account qualifies only if it is a student everywhere: a student member
    here, never staff, not in the teacher or grader group, owner of no project and no teacher or grader
    of any other class. ``usernames`` narrows the answer to those names.
    """
    from apps.accounts import roles

    members = Membership.objects.filter(project=project, role=Membership.Role.STUDENT)
    if usernames is not None:
        members = members.filter(user__username__in=list(usernames))
    elsewhere = Membership.objects.filter(user=OuterRef("user")).exclude(role=Membership.Role.STUDENT)
    return set(
        members.exclude(Q(user__is_staff=True) | Q(user__is_superuser=True))
        .exclude(user__groups__name__in=[roles.TEACHER, roles.GRADER])
        .exclude(user__owned_projects__isnull=False)
        .exclude(Exists(elsewhere))
        .values_list("user__username", flat=True)
    )

"""Who may do what in a project: the one place the permission rules live."""
from apps.projects.models import Membership, Project

UNREAD = object()  # the caller has not read the user's membership row
CONTRIBUTOR_ROLES = ("staff", Membership.Role.TEACHER, Membership.Role.STUDENT)  # upload, label, analyse
MANAGER_ROLES = ("staff", Membership.Role.TEACHER)


def project_role(*, user, project: Project, membership_role=UNREAD):
    """Return the user's role in the project ("teacher", "student", "grader"), "staff", or None.

    ``membership_role`` is the role on the user's membership row (None: no row) when the caller
    already read it along with the project, which spares the query.
    """
    if not user.is_authenticated:
        return None
    if user.is_superuser:  # platform administrators; teachers may be is_staff to use the admin
        return "staff"
    if project.owner_id == user.pk:
        return Membership.Role.TEACHER
    if membership_role is not UNREAD:
        return membership_role
    if getattr(project, "viewer_id", None) == user.pk:  # the annotation of project_list_with_roles
        return project.viewer_role
    membership = project.memberships.filter(user=user).first()
    return membership.role if membership else None


def can_view(*, user, project):
    return project_role(user=user, project=project) is not None


def can_contribute(*, user, project):
    """Upload and label: students and teachers of the project; graders only read."""
    return project_role(user=user, project=project) in CONTRIBUTOR_ROLES


def can_manage(*, user, project):
    """Change the project, its members and its models: its own teacher, or staff."""
    return project_role(user=user, project=project) in MANAGER_ROLES

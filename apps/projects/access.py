"""Who may do what in a project: the one place the permission rules live."""
from apps.projects.models import Membership, Project


def project_role(*, user, project: Project):
    """Return the user's role in the project ("teacher", "student", "grader"), "staff", or None."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:  # platform administrators; teachers may be is_staff to use the admin
        return "staff"
    if project.owner_id == user.pk:
        return Membership.Role.TEACHER
    if getattr(project, "viewer_id", None) == user.pk:  # read along with the project (project_list_with_roles)
        return project.viewer_role
    membership = project.memberships.filter(user=user).first()
    return membership.role if membership else None


def can_view(*, user, project):
    return project_role(user=user, project=project) is not None


def can_contribute(*, user, project):
    """Upload and label: students and teachers of the project; graders only read."""
    return project_role(user=user, project=project) in ("staff", Membership.Role.TEACHER, Membership.Role.STUDENT)


def can_manage(*, user, project):
    """Change the project, its members and its models: its own teacher, or staff."""
    return project_role(user=user, project=project) in ("staff", Membership.Role.TEACHER)

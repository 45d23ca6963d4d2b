"""The three roles are Django groups with model permissions."""
from django.contrib.auth.models import Group, Permission

STUDENT = "student"
TEACHER = "teacher"
GRADER = "grader"
ROLES = (STUDENT, TEACHER, GRADER)

# Model permissions per role, as "app_label.codename"; missing ones (apps not installed) are skipped.
ROLE_PERMISSIONS = {
    STUDENT: [
        "uploads.add_image",
        "uploads.view_image",
        "labeling.add_label",
        "labeling.view_label",
        "projects.view_project",
    ],
    TEACHER: [
        "projects.add_project",
        "projects.change_project",
        "projects.view_project",
        "projects.add_membership",
        "projects.change_membership",
        "projects.delete_membership",
        "projects.view_membership",
        "uploads.add_image",
        "uploads.view_image",
        "uploads.delete_image",
        "labeling.add_label",
        "labeling.view_label",
        "training.add_trainingrun",
        "training.view_trainingrun",
        "training.change_modelversion",
        "training.view_modelversion",
    ],
    GRADER: [
        "projects.view_project",
        "projects.view_membership",
        "uploads.view_image",
        "labeling.view_label",
        "training.view_trainingrun",
        "training.view_modelversion",
    ],
}


def role_groups_ensure():
    """Create the role groups and give them their permissions (idempotent)."""
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = []
        for perm in perms:
            app_label, codename = perm.split(".")
            wanted.extend(Permission.objects.filter(content_type__app_label=app_label, codename=codename))
        group.permissions.set(wanted)


def role_assign(user, role):
    """Put a user in one role group (roles are exclusive)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    group, _ = Group.objects.get_or_create(name=role)
    user.groups.remove(*Group.objects.filter(name__in=ROLES).exclude(name=role))
    user.groups.add(group)
    user.__dict__.pop("role", None)

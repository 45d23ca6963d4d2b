from django.contrib.auth.models import AbstractUser
from django.utils.functional import cached_property

from apps.accounts import roles


class User(AbstractUser):
    """A RIIM user; the role is the user's role group."""

    @cached_property
    def role(self):
        names = set(self.groups.filter(name__in=roles.ROLES).values_list("name", flat=True))
        for role in (roles.TEACHER, roles.GRADER, roles.STUDENT):
            if role in names:
                return role
        return None

    @property
    def is_teacher(self):
        return self.role == roles.TEACHER or self.is_superuser

    @property
    def is_grader(self):
        return self.role == roles.GRADER

    @property
    def is_student(self):
        return self.role == roles.STUDENT

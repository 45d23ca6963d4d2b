from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from apps.accounts import roles


class User(AbstractUser):
    """A RIIM user; the role is the user's role group."""

    def save(self, *args, **kwargs):
        # set_password() keeps the new password until the save; a hash upgraded at login does not (Django
        # clears it first), and a new account has no token yet.
        new_password = self._password is not None and not self._state.adding
        super().save(*args, **kwargs)
        if new_password:
            from apps.accounts.services import user_tokens_revoke  # services import the token model

            user_tokens_revoke(user=self)

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


class LoginFailure(models.Model):
    """One failed login (web form, admin or API token) for the lockout rules of apps.accounts.lockout."""

    username = models.CharField(_("username"), max_length=150, db_index=True)  # lower-cased as typed
    address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("failed login")
        verbose_name_plural = _("failed logins")

    def __str__(self):
        return f"{self.username} from {self.address} at {self.created_at:%Y-%m-%d %H:%M:%S}"

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.common.models import TimeStampedModel


class ScratchKey(TimeStampedModel):
    """A student's key for one project: RIIM's Scratch blocks send it to add examples and ask for a quick retrain.

    Kept as a hash. It may only upload and label in its project and ask for a quick retrain when the
    teacher allows it; it ends when it expires, when it is revoked, and with every new password.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="scratch_keys", verbose_name=_("user")
    )
    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="scratch_keys", verbose_name=_("project")
    )
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True)
    hint = models.CharField(_("beginning of the key"), max_length=16)
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("Scratch key")
        verbose_name_plural = _("Scratch keys")

    def __str__(self):
        return f"{self.user} @ {self.project.slug} ({self.hint}…)"

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class ScratchProjectSettings(models.Model):
    """What a project's teacher allows from Scratch (a row only once the teacher changed something)."""

    project = models.OneToOneField(
        "projects.Project", on_delete=models.CASCADE, related_name="scratch_settings", verbose_name=_("project")
    )
    # Off by default: a quick retrain changes the class's model, which only the teacher decides otherwise.
    students_may_retrain = models.BooleanField(_("students may retrain from Scratch"), default=False)

    class Meta:
        verbose_name = _("Scratch settings")
        verbose_name_plural = _("Scratch settings")

    def __str__(self):
        return f"{self.project.slug}: retrain {'on' if self.students_may_retrain else 'off'}"

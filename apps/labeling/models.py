from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.common.models import TimeStampedModel


class Label(TimeStampedModel):
    """One labeling act; rows are never overwritten, so the history of every image is kept.

    An empty `label` withdraws the author's earlier label (what "undo" records), and
    `NONE_OF_THESE` records that the photo belongs to none of the project's classes: an
    answer like any other for the label rule, never a class to train on.
    """

    # Class names start with a letter or a digit, so this value can never be a class.
    NONE_OF_THESE = "_none"

    class Source(models.TextChoices):
        STUDENT = "student", _("Student")
        TEACHER = "teacher", _("Teacher")
        IMPORT = "import", _("Import")

    image = models.ForeignKey("uploads.Image", on_delete=models.CASCADE, related_name="labels", verbose_name=_("image"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="labels", verbose_name=_("author")
    )
    label = models.CharField(_("class"), max_length=40, blank=True)
    tags = models.JSONField(_("tags"), default=list, blank=True)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["image", "author", "-created_at"])]
        verbose_name = _("label")
        verbose_name_plural = _("labels")

    def __str__(self):
        return f"{self.image_id}: {self.label or '∅'} ({self.source})"

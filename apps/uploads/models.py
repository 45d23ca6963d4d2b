from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.common.models import TimeStampedModel
from apps.labeling.models import Label


class Image(TimeStampedModel):
    """One uploaded image of a project, stored without metadata under a generated name."""

    class Split(models.TextChoices):
        TRAIN = "train", _("Training")
        HOLDOUT = "holdout", _("Holdout")

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="images")
    uploader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="images")
    original_name = models.CharField(_("original file name"), max_length=255)
    file = models.FileField(_("file"), max_length=255)
    thumbnail = models.FileField(_("thumbnail"), max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, db_index=True)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    format = models.CharField(_("format"), max_length=10)
    size_bytes = models.PositiveIntegerField(default=0)
    # Fixed per image from its hash, so every model version is scored on the same holdout.
    split = models.CharField(_("split"), max_length=10, choices=Split.choices, default=Split.TRAIN, db_index=True)
    # The label that counts (kept in sync by apps.labeling.services.image_label_resolve).
    label = models.CharField(_("label"), max_length=40, blank=True, db_index=True)
    label_source = models.CharField(_("label source"), max_length=10, blank=True, choices=Label.Source.choices)
    tags = models.JSONField(_("tags"), default=list, blank=True)
    stats = models.JSONField(_("image statistics"), default=dict, blank=True)
    # Which worker (host, pid, broker transport) processed the image after upload.
    processed_by = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["project", "sha256"], name="unique_image_per_project")]
        verbose_name = _("image")
        verbose_name_plural = _("images")

    def __str__(self):
        return f"{self.original_name} ({self.project.slug})"

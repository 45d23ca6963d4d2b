from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.common.models import BackgroundJob, TimeStampedModel
from apps.labeling.models import Label


class Image(TimeStampedModel):
    """One uploaded image of a project, stored without metadata under a generated name."""

    class Split(models.TextChoices):
        TRAIN = "train", _("Training")
        VALIDATION = "validation", _("Validation")
        TEST = "test", _("Test")

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="images", verbose_name=_("project")
    )
    uploader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="images", verbose_name=_("uploaded by")
    )
    original_name = models.CharField(_("original file name"), max_length=255)
    file = models.FileField(_("file"), max_length=255)
    thumbnail = models.FileField(_("thumbnail"), max_length=255, blank=True)
    sha256 = models.CharField(_("SHA-256 hash"), max_length=64, db_index=True)
    width = models.PositiveIntegerField(_("width"))
    height = models.PositiveIntegerField(_("height"))
    format = models.CharField(_("format"), max_length=10)
    size_bytes = models.PositiveIntegerField(_("size (bytes)"), default=0)
    # Fixed per image from its hash (apps.uploads.splits): training photos fit the models, validation
    # photos decide which version is served, test photos only report (no decision reads them).
    split = models.CharField(_("split"), max_length=10, choices=Split.choices, default=Split.TRAIN, db_index=True)
    # Webcam frames of one capture session (one class, one camera run): their split comes from this id,
    # so near-identical frames never land on both sides of a split.
    capture_session = models.UUIDField(_("capture session"), null=True, blank=True, db_index=True)
    # The label that counts (kept in sync by apps.labeling.services.image_label_resolve).
    label = models.CharField(_("label"), max_length=40, blank=True, db_index=True)
    label_source = models.CharField(_("label source"), max_length=10, blank=True, choices=Label.Source.choices)
    tags = models.JSONField(_("tags"), default=list, blank=True)
    stats = models.JSONField(_("image statistics"), default=dict, blank=True)
    # Which worker (host, pid, broker transport) processed the image after upload.
    processed_by = models.JSONField(_("processed by"), default=dict, blank=True)
    # Hidden by a teacher (moderation): out of students' views, the labeling queue and training.
    hidden = models.BooleanField(_("hidden"), default=False, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["project", "sha256"], name="unique_image_per_project")]
        verbose_name = _("image")
        verbose_name_plural = _("images")

    def __str__(self):
        return f"{self.original_name} ({self.project.slug})"


class ImageImport(BackgroundJob):
    """One zip (or set of loose files) imported in the background; its summary is read by the page."""

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="image_imports", verbose_name=_("project")
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("requested by")
    )
    # The spooled upload (a zip, or a folder of loose files) under the import spool folder, removed when done.
    source = models.CharField(_("spooled upload"), max_length=255, blank=True)
    # Folder name -> class, as the teacher confirmed it; empty: proposed from the folder names.
    classes = models.JSONField(_("classes"), default=dict, blank=True)
    # One class for every file (a flat zip or loose files), instead of the mapping.
    single_class = models.CharField(_("single class"), max_length=40, blank=True)
    # Loose files: [[stored name, original name], ...] under `source`; empty for a zip.
    files = models.JSONField(_("loose files"), default=list, blank=True)
    total = models.PositiveIntegerField(_("entries"), default=0)
    processed = models.PositiveIntegerField(_("entries processed"), default=0)
    imported = models.PositiveIntegerField(_("photos imported"), default=0)
    duplicates = models.PositiveIntegerField(_("duplicates"), default=0)
    # [{"name": entry name, "reason": why it was refused}, ...]
    skipped = models.JSONField(_("entries refused"), default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("image import")
        verbose_name_plural = _("image imports")

    def __str__(self):
        return f"import {self.pk} · {self.project.slug} · {self.status}"


class ImageDeletion(TimeStampedModel):
    """Who deleted which photos, and how many derived copies went with them (the photos themselves are gone)."""

    project = models.ForeignKey(
        "projects.Project", null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("project")
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("deleted by"),
    )
    reason = models.CharField(_("reason"), max_length=40, blank=True)
    image_ids = models.JSONField(_("photo IDs"), default=list)
    # Uploader usernames of the deleted photos, so a teacher can see whose work was removed.
    uploaders = models.JSONField(_("uploaded by"), default=list, blank=True)
    # {"images", "files", "labels", "analyses", "embeddings", "lab_results"}: rows and files removed.
    counts = models.JSONField(_("items removed"), default=dict)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("photo deletion")
        verbose_name_plural = _("photo deletions")

    def __str__(self):
        return f"{len(self.image_ids)} photos deleted by {self.actor or '—'}"

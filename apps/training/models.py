from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.common.models import TimeStampedModel
from ml import config as ml_config


class TrainingRun(TimeStampedModel):
    """One retraining of a project's model, with everything needed to follow and reproduce it."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    class Mode(models.TextChoices):
        QUICK = ml_config.QUICK, _("Quick (a head on cached embeddings, seconds)")
        FULL = ml_config.FULL, _("Full (fine-tuning, minutes)")

    ACTIVE_STATUSES = (Status.QUEUED, Status.RUNNING)

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="training_runs", verbose_name=_("project")
    )
    # Quick and full runs have their own queues: one of each may be active per project.
    mode = models.CharField(_("mode"), max_length=5, choices=Mode.choices, default=Mode.FULL)
    # Started by the labels changing (apps.training.automation), not by a teacher.
    automatic = models.BooleanField(_("automatic"), default=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="training_runs", verbose_name=_("requested by")
    )
    config = models.JSONField(_("configuration"), default=dict)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    # Live progress written by the worker's callback.
    stage = models.CharField(_("stage"), max_length=40, blank=True)
    epoch = models.PositiveIntegerField(_("epoch"), null=True, blank=True)
    percent = models.FloatField(_("percent"), default=0.0)
    metrics = models.JSONField(_("latest metrics"), default=dict, blank=True)
    curves = models.JSONField(_("curves so far"), default=list, blank=True)
    heartbeat_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)
    log = models.JSONField(_("log"), default=list, blank=True)
    # The engine's latest progress event ({"key", "params"} of ml.events.Event): the page renders it
    # in the reader's language with apps.training.events.
    event = models.JSONField(_("latest event"), default=dict, blank=True)
    timings = models.JSONField(_("timings"), default=dict, blank=True)
    error_message = models.TextField(_("error message"), blank=True)
    cancel_requested = models.BooleanField(_("cancellation requested"), default=False)
    celery_task_id = models.CharField(_("Celery task ID"), max_length=64, blank=True)
    worker_host = models.CharField(_("worker host"), max_length=255, blank=True)
    worker_pid = models.PositiveIntegerField(_("worker process ID"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # What was trained on: [[image_id, label that counted, split], ...] and its hash.
    dataset_snapshot = models.JSONField(_("dataset snapshot"), default=list, blank=True)
    dataset_hash = models.CharField(_("dataset hash"), max_length=64, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Two clicks at once start one run: the database refuses a second active run.
            models.UniqueConstraint(
                fields=["project", "mode"], condition=Q(status__in=["queued", "running"]),
                name="one_active_run_per_project_and_mode",
            )
        ]
        verbose_name = _("training run")
        verbose_name_plural = _("training runs")

    def __str__(self):
        return f"run {self.pk} · {self.project.slug} · {self.status}"

    @property
    def is_active(self):
        return self.status in self.ACTIVE_STATUSES


class ModelVersion(TimeStampedModel):
    """A published model of a project: an immutable artifact folder plus its card and metrics."""

    class Status(models.TextChoices):
        CANDIDATE = "candidate", _("Candidate")
        ACTIVE = "active", _("Active")
        ARCHIVED = "archived", _("Archived")
        FAILED = "failed", _("Failed")

    class Source(models.TextChoices):
        TRAINED = "trained", _("Trained here")
        IMPORTED = "imported", _("Imported")

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="model_versions", verbose_name=_("project")
    )
    number = models.PositiveIntegerField(_("version"))
    run = models.OneToOneField(
        TrainingRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="model_version",
        verbose_name=_("training run"),
    )
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.TRAINED)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.CANDIDATE, db_index=True)
    # Storage prefix of a folder written once and never overwritten.
    artifact_dir = models.CharField(_("artifact folder"), max_length=255)
    files = models.JSONField(_("files"), default=dict, blank=True)  # file name -> size in bytes
    metadata = models.JSONField(_("model card"), default=dict, blank=True)
    metrics = models.JSONField(_("metrics"), default=dict, blank=True)
    # The sealed test share's score: reported, never read by a decision.
    test_accuracy = models.FloatField(_("test accuracy"), null=True, blank=True)
    test_n = models.PositiveIntegerField(_("test photos"), default=0)
    # Class predicted for each validation photo ({image id: class}): versions are compared on the
    # photos both predicted, so a comparison is always on identical photos.
    validation_predictions = models.JSONField(_("validation predictions"), default=dict, blank=True)
    # What the activation rule decided for this version and why (apps.training.activation).
    activation = models.JSONField(_("activation decision"), default=dict, blank=True)
    explainable = models.BooleanField(_("explainable"), default=True, help_text=_("False for imported classification-only models"))
    problem = models.TextField(_("problem"), blank=True, help_text=_("Why the version cannot be served, if it cannot"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("created by")
    )
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)

    class Meta:
        ordering = ["project", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="unique_version_number"),
            models.UniqueConstraint(fields=["project"], condition=Q(status="active"), name="one_active_version_per_project"),
        ]
        verbose_name = _("model version")
        verbose_name_plural = _("model versions")

    def __str__(self):
        return f"{self.project.slug} v{self.number} ({self.status})"

    @property
    def mode(self) -> str:
        """Return "quick" for a quick model, "full" for every other (trained or imported) version."""
        quick = self.metadata.get("mode") == TrainingRun.Mode.QUICK
        return TrainingRun.Mode.QUICK if quick else TrainingRun.Mode.FULL

    @property
    def automatic(self) -> bool:
        return bool(self.run_id and self.run and self.run.automatic)

    @property
    def test_summary(self) -> dict:
        """The sealed test share's score as the API gives it: accuracy, n and its 95 % Wilson interval."""
        from ml.evaluation import wilson_ci

        if self.test_accuracy is None or not self.test_n:
            return {"accuracy": None, "n": int(self.test_n or 0), "ci95": None}
        correct = round(self.test_accuracy * self.test_n)
        return {"accuracy": self.test_accuracy, "n": self.test_n, "ci95": wilson_ci(correct, self.test_n)}


class ProjectAutoencoder(TimeStampedModel):
    """The autoencoder built once from a project's photos (never its labels), copied into its versions that lack one.

    One row per project. ``status`` is the build's state: a trigger moves it from idle to queued with a
    conditional update, so a burst of triggers queues one build, and the build moves it to building and
    back; the last build that succeeded stays in ``artifact_dir`` meanwhile.
    """

    class Status(models.TextChoices):
        IDLE = "idle", _("Idle")
        QUEUED = "queued", _("Queued")
        BUILDING = "building", _("Building")

    project = models.OneToOneField(
        "projects.Project", on_delete=models.CASCADE, related_name="shared_autoencoder", verbose_name=_("project")
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.IDLE)
    # Storage folder of the latest build that succeeded (autoencoder.onnx, autoencoder.json), written once.
    artifact_dir = models.CharField(_("artifact folder"), max_length=255, blank=True)
    section = models.JSONField(_("card section"), default=dict, blank=True)
    # The project's photos when it was built (the rebuild rule compares with today's count).
    photos = models.PositiveIntegerField(_("photos at build time"), default=0)
    built_at = models.DateTimeField(_("built at"), null=True, blank=True)
    queued_at = models.DateTimeField(_("queued at"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    error_message = models.TextField(_("error message"), blank=True)  # the last build's failure, if it failed

    class Meta:
        verbose_name = _("project autoencoder")
        verbose_name_plural = _("project autoencoders")

    def __str__(self):
        return f"autoencoder · {self.project.slug} · {self.status}"

    @property
    def ready(self) -> bool:
        return bool(self.artifact_dir)

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.common.models import BackgroundJob


class LabExperiment(BackgroundJob):
    """One run of a lab experiment on a project's model and images, with live progress and its result."""

    class Kind(models.TextChoices):
        OVERFITTING = "overfitting", _("Overfitting: with and without augmentation and dropout")
        SPLITS = "splits", _("Cross-validation: many single splits")
        LABEL_NOISE = "label_noise", _("Labeling: flipped labels")
        COMPRESSION = "compression", _("Quantization and pruning: weights and heatmaps")
        CLUSTERS = "clusters", _("Unsupervised: k-means map")
        BANDIT = "bandit", _("Reinforcement: augmentation agent")
        AUTOENCODER = "autoencoder", _("Generative: autoencoder reconstructions")

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="lab_experiments", verbose_name=_("project")
    )
    model_version = models.ForeignKey(
        "training.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="lab_experiments",
        verbose_name=_("model version"),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("requested by")
    )
    kind = models.CharField(_("experiment"), max_length=20, choices=Kind.choices)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    percent = models.FloatField(_("percent"), default=0.0)
    message = models.CharField(_("message"), max_length=200, blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("lab experiment")
        verbose_name_plural = _("lab experiments")

    def __str__(self):
        return f"{self.kind} · {self.project.slug} · {self.status}"

    @property
    def seconds(self):
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None

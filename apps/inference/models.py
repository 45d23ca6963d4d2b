from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.common.models import TimeStampedModel


class Analysis(TimeStampedModel):
    """The result of one model version on one image; kept per version, never overwritten."""

    class RanOn(models.TextChoices):
        SERVER = "server", _("Server")
        BROWSER = "browser", _("Browser")

    image = models.ForeignKey("uploads.Image", on_delete=models.CASCADE, related_name="analyses", verbose_name=_("image"))
    model_version = models.ForeignKey(
        "training.ModelVersion", on_delete=models.CASCADE, related_name="analyses", verbose_name=_("model version")
    )
    ran_on = models.CharField(_("ran on"), max_length=10, choices=RanOn.choices, default=RanOn.SERVER)
    label = models.CharField(_("predicted class"), max_length=40, db_index=True)
    confidence = models.FloatField(_("confidence"))
    predictions = models.JSONField(_("predictions"), default=list)
    tags = models.JSONField(_("tags"), default=list, blank=True)
    anomaly = models.JSONField(_("anomaly"), default=dict, blank=True)
    is_anomaly = models.BooleanField(_("is an anomaly"), default=False, db_index=True)
    explanation = models.JSONField(_("explanation"), default=dict, blank=True)
    latency_ms = models.FloatField(_("latency (ms)"), default=0.0)
    # The class-activation map as a PNG overlay, stored so history pages can show it.
    heatmap = models.FileField(_("heatmap"), max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["image", "model_version"], condition=models.Q(ran_on="server"), name="one_server_analysis_per_version"
            )
        ]
        verbose_name = _("analysis")
        verbose_name_plural = _("analyses")

    def __str__(self):
        return f"{self.image_id} → {self.label} ({self.confidence:.2f}, v{self.model_version.number}, {self.ran_on})"

from django.db import models
from django.utils.translation import gettext_lazy as _


class PendingResend(models.Model):
    """How often the sweeper sent one piece of pending work to the broker again, and when last."""

    kind = models.CharField(_("kind of work"), max_length=40)
    object_id = models.PositiveBigIntegerField(_("object ID"))
    count = models.PositiveSmallIntegerField(_("times sent again"), default=0)
    last_sent_at = models.DateTimeField(_("last sent at"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "object_id"], name="one_resend_row_per_work")]
        verbose_name = _("pending work resend")
        verbose_name_plural = _("pending work resends")

    def __str__(self):
        return f"{self.kind} {self.object_id} · sent again {self.count}×"

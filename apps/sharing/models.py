from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.common.models import TimeStampedModel
from apps.sharing.tokens import TOKEN_LENGTH, link_token_generate


class ModelLink(TimeStampedModel):
    """A project's public model link: whoever has its token may download the active version's browser files.

    One per project at most, made by its teacher. Revoking deletes the row, so the token answers 404 at once;
    making a new one replaces the token. The link names no version: it serves whichever is active.
    """

    project = models.OneToOneField(
        "projects.Project", on_delete=models.CASCADE, related_name="model_link", verbose_name=_("project")
    )
    # Kept as it is, not hashed: the teacher's page shows the link again, as it shows the join code.
    token = models.CharField(_("token"), max_length=TOKEN_LENGTH, unique=True, default=link_token_generate)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("created by")
    )

    class Meta:
        verbose_name = _("public model link")
        verbose_name_plural = _("public model links")

    def __str__(self):
        return f"{self.project.slug} · {self.token[:6]}…"

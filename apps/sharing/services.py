"""Writes of the public model link: its teacher makes (or replaces) it and withdraws it."""
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.common.exceptions import PermissionDeniedError
from apps.projects.access import can_manage
from apps.sharing.models import ModelLink
from apps.sharing.tokens import link_token_generate

ONLY_TEACHER = _("Only the project's teacher can share or withdraw its model link.")


def _require_teacher(*, project, actor) -> None:
    if not can_manage(user=actor, project=project):
        raise PermissionDeniedError(ONLY_TEACHER)


@transaction.atomic
def model_link_create(*, project, actor) -> ModelLink:
    """Make the project's public link; an existing one gets a new token, so the old address stops working."""
    _require_teacher(project=project, actor=actor)
    link, created = ModelLink.objects.select_for_update().get_or_create(
        project=project, defaults={"created_by": actor}
    )
    if not created:
        link.token = link_token_generate()
        link.created_by = actor
        link.created_at = timezone.now()  # "created" in the API is when this token was made
        link.save(update_fields=["token", "created_by", "created_at", "updated_at"])
    return link


def model_link_revoke(*, project, actor) -> bool:
    """Withdraw the project's link (its address answers 404 from now on); return whether there was one."""
    _require_teacher(project=project, actor=actor)
    deleted, _rows = ModelLink.objects.filter(project=project).delete()
    return bool(deleted)

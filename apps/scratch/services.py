"""Writes for Scratch: students' keys, the examples and quick retrains they ask for, the teacher's setting."""
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.common.exceptions import ApplicationError, PermissionDeniedError
from apps.projects.access import can_contribute, can_manage
from apps.scratch.keys import scratch_key_generate, scratch_key_hash, scratch_key_hint
from apps.scratch.models import ScratchKey, ScratchProjectSettings

KEY_ONLY_CONTRIBUTORS = _("Only the project's students and teacher can make a Scratch key for it.")
ONLY_TEACHER_SETTINGS = _("Only the project's teacher can change what Scratch may do.")
RETRAIN_NOT_ALLOWED = _("Your teacher has not allowed retraining from Scratch in this project.")
UNKNOWN_LABEL = _("«%(label)s» is not a class of this project. Its classes: %(classes)s.")


@dataclass(frozen=True)
class IssuedKey:
    """A new key: the row, and the key itself, which exists only in this answer."""

    row: ScratchKey
    key: str


@transaction.atomic
def scratch_key_create(*, project, user) -> IssuedKey:
    """Make the user's key for the project; their earlier keys for it stop working."""
    if not can_contribute(user=user, project=project):
        raise PermissionDeniedError(KEY_ONLY_CONTRIBUTORS)
    now = timezone.now()
    ScratchKey.objects.filter(project=project, user=user, revoked_at__isnull=True).update(revoked_at=now)
    key = scratch_key_generate()
    row = ScratchKey.objects.create(
        project=project, user=user, key_hash=scratch_key_hash(key), hint=scratch_key_hint(key),
        expires_at=now + timedelta(days=settings.RIIM_SCRATCH_KEY_DAYS),
    )
    return IssuedKey(row=row, key=key)


def scratch_key_revoke(*, project, user) -> int:
    """Revoke the user's keys for the project; return how many were in use."""
    return ScratchKey.objects.filter(project=project, user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())


def scratch_keys_revoke_for_user(*, user) -> int:
    """Revoke every key of the account (a new password ends them, as it ends API tokens)."""
    return ScratchKey.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())


def scratch_example_add(*, key: ScratchKey, raw: bytes, name: str, label: str):
    """Upload a picture from Scratch as the key's student and label it; return the image.

    The label is checked first, so a wrong one stores nothing. The upload and the label count as the
    student's, in the history and the gradebook, like any other.
    """
    from apps.labeling.services import label_assign
    from apps.uploads.services import image_upload_create

    project = key.project
    label = (label or "").strip().lower()
    if label not in project.classes:
        raise ApplicationError(UNKNOWN_LABEL % {"label": label, "classes": ", ".join(project.classes)})
    image = image_upload_create(project=project, uploader=key.user, raw=raw, name=name)
    label_assign(image=image, author=key.user, label=label)
    return image


def scratch_retrain_start(*, key: ScratchKey):
    """Start a quick retrain of the key's project when its teacher allows it from Scratch; return the run.

    It is the project's automatic quick retrain, started now rather than after the labels go quiet:
    it runs under the teacher's account and never activates over a version the teacher chose by hand.
    """
    from apps.scratch.selectors import students_may_retrain
    from apps.training.models import TrainingRun
    from apps.training.services import training_run_start

    project = key.project
    if not students_may_retrain(project=project):
        raise PermissionDeniedError(RETRAIN_NOT_ALLOWED)
    return training_run_start(project=project, user=project.owner, config={"mode": TrainingRun.Mode.QUICK},
                              automatic=True)


def scratch_settings_update(*, project, actor, students_may_retrain: bool) -> ScratchProjectSettings:
    if not can_manage(user=actor, project=project):
        raise PermissionDeniedError(ONLY_TEACHER_SETTINGS)
    row, _created = ScratchProjectSettings.objects.update_or_create(
        project=project, defaults={"students_may_retrain": students_may_retrain})
    return row

"""Reads for Scratch: a student's key, the latest quick run, the teacher's setting."""
from django.utils.translation import gettext_lazy as _

from apps.scratch.models import ScratchKey, ScratchProjectSettings

NO_KEY = _("You have no Scratch key for this project.")


def scratch_key_current(*, project, user) -> ScratchKey | None:
    """Return the user's key for the project that still works, or None."""
    key = ScratchKey.objects.filter(project=project, user=user, revoked_at__isnull=True).first()
    return key if key is not None and key.is_usable else None


def students_may_retrain(*, project) -> bool:
    return ScratchProjectSettings.objects.filter(project=project, students_may_retrain=True).exists()


def latest_quick_run(*, project):
    from apps.training.models import TrainingRun

    return project.training_runs.filter(mode=TrainingRun.Mode.QUICK).order_by("-created_at", "-id").first()

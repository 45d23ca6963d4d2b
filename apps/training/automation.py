"""The automatic quick retrain: labels change -> after a debounce, a quick run on its own queue.

Every new label schedules a check (``quick_retrain_check_task``): at once when enough labels
arrived since the last quick run, else once the class has been quiet for a while. The check
starts an automatic quick run unless one is already queued (a running one gets a later check).
An automatic run never activates over a version the teacher chose by hand (``Project.model_pinned``),
and superseded automatic versions are removed with their files, keeping the last few.
"""
import logging
import math
from dataclasses import dataclass

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.common.exceptions import ApplicationError
from apps.projects.models import Project
from apps.training.artifacts import artifacts_delete
from apps.training.models import ModelVersion, TrainingRun

logger = logging.getLogger(__name__)


def _labels_since_last_quick_run(project):
    from apps.labeling.models import Label

    last = project.training_runs.filter(mode=TrainingRun.Mode.QUICK).exclude(
        status=TrainingRun.Status.CANCELLED).order_by("-created_at").first()
    labels = Label.objects.filter(image__project=project)
    return labels.filter(created_at__gt=last.created_at) if last else labels


def quick_retrain_schedule(*, project_id: int) -> None:
    """Schedule the debounce check after a label: now when enough labels are new, else after the quiet time."""
    from apps.training.tasks import quick_retrain_check_task

    project = Project.objects.filter(pk=project_id, auto_quick_retrain=True).first()
    if project is None:
        return
    enough = _labels_since_last_quick_run(project).count() >= settings.RIIM_QUICK_RETRAIN_LABELS
    countdown = 0 if enough else settings.RIIM_QUICK_RETRAIN_QUIET_SECONDS
    quick_retrain_check_task.apply_async((project_id,), countdown=countdown)


def quick_retrain_check(*, project_id: int, now=None) -> TrainingRun | None:
    """Start an automatic quick run when the labels call for one; return it, or None."""
    from apps.training.services import training_run_start

    project = Project.objects.filter(pk=project_id, auto_quick_retrain=True).first()
    if project is None:
        return None
    active = project.training_runs.filter(mode=TrainingRun.Mode.QUICK, status__in=TrainingRun.ACTIVE_STATUSES)
    if active.filter(status=TrainingRun.Status.QUEUED).exists():
        return None  # the queued run will see these labels
    if active.exists():  # running: look again once it has had time to finish
        _check_later(project_id)
        return None
    new = _labels_since_last_quick_run(project)
    newest = new.aggregate(at=models.Max("created_at"))["at"]
    if newest is None:
        return None
    now = now or timezone.now()
    # One second of slack: the check scheduled by the last label runs about QUIET seconds after it.
    quiet = (now - newest).total_seconds() >= settings.RIIM_QUICK_RETRAIN_QUIET_SECONDS - 1
    if new.count() < settings.RIIM_QUICK_RETRAIN_LABELS and not quiet:
        return None  # the latest label's own check comes later
    try:
        return training_run_start(project=project, user=project.owner, config={"mode": TrainingRun.Mode.QUICK}, automatic=True)
    except ApplicationError as exc:  # no weights, too few labels, a run already active: stay quiet
        logger.info("no automatic quick run for %s: %s", project.slug, exc.message)
        return None


def _check_later(project_id):
    from apps.training.tasks import quick_retrain_check_task

    quick_retrain_check_task.apply_async((project_id,), countdown=settings.RIIM_QUICK_RETRAIN_QUIET_SECONDS)


def _has_cascading_records(version) -> bool:
    """Whether deleting the version would delete other records with it (students' analyses, reviews)."""
    for relation in version._meta.related_objects:
        if relation.on_delete is models.CASCADE and relation.related_model._default_manager.filter(
            **{relation.field.name: version}
        ).exists():
            return True
    return False


def automatic_versions_prune(*, project) -> list[int]:
    """Delete superseded automatic versions beyond the newest few, files included; return their numbers.

    The active version, and any version that analyses or reviews refer to, is always kept.
    """
    keep = settings.RIIM_AUTOMATIC_VERSIONS_KEPT
    automatic = (ModelVersion.objects.filter(project=project, run__automatic=True)
                 .exclude(status=ModelVersion.Status.ACTIVE).order_by("-number"))
    removed = []
    for version in list(automatic)[keep:]:
        if _has_cascading_records(version):
            continue
        artifacts_delete(prefix=version.artifact_dir, files=version.files)
        version.delete()
        removed.append(version.number)
    return removed


@dataclass(frozen=True)
class QuickModelProgress:
    """What the class's labels did to the quick model: its sealed test score and its change on validation photos."""

    version: ModelVersion  # the latest quick version
    labels: int  # labeled photos it learned from
    labels_needed: int  # about how many more labels until one lands in the test share (0 when it has a score)


def quick_model_progress(project) -> QuickModelProgress | None:
    """Return the latest quick version's scores, or None before the first quick version."""
    from apps.uploads.splits import TRAIN, split_canonical

    latest = next((v for v in project.model_versions.select_related("run").exclude(status=ModelVersion.Status.FAILED)
                   .order_by("-number")[:20] if v.mode == TrainingRun.Mode.QUICK), None)
    if latest is None:
        return None
    snapshot = latest.run.dataset_snapshot if latest.run else []
    labels = sum(1 for row in snapshot if split_canonical(row[2]) == TRAIN)
    # Each photo lands in the test share with probability test_fraction: 1 / fraction photos, on average.
    needed = 0 if latest.test_n else max(1, math.ceil(1 / project.test_fraction))
    return QuickModelProgress(version=latest, labels=labels, labels_needed=needed)

"""Send work whose row still says it is pending to the broker again: each row is its own outbox.

A service writes its row and enqueues the task when the transaction commits. If the broker is down
at that moment the enqueue fails (the robust on_commit logs it), but the row still says the work is
pending; beat runs this sweep, which sends it again once the broker is back. Resends back off
(twice as long each time) and stop after RIIM_PENDING_RESEND_MAX, so work that can never finish
(an image that cannot be decoded) is not sent forever. A duplicate is harmless: every task checks
its row before working, or redoes the same work.
"""

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import OperationalError

from apps.delivery.models import PendingResend
from apps.lab.models import LabExperiment
from apps.lab.services import lab_experiment_send
from apps.training.models import TrainingRun
from apps.training.project_autoencoder import pending_project_autoencoders, project_autoencoder_send
from apps.training.services import training_run_send
from apps.uploads.imports import image_import_send
from apps.uploads.models import Image, ImageImport
from apps.uploads.services import image_process_send

logger = logging.getLogger(__name__)

BATCH = 500  # pending rows of one kind looked at per sweep
MAX_BACKOFF = 3600  # seconds: a resend waits at most this long after the previous one


def _pending_images(cutoff: datetime) -> Iterable[int]:
    return Image.objects.filter(processed_by={}, created_at__lt=cutoff).order_by("pk").values_list("pk", flat=True)


def _pending_training_runs(cutoff: datetime) -> Iterable[int]:
    queued = TrainingRun.objects.filter(status=TrainingRun.Status.QUEUED, created_at__lt=cutoff)
    # A run of a mode that is training may be waiting its turn (each mode has its own queue): only one
    # never handed to the broker (no task id) is pending. With none of its mode training, a queued run's
    # message was lost, e.g. its worker died between acknowledging it (on receipt) and marking it running.
    busy_modes = set(TrainingRun.objects.filter(status=TrainingRun.Status.RUNNING).values_list("mode", flat=True))
    waiting = Q(mode__in=busy_modes) & ~Q(celery_task_id="")
    return queued.exclude(waiting).order_by("pk").values_list("pk", flat=True)


def _pending_lab_experiments(cutoff: datetime) -> Iterable[int]:
    return (
        LabExperiment.objects.filter(status=LabExperiment.Status.QUEUED, created_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _pending_image_imports(cutoff: datetime) -> Iterable[int]:
    queued = ImageImport.objects.filter(status=ImageImport.Status.QUEUED, created_at__lt=cutoff)
    return queued.order_by("pk").values_list("pk", flat=True)


# kind -> (ids of pending work created before a cutoff, send one to the broker). Each send is the one its
# service calls after commit, so a resend goes where the first send went (a run to its mode's queue).
PENDING_WORK: dict[str, tuple[Callable[[datetime], Iterable[int]], Callable[[int], None]]] = {
    "image_process": (_pending_images, lambda pk: image_process_send(image_id=pk)),
    "training_run": (_pending_training_runs, lambda pk: training_run_send(run_id=pk)),
    "lab_experiment": (_pending_lab_experiments, lambda pk: lab_experiment_send(experiment_id=pk)),
    "image_import": (_pending_image_imports, lambda pk: image_import_send(import_id=pk)),
    "project_autoencoder": (pending_project_autoencoders, lambda pk: project_autoencoder_send(project_id=pk)),
}


def _resend_due(resend: PendingResend | None, *, now: datetime, grace: int) -> bool:
    if resend is None:
        return True
    if resend.count >= settings.RIIM_PENDING_RESEND_MAX:
        return False
    wait = min(grace * 2**resend.count, MAX_BACKOFF)
    return now - resend.last_sent_at >= timedelta(seconds=wait)


def pending_work_resend(*, now: datetime | None = None) -> dict[str, int]:
    """Send pending work older than RIIM_PENDING_RESEND_AFTER to the broker again; return counts per kind.

    Stops at the first failed send (the broker is still down): the next sweep tries again.
    """
    now = now or timezone.now()
    grace = settings.RIIM_PENDING_RESEND_AFTER
    cutoff = now - timedelta(seconds=grace)
    sent = dict.fromkeys(PENDING_WORK, 0)
    for kind, (pending, send) in PENDING_WORK.items():
        ids = list(pending(cutoff)[:BATCH])
        resends = {row.object_id: row for row in PendingResend.objects.filter(kind=kind, object_id__in=ids)}
        for object_id in ids:
            resend = resends.get(object_id)
            if not _resend_due(resend, now=now, grace=grace):
                continue
            try:
                send(object_id)
            except OperationalError:
                logger.warning("pending work: broker unreachable, %s %s stays pending", kind, object_id, exc_info=True)
                return sent
            count = (resend.count if resend else 0) + 1
            PendingResend.objects.update_or_create(
                kind=kind, object_id=object_id, defaults={"count": count, "last_sent_at": now}
            )
            sent[kind] += 1
            logger.info("pending work: sent %s %s to the broker again (%d×)", kind, object_id, count)
            if count >= settings.RIIM_PENDING_RESEND_MAX:
                logger.error("pending work: %s %s still pending after %d resends; no more resends", kind, object_id, count)
    # Bookkeeping of work that finished long ago.
    PendingResend.objects.filter(last_sent_at__lt=now - timedelta(days=7)).delete()
    return sent

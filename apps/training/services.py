"""Retraining workflow: start a run, execute it on a worker, publish and activate versions."""
import hashlib
import json
import logging
import os
import shutil
import socket
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.common.csv_writer import csv_writer
from apps.common.exceptions import ApplicationError, ConflictError, PermissionDeniedError
from apps.projects.access import can_manage
from apps.projects.models import Project
from apps.training.artifacts import artifact_prefix_new, artifacts_delete, artifacts_upload, image_local_path
from apps.training.configs import training_config_clean
from apps.training.evaluation import version_test_score
from apps.training.events import log_entry
from apps.training.models import ModelVersion, TrainingRun
from apps.training.project_autoencoder import project_autoencoder_after_publish
from apps.training.selectors import card_variants
from apps.uploads.splits import TRAIN, VALIDATION, split_canonical
from ml.card import read_card
from ml.events import Event

logger = logging.getLogger(__name__)

ONLY_TEACHER_RETRAINS = _("Only the project's teacher can retrain its model.")
RUN_ALREADY_ACTIVE = _("A training run is already queued or running for this project.")
TOO_FEW_LABELS = _("Not enough labeled training images: each class needs at least %(minimum)d (%(detail)s).")
RUN_NOT_CANCELLABLE = _("Only queued or running runs can be cancelled.")
VERSION_HAS_PROBLEM = _("This version cannot be activated: %(problem)s")
VERSION_FILE_BROKEN = _(
    "Version %(number)s was not activated: its model file cannot be opened (%(reason)s). "
    "The active version keeps answering."
)
VERSION_CLASSES_MISMATCH = _("The model's classes (%(model)s) do not match the project's (%(project)s).")
STALE_HEARTBEAT = _("The worker stopped reporting (no heartbeat for %(seconds)d s): it probably died.")
LOG_LINES_KEPT = 200


class RunCancelled(Exception):
    """Raised from the progress callback to stop a run the teacher cancelled."""


def dataset_snapshot(*, project) -> list:
    """Return [[image_id, label that counts, split], ...] for every usable labeled image.

    A class with fewer training photos than a run needs borrows its validation photos: they are
    listed as "train" here, so no comparison ever scores a version on a photo it learned from. Test
    photos are never borrowed.
    """
    # Hidden photos (moderation) are not trained on.
    rows = project.images.exclude(label="").filter(label__in=project.classes, hidden=False).order_by("pk")
    snapshot = [[image_id, label, split] for image_id, label, split in rows.values_list("pk", "label", "split")]
    counts = Counter(label for _, label, split in snapshot if split == TRAIN)
    short = {name for name in project.classes if counts.get(name, 0) < settings.RIIM_TRAINING_MIN_IMAGES_PER_CLASS}
    for row in snapshot:
        if row[2] == VALIDATION and row[1] in short:
            row[2] = TRAIN
    return snapshot


def snapshot_hash(snapshot, project) -> str:
    shas = dict(project.images.values_list("pk", "sha256"))
    payload = json.dumps([[shas[i], label, split] for i, label, split in snapshot], separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def _check_enough_labels(project, snapshot):
    minimum = settings.RIIM_TRAINING_MIN_IMAGES_PER_CLASS
    counts = Counter(label for _, label, split in snapshot if split == TRAIN)
    short = [f"{name}: {counts.get(name, 0)}" for name in project.classes if counts.get(name, 0) < minimum]
    if short:
        raise ApplicationError(TOO_FEW_LABELS % {"minimum": minimum, "detail": ", ".join(short)})


def training_run_start(*, project: Project, user, config=None, automatic=False) -> TrainingRun:
    """Validate, snapshot the dataset and queue a run: the one service every entry point calls.

    ``config["mode"]`` picks a quick run (a head on the cached embeddings, its own queue) or a full
    one; ``automatic`` marks a quick run started by the labels changing rather than by a person.
    """
    if not can_manage(user=user, project=project):
        raise PermissionDeniedError(ONLY_TEACHER_RETRAINS)
    clean = training_config_clean(config, project)
    mode = clean.get("mode") or TrainingRun.Mode.FULL
    if mode == TrainingRun.Mode.QUICK:
        from apps.embeddings.backbones import embedding_backbone

        # No pretrained weights: refuse now, with the reason, rather than fail on the worker.
        embedding_backbone(image_size=clean.get("image_size"), network=clean.get("backbone"), alpha=clean.get("alpha"))
    snapshot = dataset_snapshot(project=project)
    _check_enough_labels(project, snapshot)
    try:
        with transaction.atomic():
            run = TrainingRun.objects.create(
                project=project,
                requested_by=user,
                config=clean,
                mode=mode,
                automatic=automatic,
                dataset_snapshot=snapshot,
                dataset_hash=snapshot_hash(snapshot, project),
                log=[log_entry("run.queued", {"user": user.username})],
            )
            # robust: a broker that is down must not fail the request; the run keeps no task id
            # and the pending-work sweep sends it again.
            transaction.on_commit(lambda: training_run_send(run_id=run.pk), robust=True)
    except IntegrityError as exc:
        raise ConflictError(RUN_ALREADY_ACTIVE) from exc
    return run


def training_run_send(*, run_id: int) -> None:
    """Hand a queued run to the broker on its mode's queue (quick runs never wait behind a full one)."""
    from apps.training.tasks import quick_run_execute_task, training_run_execute_task

    quick = TrainingRun.objects.filter(pk=run_id, mode=TrainingRun.Mode.QUICK).exists()
    result = (quick_run_execute_task if quick else training_run_execute_task).delay(run_id)
    TrainingRun.objects.filter(pk=run_id, celery_task_id="").update(celery_task_id=result.id or "")


def training_run_cancel(*, run: TrainingRun, user) -> TrainingRun:
    """Cancel a queued run at once; ask a running one to stop at its next progress report."""
    if not can_manage(user=user, project=run.project):
        raise PermissionDeniedError(ONLY_TEACHER_RETRAINS)
    with transaction.atomic():
        run = TrainingRun.objects.select_for_update().get(pk=run.pk)
        if run.status == TrainingRun.Status.QUEUED:
            run.status = TrainingRun.Status.CANCELLED
            run.finished_at = timezone.now()
            run.log = [*run.log, log_entry("run.cancelled_before_start", {"user": user.username})]
        elif run.status == TrainingRun.Status.RUNNING:
            run.cancel_requested = True
            run.log = [*run.log, log_entry("run.cancel_requested", {"user": user.username})]
        else:
            raise ConflictError(RUN_NOT_CANCELLABLE)
        run.save()
    return run


class _Reporter:
    """The ml engine's progress callback: writes progress, curves and heartbeat; honours cancellation."""

    def __init__(self, run_id):
        self.run_id = run_id
        self.last_write = 0.0
        self.last_stage = None
        self.curves = []

    def __call__(self, event: Event):
        stage, metrics = event.stage, event.metrics
        now = time.monotonic()
        epoch_end = bool(metrics and "val_loss" in metrics)
        if epoch_end:
            self.curves.append({"stage": stage, "epoch": len(self.curves) + 1, **{k: float(v) for k, v in metrics.items()}})
        if stage == self.last_stage and not epoch_end and now - self.last_write < 1.0:
            return
        fields = {
            "stage": stage,
            "percent": round(100.0 * float(event.fraction or 0.0), 1),
            "heartbeat_at": timezone.now(),
            "curves": self.curves,
            "event": {"key": event.key, "params": event.params},
        }
        if metrics:
            fields["metrics"] = {k: float(v) for k, v in metrics.items()}
        if event.epoch is not None:
            fields["epoch"] = event.epoch
        TrainingRun.objects.filter(pk=self.run_id).update(**fields)
        training_run_log(run_id=self.run_id, key=event.key, params=event.params, stage=stage)
        self.last_stage, self.last_write = stage, now
        if TrainingRun.objects.filter(pk=self.run_id, cancel_requested=True).exists():
            raise RunCancelled()


def training_run_log(*, run_id, key, params=None, stage=""):
    with transaction.atomic():
        run = TrainingRun.objects.select_for_update().only("log").get(pk=run_id)
        run.log = [*run.log, log_entry(key, params, stage)][-LOG_LINES_KEPT:]
        run.save(update_fields=["log"])


class _Heartbeat(threading.Thread):
    """Beat every few seconds while long steps (export, quantization) give no progress callback."""

    def __init__(self, run_id, interval=10.0):
        super().__init__(daemon=True)
        self.run_id, self.interval, self.stopped = run_id, interval, threading.Event()

    def run(self):
        from django.db import connection

        try:
            while not self.stopped.wait(self.interval):
                TrainingRun.objects.filter(pk=self.run_id, status=TrainingRun.Status.RUNNING).update(heartbeat_at=timezone.now())
        finally:
            connection.close()


def _manifest_write(run, scratch: Path) -> Path:
    images = {img.pk: img for img in run.project.images.filter(pk__in=[row[0] for row in run.dataset_snapshot])}
    manifest = scratch / "manifest.csv"
    with manifest.open("w", newline="") as fh:
        writer = csv_writer(fh)
        writer.writerow(["path", "label", "tags", "split"])
        for image_id, label, split in run.dataset_snapshot:
            image = images.get(image_id)
            split = split_canonical(split)
            # Validation photos are left to the activation rule: the engine never sees them.
            if image is None or split == VALIDATION:  # or deleted since the run was queued
                continue
            writer.writerow([str(image_local_path(image, scratch)), label, ";".join(image.tags), split])
    return manifest


def _ml_config(config: dict):
    """Turn a validated run configuration (the `ml train` options) into the engine's TrainConfig."""
    from ml.config import TrainConfig

    return TrainConfig.from_dict({**config, "prune": config.get("prune") or None})


def training_run_execute(*, run_id: int) -> TrainingRun:
    """Run the ml engine for a queued run and publish its version (called by the Celery task)."""
    with transaction.atomic():
        run = TrainingRun.objects.select_for_update().get(pk=run_id)
        if run.status != TrainingRun.Status.QUEUED:
            return run  # cancelled before it started, or already handled
        run.status = TrainingRun.Status.RUNNING
        run.started_at = run.heartbeat_at = timezone.now()
        run.worker_host, run.worker_pid = socket.gethostname(), os.getpid()
        run.attempts += 1
        run.log = [*run.log, log_entry("run.started", {"host": run.worker_host, "pid": run.worker_pid})]
        run.save()
    scratch = Path(tempfile.mkdtemp(prefix=f"riim-run-{run.pk}-"))
    heartbeat = _Heartbeat(run.pk)
    heartbeat.start()
    status, error = TrainingRun.Status.FAILED, ""
    try:
        out_dir = scratch / "model"
        started = time.perf_counter()
        if run.mode == TrainingRun.Mode.QUICK:
            from apps.training.quick import quick_model_build

            quick_model_build(run=run, out_dir=out_dir)
        else:
            from ml.training import train

            train(_ml_config(run.config), _manifest_write(run, scratch), out_dir, progress=_Reporter(run.pk),
                  weights_dir=settings.RIIM_WEIGHTS_DIR)
        training_seconds = time.perf_counter() - started
        version = model_version_publish(run=run, local_dir=out_dir)
        if run.mode == TrainingRun.Mode.QUICK:
            _autoencoder_after_publish(version)
        if run.automatic:
            from apps.training.automation import automatic_versions_prune

            automatic_versions_prune(project=run.project)
        status = TrainingRun.Status.SUCCEEDED
        TrainingRun.objects.filter(pk=run.pk).update(
            timings={**(version.metadata.get("timings") or {}), "wall_s": round(training_seconds, 1)},
            metrics={**version.metrics, "test": version.test_summary, "holdout_accuracy": version.test_accuracy,
                     "holdout_n": version.test_n},
        )
    except RunCancelled:
        status = TrainingRun.Status.CANCELLED
    except Exception as exc:  # the run records any failure; the worker stays healthy
        logger.exception("training run %s failed", run.pk)
        error = f"{type(exc).__name__}: {exc}"[:2000]
    finally:
        heartbeat.stopped.set()
        shutil.rmtree(scratch, ignore_errors=True)
    finished = {"status": status, "error_message": error, "finished_at": timezone.now(), "heartbeat_at": timezone.now()}
    if status == TrainingRun.Status.SUCCEEDED:
        finished["percent"] = 100.0
    TrainingRun.objects.filter(pk=run.pk).update(**finished)
    training_run_log(run_id=run.pk, key="run.finished_error" if error else "run.finished", params={"status": status, "error": error})
    return TrainingRun.objects.get(pk=run.pk)


def _autoencoder_after_publish(version: ModelVersion) -> None:
    """Complete a quick version with the project's autoencoder, or queue its build; never fails the run."""
    try:
        project_autoencoder_after_publish(version=version)
    except Exception:  # the version serves without it; the generative lab says what is missing
        logger.exception("version %s: the project's autoencoder could not be added or queued", version.pk)


def _card_metrics(card: dict) -> dict:
    """Pick the numbers the versions page compares side by side from a model card."""
    metrics = card.get("metrics") or {}
    kfold = card.get("kfold") or {}
    # The engine's own score of the photos it reported on when it ran (the version's ``test`` is
    # today's sealed test share, scored by the platform).
    return {
        "engine_accuracy": metrics.get("accuracy"),
        "engine_n": metrics.get("n"),
        "engine_split": metrics.get("split"),
        "kfold_k": kfold.get("k"),
        "kfold_mean": (kfold.get("accuracy") or {}).get("mean"),
        "kfold_std": (kfold.get("accuracy") or {}).get("std"),
        "sparsity": (card.get("pruning") or {}).get("total_sparsity"),
        "variants": card_variants(card),
    }


def model_version_publish(*, run=None, local_dir: Path, project=None, user=None, source=ModelVersion.Source.TRAINED,
                          explainable=True, auto_activate=True, test_score=None) -> ModelVersion:
    """Store a finished model folder as a new version, score it on the sealed test share and apply the activation rule.

    Files go to a fresh storage folder first; the row appears only once every file is there, so a
    half-written version is never visible. ``test_score`` is an (accuracy, n) already measured on the
    folder (an import scores before storing anything, so a model that cannot answer leaves nothing behind).
    """
    project = project or run.project
    card = read_card(local_dir)
    if list(card.get("classes", [])) != list(project.classes):
        raise ApplicationError(
            VERSION_CLASSES_MISMATCH % {"model": ", ".join(card.get("classes", [])), "project": ", ".join(project.classes)}
        )
    prefix = artifact_prefix_new(project_slug=project.slug)
    files = artifacts_upload(local_dir=Path(local_dir), prefix=prefix)
    try:
        with transaction.atomic():
            # The number is taken under the project's row lock, in the same transaction as the row,
            # so a training run and an import publishing at once cannot get the same number.
            Project.objects.select_for_update().get(pk=project.pk)
            number = (project.model_versions.aggregate(n=Max("number"))["n"] or 0) + 1
            version = ModelVersion.objects.create(
                project=project, number=number, run=run, source=source, artifact_dir=prefix, files=files,
                metadata=card, metrics=_card_metrics(card), explainable=explainable,
                created_by=user or (run.requested_by if run else None),
            )
    except Exception:
        artifacts_delete(prefix=prefix, files=files)
        raise
    return model_version_score_and_decide(version=version, auto_activate=auto_activate, test_score=test_score)


def model_version_score_and_decide(*, version: ModelVersion, auto_activate=True, test_score=None) -> ModelVersion:
    """Score a new version on the sealed test share (a report only), then let the activation rule decide."""
    from apps.training.activation import model_version_decide

    try:
        _model_version_open_check(version)
        accuracy, n = test_score if test_score is not None else version_test_score(version)
    except Exception as exc:  # a corrupt or unreadable file: the version is refused, the active one stays
        logger.warning("version %s cannot be served: %s", version.pk, exc)
        problem = str(VERSION_FILE_BROKEN % {"number": version.number, "reason": str(exc)[:300]})
        ModelVersion.objects.filter(pk=version.pk).update(status=ModelVersion.Status.FAILED, problem=problem)
        version.refresh_from_db()
        return version
    ModelVersion.objects.filter(pk=version.pk).update(test_accuracy=accuracy, test_n=n)
    _int8_judge(version)
    if not auto_activate:
        ModelVersion.objects.filter(pk=version.pk).update(activation={"decision": "kept", "reason": "imported"})
        version.refresh_from_db()
        return version
    return model_version_decide(version)


def _int8_judge(version: ModelVersion) -> None:
    """Record whether the version's int8 file may be served (``metrics["int8"]``); a failure only withholds it."""
    from apps.training.evaluation import int8_judgement

    try:
        judgement = int8_judgement(version)
    except Exception as exc:  # an int8 file that cannot answer is simply not served
        logger.warning("version %s: int8 file not judged: %s", version.pk, exc)
        judgement = {"servable": False, "reason": "cannot_run", "n": 0, "fp32_accuracy": None, "int8_accuracy": None}
    if judgement is not None:
        version.metrics = {**version.metrics, "int8": judgement}
        ModelVersion.objects.filter(pk=version.pk).update(metrics=version.metrics)


def _model_version_open_check(version: ModelVersion) -> None:
    """Open the version's served model files as the web process will; raise what makes them unusable.

    Scoring alone does not open them when the project has no labeled test photo yet.
    """
    from apps.training.artifacts import artifacts_local_dir
    from ml.inference import Predictor

    Predictor(artifacts_local_dir(version))


def model_version_activate(*, version: ModelVersion, user) -> ModelVersion:
    """Make a version the project's active one by hand (also a rollback): it pins the project."""
    from apps.training.activation import model_version_activate_by_hand

    if not can_manage(user=user, project=version.project):
        raise PermissionDeniedError(ONLY_TEACHER_RETRAINS)
    if version.problem:
        raise ApplicationError(VERSION_HAS_PROBLEM % {"problem": version.problem})
    if list(version.metadata.get("classes", [])) != list(version.project.classes):
        raise ApplicationError(
            VERSION_CLASSES_MISMATCH
            % {"model": ", ".join(version.metadata.get("classes", [])), "project": ", ".join(version.project.classes)}
        )
    model_version_activate_by_hand(version)
    version.refresh_from_db()
    version.project.refresh_from_db(fields=["model_pinned"])
    return version


def project_automation_update(*, project: Project, user, auto_quick_retrain: bool, release_pin: bool = False) -> Project:
    """Switch the automatic quick retrain on or off and, if asked, release the pin of a hand-picked version."""
    if not can_manage(user=user, project=project):
        raise PermissionDeniedError(ONLY_TEACHER_RETRAINS)
    changes = {"auto_quick_retrain": bool(auto_quick_retrain), **({"model_pinned": False} if release_pin else {})}
    Project.objects.filter(pk=project.pk).update(**changes)
    project.refresh_from_db(fields=list(changes))
    return project


def training_runs_sweep_stale() -> int:
    """Mark running runs whose heartbeat is too old as failed; return how many."""
    bound = settings.RIIM_TRAINING_HEARTBEAT_TIMEOUT
    cutoff = timezone.now() - timezone.timedelta(seconds=bound)
    stale = TrainingRun.objects.filter(status=TrainingRun.Status.RUNNING, heartbeat_at__lt=cutoff)
    count = 0
    for run in stale:
        updated = TrainingRun.objects.filter(pk=run.pk, status=TrainingRun.Status.RUNNING, heartbeat_at__lt=cutoff).update(
            status=TrainingRun.Status.FAILED, finished_at=timezone.now(), error_message=str(STALE_HEARTBEAT % {"seconds": bound})
        )
        if updated:
            training_run_log(run_id=run.pk, key="run.swept")
            count += 1
    return count

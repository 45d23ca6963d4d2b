"""Start lab experiments and run them on a worker: lifecycle, progress and results (runners in runners.py)."""

from __future__ import annotations

import logging
import time

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.common.exceptions import ApplicationError, ConflictError, PermissionDeniedError
from apps.lab.models import LabExperiment
from apps.lab.runners import RUNNERS
from apps.projects.access import can_contribute
from apps.training.project_autoencoder import version_autoencoder_ensure
from apps.training.selectors import model_version_active

logger = logging.getLogger(__name__)

ONLY_MEMBERS_EXPERIMENT = _("Only the project's students and teacher can start lab experiments.")
NO_MODEL_YET = _("This appears after the first retraining: the project has no trained model yet.")
UNKNOWN_EXPERIMENT = _("Unknown experiment.")
BAD_PARAMETER = _("Invalid value for %(name)s.")

# Starting ------------------------------------------------------------------------------------------


def _clean_params(kind: str, params: dict, project) -> dict:
    params = dict(params or {})
    clean: dict = {}
    if kind == LabExperiment.Kind.CLUSTERS:
        k = params.get("k") or len(project.classes)
        method = params.get("method") or "pca"
        if not str(k).isdigit() or not 2 <= int(k) <= 10:
            raise ApplicationError(BAD_PARAMETER % {"name": "k"})
        if method not in ("pca", "tsne"):
            raise ApplicationError(BAD_PARAMETER % {"name": "method"})
        clean = {"k": int(k), "method": method}
    elif kind == LabExperiment.Kind.LABEL_NOISE:
        percent = params.get("percent", 20)
        try:
            percent = float(percent)
        except (TypeError, ValueError):
            raise ApplicationError(BAD_PARAMETER % {"name": "percent"}) from None
        if not 0 <= percent <= 90:
            raise ApplicationError(BAD_PARAMETER % {"name": "percent"})
        clean = {"percent": percent}
    elif kind == LabExperiment.Kind.COMPRESSION and params.get("version"):
        if not project.model_versions.filter(pk=params["version"]).exists():
            raise ApplicationError(BAD_PARAMETER % {"name": "version"})
        clean = {"version": int(params["version"])}
    return clean


def lab_experiment_start(*, project, user, kind: str, params: dict | None = None) -> LabExperiment:
    """Queue an experiment on the project's active model (or return the same one already running)."""
    if not can_contribute(user=user, project=project):
        raise PermissionDeniedError(ONLY_MEMBERS_EXPERIMENT)
    if kind not in LabExperiment.Kind.values:
        raise ApplicationError(UNKNOWN_EXPERIMENT)
    clean = _clean_params(kind, params, project)
    version = None
    if clean.get("version"):
        version = project.model_versions.get(pk=clean["version"])
    else:
        version = model_version_active(project=project)
    if version is None:
        raise ConflictError(NO_MODEL_YET)
    if kind == LabExperiment.Kind.AUTOENCODER:
        # A version without the file gets the project's copy now, or the build starts and the answer says so.
        version = version_autoencoder_ensure(version=version)
    running = LabExperiment.objects.filter(
        project=project, kind=kind, model_version=version, params=clean, status__in=LabExperiment.ACTIVE_STATUSES
    ).first()
    if running is not None:
        return running
    experiment = LabExperiment.objects.create(
        project=project, model_version=version, requested_by=user, kind=kind, params=clean
    )
    # robust: a broker that is down must not fail the request; the pending-work sweep resends it.
    transaction.on_commit(lambda: lab_experiment_send(experiment_id=experiment.pk), robust=True)
    return experiment


def lab_experiment_send(*, experiment_id: int) -> None:
    """Hand a queued experiment to the broker (on the lab queue, by its task's route)."""
    from apps.lab.tasks import lab_experiment_execute_task

    lab_experiment_execute_task.delay(experiment_id)


# Running -------------------------------------------------------------------------------------------


class _Progress:
    """Write an experiment's progress at most twice a second, each stage scaled into its share."""

    def __init__(self, experiment_id):
        self.experiment_id = experiment_id
        self.last = 0.0
        self.low, self.high = 0.0, 100.0

    def stage(self, low, high):
        self.low, self.high = low, high
        self(0.0, "")

    def __call__(self, fraction, message=""):
        now = time.monotonic()
        if now - self.last < 0.5 and fraction < 1.0:
            return
        self.last = now
        percent = round(self.low + (self.high - self.low) * float(fraction), 1)
        LabExperiment.objects.filter(pk=self.experiment_id).update(percent=percent, message=str(message)[:200])


def lab_experiment_execute(*, experiment_id: int) -> LabExperiment:
    """Run one queued experiment, recording progress, result or error."""
    updated = LabExperiment.objects.filter(pk=experiment_id, status=LabExperiment.Status.QUEUED).update(
        status=LabExperiment.Status.RUNNING, started_at=timezone.now()
    )
    experiment = LabExperiment.objects.select_related("project", "model_version").get(pk=experiment_id)
    if not updated:
        return experiment  # already taken by another worker, or finished
    progress = _Progress(experiment.pk)
    try:
        if experiment.model_version is None:
            raise ConflictError(NO_MODEL_YET)
        result = RUNNERS[experiment.kind](experiment, progress)
    except ApplicationError as exc:
        _finish(experiment, LabExperiment.Status.FAILED, error=str(exc.message))
    except Exception as exc:  # a broken model file must not leave the experiment running forever
        logger.exception("lab experiment %s failed", experiment.pk)
        _finish(experiment, LabExperiment.Status.FAILED, error=f"{type(exc).__name__}: {exc}")
    else:
        _finish(experiment, LabExperiment.Status.SUCCEEDED, result=result)
    experiment.refresh_from_db()
    return experiment


def _finish(experiment, status, result=None, error=""):
    LabExperiment.objects.filter(pk=experiment.pk).update(
        status=status,
        result=result or {},
        error_message=error,
        percent=100.0 if status == LabExperiment.Status.SUCCEEDED else experiment.percent,
        finished_at=timezone.now(),
    )


# Demonstrations ------------------------------------------------------------------------------------

BACKPROP_PIXELS = 32  # the network only sees the mean colour, so a small decode is enough


def lab_backprop_example(*, project) -> dict | None:
    """Return the tiny network's steps on one labeled photo of the project (its mean red, green and blue)."""
    from apps.lab.features import image_pixels
    from ml.lab.network import colour_example

    image = project.images.exclude(label="").filter(label__in=project.classes).order_by("pk").first()
    if image is None:
        return None
    try:
        pixels = image_pixels(image, BACKPROP_PIXELS)
    except Exception:  # an unreadable file is reported elsewhere; the page shows no example
        return None
    example = colour_example(pixels, project.classes.index(image.label), len(project.classes), seed=image.pk)
    return {
        "image": {
            "id": image.pk,
            "label": image.label,
            "thumb": reverse("api-image-thumbnail", kwargs={"image_id": image.pk}),
        },
        "inputs": example["inputs"],
        "input_names": [str(_("mean red")), str(_("mean green")), str(_("mean blue"))],
        "target": example["target"],
        "classes": list(project.classes),
        "steps": example["steps"],
    }

"""Start lab experiments and run them on a worker: every number comes from the project's own model and images."""

from __future__ import annotations

import base64
import io
import logging
import time
from pathlib import Path

import numpy as np
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.common.exceptions import ApplicationError, ConflictError, PermissionDeniedError
from apps.lab.features import image_pixels, input_size, model_card, version_features
from apps.lab.models import LabExperiment
from apps.projects.access import can_contribute
from apps.training.artifacts import artifacts_local_dir
from apps.training.models import ModelVersion
from apps.training.selectors import model_version_active

logger = logging.getLogger(__name__)

ONLY_MEMBERS_EXPERIMENT = _("Only the project's students and teacher can start lab experiments.")
NO_MODEL_YET = _("This appears after the first retraining: the project has no trained model yet.")
NOT_ENOUGH_IMAGES = _("The experiment needs at least %(minimum)d labeled images of each class (%(detail)s).")
UNKNOWN_EXPERIMENT = _("Unknown experiment.")
FILE_MISSING = _("This version has no %(file)s yet: it appears after the next retraining.")
BAD_PARAMETER = _("Invalid value for %(name)s.")

POLICIES = {
    "none": (),
    "flip": ("flip",),
    "bright": ("bright",),
    "dark": ("dark",),
    "crop": ("crop",),
    "flip+crop": ("flip", "crop"),
    "all": ("flip", "bright", "dark", "crop"),
}


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
    running = LabExperiment.objects.filter(
        project=project, kind=kind, model_version=version, params=clean, status__in=LabExperiment.ACTIVE_STATUSES
    ).first()
    if running is not None:
        return running
    experiment = LabExperiment.objects.create(
        project=project, model_version=version, requested_by=user, kind=kind, params=clean
    )
    transaction.on_commit(lambda: _enqueue(experiment.pk))
    return experiment


def _enqueue(experiment_id):
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


def _features(experiment, progress, share=40.0):
    progress.stage(0.0, share)
    features = version_features(experiment.model_version, progress=progress)
    progress.stage(share, 100.0)
    return features


def _require_per_class(features, rows, minimum):
    counts = (
        np.bincount(features.labels[rows], minlength=len(features.classes))
        if len(rows)
        else np.zeros(len(features.classes), int)
    )
    if counts.min() < minimum:
        detail = ", ".join(f"{name}: {int(c)}" for name, c in zip(features.classes, counts, strict=True))
        raise ApplicationError(NOT_ENOUGH_IMAGES % {"minimum": minimum, "detail": detail})


def _train_validation_rows(features, minimum=3):
    train = features.select("train")
    holdout = features.select("holdout")
    _require_per_class(features, train, minimum)
    if len(holdout) < 2 * len(features.classes):  # too few holdout images: validate on part of the training set
        rng = np.random.default_rng(0)
        shuffled = rng.permutation(train)
        cut = max(len(features.classes), len(train) // 4)
        return shuffled[cut:], shuffled[:cut], "train"
    return train, holdout, "holdout"


def run_overfitting(experiment, progress):
    from ml.lab.coach import read_curves
    from ml.lab.experiments import overfitting_experiment

    features = _features(experiment, progress)
    train, validation, source = _train_validation_rows(features)
    emb = features.embeddings
    result = overfitting_experiment(
        {name: values[train] for name, values in emb.items()},
        features.labels[train],
        emb["original"][validation],
        features.labels[validation],
        len(features.classes),
    )
    progress(1.0)
    result["validation_source"] = source
    result["coach"] = {"plain": read_curves(result["plain"]), "regularized": read_curves(result["regularized"])}
    return result


def run_splits(experiment, progress):
    from ml.lab.experiments import split_spread

    features = _features(experiment, progress)
    rows = features.select(None)
    _require_per_class(features, rows, 4)
    result = split_spread(features.embeddings["original"][rows], features.labels[rows], len(features.classes))
    result["images"] = int(len(rows))
    return result


def run_label_noise(experiment, progress):
    from ml.lab.experiments import NOISE_FRACTIONS, label_noise_experiment

    features = _features(experiment, progress)
    train, test, source = _train_validation_rows(features)
    chosen = experiment.params.get("percent", 20) / 100.0
    fractions = sorted({*NOISE_FRACTIONS, round(chosen, 3)})
    result = label_noise_experiment(
        features.embeddings["original"][train],
        features.labels[train],
        features.embeddings["original"][test],
        features.labels[test],
        len(features.classes),
        fractions=fractions,
        progress=progress,
    )
    result["chosen"] = chosen
    result["test_source"] = source
    return result


def _thumb(image_id):
    return reverse("api-image-thumbnail", kwargs={"image_id": image_id})


def run_clusters(experiment, progress):
    from ml.lab.clusters import agreement, cluster_map

    features = _features(experiment, progress, share=60.0)
    rows = np.arange(len(features.image_ids))
    k = int(experiment.params.get("k", len(features.classes)))
    if len(rows) < max(k, 3):
        raise ApplicationError(NOT_ENOUGH_IMAGES % {"minimum": 1, "detail": f"{len(rows)}"})
    mapped = cluster_map(
        features.embeddings["original"][rows],
        np.maximum(features.labels[rows], 0),
        k,
        experiment.params.get("method", "pca"),
    )
    clusters = np.array(mapped["clusters"])
    labeled = features.labels[rows] >= 0
    points = [
        {
            "id": int(features.image_ids[i]),
            "x": mapped["coords"][i][0],
            "y": mapped["coords"][i][1],
            "cluster": int(clusters[i]),
            "label": features.classes[features.labels[i]] if features.labels[i] >= 0 else "",
            "thumb": _thumb(int(features.image_ids[i])),
        }
        for i in rows
    ]
    result = {
        "k": k,
        "method": mapped["method"],
        "points": points,
        "classes": features.classes,
        "labeled": int(labeled.sum()),
        "agreement": agreement(clusters[labeled], features.labels[rows][labeled]) if labeled.sum() >= 2 else None,
        "anomalies": [],
    }
    if features.ae_error is not None:
        order = np.argsort(-features.ae_error)[:8]
        result["anomalies"] = [
            {
                "id": int(features.image_ids[i]),
                "error": float(features.ae_error[i]),
                "thumb": _thumb(int(features.image_ids[i])),
                "label": features.classes[features.labels[i]] if features.labels[i] >= 0 else "",
            }
            for i in order
        ]
        result["ae_error_median"] = float(np.median(features.ae_error))
    progress(1.0)
    return result


def run_bandit(experiment, progress):
    from ml.lab.bandit import run_agent, run_random
    from ml.lab.heads import HeadConfig, fit_head, head_accuracy

    features = _features(experiment, progress)
    train = features.select("train")
    _require_per_class(features, train, 4)
    emb, labels, classes = features.embeddings, features.labels, len(features.classes)
    per_class = 6  # a small training set, where the choice of augmentation matters most

    def reward(policy: str, step: int) -> float:
        rng = np.random.default_rng(1000 + step)
        chosen, rest = [], []
        for c in range(classes):
            members = rng.permutation(train[labels[train] == c])
            chosen.extend(members[:per_class])
            rest.extend(members[per_class:])
        chosen, rest = np.array(chosen), np.array(rest)
        x = np.concatenate([emb["original"][chosen], *[emb[v][chosen] for v in POLICIES[policy]]])
        y = np.concatenate([labels[chosen]] * (1 + len(POLICIES[policy])))
        head, _ = fit_head(x, y, classes, HeadConfig(hidden=32, epochs=20, dropout=0.2, seed=step))
        return head_accuracy(head, emb["original"][rest], labels[rest])

    actions = list(POLICIES)
    agent = run_agent(actions, reward, steps=24, epsilon=0.4, seed=0, progress=lambda f, m: progress(0.8 * f, m))
    baseline = run_random(actions, reward, steps=24, seed=0)
    progress(1.0)
    return {
        "actions": actions,
        "policies": {a: list(v) for a, v in POLICIES.items()},
        "agent": agent,
        "random": baseline,
        "per_class": per_class,
    }


def _png_data_uri(array) -> str:
    from PIL import Image as PILImage

    out = io.BytesIO()
    PILImage.fromarray(np.asarray(array).clip(0, 255).astype(np.uint8)).save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def _sample_image(project):
    return (
        project.images.filter(split="holdout").exclude(label="").order_by("pk").first()
        or project.images.exclude(label="").order_by("pk").first()
        or project.images.order_by("pk").first()
    )


def run_compression(experiment, progress):
    from ml import cam as cam_maps
    from ml.inference import open_session
    from ml.lab.compression import dense_kernel, weight_histogram

    version = experiment.model_version
    folder = Path(artifacts_local_dir(version))
    card = model_card(version)
    size = input_size(card)
    files = [("fp32", "model.onnx"), ("int8", "model.int8.onnx"), ("unpruned", "model.unpruned.onnx")]
    present = [(key, name) for key, name in files if (folder / name).exists()]
    if not present:
        raise ApplicationError(FILE_MISSING % {"file": "model.onnx"})
    image = _sample_image(version.project)
    pixels = image_pixels(image, size) if image else None
    head = cam_maps.load_head(folder / cam_maps.HEAD_FILE) if (folder / cam_maps.HEAD_FILE).exists() else None
    variants = {}
    limit = None
    for i, (key, name) in enumerate(present):
        histogram = weight_histogram(folder / name, limit=limit)
        limit = histogram.get("limit", limit)  # same axis for every variant
        row = {"file": name, "bytes": (folder / name).stat().st_size, "histogram": histogram}
        if pixels is not None:
            session = open_session(folder / name)
            out = dict(
                zip([o.name for o in session.get_outputs()], session.run(None, {"image": pixels[None]}), strict=True)
            )
            timings = []
            for _repeat in range(5):
                start = time.perf_counter()
                session.run(["probabilities"], {"image": pixels[None]})
                timings.append((time.perf_counter() - start) * 1000)
            probabilities = out["probabilities"][0]
            top = int(np.argmax(probabilities))
            row.update(
                {
                    "label": card["classes"][top],
                    "probability": float(probabilities[top]),
                    "latency_ms": float(np.median(timings)),
                }
            )
            kernel, kernel_source = (head[0], "head.npz") if head is not None else (None, None)
            if key == "unpruned" and head is not None:
                own = dense_kernel(folder / name, head[0].shape[0], head[0].shape[1])
                if own is not None:
                    kernel, kernel_source = own, name
            if kernel is not None and "feature_maps" in out:
                heat = cam_maps.upsample(
                    cam_maps.normalize(cam_maps.class_activation_map(out["feature_maps"][0], kernel, top)), size
                )
                row["heatmap"] = _png_data_uri(cam_maps.overlay(pixels, heat, opacity=0.5))
                row["kernel_source"] = kernel_source
        variants[key] = row
        progress((i + 1) / len(present), name)
    return {
        "version": version.number,
        "image": {"id": image.pk, "label": image.label, "thumb": _thumb(image.pk)} if image else None,
        "original": _png_data_uri(pixels) if pixels is not None else None,
        "variants": variants,
    }


def run_autoencoder(experiment, progress):
    from ml import cam as cam_maps
    from ml.inference import open_session

    version = experiment.model_version
    folder = Path(artifacts_local_dir(version))
    if not (folder / "autoencoder.onnx").exists():
        raise ApplicationError(FILE_MISSING % {"file": "autoencoder.onnx"})
    session = open_session(folder / "autoencoder.onnx")
    side = session.get_inputs()[0].shape[1]
    side = side if isinstance(side, int) else input_size(model_card(version))
    images = list(version.project.images.order_by("?")[:6])
    rows = []
    for i, image in enumerate(images):
        pixels = image_pixels(image, side)
        outputs = dict(
            zip([o.name for o in session.get_outputs()], session.run(None, {"image": pixels[None]}), strict=True)
        )
        error = outputs["error_map"][0]
        row = {"id": image.pk, "label": image.label, "input": _png_data_uri(pixels), "error": float(error.mean())}
        if "reconstruction" in outputs:
            row["reconstruction"] = _png_data_uri(outputs["reconstruction"][0])
        row["error_map"] = _png_data_uri(cam_maps.colorize(cam_maps.normalize(error)))
        rows.append(row)
        progress((i + 1) / len(images), str(image.pk))
    rows.sort(key=lambda r: r["error"])
    return {"images": rows, "size": int(side)}


RUNNERS = {
    LabExperiment.Kind.OVERFITTING: run_overfitting,
    LabExperiment.Kind.SPLITS: run_splits,
    LabExperiment.Kind.LABEL_NOISE: run_label_noise,
    LabExperiment.Kind.CLUSTERS: run_clusters,
    LabExperiment.Kind.BANDIT: run_bandit,
    LabExperiment.Kind.COMPRESSION: run_compression,
    LabExperiment.Kind.AUTOENCODER: run_autoencoder,
}


def version_for(project, version_id=None) -> ModelVersion | None:
    if version_id:
        return project.model_versions.filter(pk=version_id).first()
    return model_version_active(project=project)

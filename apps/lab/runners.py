"""The lab's experiment runners: gather a version's photos and embeddings, call ml.lab, add URLs and pictures.

Each runner takes a running ``LabExperiment`` and a progress callback and returns the result
dict stored on it; the numbers all come from ``ml.lab``.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from apps.common.exceptions import ApplicationError
from apps.lab.features import image_pixels, input_size, model_card, project_backbone_features, version_features
from apps.lab.models import LabExperiment
from apps.training.artifacts import artifacts_local_dir
from apps.training.project_autoencoder import version_autoencoder_ensure

NOT_ENOUGH_IMAGES = _("The experiment needs at least %(minimum)d labeled images of each class (%(detail)s).")
FILE_MISSING = _("This version has no %(file)s yet: it appears after the next retraining.")
AUTOENCODER_IMAGES = 6  # photos the generative page shows side by side with their copies


def _features(experiment, progress, share=40.0, backbone=False):
    """Return the embeddings an experiment works on: with ``backbone``, the shared frozen-backbone cache
    (the version's own embeddings when no pretrained weights exist); else the version's."""
    progress.stage(0.0, share)
    features = project_backbone_features(experiment.model_version.project, progress=progress) if backbone else None
    if features is None:
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
    """Training rows and the rows that judge them: the validation share (the sealed test share stays unseen)."""
    train = features.select("train")
    validation = features.select("validation")
    _require_per_class(features, train, minimum)
    if len(validation) < 2 * len(features.classes):  # too few validation images: validate on part of the training set
        rng = np.random.default_rng(0)
        shuffled = rng.permutation(train)
        cut = max(len(features.classes), len(train) // 4)
        return shuffled[cut:], shuffled[:cut], "train"
    return train, validation, "validation"


def _thumb(image_id):
    return reverse("api-image-thumbnail", kwargs={"image_id": image_id})


def _png_data_uri(array) -> str:
    from PIL import Image as PILImage

    out = io.BytesIO()
    PILImage.fromarray(np.asarray(array).clip(0, 255).astype(np.uint8)).save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def _sample_image(project):
    return (
        project.images.filter(split="validation").exclude(label="").order_by("pk").first()
        or project.images.exclude(label="").order_by("pk").first()
        or project.images.order_by("pk").first()
    )



OVERFIT_SEEDS = 5  # subsets and initialisations compared: enough to see the spread, a few seconds in all

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
    result["validation_source"] = source
    result["coach"] = {"plain": read_curves(result["plain"]), "regularized": read_curves(result["regularized"])}
    # One subset can mislead (a handful of photos, one initialisation): the same comparison on other seeds says
    # whether regularization narrows the train–validation gap on this class's photos, and how much it varies.
    gaps = {"plain": [], "regularized": []}
    for seed in range(OVERFIT_SEEDS):
        run = result if seed == 0 else overfitting_experiment(
            {name: values[train] for name, values in emb.items()}, features.labels[train],
            emb["original"][validation], features.labels[validation], len(features.classes), seed=seed,
        )
        for key in gaps:
            gap = result["coach"][key]["final_gap"] if seed == 0 else read_curves(run[key])["final_gap"]
            if gap is not None:
                gaps[key].append(float(gap))
        progress((seed + 1) / OVERFIT_SEEDS)
    result["seeds"] = {key: {"gaps": values, "mean": _mean(values), "std": _std(values)} for key, values in gaps.items()}
    result["seeds"]["n"] = OVERFIT_SEEDS
    return result


def _mean(values):
    return sum(values) / len(values) if values else None


def _std(values):
    if len(values) < 2:
        return None
    mean = _mean(values)
    return (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5


def run_splits(experiment, progress):
    from ml.lab.experiments import split_spread

    features = _features(experiment, progress, backbone=True)
    rows = features.select(None)
    _require_per_class(features, rows, 4)
    result = split_spread(features.embeddings["original"][rows], features.labels[rows], len(features.classes))
    result["images"] = int(len(rows))
    return result


def run_label_noise(experiment, progress):
    from ml.lab.experiments import NOISE_FRACTIONS, label_noise_experiment

    features = _features(experiment, progress, backbone=True)
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


def run_clusters(experiment, progress):
    from ml.lab.clusters import agreement, cluster_map

    features = _features(experiment, progress, share=60.0, backbone=True)
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
    from ml.lab.bandit import augmentation_bandit

    features = _features(experiment, progress)
    train = features.select("train")
    _require_per_class(features, train, 4)
    return augmentation_bandit(features.embeddings, features.labels, train, len(features.classes), progress=progress)


def run_compression(experiment, progress):
    from ml.lab.compression import compare_variants, present_variants
    from ml.runtime import MODEL_FILE

    version = experiment.model_version
    folder = Path(artifacts_local_dir(version))
    if not present_variants(folder):
        raise ApplicationError(FILE_MISSING % {"file": MODEL_FILE})
    card = model_card(version)
    image = _sample_image(version.project)
    pixels = image_pixels(image, input_size(card)) if image else None
    variants = compare_variants(folder, pixels, list(card["classes"]), progress=progress)
    for row in variants.values():
        if "heatmap" in row:
            row["heatmap"] = _png_data_uri(row["heatmap"])
    return {
        "version": version.number,
        "image": {"id": image.pk, "label": image.label, "thumb": _thumb(image.pk)} if image else None,
        "original": _png_data_uri(pixels) if pixels is not None else None,
        "variants": variants,
    }


def run_autoencoder(experiment, progress):
    from ml.lab.generative import Reconstructions
    from ml.runtime import AUTOENCODER_FILE

    # Every version can have one: the project's autoencoder is copied in, or its build starts (and the error says so).
    version = version_autoencoder_ensure(version=experiment.model_version)
    folder = Path(artifacts_local_dir(version))
    if not (folder / AUTOENCODER_FILE).exists():
        raise ApplicationError(FILE_MISSING % {"file": AUTOENCODER_FILE})
    autoencoder = Reconstructions(folder)
    side = autoencoder.input_size or input_size(model_card(version))
    images = list(version.project.images.order_by("?")[:AUTOENCODER_IMAGES])
    rows = []
    for i, image in enumerate(images):
        pixels = image_pixels(image, side)
        view = autoencoder.view(pixels)
        row = {"id": image.pk, "label": image.label, "input": _png_data_uri(pixels), "error": view["error"]}
        if view["reconstruction"] is not None:
            row["reconstruction"] = _png_data_uri(view["reconstruction"])
        row["error_map"] = _png_data_uri(view["error_map"])
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

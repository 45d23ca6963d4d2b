"""What each lab page shows, read from the project's runs, versions and experiments."""

from __future__ import annotations

from apps.lab.models import LabExperiment
from apps.training.models import ModelVersion, TrainingRun
from apps.training.selectors import card_variants, model_version_active
from apps.training.variants import variant_label
from apps.uploads.splits import TRAIN


def lab_experiment_latest(*, project, kind) -> LabExperiment | None:
    """Return the newest experiment of a kind for the project (running or finished)."""
    return LabExperiment.objects.filter(project=project, kind=kind).order_by("-created_at", "-id").first()


def lab_experiment_get(*, experiment_id, projects) -> LabExperiment | None:
    return LabExperiment.objects.filter(pk=experiment_id, project__in=projects).select_related("project").first()


def lab_experiment_json(experiment: LabExperiment | None) -> dict | None:
    if experiment is None:
        return None
    return {
        "id": experiment.pk,
        "kind": experiment.kind,
        "status": experiment.status,
        "status_display": str(experiment.get_status_display()),
        "percent": experiment.percent,
        "message": experiment.message,
        "params": experiment.params,
        "version": experiment.model_version.number if experiment.model_version else None,
        "result": experiment.result if experiment.status == LabExperiment.Status.SUCCEEDED else None,
        "error": experiment.error_message,
        "seconds": experiment.seconds,
        "created_at": experiment.created_at.isoformat(),
    }


def run_curves(run: TrainingRun) -> list[dict]:
    """Return a run's per-epoch curves: the live ones, or its version card's history."""
    rows = [row for row in run.curves or [] if "val_loss" in row]
    if rows:
        return rows
    version = getattr(run, "model_version", None)
    if version is not None:
        return [row for row in version.metadata.get("history", {}).get("epochs", []) if "val_loss" in row]
    return []


def overfitting_runs(*, project, limit=5) -> list[dict]:
    """Return the latest runs that have curves, each with the coach's reading."""
    from ml.lab.coach import read_curves

    found = []
    for run in project.training_runs.exclude(status=TrainingRun.Status.QUEUED).order_by("-created_at")[:20]:
        curves = run_curves(run)
        if not curves:
            continue
        version = ModelVersion.objects.filter(run=run).first()
        found.append(
            {
                "id": run.pk,
                "version": version.number if version else None,
                "status": run.status,
                "created_at": run.created_at.isoformat(),
                "curves": [
                    {k: row.get(k) for k in ("loss", "val_loss", "accuracy", "val_accuracy", "stage", "phase")}
                    for row in curves
                ],
                "reading": read_curves(curves),
            }
        )
        if len(found) == limit:
            break
    return found


def version_rows(*, project) -> list[ModelVersion]:
    return list(
        project.model_versions.exclude(status=ModelVersion.Status.FAILED).select_related("run").order_by("number")
    )


def kfold_versions(*, project) -> list[dict]:
    """Return the k-fold section of each version's card, with mean, std and spread."""
    from ml.lab.experiments import fold_summary

    rows = []
    for version in version_rows(project=project):
        kfold = version.metadata.get("kfold")
        if not kfold or not kfold.get("per_fold"):
            continue
        rows.append(
            {
                "version": version.number,
                "k": kfold.get("k"),
                "method": kfold.get("method", ""),
                "per_fold": kfold["per_fold"],
                "summary": fold_summary(kfold["per_fold"]),
                "card_accuracy": kfold.get("accuracy"),
                "holdout_accuracy": version.test_accuracy,
            }
        )
    return rows


def _train_count(version: ModelVersion) -> int | None:
    if version.run is not None and version.run.dataset_snapshot:
        return sum(1 for _, _, split in version.run.dataset_snapshot if split == TRAIN)
    counts = version.metadata.get("dataset", {}).get("counts", {})
    if counts.get("train"):
        return sum(counts["train"].values()) + sum(counts.get("val", {}).values())
    return None


def learning_curve(*, project) -> list[dict]:
    """Return (labeled training images, sealed test accuracy) for every version with a test score."""
    points = []
    for version in version_rows(project=project):
        n = _train_count(version)
        if version.test_accuracy is None or n is None:
            continue
        points.append(
            {
                "version": version.number,
                "train_images": n,
                "accuracy": version.test_accuracy,
                "holdout_n": version.test_n,
            }
        )
    return points


VARIANT_KEYS = (
    "keras",
    "onnx_fp32",
    "onnx_int8",
    "onnx_unpruned",
    "tflite_fp32",
    "tflite_dynamic",
    "tflite_float16",
    "tflite_int8",
)


def compression_versions(*, project) -> list[dict]:
    """Return, per version, size, holdout accuracy and latency of each exported variant from its card."""
    rows = []
    for version in reversed(version_rows(project=project)):
        card = version.metadata
        variants = card_variants(card)
        table = [{"key": key, "name": variant_label(key), **variants[key]} for key in VARIANT_KEYS if key in variants]
        pruning = card.get("pruning") or {}
        rows.append(
            {
                "id": version.pk,
                "version": version.number,
                "status": version.status,
                "table": table,
                "holdout_n": card.get("variants_holdout_images"),
                "pruning_enabled": bool(pruning.get("enabled", bool(pruning))),
                "sparsity": pruning.get("sparsity", {}).get("total")
                if isinstance(pruning.get("sparsity"), dict)
                else pruning.get("sparsity"),
                "pruning_target": pruning.get("target"),
                "quantization": sorted(k for k in (card.get("quantization") or {}) if k != "requested"),
            }
        )
    return rows


def active_version(*, project):
    return model_version_active(project=project)


def three_shares(*, project) -> dict:
    """The class's own numbers behind "a test set must stay unseen": photos per share, versions tried, and the
    served version's score on the photos that chose it against its score on the sealed test photos."""
    from apps.training.models import ModelVersion
    from apps.uploads.splits import TEST, VALIDATION

    labeled = project.images.filter(label__in=project.classes, hidden=False)
    counts = {split: labeled.filter(split=split).count() for split in (TRAIN, VALIDATION, TEST)}
    active = model_version_active(project=project)
    chosen = (active.activation or {}).get("validation") if active else None
    return {
        "counts": counts,
        "versions_tried": ModelVersion.objects.filter(project=project, run__isnull=False).count(),
        "active": active,
        "chosen_right": chosen["candidate_correct"] if chosen else None,
        "chosen_n": chosen["n"] if chosen else None,
        "test": active.test_summary if active else None,
    }

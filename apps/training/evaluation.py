"""Score model versions: the sealed test share only reports, the validation share decides.

A version never trained on a photo of either share (the splits are fixed per photo, and a run's
snapshot lists the photos it trained on), so both give honest estimates; only the validation share
is read by decisions (``apps.training.activation``), and always on photos both versions predicted.
"""
import numpy as np

from apps.training.artifacts import artifacts_local_dir
from apps.training.models import TrainingRun
from apps.uploads.splits import TEST, TRAIN, VALIDATION, split_canonical


def labeled_images(project, split: str) -> list:
    """Return the project's photos of one split that have a label that counts (hidden ones left out)."""
    return list(project.images.filter(split=split, label__in=project.classes, hidden=False).order_by("pk"))


def test_images(project) -> list:
    return labeled_images(project, TEST)


def validation_images(project) -> list:
    return labeled_images(project, VALIDATION)


def version_trained_on(version) -> set:
    """Return the ids of the photos a version was fitted on (none for an imported model)."""
    snapshot = version.run.dataset_snapshot if version.run_id else []
    return {row[0] for row in snapshot if split_canonical(row[2]) == TRAIN}


def version_predictions(version, images) -> list:
    """Return the class a version predicts for each image, through what serves it.

    A quick version reads the embeddings cache when it can: the same answers as the served graph
    without decoding a photo, which keeps a quick run's publication within seconds.
    """
    if not images:
        return []
    if version.metadata.get("mode") == TrainingRun.Mode.QUICK:
        from apps.training.quick import quick_version_predictions

        predicted = quick_version_predictions(version, images)
        if predicted is not None:
            return predicted
    return folder_predictions(artifacts_local_dir(version), images)


def folder_predictions(folder, images, variant: str = "fp32") -> list:
    """Return the class a model folder's served file predicts for each labeled image (all in one batch)."""
    from ml.inference import Predictor

    if not images:
        return []
    predictor = Predictor(folder, variant=variant)
    batch = np.stack([predictor.load(_read(image)) for image in images])
    probabilities = predictor.run(batch, outputs=("probabilities",))["probabilities"]
    return [predictor.classes[i] for i in probabilities.argmax(axis=1)]


def accuracy_of(predicted: list, images) -> tuple[float | None, int]:
    if not images:
        return None, 0
    return sum(p == image.label for p, image in zip(predicted, images, strict=True)) / len(images), len(images)


def version_test_score(version) -> tuple[float | None, int]:
    """Return (accuracy, n) of a version on today's sealed test share (photos it trained on left out)."""
    trained = version_trained_on(version)
    images = [image for image in test_images(version.project) if image.pk not in trained]
    return accuracy_of(version_predictions(version, images), images)


INT8_MAX_LOSS = 0.01  # an int8 file that loses more than one point of accuracy is not served
INT8_JUDGED_PHOTOS = 200  # enough to see a one-point loss, few enough to keep a quick publish in seconds


def int8_judgement(version) -> dict | None:
    """Judge a version's int8 file against its fp32 one on validation photos (never the test share).

    Return the card-like record {"servable", "reason", "n", "fp32_accuracy", "int8_accuracy"}, or
    None when the version has no int8 file. Without a validation photo to judge on, it is not served.
    """
    from ml.runtime import VARIANT_FILES

    if VARIANT_FILES["int8"] not in version.files:
        return None
    trained = version_trained_on(version)
    images = [image for image in validation_images(version.project) if image.pk not in trained][:INT8_JUDGED_PHOTOS]
    if not images:
        return {"servable": False, "reason": "not_judged", "n": 0, "fp32_accuracy": None, "int8_accuracy": None}
    folder = artifacts_local_dir(version)
    fp32, _n = accuracy_of(folder_predictions(folder, images), images)
    int8, _n = accuracy_of(folder_predictions(folder, images, variant="int8"), images)
    servable = int8 >= fp32 - INT8_MAX_LOSS
    return {"servable": servable, "reason": "holds" if servable else "loses_accuracy", "n": len(images),
            "fp32_accuracy": fp32, "int8_accuracy": int8}


def folder_test_score(folder, project) -> tuple[float | None, int]:
    images = test_images(project)
    return accuracy_of(folder_predictions(folder, images), images)


def _read(image) -> bytes:
    with image.file.open("rb") as fh:
        return fh.read()

"""Score model versions on the project's fixed holdout, the yardstick every version shares."""
import numpy as np

from apps.training.artifacts import artifacts_local_dir


def holdout_images(project):
    """Return the project's holdout images that have a label that counts."""
    return list(project.images.filter(split="holdout", label__in=project.classes, hidden=False).order_by("pk"))


def version_holdout_score(version, images) -> tuple[float | None, int]:
    """Return (accuracy, n) of a version on the given labeled images, through ONNX Runtime.

    A quick version is scored from the embeddings cache when it can be: the same numbers without
    decoding a photo, which keeps a quick run's publication within seconds.
    """
    if version.metadata.get("mode") == "quick":
        from apps.training.quick import quick_version_holdout_score

        score = quick_version_holdout_score(version, images)
        if score is not None:
            return score
    return folder_holdout_score(artifacts_local_dir(version), images)


def folder_holdout_score(folder, images) -> tuple[float | None, int]:
    """Return (accuracy, n) of a model folder on the given labeled images (all of them in one batch)."""
    from ml.inference import Predictor

    if not images:
        return None, 0
    predictor = Predictor(folder)
    batch = np.stack([predictor.load(_read(image)) for image in images])
    probabilities = predictor.run(batch, outputs=("probabilities",))["probabilities"]
    predicted = [predictor.classes[i] for i in probabilities.argmax(axis=1)]
    correct = sum(p == image.label for p, image in zip(predicted, images))
    return correct / len(images), len(images)


def _read(image) -> bytes:
    with image.file.open("rb") as fh:
        return fh.read()

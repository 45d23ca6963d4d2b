"""A project with labeled red and blue photos, a real tiny active model version and a run with real curves."""

import io
from pathlib import Path

import numpy as np
import pytest
from django.core.files.storage import default_storage
from PIL import Image as PILImage

from apps.labeling.services import label_assign
from apps.training.models import ModelVersion, TrainingRun
from apps.uploads.services import image_upload_create
from tests.fixtures.models import write_model_folder

PER_CLASS = 14
COLOURS = {"gato": (200, 40, 40), "perro": (40, 60, 200)}


def _photo(colour, rng) -> bytes:
    base = np.array(colour, np.float32) + rng.normal(0, 25, 3)
    pixels = np.clip(base + rng.normal(0, 30, (40, 40, 3)), 0, 255).astype(np.uint8)
    out = io.BytesIO()
    PILImage.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def _holdout_score(folder, images):
    from apps.lab.features import image_pixels
    from ml.card import read_card
    from ml.runtime import INPUT_NAME, MODEL_FILE, open_session

    session = open_session(Path(folder) / MODEL_FILE)
    classes = read_card(folder)["classes"]
    pixels = np.stack([image_pixels(image, 32) for image in images])
    predicted = session.run(["probabilities"], {INPUT_NAME: pixels})[0].argmax(axis=1)
    return float(np.mean([classes[p] == image.label for p, image in zip(predicted, images, strict=True)]))


@pytest.fixture
def lab_world(world):
    """Add labeled photos (every fourth one held out: validation and sealed test in turn), a trained-looking run and an active version."""
    from ml.lab.heads import HeadConfig, fit_head

    rng = np.random.default_rng(0)
    project = world.project
    images = []
    for label, colour in COLOURS.items():
        for i in range(PER_CLASS):
            image = image_upload_create(
                project=project, uploader=world.student, raw=_photo(colour, rng), name=f"{label}{i}.png"
            )
            image.split = ("test" if i % 8 == 0 else "validation") if i % 4 == 0 else "train"
            image.save(update_fields=["split"])
            label_assign(image=image, author=world.student, label=label)
            image.refresh_from_db()
            images.append(image)
    prefix = "models/perros-y-gatos/v1-test"
    card = write_model_folder(Path(default_storage.path(prefix)), project.classes)
    holdout = [image for image in images if image.split == "test"]
    # Real curves: the lab's own head trained on noisy colour features of these photos.
    x = rng.normal(size=(40, 6)) + np.repeat([[2, 0, 0, 0, 0, 0], [0, 0, 2, 0, 0, 0]], 20, axis=0)
    y = np.repeat([0, 1], 20)
    _, curves = fit_head(x[::2], y[::2], 2, HeadConfig(epochs=12), validation=(x[1::2], y[1::2]))
    snapshot = [[image.pk, image.label, image.split] for image in images]
    run = TrainingRun.objects.create(
        project=project,
        requested_by=world.teacher,
        status=TrainingRun.Status.SUCCEEDED,
        curves=curves,
        dataset_snapshot=snapshot,
    )
    files = {p.name: p.stat().st_size for p in Path(default_storage.path(prefix)).iterdir()}
    accuracy = _holdout_score(default_storage.path(prefix), holdout)
    metadata = {
        **card,
        "kfold": {
            "k": 3,
            "method": "stratified",
            "accuracy": {"mean": accuracy, "std": 0.0},
            "loss": {"mean": 0.1, "std": 0.0},
            "per_fold": [
                {
                    "fold": i + 1,
                    "accuracy": _holdout_score(default_storage.path(prefix), holdout[i::3]),
                    "loss": 0.1,
                    "n": len(holdout[i::3]),
                }
                for i in range(3)
            ],
        },
        "sizes": {"onnx_fp32": {"bytes": files["model.onnx"]}, "onnx_int8": {"bytes": files["model.int8.onnx"]}},
        "variants": {"onnx_fp32": {"accuracy": accuracy}},
    }
    version = ModelVersion.objects.create(
        project=project,
        number=1,
        run=run,
        status=ModelVersion.Status.ACTIVE,
        artifact_dir=prefix,
        files=files,
        metadata=metadata,
        test_accuracy=accuracy,
        test_n=len(holdout),
        created_by=world.teacher,
    )
    world.images, world.version, world.run = images, version, run
    return world


@pytest.fixture(autouse=True)
def _lab_cache(settings, tmp_path):
    """Keep each test's embedding cache in its own folder."""
    settings.RIIM_MODEL_CACHE_DIR = tmp_path / "model-cache"

"""One tiny model trained with the engine once per test session, published into each test's project.

RIIM_TEST_MODEL_DIR names a model folder trained earlier to skip the training (its classes become
the project's classes).
"""
import io
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from apps.accounts import roles
from tests.factories import ProjectFactory, UserFactory
from tests.shapes import draw_shape

SIZE = 40  # drawn pictures and model input: small enough to train in seconds on two cores
CLASSES = ("circle", "square")
SERVING_FILES = ("model.onnx", "model.int8.onnx", "head.npz", "anomaly.npz", "activations.onnx")


def draw(label: str, rng: np.random.Generator, size: int = SIZE) -> PILImage.Image:
    """Draw one picture of a class: a coloured shape on a noisy grey background."""
    return draw_shape(label, rng, size, (90, 170))


def encoded(picture: PILImage.Image, fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    picture.save(out, format=fmt)
    return out.getvalue()


def class_pictures(per_class: int, seed: int) -> list[tuple[str, bytes]]:
    """Return (label, PNG bytes) pairs, alternating classes."""
    rng = np.random.default_rng(seed)
    return [(label, encoded(draw(label, rng))) for _ in range(per_class) for label in CLASSES]


def noise_pictures(count: int, seed: int) -> list[bytes]:
    """Return out-of-distribution pictures: uniform random pixels."""
    rng = np.random.default_rng(seed)
    return [encoded(PILImage.fromarray(rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8))) for _ in range(count)]


def _train(out_dir: Path, data_dir: Path) -> Path:
    from ml.config import TrainConfig
    from ml.training import train

    rng = np.random.default_rng(0)
    for label in CLASSES:
        (data_dir / label).mkdir(parents=True)
        for index in range(60):
            draw(label, rng).save(data_dir / label / f"{index}.png")
    config = TrainConfig(
        backbone="scratch",
        weights="none",
        image_size=SIZE,
        epochs=6,  # two flat-coloured shapes separate within a few epochs
        fine_tune_epochs=0,
        batch_size=16,
        augment="none",
        folds=0,  # cross-validation is the engine's business, not the platform's
        patience=6,
        scratch_filters=(16, 32),
        quantize=("int8",),  # the browser page offers the int8 file too
        seed=0,
    )
    train(config, data_dir, out_dir)
    return out_dir


@pytest.fixture(scope="session")
def trained_model_dir(tmp_path_factory) -> Path:
    """Return a model folder trained once per session with the engine (or RIIM_TEST_MODEL_DIR)."""
    given = os.environ.get("RIIM_TEST_MODEL_DIR")
    folder = Path(given) if given else _train(tmp_path_factory.mktemp("model"), tmp_path_factory.mktemp("shapes"))
    missing = [name for name in SERVING_FILES if not (folder / name).exists()]
    assert not missing, f"the training engine wrote no {', '.join(missing)}"
    return folder


@pytest.fixture
def model_classes(trained_model_dir) -> list[str]:
    return list(json.loads((trained_model_dir / "card.json").read_text())["classes"])


@pytest.fixture
def classroom(db, trained_model_dir, model_classes):
    """A project whose classes are the model's, with its teacher, a student, a grader and an outsider."""
    from types import SimpleNamespace

    from apps.inference.loader import cache_clear

    cache_clear()
    teacher = UserFactory(username="profe", role=roles.TEACHER)
    student = UserFactory(username="alumna", role=roles.STUDENT)
    grader = UserFactory(username="evaluador", role=roles.GRADER)
    outsider = UserFactory(username="ajeno", role=roles.STUDENT)
    project = ProjectFactory(
        owner=teacher, slug="formas", classes=model_classes, members=[(student, "student"), (grader, "grader")]
    )
    yield SimpleNamespace(teacher=teacher, student=student, grader=grader, outsider=outsider, project=project)
    cache_clear()


@pytest.fixture
def publish(classroom, trained_model_dir, tmp_path):
    """Return a function that publishes the trained folder as a new version of the project (activated)."""
    from apps.training.services import model_version_publish

    def make(folder: Path | None = None, drop=()):
        source = folder or trained_model_dir
        if drop:
            copy = tmp_path / f"copy-{len(list(tmp_path.iterdir()))}"
            shutil.copytree(source, copy)
            for name in drop:
                (copy / name).unlink(missing_ok=True)
            source = copy
        return model_version_publish(project=classroom.project, local_dir=source, user=classroom.teacher, source="trained")

    return make


@pytest.fixture
def stored_image(classroom):
    """Return a function that stores a picture in the project as the student uploading it."""
    from apps.uploads.services import image_upload_create

    def make(raw: bytes, name: str = "forma.png", user=None):
        return image_upload_create(project=classroom.project, uploader=user or classroom.student, raw=raw, name=name)

    return make

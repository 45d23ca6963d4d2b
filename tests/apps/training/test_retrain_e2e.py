"""Retraining end to end with a real Celery worker on the `training` queue (Redis in CI)."""
import io
import os
import signal

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PILImage
from PIL import ImageDraw
from rest_framework.test import APIClient

from apps.accounts import roles
from apps.labeling.services import label_assign
from apps.training.models import ModelVersion, TrainingRun
from apps.training.services import training_run_start, training_runs_sweep_stale
from apps.uploads.services import image_upload_create
from tests.factories import ProjectFactory, UserFactory
from tests.platform.worker import celery_worker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# Small and fast: a scratch CNN on 32 px drawings, no k-fold, no compression.
TINY_CONFIG = {
    "backbone": "scratch", "weights": "none", "image_size": 32, "epochs": 4, "fine_tune_epochs": 0,
    "augment": "none", "dropout": 0.1, "folds": 0, "prune": None, "quantize": [], "seed": 3,
}


def drawing(label: str, seed: int) -> bytes:
    """A red disc ("gato") or a blue square ("perro") on a noisy background, as PNG bytes."""
    rng = np.random.default_rng(seed)
    background = rng.integers(150, 256, size=(48, 48, 3), dtype=np.uint8)
    picture = PILImage.fromarray(background)
    draw = ImageDraw.Draw(picture)
    x, y = rng.integers(4, 16, size=2)
    size = int(rng.integers(20, 28))
    if label == "gato":
        draw.ellipse([x, y, x + size, y + size], fill=(220, 20, 20))
    else:
        draw.rectangle([x, y, x + size, y + size], fill=(20, 20, 220))
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def class_project(settings):
    """A project with 16 drawings per class labeled by its teacher (about 15 % land in the sealed test share, 15 % in validation)."""
    settings.RIIM_TRAINING_MIN_IMAGES_PER_CLASS = 4
    teacher = UserFactory(role=roles.TEACHER)
    student = UserFactory(role=roles.STUDENT)
    project = ProjectFactory(owner=teacher, members=[(student, "student")])
    for i in range(32):
        label = ("gato", "perro")[i % 2]
        image = image_upload_create(project=project, uploader=teacher, raw=drawing(label, i), name=f"{label}{i}.png")
        label_assign(image=image, author=teacher, label=label)
    return project


def _finished(run_id):
    run = TrainingRun.objects.get(pk=run_id)
    return run if not run.is_active else None


def test_retrain_publishes_an_active_version_that_answers_the_next_upload(class_project):
    """start → progress and curves → version 1 active → an upload is analysed by v1."""
    project = class_project
    with celery_worker("training", pool="prefork", concurrency=1, max_tasks_per_child=1) as worker:
        run = training_run_start(project=project, user=project.owner, config=TINY_CONFIG)
        seen_running = wait_for(
            lambda: TrainingRun.objects.filter(pk=run.pk, status="running").exclude(heartbeat_at=None).first(),
            timeout=120, message="run running",
        )
        run = wait_for(lambda: _finished(run.pk), timeout=600, interval=1, message="run finished")
    assert run.status == "succeeded", (run.error_message, run.log, worker.log()[-3000:])
    assert seen_running.worker_pid and seen_running.worker_pid != os.getpid()
    assert run.percent == 100.0
    assert len(run.curves) >= 1 and {"loss", "val_loss"} <= set(run.curves[0])
    version = ModelVersion.objects.get(project=project)
    assert (version.number, version.status, version.run_id) == (1, "active", run.pk)
    assert version.test_n == project.images.filter(split="test").count() > 0
    assert version.test_accuracy is not None
    assert "model.onnx" in version.files and "card.json" in version.files

    client = APIClient()
    client.force_authenticate(project.owner)
    upload = client.post(
        "/api/v1/images/", {"project": project.slug, "file": SimpleUploadedFile("new.png", drawing("gato", 999))}, format="multipart"
    )
    assert upload.status_code == 201, upload.content
    analysis = upload.json()["analysis"]
    assert analysis["model_version"] == 1 and analysis["label"] in ("gato", "perro") and analysis["ran_on"] == "server"
    assert abs(sum(p["probability"] for p in analysis["predictions"]) - 1.0) < 1e-4


def test_killed_worker_leaves_a_failed_run_and_no_version(class_project, settings):
    """Kill the pool process running the task: the sweeper fails the run, no version appears."""
    settings.RIIM_TRAINING_HEARTBEAT_TIMEOUT = 4
    project = class_project
    long_config = {**TINY_CONFIG, "epochs": 200, "image_size": 64}
    with celery_worker("training", pool="prefork", concurrency=1, max_tasks_per_child=1):
        run = training_run_start(project=project, user=project.owner, config=long_config)
        running = wait_for(
            lambda: TrainingRun.objects.filter(pk=run.pk, status="running", stage__in=["train", "fit", "scratch"]).first()
            or TrainingRun.objects.filter(pk=run.pk, status="running", percent__gt=10).first(),
            timeout=180, interval=0.5, message="training under way",
        )
        os.kill(running.worker_pid, signal.SIGKILL)  # the prefork child executing the task
        failed = wait_for(
            lambda: training_runs_sweep_stale() and TrainingRun.objects.get(pk=run.pk),
            timeout=60, interval=1, message="sweeper to fail the run",
        )
    assert failed.status == "failed" and failed.finished_at is not None
    assert not ModelVersion.objects.filter(project=project).exists()
    assert not (settings.MEDIA_ROOT / "models").exists() or not any((settings.MEDIA_ROOT / "models").rglob("*.onnx"))


def test_cancelling_a_running_run_stops_it_without_a_version(class_project):
    """Cancel from the API while the worker trains: the callback sees the flag, the run ends cancelled."""
    project = class_project
    client = APIClient()
    client.force_authenticate(project.owner)
    with celery_worker("training", pool="prefork", concurrency=1, max_tasks_per_child=1):
        run = training_run_start(project=project, user=project.owner, config={**TINY_CONFIG, "epochs": 200, "image_size": 64})
        wait_for(lambda: TrainingRun.objects.filter(pk=run.pk, status="running", percent__gt=10).first(),
                 timeout=180, interval=0.5, message="training under way")
        response = client.post(f"/api/v1/training-runs/{run.pk}/cancel/")
        assert response.status_code == 200 and response.json()["progress"]["cancel_requested"] is True
        run = wait_for(lambda: _finished(run.pk), timeout=120, interval=0.5, message="run to stop")
    assert run.status == "cancelled"
    assert not ModelVersion.objects.filter(project=project).exists()

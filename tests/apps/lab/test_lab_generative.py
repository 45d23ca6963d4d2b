"""The generative lab on any active version: a version without an autoencoder gets the project's, built on demand.

The quick run uses the random MobileNet stand-in (``weights``); the project's autoencoder is really
trained and run.
"""
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.utils import translation

from apps.labeling.services import label_assign
from apps.training import services
from apps.training.models import ModelVersion, ProjectAutoencoder
from apps.training.project_autoencoder import AUTOENCODER_BEING_BUILT, NO_PHOTOS, TOO_FEW_PHOTOS
from apps.training.services import training_run_execute, training_run_start
from apps.uploads.services import image_upload_create
from ml.runtime import AUTOENCODER_FILE
from tests.apps.training.test_quick_runs import QUICK, _project
from tests.apps.training.test_retrain_e2e import drawing
from tests.fixtures.models import write_model_folder

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_process(monkeypatch):
    """Runs are executed by the test itself, not sent to a broker."""
    monkeypatch.setattr(services, "training_run_send", lambda run_id: None)


def _start(client, project):
    return client.post(f"/lab/api/projects/{project.slug}/experiments/", {"kind": "autoencoder"}, format="json")


def _page(client, project) -> str:
    response = client.get(f"/lab/generative/?project={project.slug}")
    assert response.status_code == 200
    return response.content.decode()


def _spanish(message, **params) -> str:
    with translation.override("es"):
        return str(message % params if params else message)


def test_generative_lab_on_a_quick_version_builds_the_autoencoder_then_runs(
    weights, in_process, api_as, client, django_capture_on_commit_callbacks
):
    """A quick version published while the project had too few photos has no autoencoder: the page says so, the
    experiment's button starts the build and says, in Spanish, that it is being trained (a second click queues
    nothing more); once built, the same click shows the photos, their copies and error maps."""
    project = _project(12)  # eight photos outside the test share: too few to build one
    version = ModelVersion.objects.get(run=training_run_execute(
        run_id=training_run_start(project=project, user=project.owner, config=QUICK).pk))
    assert version.mode == "quick" and version.status == "active" and AUTOENCODER_FILE not in version.files
    assert not ProjectAutoencoder.objects.exists()
    for i in range(12, 20):
        label = ("gato", "perro")[i % 2]
        image = image_upload_create(project=project, uploader=project.owner, raw=drawing(label, i), name=f"{label}{i}.png")
        label_assign(image=image, author=project.owner, label=label)
    client.force_login(project.owner)
    assert 'data-autoencoder-state="missing"' in _page(client, project)

    api = api_as(project.owner)
    with django_capture_on_commit_callbacks() as callbacks:  # the training worker has not taken it yet
        refused = _start(api, project)
        again = _start(api, project)
    assert refused.status_code == again.status_code == 409
    assert refused.data["detail"] == _spanish(AUTOENCODER_BEING_BUILT) and "autocodificador" in refused.data["detail"]
    assert len(callbacks) == 1  # one build for both clicks
    assert 'data-autoencoder-state="building"' in _page(client, project)

    for callback in callbacks:
        callback()
    version.refresh_from_db()
    assert AUTOENCODER_FILE in version.files
    with django_capture_on_commit_callbacks(execute=True):
        started = _start(api, project)
    assert started.status_code == 201, started.content
    data = api.get(started.data["url"]).data
    assert data["status"] == "succeeded", data["error"]
    assert data["version"] == version.number and data["result"]["size"] == 64
    assert len(data["result"]["images"]) == 6
    assert all(row["reconstruction"].startswith("data:image/png;base64,") for row in data["result"]["images"])
    assert "data-autoencoder-state" not in _page(client, project)


def _version_without_autoencoder(project) -> ModelVersion:
    prefix = f"models/{project.slug}/v1-no-autoencoder"
    folder = Path(default_storage.path(prefix))
    card = write_model_folder(folder, project.classes)
    (folder / AUTOENCODER_FILE).unlink()
    files = {p.name: p.stat().st_size for p in folder.iterdir() if p.is_file()}
    return ModelVersion.objects.create(project=project, number=1, status=ModelVersion.Status.ACTIVE, artifact_dir=prefix,
                                       files=files, metadata=card, created_by=project.owner)


def test_generative_lab_without_photos_or_with_too_few_says_why(world, api_as, client):
    """No photos, or fewer than ten: the page and the button say why in Spanish (never a 500) and queue nothing."""
    version = _version_without_autoencoder(world.project)
    client.force_login(world.student)
    api = api_as(world.student)
    assert 'data-autoencoder-state="too-few"' in _page(client, world.project)
    empty = _start(api, world.project)
    assert empty.status_code == 400 and empty.data["detail"] == _spanish(NO_PHOTOS)

    for i in range(3):
        image_upload_create(project=world.project, uploader=world.student, raw=drawing("gato", 100 + i), name=f"g{i}.png")
    count = world.project.images.exclude(split="test").count()
    few = _start(api, world.project)
    assert few.status_code == 400 and few.data["detail"] == _spanish(TOO_FEW_PHOTOS, minimum=10, count=count)
    assert "10" in _page(client, world.project)
    assert not ProjectAutoencoder.objects.filter(status="queued").exists()
    assert AUTOENCODER_FILE not in ModelVersion.objects.get(pk=version.pk).files

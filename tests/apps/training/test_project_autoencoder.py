"""The project's autoencoder: built once from its photos in the background, copied into every version without one.

Quick runs on the random MobileNet stand-in (``weights``); the autoencoder itself is really trained
(TensorFlow, 64 px, a few seconds) and really run (ONNX Runtime), as the lab and the analysis page run it.
"""
import io
import json
import posixpath

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from PIL import Image as PILImage

from apps.common.exceptions import ApplicationError
from apps.training import services
from apps.training.artifacts import artifacts_local_dir
from apps.training.models import ModelVersion, ProjectAutoencoder
from apps.training.project_autoencoder import (
    NO_PHOTOS,
    TOO_FEW_PHOTOS,
    project_autoencoder_build,
    project_autoencoder_photos,
    project_autoencoder_request,
    rebuild_due,
)
from apps.training.services import training_run_execute, training_run_start
from ml.card import CARD_FILE, validate_card
from ml.runtime import AUTOENCODER_FILE
from ml.shared_autoencoder import card_with_autoencoder
from tests.apps.training.test_quick_runs import QUICK, _project

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_process(monkeypatch):
    """Runs are executed by the test itself, not sent to a broker."""
    monkeypatch.setattr(services, "training_run_send", lambda run_id: None)


def _quick_version(project) -> ModelVersion:
    run = training_run_start(project=project, user=project.owner, config=QUICK)
    run = training_run_execute(run_id=run.pk)
    assert run.status == "succeeded", run.error_message
    return ModelVersion.objects.get(run=run)


def _stored(version, name) -> bytes:
    with default_storage.open(posixpath.join(version.artifact_dir, name), "rb") as fh:
        return fh.read()


def _reconstruct(version, image):
    """Run one photo through the version's autoencoder as the generative lab does."""
    from apps.lab.features import image_pixels
    from ml.lab.generative import Reconstructions

    reconstructions = Reconstructions(artifacts_local_dir(version))
    return reconstructions.input_size, reconstructions.view(image_pixels(image, reconstructions.input_size))


def test_quick_version_published_after_the_build_carries_a_working_autoencoder(
    weights, in_process, django_capture_on_commit_callbacks
):
    """Once the project's autoencoder exists, a quick run copies it in at publish time (byte for byte, with its
    card section, in milliseconds), and it reconstructs the project's photos."""
    project = _project(24)
    with django_capture_on_commit_callbacks(execute=True):  # the build's task runs eagerly on commit
        project_autoencoder_request(project=project)
    built = ProjectAutoencoder.objects.get(project=project)
    assert built.ready and built.status == "idle" and built.error_message == ""
    assert built.photos == project_autoencoder_photos(project).count() == built.section["images"]
    assert project.images.filter(split="test").exists()  # ... and those never taught it anything

    version = _quick_version(project)
    assert version.files[AUTOENCODER_FILE] == len(_stored(version, AUTOENCODER_FILE)) > 0
    with default_storage.open(posixpath.join(built.artifact_dir, AUTOENCODER_FILE), "rb") as fh:
        assert _stored(version, AUTOENCODER_FILE) == fh.read()
    card = json.loads(_stored(version, CARD_FILE))
    validate_card(card)
    assert card == version.metadata and card["autoencoder"] == built.section
    assert card["files"]["autoencoder"] == AUTOENCODER_FILE
    assert card["timings"]["stages"]["autoencoder"] < 0.5  # a copy, not a training

    side, view = _reconstruct(version, project.images.first())
    assert side == 64
    assert view["reconstruction"].shape == (64, 64, 3) and view["error_map"].shape == (64, 64, 3)
    assert 0 <= view["reconstruction"].min() and view["reconstruction"].max() <= 255
    assert 0 < view["error"] < 0.1  # it learned these drawings: far below a random guess's error


def test_build_backfills_an_older_quick_version_and_changes_nothing_else(
    weights, in_process, django_capture_on_commit_callbacks, api_as
):
    """A quick version published before the project had an autoencoder queues the build; the build gives it the
    file, its card section and files entry, and nothing else of the version changes. The analysis page works
    before (no error map) and after (its error map)."""
    project = _project(24)
    with django_capture_on_commit_callbacks() as callbacks:
        version = _quick_version(project)
    assert AUTOENCODER_FILE not in version.files and "autoencoder" not in version.metadata
    assert ProjectAutoencoder.objects.get(project=project).status == "queued"  # by the publication

    client = api_as(project.owner)
    image = project.images.filter(split="test").first()
    error_map = f"/api/v1/images/{image.pk}/analysis/error-map.png"
    assert client.get(error_map).status_code == 409

    before = ModelVersion.objects.values().get(pk=version.pk)
    before_card = json.loads(_stored(version, CARD_FILE))
    before_bytes = {name: _stored(version, name) for name in version.files if name != CARD_FILE}
    for callback in callbacks:  # the broker hands the build to the training worker (eager here)
        callback()

    built = ProjectAutoencoder.objects.get(project=project)
    after = ModelVersion.objects.values().get(pk=version.pk)
    unchanged = [key for key in before if key not in ("files", "metadata")]
    assert {key: after[key] for key in unchanged} == {key: before[key] for key in unchanged}
    assert set(after["files"]) == set(before["files"]) | {AUTOENCODER_FILE}
    assert all(_stored(version, name) == content for name, content in before_bytes.items())
    card = json.loads(_stored(version, CARD_FILE))
    assert card == after["metadata"] == card_with_autoencoder(before_card, built.section)
    assert after["files"][CARD_FILE] == default_storage.size(posixpath.join(version.artifact_dir, CARD_FILE))
    validate_card(card)

    version.refresh_from_db()
    assert _reconstruct(version, image)[1]["reconstruction"].shape == (64, 64, 3)
    response = client.get(error_map)
    assert response.status_code == 200 and PILImage.open(io.BytesIO(response.content)).format == "PNG"


def test_analysis_answers_before_and_after_the_backfill(classroom, publish, stored_image, api_as,
                                                         django_capture_on_commit_callbacks):
    """A served version without an autoencoder analyses without an error map; once the project's is built, the
    same version's analysis links its error map, and the map is drawn."""
    from tests.fixtures.models import class_pictures

    images = [stored_image(raw, name=f"{label}{i}.png") for i, (label, raw) in enumerate(class_pictures(8, seed=4))]
    version = publish(drop=(AUTOENCODER_FILE,))
    client = api_as(classroom.student)
    image = images[0]
    first = client.get(f"/api/v1/images/{image.pk}/analysis/")
    assert first.status_code == 200 and "anomaly_error_map_url" not in first.json()
    assert client.get(f"/api/v1/images/{image.pk}/analysis/error-map.png").status_code == 409

    with django_capture_on_commit_callbacks(execute=True):
        project_autoencoder_request(project=classroom.project)
    version.refresh_from_db()
    assert AUTOENCODER_FILE in version.files
    again = client.get(f"/api/v1/images/{image.pk}/analysis/").json()
    assert again["id"] == first.json()["id"]  # the same analysis: only the version's files grew
    response = client.get(again["anomaly_error_map_url"])
    assert response.status_code == 200 and PILImage.open(io.BytesIO(response.content)).format == "PNG"


def test_a_burst_of_requests_queues_one_build(weights, django_capture_on_commit_callbacks):
    """Five requests while a build is queued send one message; a second delivery of it builds nothing."""
    project = _project(20)
    with django_capture_on_commit_callbacks() as callbacks:
        rows = [project_autoencoder_request(project=project) for _ in range(5)]
    assert len(callbacks) == 1 and {row.status for row in rows} == {"queued"}
    assert ProjectAutoencoder.objects.filter(project=project).count() == 1
    first = project_autoencoder_build(project_id=project.pk)
    assert first.ready and first.status == "idle"
    assert project_autoencoder_build(project_id=project.pk) is None  # the duplicate finds nothing queued
    assert ProjectAutoencoder.objects.get(project=project).artifact_dir == first.artifact_dir


def test_rebuild_rule_waits_for_a_quarter_more_photos_and_at_least_twenty():
    """No autoencoder: build. Built on 100 photos: rebuild at 125; built on 20: rebuild at 40, not 25."""
    assert rebuild_due(None, 12)
    built = ProjectAutoencoder(artifact_dir="models/x/autoencoder-1", photos=100)
    assert not rebuild_due(built, 124) and rebuild_due(built, 125)
    small = ProjectAutoencoder(artifact_dir="models/x/autoencoder-1", photos=20)
    assert not rebuild_due(small, 39) and rebuild_due(small, 40)


def test_no_photos_or_too_few_photos_are_refused_with_the_reason(weights):
    """Without photos, or with fewer than ten outside the test share, no build is queued and the reason is given."""
    project = _project(0)
    with pytest.raises(ApplicationError) as empty:
        project_autoencoder_request(project=project)
    assert empty.value.message == NO_PHOTOS
    project = _project(6)
    with pytest.raises(ApplicationError) as few:
        project_autoencoder_request(project=project)
    count = project_autoencoder_photos(project).count()
    assert few.value.message == TOO_FEW_PHOTOS % {"minimum": 10, "count": count}
    assert not ProjectAutoencoder.objects.exists()


def test_backfill_command_builds_here_and_completes_every_version(weights, in_process, django_capture_on_commit_callbacks):
    """``manage.py autoencoder_backfill --here`` builds the autoencoder the publications left queued in its own
    process and completes the versions without one; a project with too few photos is named with the reason."""
    project = _project(20)
    with django_capture_on_commit_callbacks():  # the publication's build message is never delivered
        first, second = _quick_version(project), _quick_version(project)
    few = _project(4)
    ModelVersion.objects.create(project=few, number=1, artifact_dir="models/few/v1", files={"model.onnx": 1})
    out = io.StringIO()
    call_command("autoencoder_backfill", "--here", stdout=out)
    text = out.getvalue()
    assert f"{project.slug}: autoencoder added to v1, v2" in text, text
    assert f"{few.slug}: " in text and " 10" in text.split(f"{few.slug}: ")[1].splitlines()[0]
    for version in (first, second):
        version.refresh_from_db()
        assert AUTOENCODER_FILE in version.files
    assert np.isfinite(_reconstruct(second, project.images.first())[1]["error"])


def test_object_storage_copies_fetch_the_added_file_and_the_completed_card(settings, world):
    """On object storage each process keeps a local copy of a version: once the autoencoder is added, the copy
    fetches the new file and the rewritten card instead of serving the old ones."""
    from django.core.files.base import ContentFile

    from apps.training.project_autoencoder import version_autoencoder_add

    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    card = {"classes": list(world.project.classes), "files": {"onnx": "model.onnx", "card": CARD_FILE}}
    for name, content in (("model.onnx", b"onnx"), (CARD_FILE, json.dumps(card).encode()),
                          ("autoencoder.onnx", b"the project's autoencoder")):
        folder = "models/x/autoencoder-1" if name == AUTOENCODER_FILE else "models/x/v1"
        default_storage.save(f"{folder}/{name}", ContentFile(content))
    version = ModelVersion.objects.create(project=world.project, number=1, artifact_dir="models/x/v1", metadata=card,
                                          files={"model.onnx": 4, CARD_FILE: len(json.dumps(card))})
    local = artifacts_local_dir(version)
    assert sorted(p.name for p in local.iterdir()) == [".complete", CARD_FILE, "model.onnx"]
    autoencoder = ProjectAutoencoder.objects.create(project=world.project, artifact_dir="models/x/autoencoder-1",
                                                    section={"file": AUTOENCODER_FILE, "input": {}, "outputs": []})
    assert version_autoencoder_add(version=version, autoencoder=autoencoder)
    version.refresh_from_db()
    assert artifacts_local_dir(version) == local
    assert (local / AUTOENCODER_FILE).read_bytes() == b"the project's autoencoder"
    assert json.loads((local / CARD_FILE).read_text()) == card_with_autoencoder(card, autoencoder.section)
    assert not version_autoencoder_add(version=version, autoencoder=autoencoder)  # once only

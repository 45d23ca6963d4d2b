"""The `default` worker killed with SIGKILL mid-batch: its photos are processed by the next one, none twice over.

Uploads queue one processing task per photo on the embedded broker; the worker is killed as soon
as the first photo is done. The next worker restores what the dead one had fetched and finishes
the batch; each photo ends with exactly one thumbnail file (a task that runs again replaces it).
"""
import os
import signal
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from apps.accounts import roles
from apps.uploads.models import Image
from apps.uploads.processing import image_process
from tests.factories import ProjectFactory, UserFactory, image_bytes
from tests.platform.worker import app_broker, celery_worker, embedded_broker_url, wait_for

BATCH = 30


def _thumbnail_files() -> list[Path]:
    return sorted(Path(settings.MEDIA_ROOT).rglob("*.thumb*.jpg"))


@pytest.mark.django_db
def test_processing_a_photo_twice_keeps_one_thumbnail():
    """A task delivered twice rewrites the same thumbnail instead of storing a second file."""
    from apps.uploads.services import image_upload_create

    student = UserFactory(username="alumna", role=roles.STUDENT)
    project = ProjectFactory(owner=UserFactory(username="profe", role=roles.TEACHER), members=[(student, "student")])
    image = image_upload_create(project=project, uploader=student, raw=image_bytes(), name="a.jpg")
    image_process(image, worker_info={})
    image_process(Image.objects.get(pk=image.pk), worker_info={})
    assert [path.name for path in _thumbnail_files()] == [Path(Image.objects.get(pk=image.pk).thumbnail.name).name]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_batch_leaves_nothing_undone_or_doubled(tmp_path):
    """30 photos, the worker SIGKILLed after the first: the next worker processes the rest; 30 rows, 30 thumbnails."""
    student = UserFactory(username="alumna", role=roles.STUDENT)
    project = ProjectFactory(owner=UserFactory(username="profe", role=roles.TEACHER), members=[(student, "student")])
    api = APIClient()
    api.force_authenticate(student)
    photos = Image.objects.filter(project=project)
    with app_broker(embedded_broker_url(tmp_path)):
        for index in range(BATCH):
            raw = image_bytes(color=(index * 8 % 256, 90, 255 - index * 8 % 256), size=(320, 240))
            response = api.post("/api/v1/images/", {"project": project.slug, "file": _file(f"{index}.jpg", raw)},
                                format="multipart")
            assert response.status_code == 201, response.content
        with celery_worker("default") as worker:
            wait_for(lambda: photos.exclude(processed_by={}).exists(), timeout=60, message="the first photo processed")
            os.killpg(worker.process.pid, signal.SIGKILL)  # mid-batch, no warm shutdown
            worker.process.wait(timeout=10)
        done_by_first = photos.exclude(processed_by={}).count()
        assert done_by_first < BATCH, "the first worker finished the batch before it was killed"
        # A short visibility timeout: the next worker's first fetch restores what the dead one held.
        with celery_worker("default", extra_env={"RIIM_BROKER_VISIBILITY_TIMEOUT": "1"}):
            wait_for(lambda: not photos.filter(processed_by={}).exists(), timeout=90, message="the whole batch")
    assert photos.count() == BATCH
    thumbnails = _thumbnail_files()
    assert len(thumbnails) == BATCH  # one file per photo: a rerun replaced, never added
    assert sorted(p.name for p in thumbnails) == sorted(Path(image.thumbnail.name).name for image in photos)


def _file(name: str, raw: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, raw, content_type="image/jpeg")

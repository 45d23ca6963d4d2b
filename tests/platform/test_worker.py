"""A real Celery worker process takes tasks from the configured broker and writes to the shared database."""

import os

import pytest
from django.conf import settings

from apps.accounts import roles
from apps.uploads.models import Image
from apps.uploads.services import image_upload_create
from tests.factories import ProjectFactory, UserFactory, image_bytes
from tests.platform.worker import celery_worker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _processed(image_id):
    image = Image.objects.get(pk=image_id)
    return image if image.processed_by else None


def test_uploaded_image_is_processed_by_a_separate_worker_process():
    """An upload enqueues image_process_task; a worker process (not this one) makes the thumbnail."""
    student = UserFactory(role=roles.STUDENT)
    project = ProjectFactory(members=[(student, "student")])
    expected_transport = str(settings.CELERY_BROKER_URL).split("://")[0].split("+")[0]  # redis, riim-sqla...

    with celery_worker("default") as worker:
        image = image_upload_create(project=project, uploader=student, raw=image_bytes(), name="gato.jpg")
        processed = wait_for(lambda: _processed(image.pk), timeout=60, message="image_process_task")

    info = processed.processed_by
    assert info["pid"] != os.getpid()
    assert info["worker"] == worker.nodename
    assert info["transport"] == expected_transport
    assert info["eager"] is False
    assert processed.thumbnail and (settings.MEDIA_ROOT / processed.thumbnail.name).is_file()
    assert processed.stats["brightness"] > 0

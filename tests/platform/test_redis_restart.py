"""Redis restarted during uploads: every upload is answered 201 and every photo's task still runs.

A private redis-server (its own port, no persistence: a restart loses whatever was queued) is the
broker of this test and of a real `default` worker; the machine's Redis is never touched. Redis is
killed while the students keep uploading and started again; the pending-work sweep
(apps.delivery) sends the work whose row still says pending, and the worker makes every thumbnail.
"""
import shutil
import socket
import subprocess
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts import roles
from apps.delivery.services import pending_work_resend
from apps.uploads.models import Image
from tests.factories import ProjectFactory, UserFactory, image_bytes
from tests.platform.worker import app_broker, celery_worker, wait_for

pytestmark = [
    pytest.mark.worker,
    pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server (apt-get install -y redis-server)"),
]

UPLOADS = 15
DOWN_AFTER, UP_AFTER = 5, 10  # uploads 6..10 are sent while Redis is down


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_start(port: int, folder) -> subprocess.Popen:
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )
    wait_for(lambda: subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True).stdout.strip() == "PONG",
             timeout=20, message="redis-server")
    return process


@pytest.mark.django_db(transaction=True)
def test_uploads_survive_a_redis_restart(tmp_path):
    """15 uploads with Redis killed after the 5th and back after the 10th: 15 × 201, 15 rows, 15 thumbnails."""
    port = free_port()
    redis = redis_start(port, tmp_path)
    student = UserFactory(username="alumna", role=roles.STUDENT)
    project = ProjectFactory(owner=UserFactory(username="profe", role=roles.TEACHER), members=[(student, "student")])
    api = APIClient()
    api.force_authenticate(student)
    statuses = []
    try:
        with app_broker(f"redis://127.0.0.1:{port}/0"), celery_worker("default") as worker:
            for index in range(UPLOADS):
                if index == DOWN_AFTER:
                    redis.kill()  # SIGKILL: queued messages of an unpersisted Redis are gone
                    redis.wait(timeout=10)
                if index == UP_AFTER:
                    redis = redis_start(port, tmp_path)
                raw = image_bytes(color=(index * 15 % 256, 40, 200 - index * 10))
                response = api.post("/api/v1/images/", {"project": project.slug, "file": _file(f"{index}.jpg", raw)},
                                    format="multipart")
                statuses.append(response.status_code)
            assert statuses == [201] * UPLOADS, statuses
            assert Image.objects.filter(project=project).count() == UPLOADS

            # The sweep beat runs every minute, here once the work is older than its grace period.
            def all_processed():
                pending_work_resend(now=timezone.now() + timedelta(hours=1))
                time.sleep(1)
                return not Image.objects.filter(project=project, processed_by={}).exists()

            wait_for(all_processed, timeout=60, interval=1, message="every photo processed\n" + worker.log()[-2000:])
            assert Image.objects.filter(project=project).exclude(thumbnail="").count() == UPLOADS
    finally:
        redis.kill()
        redis.wait(timeout=10)


def _file(name: str, raw: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, raw, content_type="image/jpeg")

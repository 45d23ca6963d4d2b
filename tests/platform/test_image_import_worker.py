"""The import contract end to end: POST a zip, a real worker on the default queue imports it, GET the summary."""
import io
import json
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from apps.uploads.models import Image
from tests.factories import ProjectFactory, image_bytes
from tests.platform.worker import celery_worker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for i in range(3):
            zf.writestr(f"dataset/cat/{i}.jpg", image_bytes(color=(200, 20 * i, 9)))
            zf.writestr(f"dataset/dog/{i}.png", image_bytes(color=(9, 20 * i, 200), fmt="PNG"))
        zf.writestr("dataset/dog/copy.png", image_bytes(color=(9, 0, 200), fmt="PNG"))
        zf.writestr("../escape.jpg", image_bytes())
        zf.writestr("dataset/cat/notes.txt", b"not a photo")
    return out.getvalue()


def test_a_worker_imports_a_posted_zip_and_the_summary_reports_it():
    """202 {id, status, url}; the worker (default queue) imports; GET reports imported, duplicates and refusals."""
    project = ProjectFactory()
    client = APIClient()
    client.force_authenticate(project.owner)
    upload = io.BytesIO(_zip())
    upload.name = "kaggle.zip"

    with celery_worker("default"):
        created = client.post(
            f"/api/v1/projects/{project.slug}/image-imports/",
            {"file": upload, "classes": json.dumps({"cat": "gato", "dog": "perro"})},
            format="multipart",
        )
        assert created.status_code == 202, created.content
        assert set(created.json()) == {"id", "status", "url"} and created.json()["status"] == "queued"
        url = f"/api/v1/image-imports/{created.json()['id']}/"
        assert created.json()["url"] == url
        summary = wait_for(
            lambda: (body := client.get(url).json())["status"] in ("succeeded", "failed") and body,
            timeout=90,
            message="image_import_run_task",
        )
        wait_for(lambda: Image.objects.filter(project=project).exclude(thumbnail="").count() == 6, timeout=60,
                 message="thumbnails of the imported photos")

    assert summary["status"] == "succeeded"
    assert (summary["imported"], summary["duplicates"]) == (6, 1)
    assert sorted(row["name"] for row in summary["skipped"]) == ["../escape.jpg", "dataset/cat/notes.txt"]
    assert sorted(Image.objects.filter(project=project).values_list("label", flat=True)) == ["gato"] * 3 + ["perro"] * 3
    media = Path(settings.MEDIA_ROOT)
    assert all(p.relative_to(media).parts[0] == "images" for p in media.rglob("*") if p.is_file())

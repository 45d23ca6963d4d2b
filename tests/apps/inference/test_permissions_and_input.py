"""Who may use the analysis endpoints, and how bad files are refused."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.inference.models import Analysis
from apps.inference.services import NOT_ANALYSED_YET, ONLY_TEACHER_REFRESHES
from tests.factories import UserFactory, image_bytes
from tests.fixtures.models import class_pictures

BAD_FILES = {
    "text renamed .jpg": ("notes.jpg", b"esto no es una imagen\n" * 20),
    "truncated jpeg": ("cut.jpg", image_bytes(size=(300, 300))[:700]),
    "empty file": ("empty.png", b""),
    "svg": ("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><rect width="10" height="10"/></svg>'),
    "jpeg named .png": ("photo.png", image_bytes()),
}


def _post(client, url, project, name, raw):
    return client.post(url, {"project": project.slug, "file": SimpleUploadedFile(name, raw)}, format="multipart")


@pytest.mark.django_db
@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_files_get_the_same_4xx_as_uploads(case, classroom, publish, api_as):
    """Every bad file is refused by /analyze/ with the status and message an upload gets."""
    publish()
    name, raw = BAD_FILES[case]
    client = api_as(classroom.student)
    upload = _post(client, "/api/v1/images/", classroom.project, name, raw)
    analyze = _post(client, "/api/v1/analyze/", classroom.project, name, raw)
    assert 400 <= upload.status_code < 500
    assert (analyze.status_code, analyze.json()) == (upload.status_code, upload.json())


@pytest.mark.django_db
def test_analyze_permissions(classroom, publish, api_as):
    """Students and teachers analyse; graders only read (403); outsiders do not see the project (404); anonymous 401/403."""
    publish()
    raw = class_pictures(1, seed=1)[0][1]
    assert _post(api_as(classroom.student), "/api/v1/analyze/", classroom.project, "a.png", raw).status_code == 200
    assert _post(api_as(classroom.teacher), "/api/v1/analyze/", classroom.project, "a.png", raw).status_code == 200
    assert _post(api_as(classroom.grader), "/api/v1/analyze/", classroom.project, "a.png", raw).status_code == 403
    assert _post(api_as(classroom.outsider), "/api/v1/analyze/", classroom.project, "a.png", raw).status_code == 404
    assert _post(api_as(None), "/api/v1/analyze/", classroom.project, "a.png", raw).status_code in (401, 403)
    unknown = _post(api_as(classroom.student), "/api/v1/analyze/", SimpleNamespace(slug="no-such-project"), "a.png", raw)
    assert unknown.status_code == 404
    staff = UserFactory(username="root", is_staff=True, is_superuser=True)
    assert _post(api_as(staff), "/api/v1/analyze/", classroom.project, "a.png", raw).status_code == 200


@pytest.mark.django_db
def test_stored_analysis_permissions(classroom, publish, stored_image, api_as):
    """Members (graders included) read an image's analysis and pictures; outsiders and anonymous do not."""
    version = publish()
    image = stored_image(class_pictures(1, seed=2)[0][1])
    assert api_as(classroom.student).get(f"/api/v1/images/{image.pk}/analysis/").status_code == 200  # stored now
    urls = [
        f"/api/v1/images/{image.pk}/analysis/",
        f"/api/v1/images/{image.pk}/analysis/heatmap.png",
        f"/api/v1/images/{image.pk}/analysis/cam.png",
        f"/api/v1/images/{image.pk}/analysis/error-map.png",
        f"/api/v1/images/{image.pk}/analysis/network/",
        f"/api/v1/model-versions/{version.pk}/files/model.onnx",
    ]
    for url in urls:
        assert api_as(classroom.grader).get(url).status_code == 200, url
        assert api_as(classroom.outsider).get(url).status_code == 404, url
        assert api_as(None).get(url).status_code in (401, 403), url


@pytest.mark.django_db
def test_a_grader_reading_an_analysis_never_creates_one(classroom, publish, stored_image, api_as):
    """A grader's GET of an image nobody analysed yet is a 404 saying so, and runs no model: no row, no picture."""
    version = publish()
    image = stored_image(class_pictures(1, seed=8)[0][1])
    for url in (f"/api/v1/images/{image.pk}/analysis/", f"/api/v1/images/{image.pk}/analysis/?version={version.number}"):
        response = api_as(classroom.grader).get(url)
        assert response.status_code == 404 and response.json()["detail"] == str(NOT_ANALYSED_YET), url
    assert not Analysis.objects.filter(image=image).exists()
    stored = api_as(classroom.student).get(f"/api/v1/images/{image.pk}/analysis/")
    assert stored.status_code == 200
    again = api_as(classroom.grader).get(f"/api/v1/images/{image.pk}/analysis/")
    assert again.status_code == 200 and again.json()["id"] == stored.json()["id"]
    assert Analysis.objects.filter(image=image).count() == 1


@pytest.mark.django_db
def test_browser_prediction_permissions(classroom, publish, stored_image, api_as):
    """Graders cannot record browser predictions; outsiders cannot see the image."""
    version = publish()
    image = stored_image(class_pictures(1, seed=3)[0][1])
    n = len(classroom.project.classes)
    payload = {"version": version.number, "probabilities": [1.0 / n] * n, "latency_ms": 3}
    url = f"/api/v1/images/{image.pk}/browser-predictions/"
    assert api_as(classroom.grader).post(url, payload, format="json").status_code == 403
    assert api_as(classroom.outsider).post(url, payload, format="json").status_code == 404
    assert api_as(classroom.teacher).post(url, payload, format="json").status_code == 201


@pytest.mark.django_db
def test_only_the_teacher_refreshes(classroom, publish, api_as):
    """A student cannot start the re-analysis batch; the message says who can."""
    publish()
    url = f"/api/v1/projects/{classroom.project.slug}/analyses/refresh/"
    response = api_as(classroom.student).post(url)
    assert response.status_code == 403 and response.json()["detail"] == str(ONLY_TEACHER_REFRESHES)
    assert api_as(classroom.grader).post(url).status_code == 403
    assert api_as(classroom.outsider).post(url).status_code == 404


ROOT = Path(__file__).resolve().parents[3]
NO_TENSORFLOW_SCRIPT = textwrap.dedent(
    """
    import os, sys, tempfile
    os.environ["DJANGO_SETTINGS_MODULE"] = "riim_site.settings.test"
    os.environ["DATABASE_URL"] = "sqlite:///" + os.path.join(tempfile.mkdtemp(), "db.sqlite3")
    os.environ["MEDIA_ROOT"] = tempfile.mkdtemp()
    import django
    django.setup()
    from django.core.management import call_command
    call_command("migrate", verbosity=0)
    from django.core.files.uploadedfile import SimpleUploadedFile
    from rest_framework.test import APIClient
    from apps.accounts import roles
    from apps.training.services import model_version_publish
    from tests.factories import ProjectFactory, UserFactory
    teacher = UserFactory(username="profe", role=roles.TEACHER)
    project = ProjectFactory(owner=teacher, slug="formas", classes=sys.argv[2].split(","))
    model_version_publish(project=project, local_dir=sys.argv[1], user=teacher)
    client = APIClient()
    client.force_authenticate(teacher)
    raw = open(sys.argv[3], "rb").read()
    response = client.post("/api/v1/analyze/", {"project": "formas", "file": SimpleUploadedFile("a.png", raw)}, format="multipart")
    assert response.status_code == 200, response.content
    loaded = sorted(name for name in sys.modules if name.split(".")[0] in ("tensorflow", "tf_keras", "keras"))
    print("LOADED", loaded)
    sys.exit(1 if loaded else 0)
    """
)


def test_no_tensorflow_on_the_request_path(trained_model_dir, model_classes, tmp_path):
    """A fresh process that publishes a model and analyses an image through the API never imports TensorFlow."""
    picture = tmp_path / "a.png"
    picture.write_bytes(class_pictures(1, seed=4)[0][1])
    script = tmp_path / "no_tf.py"
    script.write_text(NO_TENSORFLOW_SCRIPT)
    result = subprocess.run(
        [sys.executable, str(script), str(trained_model_dir), ",".join(model_classes), str(picture)],
        capture_output=True, text=True, timeout=120, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "LOADED []" in result.stdout

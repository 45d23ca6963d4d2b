"""Scratch keys: a student makes one for a project; RIIM's blocks send it to add examples and ask for a quick retrain."""
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from apps.scratch.authentication import KEY_EXPIRED, KEY_REVOKED, KEY_UNKNOWN
from apps.scratch.models import ScratchKey
from apps.scratch.services import RETRAIN_NOT_ALLOWED, UNKNOWN_LABEL, scratch_settings_update
from tests.factories import image_bytes

EXAMPLES = "/api/v1/scratch/examples/"
RETRAIN = "/api/v1/scratch/retrain/"


def _key(api_as, user, project) -> str:
    response = api_as(user).post(f"/api/v1/projects/{project.slug}/scratch-key/")
    assert response.status_code == 201, response.content
    return response.json()["key"]


def _with_key(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def _example(client, label="gato", data=None, name="escenario.png"):
    upload = SimpleUploadedFile(name, data if data is not None else image_bytes(fmt="PNG"))
    return client.post(EXAMPLES, {"file": upload, "label": label}, format="multipart")


@pytest.mark.django_db
def test_a_student_makes_a_key_that_is_stored_hashed(world, api_as):
    """201 with the key shown once, its beginning and an expiry 30 days away; the database holds only its hash."""
    response = api_as(world.student).post(f"/api/v1/projects/{world.project.slug}/scratch-key/")
    assert response.status_code == 201
    body = response.json()
    row = ScratchKey.objects.get(user=world.student)
    assert body["key"].startswith(body["hint"]) and body["key"] not in (row.key_hash, row.hint)
    days = (row.expires_at - timezone.now()) / timedelta(days=1)
    assert 29.9 < days <= 30


@pytest.mark.django_db
def test_who_may_make_a_key(world, api_as):
    """A grader gets 403, a student of another project 404 (not a member), no login 403."""
    url = f"/api/v1/projects/{world.project.slug}/scratch-key/"
    assert api_as(world.grader).post(url).status_code == 403
    assert api_as(world.outsider).post(url).status_code == 404
    assert api_as(None).post(url).status_code == 403
    assert not ScratchKey.objects.exists()


@pytest.mark.django_db
def test_an_example_counts_as_the_students_upload_and_label(world, api_as):
    """The picture is stored as uploaded by the key's student, labeled by them, in the key's project."""
    from apps.labeling.models import Label

    key = _key(api_as, world.student, world.project)
    response = _example(_with_key(key), label=world.project.classes[0])
    assert response.status_code == 201, response.content
    image = world.project.images.get(pk=response.json()["image"])
    assert image.uploader == world.student
    assert Label.objects.get(image=image).author == world.student
    assert image.label == world.project.classes[0]


@pytest.mark.django_db
def test_without_a_key_or_with_a_wrong_one_the_answer_is_401(world):
    """No Authorization: 401 with the Bearer challenge; an unknown key: 401 with a Spanish message."""
    response = _example(APIClient())
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Bearer"
    response = _example(_with_key("riim_nope"))
    assert response.status_code == 401 and response.json()["detail"] == str(KEY_UNKNOWN)
    assert "no existe" in response.json()["detail"]


@pytest.mark.django_db
def test_revoked_expired_and_replaced_keys_stop(world, api_as):
    """Revoking, expiry and a newer key each end a key: 401 with the reason."""
    first = _key(api_as, world.student, world.project)
    second = _key(api_as, world.student, world.project)
    assert _example(_with_key(first)).json()["detail"] == str(KEY_REVOKED)
    ScratchKey.objects.filter(revoked_at__isnull=True).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert _example(_with_key(second)).json()["detail"] == str(KEY_EXPIRED)
    third = _key(api_as, world.student, world.project)
    assert api_as(world.student).delete(f"/api/v1/projects/{world.project.slug}/scratch-key/").status_code == 204
    response = _example(_with_key(third))
    assert response.status_code == 401 and response.json()["detail"] == str(KEY_REVOKED)


@pytest.mark.django_db
def test_a_password_reset_revokes_the_key(world, api_as):
    """The teacher's reset of the student's password (like any new password) ends their Scratch keys."""
    key = _key(api_as, world.student, world.project)
    reset = api_as(world.teacher).post(f"/api/v1/projects/{world.project.slug}/members/{world.student.username}/password/")
    assert reset.status_code == 200
    assert _example(_with_key(key)).json()["detail"] == str(KEY_REVOKED)


@pytest.mark.django_db
def test_bad_pictures_and_labels_are_400(world, api_as):
    """Data that is not a picture, or a label outside the project's classes, is refused and nothing is stored."""
    client = _with_key(_key(api_as, world.student, world.project))
    assert _example(client, data=b"not a picture at all").status_code == 400
    response = _example(client, label="ornitorrinco")
    assert response.status_code == 400
    assert response.json()["detail"] == str(UNKNOWN_LABEL % {"label": "ornitorrinco", "classes": ", ".join(world.project.classes)})
    assert not world.project.images.exists()


@pytest.mark.django_db
def test_examples_follow_the_students_upload_rate(world, api_as, settings):
    """The existing per-user upload throttle applies: past it, 429."""
    settings.RIIM_THROTTLE_RATES = {**settings.RIIM_THROTTLE_RATES, "uploads": "1/min"}
    client = _with_key(_key(api_as, world.student, world.project))
    assert _example(client, data=image_bytes(fmt="PNG", color=(1, 2, 3))).status_code == 201
    assert _example(client, data=image_bytes(fmt="PNG", color=(4, 5, 6))).status_code == 429


@pytest.mark.django_db
def test_retraining_needs_the_teachers_permission(world, api_as):
    """Off by default (403 with the reason); once allowed, the request reaches the quick retrain (here: too few labels)."""
    client = _with_key(_key(api_as, world.student, world.project))
    response = client.post(RETRAIN)
    assert response.status_code == 403 and response.json()["detail"] == str(RETRAIN_NOT_ALLOWED)
    scratch_settings_update(project=world.project, actor=world.teacher, students_may_retrain=True)
    response = client.post(RETRAIN)
    assert response.status_code == 400 and "5" in response.json()["detail"]  # the training service's own refusal
    assert client.get(RETRAIN).json() == {"run": None, "status": None}


@pytest.mark.django_db
def test_an_allowed_retrain_queues_the_automatic_quick_run(world, api_as, monkeypatch):
    """With enough labels, POST answers 202 and queues the project's automatic quick run; GET follows it."""
    from apps.training import services as training_services
    from apps.training.models import TrainingRun

    monkeypatch.setattr(training_services, "_check_enough_labels", lambda project, snapshot: None)
    monkeypatch.setattr("apps.embeddings.backbones.embedding_backbone", lambda **kwargs: None)
    scratch_settings_update(project=world.project, actor=world.teacher, students_may_retrain=True)
    client = _with_key(_key(api_as, world.student, world.project))
    response = client.post(RETRAIN)
    assert response.status_code == 202, response.content
    run = TrainingRun.objects.get(pk=response.json()["run"])
    assert run.mode == TrainingRun.Mode.QUICK and run.automatic and run.project == world.project
    assert client.get(RETRAIN).json() == {"run": run.pk, "status": "queued"}


@pytest.mark.django_db
def test_a_cross_origin_editor_gets_its_preflight_answered(world):
    """OPTIONS without a key answers 204 allowing any origin, the Authorization header and POST."""
    for url in (EXAMPLES, RETRAIN):
        response = Client().options(url, headers={"Origin": "https://turbowarp.org", "Access-Control-Request-Method": "POST",
                                                  "Access-Control-Request-Headers": "authorization"})
        assert response.status_code == 204
        assert response["Access-Control-Allow-Origin"] == "*"
        assert "Authorization" in response["Access-Control-Allow-Headers"] and "POST" in response["Access-Control-Allow-Methods"]
    assert _example(APIClient())["Access-Control-Allow-Origin"] == "*"  # refusals too, so the editor can read them


@pytest.mark.django_db
def test_a_key_reaches_nothing_else(world, api_as):
    """The key authenticates only the Scratch endpoints: the rest of the API does not accept it."""
    client = _with_key(_key(api_as, world.student, world.project))
    assert client.get(f"/api/v1/projects/{world.project.slug}/").status_code in (401, 403)
    assert client.get("/api/v1/images/").status_code in (401, 403)


@pytest.mark.django_db
def test_the_schema_names_the_key_as_the_blocks_security(world, api_as):
    """/api/schema/ declares a Bearer scheme for the Scratch key, used by the two endpoints the blocks call, 401 included."""
    schema = api_as(world.teacher).get("/api/schema/", {"format": "json"}).json()
    assert schema["components"]["securitySchemes"]["scratchKey"] == {
        "type": "http", "scheme": "bearer",
        "description": "A student's Scratch key for one project (POST /api/v1/projects/{slug}/scratch-key/)."}
    for path, method in ((EXAMPLES, "post"), (RETRAIN, "post"), (RETRAIN, "get")):
        operation = schema["paths"][path][method]
        assert operation["security"] == [{"scratchKey": []}] and "401" in operation["responses"]

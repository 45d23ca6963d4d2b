"""Every API endpoint × every role: who may read and who may write."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.uploads.services import image_upload_create
from tests.factories import image_bytes

ROLES = ["anonymous", "student", "teacher", "grader", "outsider", "staff"]


@pytest.fixture
def stored_image(world):
    return image_upload_create(project=world.project, uploader=world.student, raw=image_bytes(), name="x.jpg")


def _user(world, role):
    return None if role == "anonymous" else getattr(world, role)


def _zip() -> bytes:
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("cat/a.jpg", image_bytes())
    return out.getvalue()


def _requests(world, image):
    from apps.sharing.models import ModelLink
    from apps.training.models import ModelVersion
    from apps.uploads.models import ImageImport

    slug = world.project.slug
    version, _ = ModelVersion.objects.get_or_create(project=world.project, number=1, defaults={"artifact_dir": "models/m"})
    image_import = ImageImport.objects.create(project=world.project, requested_by=world.teacher)
    ModelLink.objects.get_or_create(project=world.project, defaults={"created_by": world.teacher})
    return {
        "list projects": ("get", "/api/v1/projects/", None),
        "create project": ("post", "/api/v1/projects/", {"name": "Nuevo", "classes": ["a", "b"]}),
        "project detail": ("get", f"/api/v1/projects/{slug}/", None),
        "list images": ("get", f"/api/v1/images/?project={slug}", None),
        "upload image": ("post", "/api/v1/images/", "upload"),
        "image detail": ("get", f"/api/v1/images/{image.pk}/", None),
        "image file": ("get", f"/api/v1/images/{image.pk}/file/", None),
        "label image": ("post", f"/api/v1/images/{image.pk}/labels/", {"label": "gato"}),
        "undo label": ("post", f"/api/v1/images/{image.pk}/labels/undo/", None),
        "log out": ("post", "/api/v1/auth/logout/", None),
        "undo last label in project": ("post", f"/api/v1/projects/{slug}/labels/undo/", None),
        "labeling queue": ("get", f"/api/v1/projects/{slug}/labeling-queue/?strategy=uncertainty&limit=5", None),
        "label quality": ("get", f"/api/v1/projects/{slug}/label-quality/", None),
        "gradebook": ("get", f"/api/v1/projects/{slug}/gradebook/", None),
        "grade a student": ("put", f"/api/v1/projects/{slug}/gradebook/alumna/", {"comment": "Bien"}),
        "answer a lab question": (
            "post", "/api/v1/lab/questions/overfitting-dropout/answers/", {"option": 2, "project": slug}
        ),
        "version reviews": ("get", f"/api/v1/model-versions/{version.pk}/reviews/", None),
        "review a version": ("post", f"/api/v1/model-versions/{version.pk}/reviews/", {"text": "sobreajuste"}),
        "import photos": ("post", f"/api/v1/projects/{slug}/image-imports/", "zip"),
        "preview an import": ("post", f"/api/v1/projects/{slug}/image-imports/preview/", "zip"),
        "import summary": ("get", f"/api/v1/image-imports/{image_import.pk}/", None),
        "reset a student's password": ("post", f"/api/v1/projects/{slug}/members/alumna/password/", None),
        "public model link": ("get", f"/api/v1/projects/{slug}/model-link/", None),
        "share the model link": ("post", f"/api/v1/projects/{slug}/model-link/", None),
        "withdraw the model link": ("delete", f"/api/v1/projects/{slug}/model-link/", None),
        "make a Scratch key": ("post", f"/api/v1/projects/{slug}/scratch-key/", None),
        "add a Scratch example without a key": ("post", "/api/v1/scratch/examples/", "upload"),
    }


# Expected status per endpoint and role (anonymous, student, teacher, grader, outsider, staff).
EXPECTED = {
    "list projects": (403, 200, 200, 200, 200, 200),
    "create project": (403, 403, 201, 403, 403, 201),
    "project detail": (403, 200, 200, 200, 404, 200),
    "list images": (403, 200, 200, 200, 200, 200),
    "upload image": (403, 201, 201, 403, 404, 201),
    "image detail": (403, 200, 200, 200, 404, 200),
    "image file": (403, 200, 200, 200, 404, 200),
    "label image": (403, 201, 201, 403, 404, 201),
    "undo label": (403, 204, 204, 403, 404, 204),
    "log out": (403, 204, 204, 204, 204, 204),
    "undo last label in project": (403, 204, 204, 403, 404, 204),
    "labeling queue": (403, 200, 200, 403, 404, 200),
    "label quality": (403, 200, 200, 200, 404, 200),
    "gradebook": (403, 200, 200, 200, 404, 200),  # a student gets only their own row
    "grade a student": (403, 403, 200, 200, 404, 200),
    "answer a lab question": (403, 201, 201, 201, 404, 201),
    "version reviews": (403, 200, 200, 200, 404, 200),
    "review a version": (403, 403, 201, 201, 404, 201),
    "import photos": (403, 403, 202, 403, 404, 202),  # the project's teacher only
    "preview an import": (403, 403, 200, 403, 404, 200),
    "import summary": (403, 404, 200, 404, 404, 200),
    "reset a student's password": (403, 403, 200, 403, 404, 200),  # the class's teacher (or staff) only
    "public model link": (403, 200, 200, 200, 404, 200),  # every member reads it once shared
    "share the model link": (403, 403, 201, 403, 404, 201),  # the class's teacher (or staff) only
    "withdraw the model link": (403, 403, 204, 403, 404, 204),
    "make a Scratch key": (403, 201, 201, 403, 404, 201),  # students and teachers of the project
    "add a Scratch example without a key": (401, 401, 401, 401, 401, 401),  # a session is no Scratch key
}


@pytest.mark.parametrize("endpoint", sorted(EXPECTED))
@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(world, stored_image, api_as, endpoint, role):
    """The status code matches the role's rights on the endpoint."""
    method, url, body = _requests(world, stored_image)[endpoint]
    client = api_as(_user(world, role))
    if body == "upload":
        body = {"project": world.project.slug, "file": SimpleUploadedFile(f"{role}.png", image_bytes(fmt="PNG", color=(ROLES.index(role), 9, 9)))}
        response = client.post(url, body, format="multipart")
    elif body == "zip":
        response = client.post(url, {"file": SimpleUploadedFile("fotos.zip", _zip())}, format="multipart")
    elif method == "post":
        response = client.post(url, body or {}, format="json")
    elif method == "put":
        response = client.put(url, body, format="json")
    elif method == "delete":
        response = client.delete(url)
    else:
        response = client.get(url)
    expected = EXPECTED[endpoint][ROLES.index(role)]
    assert response.status_code == expected, (endpoint, role, response.status_code, getattr(response, "content", b"")[:200])


def test_outsider_lists_no_foreign_images(world, stored_image, api_as):
    """A student of another project sees an empty image list, not this project's images."""
    body = api_as(world.outsider).get(f"/api/v1/images/?project={world.project.slug}").json()
    assert body["count"] == 0


def test_join_code_only_shown_to_teacher(world, api_as):
    """Students and graders do not see the join code."""
    url = f"/api/v1/projects/{world.project.slug}/"
    assert api_as(world.teacher).get(url).json()["join_code"] == world.project.join_code
    assert api_as(world.student).get(url).json()["join_code"] is None
    assert api_as(world.grader).get(url).json()["join_code"] is None


def test_token_auth(world, client):
    """POST username/password to the token endpoint and use the token."""
    from rest_framework.test import APIClient

    response = client.post("/api/v1/auth/token/", {"username": "alumna", "password": "pass-12345"})
    assert response.status_code == 200
    token = response.json()["token"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/projects/").json()["count"] == 1
    assert client.post("/api/v1/auth/token/", {"username": "alumna", "password": "nope"}).status_code == 400
    # A wrong (or revoked) key, or the key of a deactivated account, is a 401 with a Token challenge:
    # "log in again", unlike a 403 "not allowed".
    api.credentials(HTTP_AUTHORIZATION="Token 0000000000000000000000000000000000000000")
    wrong = api.get("/api/v1/projects/")
    assert wrong.status_code == 401 and wrong["WWW-Authenticate"] == "Token" and "token" in wrong.json()["detail"].lower()
    world.student.is_active = False
    world.student.save()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    refused = api.get("/api/v1/projects/")
    assert refused.status_code == 401 and refused["WWW-Authenticate"] == "Token"
    assert refused.json()["detail"] != wrong.json()["detail"]


def test_password_change_revokes_every_token(world, client, api_as):
    """Changing the password on the web revokes the API token: the old key is a 401, the next login gets a new key."""
    from rest_framework.test import APIClient

    from tests.apps.test_api_schema import assert_conforms

    old_key = client.post("/api/v1/auth/token/", {"username": "alumna", "password": "pass-12345"}).json()["token"]
    client.force_login(world.student)
    changed = client.post(
        "/accounts/password/",
        {"old_password": "pass-12345", "new_password1": "otra-clave-9876", "new_password2": "otra-clave-9876"},
    )
    assert changed.status_code == 302
    old = APIClient(HTTP_AUTHORIZATION=f"Token {old_key}").get("/api/v1/projects/")
    assert old.status_code == 401 and old["WWW-Authenticate"] == "Token"
    assert_conforms(api_as(world.teacher).get("/api/schema/", {"format": "json"}).json(), "get", old)
    assert client.post("/api/v1/auth/token/", {"username": "alumna", "password": "pass-12345"}).status_code == 400
    new_key = client.post("/api/v1/auth/token/", {"username": "alumna", "password": "otra-clave-9876"}).json()["token"]
    assert new_key != old_key
    assert APIClient(HTTP_AUTHORIZATION=f"Token {new_key}").get("/api/v1/projects/").status_code == 200
    assert client.get("/api/v1/projects/").status_code == 200  # the session that changed it stays signed in


@pytest.mark.parametrize("role", ROLES)
def test_join_code_guessing_is_throttled(world, settings, role):
    """150 random codes on the join page (the probe's attack): every signed-in role gets 429 after the rate's
    ten attempts, with Retry-After; an anonymous visitor is only sent to the login page."""
    import secrets

    from django.core.cache import cache
    from django.test import Client

    settings.RIIM_THROTTLE_RATES = {**settings.RIIM_THROTTLE_RATES, "join_code": "10/min", "join_code_address": "100/min"}
    cache.clear()
    client = Client(REMOTE_ADDR=f"10.1.0.{ROLES.index(role) + 1}")
    if role != "anonymous":
        client.force_login(_user(world, role))
    responses = [client.post("/projects/join/", {"join_code": secrets.token_hex(4).upper()}) for _ in range(150)]
    statuses = [response.status_code for response in responses]
    cache.clear()
    if role == "anonymous":
        assert set(statuses) == {302}
        return
    assert statuses == [400] * 10 + [429] * 140
    assert int(responses[-1]["Retry-After"]) > 0

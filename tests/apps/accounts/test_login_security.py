"""Password guessing locks a username (never an address alone); tokens expire and can be revoked; rates are per user."""
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.accounts import roles
from apps.accounts.models import LoginFailure
from tests.factories import UserFactory, image_bytes

PASSWORD = "pass-12345"  # tests.factories.UserFactory


@pytest.fixture
def realistic(settings):
    """The production lockout and rate settings, with an empty throttle cache."""
    settings.RIIM_LOGIN_LOCKOUT_WINDOW = 15 * 60
    settings.RIIM_LOGIN_LOCKOUT_FAILURES = 20
    settings.RIIM_LOGIN_LOCKOUT_USER_FAILURES = 50
    settings.RIIM_THROTTLE_RATES = {"auth_token": "20/min", "uploads": "120/min", "analysis": "300/min"}
    cache.clear()
    yield settings
    cache.clear()


def _token(username, password, address="10.0.0.1"):
    return APIClient(REMOTE_ADDR=address).post("/api/v1/auth/token/", {"username": username, "password": password})


def _age_failures(seconds):
    LoginFailure.objects.update(created_at=timezone.now() - timedelta(seconds=seconds))


@pytest.mark.django_db
def test_sixty_wrong_passwords_lock_the_username(realistic):
    """60 wrong passwords from many addresses lock the name: the right one is refused until the lockout ends."""
    UserFactory(username="ana", role=roles.STUDENT)
    statuses = [_token("ana", "wrong", address=f"10.0.{i // 250}.{i % 250 + 1}").status_code for i in range(60)]
    assert statuses[0] == 400 and statuses[-1] == 429
    response = _token("ana", PASSWORD, address="192.168.1.7")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "ana" not in response.json()["detail"] and response.json()["detail"]
    _age_failures(realistic.RIIM_LOGIN_LOCKOUT_WINDOW + 1)  # the lockout ends
    response = _token("ana", PASSWORD, address="192.168.1.7")
    assert response.status_code == 200 and response.json()["token"]


@pytest.mark.django_db
def test_thirty_wrong_logins_on_the_login_page_lock_the_username(realistic, client):
    """30 wrong passwords on /accounts/login/ from one address: 429 with Retry-After, even for the right password."""
    UserFactory(username="bea", role=roles.STUDENT)
    for _ in range(30):
        response = client.post("/accounts/login/", {"username": "bea", "password": "wrong"})
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    response = client.post("/accounts/login/", {"username": "bea", "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    _age_failures(realistic.RIIM_LOGIN_LOCKOUT_WINDOW + 1)
    response = client.post("/accounts/login/", {"username": "bea", "password": PASSWORD})
    assert response.status_code == 302 and "_auth_user_id" in client.session


@pytest.mark.django_db
def test_an_address_alone_never_locks_a_class_out(realistic, client):
    """A classroom shares one address: failures on other names, or from elsewhere, leave a student free to log in."""
    UserFactory(username="carla", role=roles.STUDENT)
    for i in range(60):  # one student tries 60 classmates' names from the shared address
        _token(f"classmate{i}", "wrong", address="10.0.0.1")
    assert _token("carla", PASSWORD, address="10.0.0.1").status_code == 200
    for _ in range(realistic.RIIM_LOGIN_LOCKOUT_FAILURES):  # carla is locked from this address only
        client.post("/accounts/login/", {"username": "carla", "password": "wrong"}, REMOTE_ADDR="10.0.0.2")
    assert client.post("/accounts/login/", {"username": "carla", "password": PASSWORD}, REMOTE_ADDR="10.0.0.2").status_code == 429
    assert client.post("/accounts/login/", {"username": "carla", "password": PASSWORD}, REMOTE_ADDR="10.0.0.3").status_code == 302


@pytest.mark.django_db
def test_a_few_typos_do_not_lock(realistic, client):
    """A student who mistypes a few times logs in, and the successful login forgets the failures."""
    UserFactory(username="dani", role=roles.STUDENT)
    for _ in range(5):
        assert client.post("/accounts/login/", {"username": "dani", "password": "wrong"}).status_code == 200
    assert client.post("/accounts/login/", {"username": "dani", "password": PASSWORD}).status_code == 302
    assert not LoginFailure.objects.filter(username="dani").exists()


@pytest.mark.django_db
def test_token_endpoint_is_throttled_per_username(realistic):
    """More token requests for one name than the rate allows get 429 with Retry-After; other names are unaffected."""
    realistic.RIIM_THROTTLE_RATES = {**realistic.RIIM_THROTTLE_RATES, "auth_token": "3/min"}
    realistic.RIIM_LOGIN_LOCKOUT_FAILURES = 100
    UserFactory(username="eva", role=roles.STUDENT)
    statuses = [_token("nobody", "wrong").status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]
    assert _token("eva", PASSWORD).status_code == 200


@pytest.mark.django_db
def test_thirty_students_upload_through_one_address(realistic, world):
    """Upload rates are per user: 30 students behind one address each upload a burst of photos normally."""
    students = [UserFactory(username=f"s{i}", role=roles.STUDENT) for i in range(30)]
    from apps.projects.models import Membership

    Membership.objects.bulk_create([Membership(project=world.project, user=s, role="student") for s in students])
    n = 0
    for student in students:
        client = APIClient(REMOTE_ADDR="10.0.0.1")
        client.force_authenticate(student)
        for _ in range(3):
            n += 1
            upload = SimpleUploadedFile("p.png", image_bytes(color=(n % 256, n // 256, 7), size=(16, 16), fmt="PNG"))
            response = client.post("/api/v1/images/", {"project": world.project.slug, "file": upload}, format="multipart")
            assert response.status_code == 201, response.content


@pytest.mark.django_db
def test_one_user_over_the_upload_rate_gets_429(realistic, world):
    """One user posting faster than the upload rate gets 429 with Retry-After; listing stays available."""
    realistic.RIIM_THROTTLE_RATES = {**realistic.RIIM_THROTTLE_RATES, "uploads": "2/min"}
    client = APIClient()
    client.force_authenticate(world.student)
    statuses = []
    for i in range(3):
        upload = SimpleUploadedFile("p.png", image_bytes(color=(i, 9, 9), size=(16, 16), fmt="PNG"))
        statuses.append(client.post("/api/v1/images/", {"project": world.project.slug, "file": upload}, format="multipart"))
    assert [r.status_code for r in statuses] == [201, 201, 429]
    assert int(statuses[-1]["Retry-After"]) > 0
    assert client.get("/api/v1/images/").status_code == 200


@pytest.mark.django_db
def test_expired_token_is_refused_and_replaced(realistic, settings):
    """A token older than RIIM_TOKEN_MAX_AGE is a 401; asking again gives a new, working token."""
    user = UserFactory(username="fer", role=roles.STUDENT)
    key = _token("fer", PASSWORD).json()["token"]
    client = APIClient(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/projects/").status_code == 200
    Token.objects.filter(key=key).update(created=timezone.now() - timedelta(seconds=settings.RIIM_TOKEN_MAX_AGE + 60))
    response = client.get("/api/v1/projects/")
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Token" and response.json()["detail"]
    new_key = _token("fer", PASSWORD).json()["token"]
    assert new_key != key and Token.objects.get(user=user).key == new_key
    assert APIClient(HTTP_AUTHORIZATION=f"Token {new_key}").get("/api/v1/projects/").status_code == 200


@pytest.mark.django_db
def test_logout_revokes_the_token(realistic):
    """POST /api/v1/auth/logout/ deletes the token: it no longer authenticates."""
    UserFactory(username="gil", role=roles.STUDENT)
    key = _token("gil", PASSWORD).json()["token"]
    client = APIClient(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.post("/api/v1/auth/logout/").status_code == 204
    refused = client.get("/api/v1/projects/")  # an unknown key: 401, as any wrong key (test_permission_matrix)
    assert refused.status_code == 401 and refused["WWW-Authenticate"] == "Token"
    assert "token" in refused.json()["detail"].lower()
    assert not Token.objects.filter(key=key).exists()
    assert APIClient().post("/api/v1/auth/logout/").status_code in (401, 403)


@pytest.mark.django_db
def test_a_password_reset_revokes_every_token(realistic):
    """A password set by a reset (Django's SetPasswordForm, as the admin and a teacher's reset use) revokes the token."""
    from django.contrib.auth.forms import SetPasswordForm

    user = UserFactory(username="hugo", role=roles.STUDENT)
    key = _token("hugo", PASSWORD).json()["token"]
    form = SetPasswordForm(user, {"new_password1": "nueva-clave-4321", "new_password2": "nueva-clave-4321"})
    assert form.is_valid(), form.errors
    form.save()
    response = APIClient(HTTP_AUTHORIZATION=f"Token {key}").get("/api/v1/projects/")
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"
    assert not Token.objects.filter(user=user).exists()
    assert _token("hugo", "nueva-clave-4321").json()["token"] != key


@pytest.mark.django_db
def test_saving_a_user_without_a_new_password_keeps_the_token(realistic):
    """A login, a renamed account or a password hash upgraded on login leaves the token working."""
    user = UserFactory(username="ines", role=roles.STUDENT)
    key = _token("ines", PASSWORD).json()["token"]
    user.first_name = "Inés"
    user.save()
    assert APIClient().login(username="ines", password=PASSWORD)
    assert APIClient(HTTP_AUTHORIZATION=f"Token {key}").get("/api/v1/projects/").status_code == 200

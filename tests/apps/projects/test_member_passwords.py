"""A class's teacher resets a student's password: API, class page, credentials sheet and CSV, login hint."""
import io
from urllib.parse import unquote

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.accounts import roles
from apps.accounts.lockout import login_failure_record, login_lockout_seconds
from apps.gradebook.models import AccessLog
from tests.factories import ProjectFactory, UserFactory


def _url(world, username):
    return f"/api/v1/projects/{world.project.slug}/members/{username}/password/"


def test_teacher_resets_a_students_password_which_works_at_once(world, api_as, client):
    """The reset answers the username and a new password that logs in; the old one no longer does."""
    response = api_as(world.teacher).post(_url(world, "alumna"))
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "alumna" and len(body["password"]) >= 10
    assert not client.login(username="alumna", password="pass-12345")
    assert client.login(username="alumna", password=body["password"])


def test_the_new_password_is_stored_only_as_a_hash(world, api_as):
    """The password answered is nowhere in the user's row."""
    password = api_as(world.teacher).post(_url(world, "alumna")).json()["password"]
    world.student.refresh_from_db()
    assert password not in world.student.password and world.student.check_password(password)


def test_a_reset_revokes_the_students_tokens(world):
    """A token the student had stops authenticating (401) after the reset."""
    token = Token.objects.create(user=world.student)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get("/api/v1/projects/").status_code == 200
    teacher = APIClient()
    teacher.force_authenticate(world.teacher)
    assert teacher.post(_url(world, "alumna")).status_code == 200
    assert client.get("/api/v1/projects/").status_code == 401


def test_a_reset_ends_the_students_open_sessions(world, client):
    """A browser logged in as the student is logged out by the reset."""
    client.force_login(world.student)
    assert client.get(reverse("home")).status_code == 200
    teacher = APIClient()
    teacher.force_authenticate(world.teacher)
    teacher.post(_url(world, "alumna"))
    assert client.get(reverse("home")).status_code == 302


def test_a_reset_clears_the_login_lockout(world, api_as, settings):
    """A student locked out by failed logins can log in with the new password straight away."""
    for _ in range(settings.RIIM_LOGIN_LOCKOUT_USER_FAILURES):
        login_failure_record(username="alumna", address="10.0.0.1")
    assert login_lockout_seconds(username="alumna", address="10.0.0.1") > 0
    api_as(world.teacher).post(_url(world, "alumna"))
    assert login_lockout_seconds(username="alumna", address="10.0.0.1") == 0


def test_a_reset_is_written_to_the_access_log_of_each_of_the_students_classes(world, api_as):
    """One line per reset in this class and in every other class the account is a student of."""
    other = ProjectFactory(members=[(world.student, "student")])
    api_as(world.teacher).post(_url(world, "alumna"))
    api_as(world.teacher).post(_url(world, "alumna"))
    resets = AccessLog.objects.filter(what=AccessLog.What.PASSWORD, student=world.student, viewer=world.teacher)
    assert resets.filter(project=world.project).count() == 2
    assert resets.filter(project=other).count() == 2


@pytest.mark.parametrize("who", ["student", "grader"])
def test_students_and_graders_cannot_reset(world, api_as, who):
    """A student or grader of the class gets 403, and the password does not change."""
    response = api_as(getattr(world, who)).post(_url(world, "alumna"))
    assert response.status_code == 403
    world.student.refresh_from_db()
    assert world.student.check_password("pass-12345")


def test_a_username_outside_the_class_is_404(world, api_as):
    """An account that is not a member (or does not exist) is 404, and its password does not change."""
    assert api_as(world.teacher).post(_url(world, "ajeno")).status_code == 404
    assert api_as(world.teacher).post(_url(world, "nadie")).status_code == 404
    world.outsider.refresh_from_db()
    assert world.outsider.check_password("pass-12345")


@pytest.mark.parametrize("who", ["teacher", "grader"])
def test_only_students_can_be_reset(world, api_as, who):
    """The class's teacher or grader cannot be reset, not even by staff."""
    username = getattr(world, who).username
    assert api_as(world.staff).post(_url(world, username)).status_code == 403


def test_an_account_that_is_not_a_student_everywhere_cannot_be_reset(world, api_as):
    """Accounts are global: a student here who teaches or grades elsewhere, or is staff, keeps their password."""
    teacher_elsewhere = UserFactory(username="maestra", role=roles.STUDENT)
    grader_elsewhere = UserFactory(username="revisor", role=roles.STUDENT)
    staff = UserFactory(username="jefa", is_staff=True)
    in_teacher_group = UserFactory(username="colega", role=roles.TEACHER)
    ProjectFactory(owner=teacher_elsewhere)
    ProjectFactory(members=[(grader_elsewhere, "grader")])
    for user in (teacher_elsewhere, grader_elsewhere, staff, in_teacher_group):
        world.project.memberships.create(user=user, role="student")
        assert api_as(world.teacher).post(_url(world, user.username)).status_code == 403, user.username


def test_the_class_page_offers_the_reset_for_students_only(world, client):
    """The members list has a reset button beside the student, none beside the teacher or grader."""
    client.force_login(world.teacher)
    page = client.get(reverse("project_detail", args=[world.project.slug])).content.decode()
    assert 'name="password_reset" value="alumna"' in page
    assert 'value="profe"' not in page and 'value="evaluador"' not in page
    client.force_login(world.grader)
    page = client.get(reverse("project_detail", args=[world.project.slug])).content.decode()
    assert "password_reset" not in page


def test_the_class_page_resets_and_shows_the_password_once_with_its_sheet(world, client):
    """The teacher's reset on the class page shows the new password, the printable card and the CSV link."""
    client.force_login(world.teacher)
    url = reverse("project_detail", args=[world.project.slug])
    page = client.post(url, {"password_reset": "alumna"}).content.decode()
    world.student.refresh_from_db()
    password = next(word for word in _codes(page) if world.student.check_password(word))
    assert 'id="credentials-sheet"' in page and page.count('class="credential-card"') == 1
    assert world.project.join_code in page and "http://testserver/accounts/login/" in page
    assert "Restablecer contraseña" in page and "pide a tu docente que la restablezca" in page
    assert password not in client.get(url).content.decode()  # shown once


def test_a_grader_cannot_reset_from_the_class_page(world, client):
    client.force_login(world.grader)
    response = client.post(reverse("project_detail", args=[world.project.slug]), {"password_reset": "alumna"})
    assert response.status_code == 404
    world.student.refresh_from_db()
    assert world.student.check_password("pass-12345")


def _codes(page):
    import re

    return re.findall(r'<code class="fs-6">([^<]+)</code>', page)


def _csv(page):
    import html
    import re

    href = html.unescape(re.search(r'id="credentials-csv" href="([^"]+)"', page).group(1))
    assert href.startswith("data:text/csv;charset=utf-8,")
    return unquote(href.split(",", 1)[1])


def test_creating_students_gives_a_sheet_and_a_csv_in_the_same_response(world, client):
    """One card per new student with the class's join code and the site's address, and the same rows in a CSV."""
    client.force_login(world.teacher)
    csv_file = io.BytesIO(b"username,first_name,last_name\nana,Ana,Luna\nluis,Luis,\n")
    csv_file.name = "alumnos.csv"
    page = client.post(reverse("project_detail", args=[world.project.slug]), {"csv_file": csv_file}).content.decode()
    assert page.count('class="credential-card"') == 2 and "Ana Luna" in page
    assert 'download="credenciales-perros-y-gatos.csv"' in page
    rows = [line.split(";") for line in _csv(page).lstrip("\ufeff").splitlines()]
    assert rows[0] == ["Nombre de usuario", "Contraseña", "Nombre", "Clase", "Código de acceso", "Dirección"]
    created = {row[0]: row for row in rows[1:]}
    assert set(created) == {"ana", "luis"}
    assert created["ana"][2:] == ["Ana Luna", world.project.name, world.project.join_code, "http://testserver/accounts/login/"]
    assert client.login(username="ana", password=created["ana"][1])


def test_the_login_page_tells_who_resets_a_forgotten_password(client):
    """A student who forgot their password reads that their teacher resets it."""
    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "¿Has olvidado tu contraseña? Pide a tu docente que la restablezca." in page

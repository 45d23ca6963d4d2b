"""The project page's Scratch key (students) and retrain setting (the teacher), inside the public link's panel."""
import pytest

from apps.scratch.models import ScratchKey
from apps.scratch.selectors import students_may_retrain
from apps.scratch.services import ONLY_TEACHER_SETTINGS
from apps.sharing.models import ModelLink


@pytest.fixture
def shared(world):
    return ModelLink.objects.create(project=world.project, created_by=world.teacher)


def _page(client, user, project):
    client.force_login(user)
    return client.get(f"/projects/{project.slug}/").content.decode()


@pytest.mark.django_db
def test_a_student_makes_a_key_and_sees_it_once(world, shared, client):
    """«Crear mi clave de Scratch» shows the key on its own page, not cached; the project page then shows only its beginning."""
    assert "Crear mi clave de Scratch" in _page(client, world.student, world.project)
    response = client.post(f"/projects/{world.project.slug}/scratch-key/")
    assert response.status_code == 200 and "no-cache" in response["Cache-Control"]
    html = response.content.decode()
    row = ScratchKey.objects.get(user=world.student)
    key = html.split('id="scratch-key-value" value="')[1].split('"')[0]
    assert key.startswith(row.hint) and "solo se muestra esta vez" in html
    page = _page(client, world.student, world.project)
    assert key not in page and f"<code>{row.hint}</code>" in page and 'id="scratch-key-revoke"' in page


@pytest.mark.django_db
def test_a_student_revokes_their_key(world, shared, client):
    """«Revocar mi clave» ends it; the page offers a new one."""
    client.force_login(world.student)
    client.post(f"/projects/{world.project.slug}/scratch-key/")
    response = client.post(f"/projects/{world.project.slug}/scratch-key/revoke/")
    assert response.status_code == 302
    assert ScratchKey.objects.get(user=world.student).revoked_at is not None
    assert 'id="scratch-key-revoke"' not in _page(client, world.student, world.project)


@pytest.mark.django_db
def test_the_teacher_allows_retraining_from_scratch(world, shared, client):
    """Off by default; the teacher's checkbox turns it on and off; a student's post is refused."""
    html = _page(client, world.teacher, world.project)
    assert 'id="scratch-may-retrain"' in html and "checked" not in html.split('id="scratch-may-retrain"')[1][:20]
    client.post(f"/projects/{world.project.slug}/scratch-settings/", {"students_may_retrain": "on"})
    assert students_may_retrain(project=world.project)
    client.post(f"/projects/{world.project.slug}/scratch-settings/", {})
    assert not students_may_retrain(project=world.project)
    client.force_login(world.student)
    response = client.post(f"/projects/{world.project.slug}/scratch-settings/", {"students_may_retrain": "on"})
    assert response.status_code == 403 and str(ONLY_TEACHER_SETTINGS) in response.content.decode()
    assert not students_may_retrain(project=world.project)


@pytest.mark.django_db
def test_graders_get_no_key(world, shared, client):
    """A grader sees the link but no key section, and cannot make one."""
    html = _page(client, world.grader, world.project)
    assert 'id="model-link-url"' in html and 'id="scratch-key"' not in html
    assert client.post(f"/projects/{world.project.slug}/scratch-key/").status_code == 403

"""The project page's public model link: its teacher shares, replaces and withdraws it; students copy it."""
import pytest

from apps.sharing.models import ModelLink
from apps.sharing.services import ONLY_TEACHER


def _page(client, user, project, language="es"):
    client.force_login(user)
    client.cookies["django_language"] = language
    return client.get(f"/projects/{project.slug}/").content.decode()


@pytest.mark.django_db
def test_the_link_is_off_until_the_teacher_shares_it(world, client):
    """The teacher sees the share button; students see no panel while there is no link."""
    html = _page(client, world.teacher, world.project)
    assert "Compartir el modelo con un enlace" in html and "/m/" not in html
    assert 'id="model-link"' not in _page(client, world.student, world.project)


@pytest.mark.django_db
def test_sharing_shows_the_link_and_its_code(world, client):
    """After the button: the absolute link ending in /, tmImage and ml5 lines, and the replace and withdraw buttons."""
    client.force_login(world.teacher)
    response = client.post(f"/projects/{world.project.slug}/model-link/")
    assert response.status_code == 302 and response["Location"].endswith("#model-link")
    token = ModelLink.objects.get(project=world.project).token
    html = _page(client, world.teacher, world.project)
    url = f"http://testserver/m/{token}/"
    assert f'value="{url}"' in html
    assert f'tmImage.load("{url}model.json", "{url}metadata.json")' in html
    assert f'ml5.imageClassifier("{url}model.json")' in html
    assert "La clase aún no tiene modelo" in html  # no active version yet
    assert f'href="http://testserver/scratch/?model={url}"' in html  # Scratch opens with the link filled in
    assert 'class="riim-qr" src="data:image/svg+xml' in html
    assert 'id="model-link-withdraw"' in html and 'id="model-link-replace"' in html


@pytest.mark.django_db
def test_students_copy_the_link_but_cannot_change_it(world, client):
    """A student sees the link without the teacher's buttons, and posting to them is refused."""
    ModelLink.objects.create(project=world.project, created_by=world.teacher)
    html = _page(client, world.student, world.project)
    assert 'id="model-link-url"' in html and 'id="model-link-scratch"' in html
    assert 'id="model-link-withdraw"' not in html and 'id="model-link-qr"' not in html
    response = client.post(f"/projects/{world.project.slug}/model-link/withdraw/")
    assert response.status_code == 403 and str(ONLY_TEACHER) in response.content.decode()
    assert ModelLink.objects.filter(project=world.project).exists()
    client.force_login(world.outsider)
    assert client.post(f"/projects/{world.project.slug}/model-link/").status_code == 404


@pytest.mark.django_db
def test_withdrawing_and_replacing_from_the_page(world, client):
    """«Nuevo enlace» changes the token; «Retirar el enlace» removes it and the panel offers sharing again."""
    client.force_login(world.teacher)
    client.post(f"/projects/{world.project.slug}/model-link/")
    first = ModelLink.objects.get(project=world.project).token
    client.post(f"/projects/{world.project.slug}/model-link/")
    assert ModelLink.objects.get(project=world.project).token != first
    client.post(f"/projects/{world.project.slug}/model-link/withdraw/")
    assert not ModelLink.objects.filter(project=world.project).exists()
    assert "Compartir el modelo con un enlace" in _page(client, world.teacher, world.project)


@pytest.mark.django_db
def test_the_panel_reads_in_english(world, client):
    """With English chosen, the panel's texts are English."""
    ModelLink.objects.create(project=world.project, created_by=world.teacher)
    html = _page(client, world.teacher, world.project, language="en")
    assert "Public model link" in html and "Withdraw the link" in html and "Enlace público" not in html

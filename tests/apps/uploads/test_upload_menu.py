"""The upload page's menu links the selected project's pages, like every other page of a project."""
import pytest

pytestmark = pytest.mark.django_db


def test_a_students_upload_menu_has_label(world, client):
    """«Etiquetar» (and «En tu navegador») point at the project chosen on the upload page."""
    client.force_login(world.student)
    page = client.get("/upload/", {"project": world.project.slug}).content.decode()
    assert f'href="/label/{world.project.slug}/"' in page and "Etiquetar" in page
    assert f'href="/projects/{world.project.slug}/browser/"' in page

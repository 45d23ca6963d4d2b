"""The admin speaks the reader's language: its sections are the apps' translated names."""
import re

import pytest
from django.apps import apps


@pytest.mark.django_db
def test_admin_sections_are_spanish(world, client):
    """The admin index names every section in Spanish (no English app title such as "Training and model registry")."""
    client.force_login(world.staff)
    html = client.get("/admin/").content.decode()
    sections = re.findall(r"<caption>\s*<a[^>]*>([^<]+)</a>", html)
    assert {"Cuentas", "Proyectos", "Fotos", "Etiquetado", "Entrenamiento y registro de modelos"} <= set(sections)
    assert "Training and model registry" not in html


def test_every_platform_app_has_a_translatable_name():
    """Each of the platform's apps declares a verbose name that goes through gettext."""
    from django.utils.functional import Promise

    for config in apps.get_app_configs():
        if config.name.startswith("apps."):
            assert isinstance(config.verbose_name, Promise), f"{config.name} has no translatable verbose_name"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url,spanish,english",
    [
        ("/admin/projects/project/", "Creado", "Created at"),
        ("/admin/projects/membership/", "Usuario", ">User<"),
        ("/admin/accounts/user/", "Rol", ">role<"),
    ],
)
def test_admin_column_names_are_spanish(world, client, url, spanish, english):
    """The admin's list columns are named in Spanish, not after the fields' English names."""
    client.force_login(world.staff)
    html = client.get(url).content.decode()
    headers = " ".join(re.findall(r'<th scope="col"[^>]*>(.*?)</th>', html, re.S))
    assert spanish in headers and english not in headers

"""Errors a student can meet are friendly pages in their language, and `make run` never shows Django's debug pages."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import RequestFactory

ROOT = Path(__file__).resolve().parents[2]
DEBUG_PAGE_MARKERS = ("URLconf", "Using the URLconf", "Traceback", "DEBUG = True")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    ["/images/999999/analysis/", "/projects/un-proyecto-ajeno/", "/projects/perros-y-gatos-no-existe/browser/"],
)
def test_missing_or_foreign_pages_are_friendly_404s(world, client, path):
    """A missing photo or a project the student is not in: a 404 in Spanish with a way back, no debug listing."""
    client.force_login(world.student)
    response = client.get(path)
    html = response.content.decode()
    assert response.status_code == 404
    assert "Esta página no existe" in html
    assert 'href="/"' in html
    assert not any(marker in html for marker in DEBUG_PAGE_MARKERS)


@pytest.mark.django_db
def test_foreign_project_of_another_class_is_a_friendly_404(world, client):
    client.force_login(world.outsider)
    response = client.get(f"/projects/{world.project.slug}/")
    assert response.status_code == 404
    assert "Esta página no existe" in response.content.decode()


@pytest.mark.django_db
def test_404_page_in_english_when_chosen(world, client, settings):
    client.force_login(world.student)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get("/images/999999/analysis/").content.decode()
    assert "This page does not exist" in html


def test_500_page_renders_without_a_request_context():
    """Django renders 500.html with no request: the page must still render, in Spanish, with a way back."""
    from django.utils import translation
    from django.views.defaults import server_error

    with translation.override("es"):  # what the language middleware left active when the view failed
        response = server_error(RequestFactory().get("/"))
    html = response.content.decode()
    assert response.status_code == 500
    assert "Algo ha salido mal" in html and "Nada de lo que guardaste se ha perdido" in html


def test_make_run_settings_have_debug_off_unless_asked():
    """The settings `make run` uses: DEBUG off by default, on only with DEBUG=1."""
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    env = {k: v for k, v in os.environ.items() if k != "DEBUG"}
    env["DJANGO_SETTINGS_MODULE"] = "riim_site.settings.local"
    off = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    on = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**env, "DEBUG": "1"}, capture_output=True, text=True, timeout=60
    )
    assert off.stdout.strip() == "False", off.stderr[-1000:]
    assert on.stdout.strip() == "True", on.stderr[-1000:]


@pytest.mark.django_db
def test_first_visit_keeps_one_csrf_cookie_while_the_browser_asks_for_its_icon(client, settings):
    """A first visitor's browser fetches /favicon.ico in parallel with the login page; that request must
    not mint a second CSRF cookie, or the login form's token no longer matches and the login fails."""
    from django.test import Client

    login = client.get("/accounts/login/")
    assert 'rel="icon"' in login.content.decode()
    first_cookie = login.cookies[settings.CSRF_COOKIE_NAME].value

    icon = Client().get("/favicon.ico")  # sent before the login page's cookie came back: no cookie
    assert icon.status_code == 301 and icon["Location"].endswith("img/favicon.svg")
    assert settings.CSRF_COOKIE_NAME not in icon.cookies

    client.cookies[settings.CSRF_COOKIE_NAME] = first_cookie
    token = login.context["csrf_token"]
    response = client.post("/accounts/login/", {"username": "nadie", "password": "x", "csrfmiddlewaretoken": token})
    assert response.status_code == 200  # the form answered (wrong password), not a 403

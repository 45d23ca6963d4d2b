"""The interface is Spanish by default, English on request, and the Spanish catalogue is complete."""

from pathlib import Path

import polib
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
LOGIN_URL = "/accounts/login/"


@pytest.mark.django_db
def test_login_page_is_spanish_by_default(client):
    """With no language preference the login page is in Spanish."""
    html = client.get(LOGIN_URL).content.decode()
    assert '<html lang="es"' in html
    assert "Iniciar sesión" in html
    assert "Contraseña" in html


@pytest.mark.django_db
def test_english_browser_still_starts_in_spanish(client):
    """A browser configured in English still gets Spanish until someone chooses English."""
    html = client.get(LOGIN_URL, HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9").content.decode()
    assert '<html lang="es"' in html
    assert "Iniciar sesión" in html


@pytest.mark.django_db
def test_language_selector_choice_is_remembered(client, settings):
    """Choosing English in the selector (set_language) switches the following pages to English."""
    response = client.post("/i18n/setlang/", {"language": "en", "next": LOGIN_URL})
    assert response.status_code == 302
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    html = client.get(LOGIN_URL).content.decode()
    assert '<html lang="en"' in html and "Log in" in html


def test_spanish_catalogue_is_complete():
    """Every message of the es catalogue is translated and none is fuzzy."""
    catalogue = polib.pofile(str(REPO_ROOT / "locale" / "es" / "LC_MESSAGES" / "django.po"))
    untranslated = [e.msgid for e in catalogue.untranslated_entries()]
    fuzzy = [e.msgid for e in catalogue.fuzzy_entries()]
    assert not untranslated, f"untranslated: {untranslated}"
    assert not fuzzy, f"fuzzy: {fuzzy}"
    assert len(catalogue) > 0

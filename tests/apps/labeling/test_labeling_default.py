"""New projects label in the measured default order, and the review page says which and why."""
import json

import pytest
from django.conf import settings

from apps.projects.models import Project
from ml import active_learning as al

pytestmark = pytest.mark.django_db


def _points(share: float, decimal: str) -> str:
    """Independent of the page's formatter: «+0,08» in Spanish, «+0.08» in English, no trailing zeros."""
    text = f"{100 * share:+.2f}".rstrip("0").rstrip(".").replace("-", "−")
    return text.replace(".", decimal)


# The measurement quoted when random is the default: the strategy with the largest gain.
QUOTED = max(al.label_efficiency()["strategies"], key=lambda name: al.label_efficiency()["strategies"][name]["gain"])
DEFAULT_MARK = {"es": "Orden al azar (por defecto)", "en": "Random order (default)"}


def _review_page(world, client, language: str) -> str:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    client.force_login(world.teacher)
    page = client.get(f"/label/{world.project.slug}/review/")
    assert page.status_code == 200
    return page.content.decode()


def _reason(html: str) -> str:
    return html.split('id="default-order">', 1)[1].split("</p>", 1)[0].strip()


def test_a_new_project_labels_in_the_default_order(world, api_as):
    response = api_as(world.teacher).post("/api/v1/projects/", {"name": "Aves", "classes": ["loro", "paloma"]},
                                          format="json")
    assert response.status_code == 201, response.content
    project = Project.objects.get(slug=response.json()["slug"])
    assert project.labeling_strategy == al.DEFAULT_STRATEGY == al.RANDOM


@pytest.mark.parametrize("language,decimal,words", [
    ("es", ",", ("El orden al azar es el orden por defecto", "«Donde el modelo duda más»", "incluye el cero")),
    ("en", ".", ("Random order is the default", "“Where the model doubts most”", "includes zero")),
])
def test_the_review_page_says_which_order_is_the_default_and_why(world, client, language, decimal, words):
    """The sentence names the default, the measured gain with its interval, and writes numbers the reader's way."""
    measured = al.label_efficiency()
    quoted = measured["strategies"][QUOTED]
    text = _review_page(world, client, language)
    reason = _reason(text)
    for word in words:
        assert word in reason
    for value in (quoted["gain"], *quoted["ci95"]):
        assert _points(value, decimal) in reason
    assert f"{measured['seeds']} " in reason
    # The form marks the default among the choices.
    assert DEFAULT_MARK[language] in text


def test_a_missing_measurement_still_names_the_default(world, monkeypatch, tmp_path, client):
    monkeypatch.setattr(al, "LABEL_EFFICIENCY_FILE", tmp_path / "missing.json")
    assert _reason(_review_page(world, client, "en")) == "“Random order” is the default order."


def test_the_other_wording_quotes_the_winner(world, monkeypatch, tmp_path, client):
    """When a strategy wins, the sentence says it beat random, with its seeds won."""
    measured = dict(al.label_efficiency())
    measured["strategies"] = {al.MIX: {"aulc": 0.99, "gain": 0.0123, "ci95": [0.0041, 0.0205], "won": 17, "n": 20}}
    measured["default"] = al.MIX
    (tmp_path / "measured.json").write_text(json.dumps(measured))
    monkeypatch.setattr(al, "LABEL_EFFICIENCY_FILE", tmp_path / "measured.json")
    monkeypatch.setattr(al, "DEFAULT_STRATEGY", al.MIX)
    reason = _reason(_review_page(world, client, "es"))
    assert reason.startswith("«Mezcla de todas las estrategias» es el orden por defecto.")
    assert "Mezcla" in reason and "+1,23" in reason and "+0,41" in reason and "+2,05" in reason
    assert "17 de 20" in reason

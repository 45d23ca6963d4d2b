"""The gradebook's pages are Spanish and pass axe-core (no serious or critical violation) for each role."""
import json

import pytest

from apps.gradebook.models import Criterion
from apps.gradebook.services import grade_update
from apps.training.models import TrainingRun
from tests.apps.test_accessibility_browser import AXE, RUN_AXE
from tests.apps.test_spanish_pages import english_words
from tests.browser import BROWSER_MARKS, log_in

pytestmark = BROWSER_MARKS


def _gradebook_pages(world):
    slug = world.project.slug
    criterion = Criterion.objects.create(project=world.project, name="Etiquetas", points=10)
    grade_update(project=world.project, author=world.teacher, username="alumna", scores={str(criterion.pk): 7}, comment="Bien")
    run = TrainingRun.objects.create(project=world.project, requested_by=world.teacher, status="succeeded", stage="report")
    staff = [f"/gradebook/{slug}/", f"/gradebook/{slug}/students/alumna/", f"/gradebook/{slug}/report/",
             f"/training-runs/{run.pk}/"]
    return {
        "student": [f"/gradebook/{slug}/", f"/gradebook/{slug}/students/alumna/"],
        "teacher": [*staff, f"/gradebook/{slug}/access-log/"],
        "grader": staff,
    }


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["student", "teacher", "grader"])
def test_gradebook_pages_are_spanish(world, client, role):
    """Every gradebook page of the role, and the run page with its reviews, has no English word once rendered."""
    client.force_login(getattr(world, role))
    found = {}
    for url in _gradebook_pages(world)[role]:
        response = client.get(url)
        assert response.status_code == 200, url
        words = english_words(response.content.decode())
        if words:
            found[url] = sorted(words)
    assert not found, f"English words on Spanish pages: {found}"


@pytest.mark.skipif(not AXE.exists(), reason="axe-core is not installed (npm ci)")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ["student", "teacher", "grader"])
def test_gradebook_pages_have_no_serious_accessibility_violation(world, live_server, chromium, role):
    """axe-core finds no serious or critical violation on the gradebook pages of the role."""
    script = AXE.read_text()
    pages = _gradebook_pages(world)[role]
    log_in(chromium, live_server, getattr(world, role))
    chromium.set_window_size(1366, 768)
    found = {}
    for url in pages:
        chromium.get(live_server.url + url)
        chromium.execute_script(script)
        violations = json.loads(chromium.execute_async_script(RUN_AXE))
        if violations:
            found[url] = violations
    assert not found, json.dumps(found, indent=1, ensure_ascii=False)

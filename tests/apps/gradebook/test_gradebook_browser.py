"""In Chromium: a grader scores a generated class from the class view and prints the report; a student reads the feedback."""
import base64

import pytest

from apps.gradebook.models import Criterion, FeedbackEntry, ScoreEntry
from apps.projects.models import Membership
from tests.browser import ARTIFACTS, BROWSER_MARKS, log_in, screenshot
from tests.factories import UserFactory

pytestmark = BROWSER_MARKS

CLASS_SIZE = 6


@pytest.mark.django_db(transaction=True)
def test_grader_scores_the_class_and_prints_the_report(world, live_server, chromium):
    """Scores typed in the class view are saved through the API, sorting works, the PDF has one page per student."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    project = world.project
    Criterion.objects.create(project=project, name="Fotos", points=4, position=0)
    Criterion.objects.create(project=project, name="Etiquetas", points=6, position=1)
    names = [f"estudiante.{i}@clase" for i in range(CLASS_SIZE - 1)]
    for name in names:
        Membership.objects.create(project=project, user=UserFactory(username=name, role="student"), role="student")
    names.append("alumna")

    log_in(chromium, live_server, world.grader)
    chromium.get(f"{live_server.url}/gradebook/{project.slug}/")
    rows = chromium.find_elements(By.CSS_SELECTOR, "tr[data-student]")
    assert len(rows) == CLASS_SIZE
    for i, row in enumerate(rows):
        inputs = row.find_elements(By.CSS_SELECTOR, ".gradebook-score")
        inputs[0].send_keys(str(i % 5))
        inputs[1].send_keys(str(i))
        row.find_element(By.CSS_SELECTOR, ".gradebook-comment").send_keys(f"Comentario {i}: sigue así")
        save = row.find_element(By.CSS_SELECTOR, "[data-save]")
        chromium.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", save)
        WebDriverWait(chromium, 10).until(lambda d, r=row: r.get_attribute("data-saved") == "1")
    assert ScoreEntry.objects.count() == 2 * CLASS_SIZE
    assert FeedbackEntry.objects.filter(author=world.grader).count() == CLASS_SIZE

    # Sort by total, highest first (two clicks): the first row has the best total.
    total_header = chromium.find_elements(By.CSS_SELECTOR, "#gradebook thead th")[-3]
    for _ in range(2):
        chromium.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", total_header)
    totals = [
        float(cell.text) for cell in chromium.find_elements(By.CSS_SELECTOR, "tr[data-student] [data-total]")
    ]
    assert totals == sorted(totals, reverse=True) and len(totals) == CLASS_SIZE
    screenshot(chromium, "gradebook-class-view")

    chromium.get(f"{live_server.url}/gradebook/{project.slug}/report/")
    assert len(chromium.find_elements(By.CSS_SELECTOR, ".report-page")) == CLASS_SIZE
    screenshot(chromium, "gradebook-report-screen")
    pdf = base64.b64decode(chromium.execute_cdp_cmd("Page.printToPDF", {"printBackground": True})["data"])
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "gradebook-report.pdf").write_bytes(pdf)
    assert pdf.startswith(b"%PDF")
    # One student per sheet: the print stylesheet breaks the page after each report.
    assert _pdf_pages(pdf) == CLASS_SIZE

    # The student reads their own grade and feedback, and nobody else's.
    log_in(chromium, live_server, world.student)
    chromium.get(f"{live_server.url}/gradebook/{project.slug}/")
    feedback = chromium.find_element(By.ID, "my-feedback").text
    mine = FeedbackEntry.objects.filter(student=world.student).first().comment
    assert feedback == mine
    assert "Comentario" in feedback and not chromium.find_elements(By.ID, "gradebook")
    screenshot(chromium, "gradebook-student-feedback")


def _pdf_pages(pdf: bytes) -> int:
    """Count the page objects of a PDF (``/Type /Page`` not followed by ``s``)."""
    import re

    return len(re.findall(rb"/Type\s*/Page(?!s)", pdf))

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


ON_SCREEN = """
const box = arguments[0].getBoundingClientRect();
return box.width > 0 && box.left >= 0 && box.right <= document.documentElement.clientWidth;
"""


def _row(chromium, username):
    from selenium.webdriver.common.by import By

    return chromium.find_element(By.CSS_SELECTOR, f"#gradebook tr[data-student='{username}']")


def _save(chromium, row):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    chromium.execute_script("arguments[0].removeAttribute('data-saved')", row)
    chromium.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();",
                            row.find_element(By.CSS_SELECTOR, "[data-save]"))
    WebDriverWait(chromium, 10).until(
        lambda d: row.get_attribute("data-saved") == "1" or "No se ha guardado" in row.text
    )


@pytest.mark.django_db(transaction=True)
def test_grader_types_a_decimal_comma_and_reads_spanish_totals_at_1366_and_390(world, live_server, chromium):
    """«3,5» is 3.5 whatever the browser's locale, the total reads «8,5»; score and comment boxes sit on screen
    at a laptop's width without scrolling sideways, and each student is a usable card on a phone."""
    from selenium.webdriver.common.by import By

    project = world.project
    fotos = Criterion.objects.create(project=project, name="Fotos", points=4, position=0)
    etiquetas = Criterion.objects.create(project=project, name="Etiquetas", points=6, position=1)
    Criterion.objects.create(project=project, name="Laboratorio", points=2.5, position=2)
    for i in range(4):
        Membership.objects.create(project=project, user=UserFactory(username=f"estudiante.{i}@clase", role="student"), role="student")
    log_in(chromium, live_server, world.grader)
    chromium.set_window_size(1366, 768)
    chromium.get(f"{live_server.url}/gradebook/{project.slug}/")
    row = _row(chromium, "alumna")
    boxes = row.find_elements(By.CSS_SELECTOR, ".gradebook-score, .gradebook-comment, [data-save]")
    assert len(boxes) == 5
    assert all(chromium.execute_script(ON_SCREEN, box) for box in boxes)
    assert chromium.execute_script("return document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    scroller = chromium.find_element(By.CSS_SELECTOR, ".gradebook-scroll")
    assert chromium.execute_script("return arguments[0].scrollWidth <= arguments[0].clientWidth", scroller)

    scores = row.find_elements(By.CSS_SELECTOR, ".gradebook-score")
    scores[0].send_keys("3,5")
    scores[1].send_keys("5")
    row.find_element(By.CSS_SELECTOR, ".gradebook-comment").send_keys("Muy buenas fotos")
    _save(chromium, row)
    assert row.find_element(By.CSS_SELECTOR, "[data-total]").text == "8,5"
    assert ScoreEntry.objects.filter(criterion=fotos).latest("id").points == 3.5
    assert ScoreEntry.objects.filter(criterion=etiquetas).latest("id").points == 5
    screenshot(chromium, "gradebook-decimal-comma-1366", 1366, 768)

    # The dot is the same number; a score above the criterion's points is refused in words, in Spanish.
    scores[2].send_keys("2.25")
    _save(chromium, row)
    assert scores[2].get_attribute("value") == "2,25" and row.find_element(By.CSS_SELECTOR, "[data-total]").text == "10,75"
    scores[0].clear()
    scores[0].send_keys("4,5")
    _save(chromium, row)
    assert "debe estar entre 0 y 4" in row.find_element(By.CSS_SELECTOR, "[data-status]").text
    assert ScoreEntry.objects.filter(criterion=fotos).latest("id").points == 3.5

    # Reloaded, the stored scores read the Spanish way; on a phone each row is a card with every box on screen.
    chromium.get(f"{live_server.url}/gradebook/{project.slug}/")
    row = _row(chromium, "alumna")
    assert [box.get_attribute("value") for box in row.find_elements(By.CSS_SELECTOR, ".gradebook-score")] == ["3,5", "5", "2,25"]
    assert row.find_element(By.CSS_SELECTOR, "[data-total]").text == "10,75"
    chromium.set_window_size(390, 844)
    other = _row(chromium, "estudiante.0@clase")
    for box in other.find_elements(By.CSS_SELECTOR, ".gradebook-score, .gradebook-comment, [data-save]"):
        chromium.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'});", box)
        assert chromium.execute_script(ON_SCREEN, box), box.get_attribute("outerHTML")[:80]
        assert box.size["width"] >= 60
    assert chromium.execute_script("return document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    assert "Fotos /4" in other.text and "Laboratorio /2,5" in other.text  # each box names its criterion
    other.find_elements(By.CSS_SELECTOR, ".gradebook-score")[1].send_keys("1,5")
    _save(chromium, other)
    assert other.find_element(By.CSS_SELECTOR, "[data-total]").text == "1,5"
    chromium.execute_script("window.scrollTo(0, 0)")
    screenshot(chromium, "gradebook-decimal-comma-390", 390, 844)


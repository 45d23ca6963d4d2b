"""A real browser walks every lab page for each role; a student runs one experiment end to end."""

import pytest

from apps.lab.views import TOPICS
from tests.browser import BROWSER_MARKS, contrast_ratio, log_in, start_chromium

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def chromium():
    driver = start_chromium()
    yield driver
    driver.quit()


CURVE_AXES = """
return [...document.querySelectorAll('#lab-page canvas')].map((c) => Chart.getChart(c))
  .filter((chart) => chart && chart.data.datasets.length === 3)
  .map((chart) => [chart.getDatasetMeta(1).yAxisID, chart.getDatasetMeta(2).yAxisID]);
"""


def _click(driver, element):
    # Charts resize as they draw, so the element may move between scrolling and a pointer click.
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", element)


def _readable(driver, element, slug):
    """Wait out the button's colour transition, then require WCAG AA contrast (4.5 : 1)."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        WebDriverWait(driver, 2, poll_frequency=0.1).until(lambda d: contrast_ratio(d, element) >= 4.5)
    except TimeoutException:
        raise AssertionError((slug, element.text, contrast_ratio(driver, element))) from None


def _script_errors(driver):
    """Return the page's JavaScript errors (missing thumbnails of unprocessed test photos are not errors of the page)."""
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" and "Failed to load resource" not in entry["message"]
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ["student", "teacher", "grader"])
def test_every_lab_page_works_in_chromium(lab_world, live_server, chromium, role):
    """Each page loads in Spanish with its charts drawn, the nav links the lab, and no script error occurs."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from apps.gradebook.models import QuizAnswer
    from apps.lab.quizzes import BY_ID

    log_in(chromium, live_server, getattr(lab_world, role))
    chromium.get(f"{live_server.url}/lab/?project={lab_world.project.slug}")
    assert chromium.find_element(By.CSS_SELECTOR, "nav a[href='/lab/']")
    assert chromium.find_element(By.TAG_NAME, "html").get_attribute("lang") == "es"
    for slug, _title, _icon in TOPICS:
        chromium.get(f"{live_server.url}/lab/{slug}/")
        assert chromium.find_element(By.TAG_NAME, "h1").text.strip(), slug
        assert not _script_errors(chromium), (slug, _script_errors(chromium))
        if slug in ("overfitting", "cross-validation", "labeling", "backprop"):
            assert chromium.find_elements(By.CSS_SELECTOR, "#lab-page canvas"), slug
        if slug == "overfitting":
            # Losses on their own axis, never on the 0..1 accuracy one, which a rising validation loss would leave.
            axes = chromium.execute_script(CURVE_AXES)
            assert axes and all(loss_axis != accuracy_axis for loss_axis, accuracy_axis in axes), axes
        # The first question answers with the server's feedback; the right option is not in the page.
        assert not chromium.find_elements(By.CSS_SELECTOR, "[data-correct]"), slug
        question = chromium.find_element(By.CSS_SELECTOR, ".quiz-question")
        right_option = BY_ID[question.get_attribute("data-quiz-question")].right
        right = question.find_element(By.CSS_SELECTOR, f"[data-quiz-option='{right_option}']")
        _click(chromium, right)
        WebDriverWait(chromium, 10).until(lambda d, q=question: q.find_element(By.CSS_SELECTOR, "[data-quiz-feedback]").text)
        feedback = question.find_element(By.CSS_SELECTOR, "[data-quiz-feedback]").text
        assert feedback
        # The chosen answer stays readable (WCAG AA) and the verdict is not said twice ("Correcto. Correcto: …").
        _readable(chromium, right, slug)
        assert not feedback.startswith(("Correcto. ", "Correct. ")), feedback
        wrong = question.find_element(By.CSS_SELECTOR, f"[data-quiz-option]:not([data-quiz-option='{right_option}'])")
        _click(chromium, wrong)
        WebDriverWait(chromium, 10).until(lambda d, w=wrong: w.get_attribute("aria-pressed") == "true")
        _readable(chromium, wrong, slug)
        _readable(chromium, right, slug)
    # Each page's first question was answered twice (right, then wrong), and the server kept both.
    answers = QuizAnswer.objects.filter(user=getattr(lab_world, role), project=lab_world.project)
    assert answers.filter(correct=True).count() == answers.filter(correct=False).count() == len(TOPICS)
    chromium.get(f"{live_server.url}/lab/backprop/")
    _click(chromium, chromium.find_element(By.CSS_SELECTOR, "[data-bp-next]"))
    assert chromium.find_element(By.CSS_SELECTOR, "[data-bp-step]").text == "1"


@pytest.mark.django_db(transaction=True)
def test_student_runs_the_clusters_experiment_in_chromium(lab_world, live_server, chromium):
    """Clicking “run” starts the experiment, the page polls it and draws the map and the agreement."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    log_in(chromium, live_server, lab_world.student)
    chromium.get(f"{live_server.url}/lab/unsupervised/?project={lab_world.project.slug}")
    _click(chromium, chromium.find_element(By.CSS_SELECTOR, ".lab-experiment [data-lab-start]"))
    WebDriverWait(chromium, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-lab-result] canvas"))
    result = chromium.find_element(By.CSS_SELECTOR, "[data-lab-result]").text
    # Plain words first; the technical scores wait, explained, behind «más detalles».
    assert "más detalles" in result and "ARI" not in result and "purity" not in result
    details = chromium.find_element(By.CSS_SELECTOR, "[data-lab-result] details")
    assert "índice de Rand ajustado" in details.get_attribute("textContent")
    assert not _script_errors(chromium)


@pytest.mark.django_db(transaction=True)
def test_backprop_first_view_is_plain_with_the_maths_behind_more_details(lab_world, live_server, chromium):
    """A 15-year-old sees a sentence per step and the falling loss; matrices and the finite-difference check wait
    closed behind «más detalles»."""
    from selenium.webdriver.common.by import By

    from tests.browser import screenshot

    log_in(chromium, live_server, lab_world.student)
    chromium.set_window_size(1366, 900)
    chromium.get(f"{live_server.url}/lab/backprop/?project={lab_world.project.slug}")
    plain = chromium.find_element(By.CSS_SELECTOR, "[data-bp-plain]")
    assert "Paso 0: la red da un" in plain.text and "la respuesta correcta" in plain.text
    assert not chromium.find_element(By.CSS_SELECTOR, "[data-bp-weights]").is_displayed()
    assert not chromium.find_element(By.CSS_SELECTOR, "[data-bp-check]").is_displayed()
    assert "más detalles" in chromium.find_element(By.CSS_SELECTOR, "#bp-details summary").text
    _click(chromium, chromium.find_element(By.CSS_SELECTOR, "[data-bp-next]"))
    assert chromium.find_element(By.CSS_SELECTOR, "[data-bp-plain]").text.startswith("Paso 1:")
    screenshot(chromium, "lab-backprop-first-view-1366", 1366, 900)
    screenshot(chromium, "lab-backprop-first-view-390", 390, 844)
    chromium.set_window_size(1366, 900)
    _click(chromium, chromium.find_element(By.CSS_SELECTOR, "#bp-details summary"))
    assert chromium.find_element(By.CSS_SELECTOR, "[data-bp-weights]").is_displayed()

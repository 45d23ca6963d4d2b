"""Each role in Spanish, in headless Chromium, from the login form to its goal; screenshots for people to look at."""
import pytest

from tests.browser import BROWSER_MARKS, screenshot
from tests.fixtures.models import class_pictures

pytestmark = BROWSER_MARKS
PASSWORD = "pass-12345"  # tests.factories.UserFactory's


def _log_in_with_the_form(driver, live_server, user):
    from selenium.webdriver.common.by import By

    driver.get(live_server.url + "/accounts/login/")
    driver.delete_all_cookies()
    driver.add_cookie({"name": "django_language", "value": "es", "path": "/"})
    driver.get(live_server.url + "/accounts/login/")
    assert "Iniciar sesión" in driver.page_source
    driver.find_element(By.NAME, "username").send_keys(user.username)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()


def _wait(driver, css, seconds=120):  # generous: CI shares two cores with workers and other browsers
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds).until(ready.presence_of_element_located((By.CSS_SELECTOR, css)))


@pytest.mark.django_db(transaction=True)
def test_student_uploads_and_understands_a_result(classroom, publish, live_server, chromium, tmp_path):
    """Log in, upload a photo, open how the network decided: plain words, details on request."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    publish()
    _label, raw = class_pictures(1, seed=7)[0]
    photo = tmp_path / "mi-foto.png"
    photo.write_bytes(raw)
    chromium.set_window_size(1366, 768)
    _log_in_with_the_form(chromium, live_server, classroom.student)
    _wait(chromium, ".navbar")
    chromium.get(f"{live_server.url}/upload/?project={classroom.project.slug}")
    chromium.find_element(By.ID, "file-input").send_keys(str(photo))
    _wait(chromium, "#results a").click()
    WebDriverWait(chromium, 60).until(lambda d: d.find_element(By.ID, "label").text not in ("", "—"))
    main = chromium.find_element(By.TAG_NAME, "main").text
    assert "Las zonas coloreadas" in main and "más detalles" in main and "Mahalanobis" not in main
    screenshot(chromium, "journey-student-analysis-1366")
    screenshot(chromium, "journey-student-analysis-390", 390, 844)


@pytest.mark.django_db(transaction=True)
def test_teacher_compares_and_activates_a_version(classroom, publish, live_server, chromium):
    """The versions page names variants in words, asks before activating and says which version is active."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    first = publish()
    publish()
    chromium.set_window_size(1366, 768)
    _log_in_with_the_form(chromium, live_server, classroom.teacher)
    _wait(chromium, ".navbar")
    chromium.get(f"{live_server.url}/projects/{classroom.project.slug}/versions/")
    button = _wait(chromium, ".activate-btn")
    # The activate button is on screen at a laptop's width (it used to be in the last, off-screen column).
    right = chromium.execute_script("return arguments[0].getBoundingClientRect().right", button)
    assert right <= 1366
    assert "TFLite, pesos de 8 bits" in chromium.find_element(By.TAG_NAME, "main").text
    screenshot(chromium, "journey-teacher-versions-1366")
    # Clicked from a timer: the confirmation dialog would otherwise block the script that clicks.
    chromium.execute_script("const b = arguments[0]; b.scrollIntoView({block: 'center'}); setTimeout(() => b.click(), 0);", button)
    alert = WebDriverWait(chromium, 10).until(ready.alert_is_present())
    assert f"¿Activar la versión {first.number}?" in alert.text
    alert.accept()
    message = _wait(chromium, ".alert-success")
    assert f"La versión {first.number} ahora es el modelo activo" in message.text
    screenshot(chromium, "journey-teacher-activated-390", 390, 844)


@pytest.mark.django_db(transaction=True)
def test_grader_filters_history_and_finds_the_csv(classroom, live_server, chromium):
    """Filter by student, switch tabs without losing the filter, and reach the CSV export."""
    from selenium.webdriver.common.by import By

    chromium.set_window_size(1366, 768)
    _log_in_with_the_form(chromium, live_server, classroom.grader)
    _wait(chromium, ".navbar")
    chromium.get(f"{live_server.url}/history/activity/?kind=uploads")
    chromium.find_element(By.NAME, "student").send_keys(classroom.student.username)
    chromium.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    _wait(chromium, "main table")
    chromium.find_element(By.LINK_TEXT, "Análisis").click()
    _wait(chromium, "main table")
    assert chromium.find_element(By.NAME, "student").get_attribute("value") == classroom.student.username
    export = chromium.find_element(By.PARTIAL_LINK_TEXT, "CSV")
    assert "format=csv" in export.get_attribute("href") and "student=" in export.get_attribute("href")
    screenshot(chromium, "journey-grader-activity-1366")
    screenshot(chromium, "journey-grader-activity-390", 390, 844)

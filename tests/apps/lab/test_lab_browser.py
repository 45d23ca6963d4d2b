"""A real browser walks every lab page for each role; a student runs one experiment end to end."""

import os
import shutil

import pytest

from apps.lab.views import TOPICS

CHROMIUM = os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER_BIN", shutil.which("chromedriver") or "/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
        reason="chromium and chromedriver are not installed (apt-get install -y chromium chromium-driver)",
    ),
]


@pytest.fixture(scope="module")
def chromium():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument("--window-size=1280,1000")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def _log_in(driver, live_server, user):
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    driver.get(live_server.url + "/accounts/login/")
    driver.delete_all_cookies()
    driver.add_cookie(
        {"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value, "path": "/"}
    )
    driver.add_cookie({"name": settings.LANGUAGE_COOKIE_NAME, "value": "es", "path": "/"})  # Spanish first


def _click(driver, element):
    # Charts resize as they draw, so the element may move between scrolling and a pointer click.
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", element)


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

    _log_in(chromium, live_server, getattr(lab_world, role))
    chromium.get(f"{live_server.url}/lab/?project={lab_world.project.slug}")
    assert chromium.find_element(By.CSS_SELECTOR, "nav a[href='/lab/']")
    assert chromium.find_element(By.TAG_NAME, "html").get_attribute("lang") == "es"
    for slug, _title, _icon in TOPICS:
        chromium.get(f"{live_server.url}/lab/{slug}/")
        assert chromium.find_element(By.TAG_NAME, "h1").text.strip(), slug
        assert not _script_errors(chromium), (slug, _script_errors(chromium))
        if slug in ("overfitting", "cross-validation", "labeling", "backprop"):
            assert chromium.find_elements(By.CSS_SELECTOR, "#lab-page canvas"), slug
        # The first question answers with its feedback.
        _click(chromium, chromium.find_element(By.CSS_SELECTOR, "[data-quiz-option][data-correct]"))
        assert chromium.find_element(By.CSS_SELECTOR, "[data-quiz-feedback]").text
    chromium.get(f"{live_server.url}/lab/backprop/")
    _click(chromium, chromium.find_element(By.CSS_SELECTOR, "[data-bp-next]"))
    assert chromium.find_element(By.CSS_SELECTOR, "[data-bp-step]").text == "1"


@pytest.mark.django_db(transaction=True)
def test_student_runs_the_clusters_experiment_in_chromium(lab_world, live_server, chromium):
    """Clicking “run” starts the experiment, the page polls it and draws the map and the agreement."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    _log_in(chromium, live_server, lab_world.student)
    chromium.get(f"{live_server.url}/lab/unsupervised/?project={lab_world.project.slug}")
    _click(chromium, chromium.find_element(By.CSS_SELECTOR, ".lab-experiment [data-lab-start]"))
    WebDriverWait(chromium, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-lab-result] canvas"))
    result = chromium.find_element(By.CSS_SELECTOR, "[data-lab-result]").text
    assert "ARI" in result
    assert not _script_errors(chromium)

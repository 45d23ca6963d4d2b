"""A student labels in Chromium with the keyboard: feedback after each answer, undo reaches the answer just given."""
import pytest

from apps.labeling.models import Label
from apps.labeling.selectors import label_latest_by
from apps.uploads.services import image_upload_create
from tests.browser import BROWSER_MARKS, log_in, screenshot, start_chromium
from tests.factories import image_bytes

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def chromium():
    driver = start_chromium()
    yield driver
    driver.quit()


def _status(driver):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, "status").text


@pytest.mark.django_db(transaction=True)
def test_label_then_undo_with_the_keyboard(world, live_server, chromium):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    first, second, third = [
        image_upload_create(project=world.project, uploader=world.teacher, raw=image_bytes((60 * i, 120, 30)), name=f"{i}.jpg")
        for i in range(3)
    ]
    log_in(chromium, live_server, world.student)
    chromium.set_window_size(390, 844)  # a phone
    chromium.get(f"{live_server.url}/label/{world.project.slug}/?image={first.pk}")
    body = chromium.find_element(By.TAG_NAME, "body")
    # The page moves on to the head of the labeling queue (the project's strategy), not the next upload.
    ahead = int(chromium.find_element(By.ID, "labeler").get_attribute("data-next-unlabeled"))
    assert ahead in (second.pk, third.pk)

    body.send_keys("1")  # first class: the page moves on and says what was saved where
    WebDriverWait(chromium, 10).until(lambda d: f"image={ahead}" in d.current_url and _status(d))
    assert "foto anterior" in _status(chromium) and world.project.classes[0] in _status(chromium)
    assert label_latest_by(image=first, user=world.student).label == world.project.classes[0]
    screenshot(chromium, "labeling-saved-phone")

    chromium.find_element(By.TAG_NAME, "body").send_keys("u")  # undo: back to the photo just labeled, answer withdrawn
    WebDriverWait(chromium, 10).until(lambda d: f"image={first.pk}" in d.current_url and "Deshecho" in _status(d))
    assert label_latest_by(image=first, user=world.student) is None
    assert label_latest_by(image=second, user=world.student) is None
    ahead = int(chromium.find_element(By.ID, "labeler").get_attribute("data-next-unlabeled"))

    chromium.find_element(By.TAG_NAME, "body").send_keys("0")  # none of these
    WebDriverWait(chromium, 10).until(lambda d: f"image={ahead}" in d.current_url and _status(d))
    assert "Ninguna de estas" in _status(chromium)
    assert label_latest_by(image=first, user=world.student).label == Label.NONE_OF_THESE
    screenshot(chromium, "labeling-none-of-these-phone")
    chromium.set_window_size(1280, 1000)
    assert third.pk  # the queue still has photos ahead

"""The teacher reviews suspect labels in Chromium: one key accepts the suggestion and it becomes the teacher's label."""
import pytest

from tests.browser import BROWSER_MARKS, log_in, screenshot

pytestmark = BROWSER_MARKS


@pytest.mark.django_db(transaction=True)
def test_accept_a_suggestion_with_one_key(world, embedded, live_server, chromium):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    images, truth, _ = embedded
    log_in(chromium, live_server, world.teacher)
    chromium.get(f"{live_server.url}/label/{world.project.slug}/review/")
    rows = chromium.find_elements(By.CSS_SELECTOR, "tr.suspect")
    assert rows
    first = rows[0]
    image_id = int(first.get_attribute("data-image"))
    suggested = first.get_attribute("data-suggested")
    chromium.find_element(By.TAG_NAME, "body").send_keys("a")
    WebDriverWait(chromium, 10).until(lambda d: "table-success" in first.get_attribute("class"))
    screenshot(chromium, "label-review-accepted")
    image = next(i for i in images if i.pk == image_id)
    image.refresh_from_db()
    assert (image.label, image.label_source) == (suggested, "teacher")


@pytest.mark.django_db(transaction=True)
def test_the_review_page_fits_a_phone(world, embedded, live_server, chromium):
    """At 390 px the page does not scroll sideways: its tables scroll inside their own boxes."""
    log_in(chromium, live_server, world.teacher)
    chromium.set_window_size(390, 844)
    chromium.get(f"{live_server.url}/label/{world.project.slug}/review/")
    width = chromium.execute_script("return document.documentElement.scrollWidth")
    viewport = chromium.execute_script("return document.documentElement.clientWidth")
    screenshot(chromium, "label-review-390")
    assert width <= viewport, (width, viewport)

"""In Chromium: a photo the anomaly check flags has the warning as its headline, and its class guess below it
marked unreliable; a photo of a class has neither."""
import pytest

from tests.browser import BROWSER_MARKS, log_in, screenshot
from tests.fixtures.models import class_pictures, noise_pictures

pytestmark = BROWSER_MARKS


def _analysed(chromium, live_server, image):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    chromium.get(f"{live_server.url}/images/{image.pk}/analysis/")
    WebDriverWait(chromium, 60).until(lambda d: d.find_element(By.ID, "analysis").get_attribute("aria-busy") == "false")
    return chromium.find_element(By.ID, "unusual-headline"), chromium.find_element(By.ID, "label-unreliable")


@pytest.mark.django_db(transaction=True)
def test_a_flagged_photos_headline_is_the_warning(classroom, publish, stored_image, live_server, chromium):
    from selenium.webdriver.common.by import By

    from apps.inference.models import Analysis

    publish()
    odd = [stored_image(raw, name=f"ruido{i}.png") for i, raw in enumerate(noise_pictures(4, seed=22))]
    usual = stored_image(class_pictures(1, seed=21)[0][1], name="forma.png")
    log_in(chromium, live_server, classroom.student)
    chromium.set_window_size(1366, 768)
    flagged = None
    for image in odd:
        headline, badge = _analysed(chromium, live_server, image)
        if Analysis.objects.filter(image=image, is_anomaly=True).exists():
            flagged = image
            break
        assert not headline.is_displayed()
    assert flagged is not None, "no noise picture was flagged"
    assert headline.is_displayed() and "No se parece a ninguna clase del proyecto" in headline.text
    assert badge.is_displayed() and badge.text == "respuesta poco fiable"
    # The warning comes before the class guess.
    assert chromium.execute_script(
        "return arguments[0].compareDocumentPosition(document.getElementById('label')) & Node.DOCUMENT_POSITION_FOLLOWING",
        headline)
    screenshot(chromium, "analysis-unusual-1366", 1366, 768)
    screenshot(chromium, "analysis-unusual-390", 390, 844)
    chromium.set_window_size(1366, 768)
    headline, badge = _analysed(chromium, live_server, usual)
    if not Analysis.objects.filter(image=usual, is_anomaly=True).exists():
        assert not headline.is_displayed() and not badge.is_displayed()
        assert chromium.find_element(By.ID, "label").text

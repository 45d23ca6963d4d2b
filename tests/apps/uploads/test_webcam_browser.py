"""Webcam capture in headless Chromium with a fake camera: a burst, a discarded frame, then stored frames of one split."""
import pytest

from tests.browser import BROWSER_MARKS, log_in
from tests.webcam import start_chromium_with_camera, write_y4m

pytestmark = BROWSER_MARKS


@pytest.fixture
def camera_browser(tmp_path):
    driver = start_chromium_with_camera(write_y4m(tmp_path / "camera.y4m"))
    yield driver
    driver.quit()


@pytest.mark.django_db(transaction=True)
def test_a_burst_is_stored_in_one_split_with_its_class(classroom, live_server, camera_browser):
    """Start the camera, hold for a burst, discard one frame, store: every kept frame is a labelled row of one split."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from apps.uploads.models import Image

    driver = camera_browser
    label = classroom.project.classes[1]
    log_in(driver, live_server, classroom.student)
    driver.get(f"{live_server.url}/label/{classroom.project.slug}/")
    driver.find_element(By.CSS_SELECTOR, f"#webcam-class option[value='{label}']").click()
    driver.find_element(By.ID, "webcam-start").click()
    WebDriverWait(driver, 30).until(lambda d: d.find_element(By.ID, "webcam-hold").is_enabled())
    WebDriverWait(driver, 30).until(lambda d: d.execute_script("return document.getElementById('webcam-video').videoWidth") > 0)
    driver.execute_script("window.riimWebcam.startBurst()")
    WebDriverWait(driver, 30).until(lambda d: d.execute_script("return window.riimWebcam.frames.length") >= 6)
    driver.execute_script("window.riimWebcam.stopBurst()")
    assert Image.objects.count() == 0, "nothing is stored before the click"
    driver.find_elements(By.CSS_SELECTOR, "#webcam-preview .webcam-frame button")[0].click()
    kept = driver.execute_script("return window.riimWebcam.frames.length")
    session = driver.execute_script("return window.riimWebcam.session()")
    driver.find_element(By.ID, "webcam-store").click()
    WebDriverWait(driver, 60).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#webcam-results li")) == kept)
    rows = Image.objects.filter(project=classroom.project)
    stored = rows.count()
    # The fake camera may repeat a frame: a repeat is refused as a duplicate, never stored twice.
    refused = len(driver.find_elements(By.CSS_SELECTOR, "#webcam-results li.text-danger"))
    assert stored == kept - refused and stored >= 4
    assert {str(s) for s in rows.values_list("capture_session", flat=True)} == {session}
    assert len(set(rows.values_list("split", flat=True))) == 1
    assert set(rows.values_list("label", flat=True)) == {label}
    assert all(row.width <= 640 and row.format == "JPEG" for row in rows)


@pytest.mark.django_db(transaction=True)
def test_without_a_camera_the_page_says_so_and_files_still_work(classroom, live_server, tmp_path):
    """No camera device: a clear message; the phone/file input still adds a photo to the preview."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.fixtures.models import class_pictures

    driver = start_chromium_with_camera(None)
    try:
        log_in(driver, live_server, classroom.student)
        driver.get(f"{live_server.url}/upload/?project={classroom.project.slug}")
        driver.find_element(By.ID, "webcam-start").click()
        WebDriverWait(driver, 30).until(lambda d: d.find_element(By.ID, "webcam-message").text)
        assert "text-danger" in driver.find_element(By.ID, "webcam-message").get_attribute("class")
        assert not driver.find_element(By.ID, "webcam-hold").is_enabled()
        photo = tmp_path / "photo.png"
        photo.write_bytes(class_pictures(1, seed=5)[0][1])
        driver.find_element(By.ID, "webcam-phone").send_keys(str(photo))
        WebDriverWait(driver, 10).until(lambda d: d.execute_script("return window.riimWebcam.frames.length") == 1)
    finally:
        driver.quit()


@pytest.mark.django_db(transaction=True)
def test_stored_webcam_photos_show_the_models_answer_like_uploaded_files(classroom, publish, live_server, camera_browser):
    """With an active model each stored frame says what the model classified it as, and links to its analysis."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    publish()
    driver = camera_browser
    log_in(driver, live_server, classroom.student)
    driver.get(f"{live_server.url}/upload/?project={classroom.project.slug}")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();",
                          driver.find_element(By.ID, "webcam-start"))
    WebDriverWait(driver, 30).until(lambda d: d.execute_script("return document.getElementById('webcam-video').videoWidth") > 0)
    driver.execute_script("window.riimWebcam.startBurst()")
    WebDriverWait(driver, 30).until(lambda d: d.execute_script("return window.riimWebcam.frames.length") >= 2)
    driver.execute_script("window.riimWebcam.stopBurst()")
    kept = driver.execute_script("return window.riimWebcam.frames.length")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();",
                          driver.find_element(By.ID, "webcam-store"))
    WebDriverWait(driver, 60).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#webcam-results li")) == kept)
    stored = driver.find_elements(By.CSS_SELECTOR, "#webcam-results li.text-success")
    assert stored, [li.text for li in driver.find_elements(By.CSS_SELECTOR, "#webcam-results li")]
    for li in stored:
        assert "clasificada como" in li.text and " %" in li.text
        assert li.find_element(By.TAG_NAME, "a").get_attribute("href").endswith("/analysis/")

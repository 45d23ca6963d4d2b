"""The live page: the active model classifies the camera in the browser; without a model or a camera it says so."""
import pytest

from tests.browser import BROWSER_MARKS, log_in
from tests.webcam import start_chromium_with_camera, write_y4m

READY = """
const done = arguments[arguments.length - 1];
const wait = () => window.riimLive ? window.riimLive.ready.then(() => done("ok"), (e) => done("error: " + e.message)) : setTimeout(wait, 50);
wait();
"""


@pytest.mark.django_db
def test_without_an_active_version_the_page_says_so(classroom, client):
    """No model: the page explains there is nothing to run, loads no runtime, and still allows only its own camera."""
    client.force_login(classroom.student)
    response = client.get(f"/projects/{classroom.project.slug}/live/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="live-no-model"' in html and "no tiene ningún modelo activo" in html
    assert "ort.wasm.min.js" not in html
    assert "camera=(self)" in response["Permissions-Policy"]


@pytest.mark.django_db
def test_outsiders_get_no_live_page(classroom, client):
    client.force_login(classroom.outsider)
    assert client.get(f"/projects/{classroom.project.slug}/live/").status_code == 404


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@BROWSER_MARKS[1]  # skipped without chromium
def test_live_predictions_update_from_the_camera(classroom, publish, live_server, tmp_path):
    """With a fake camera the bars keep updating, a heatmap is drawn and frames per second are shown."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    publish()
    driver = start_chromium_with_camera(write_y4m(tmp_path / "camera.y4m"))
    try:
        log_in(driver, live_server, classroom.student)
        driver.get(f"{live_server.url}/projects/{classroom.project.slug}/live/")
        assert driver.execute_async_script(READY) == "ok"
        assert driver.find_element(By.ID, "live-status").text.startswith("Modelo listo")
        driver.find_element(By.ID, "live-start").click()
        WebDriverWait(driver, 60).until(lambda d: d.execute_script("return window.riimLive.stats.updates") >= 10)
        # While the camera is on, the status says so (it no longer asks to start the camera).
        assert driver.find_element(By.ID, "live-status").text.startswith("Cámara encendida")
        first = driver.execute_script("return window.riimLive.stats.updates")
        WebDriverWait(driver, 30).until(lambda d: d.execute_script("return window.riimLive.stats.updates") > first + 5)
        WebDriverWait(driver, 30).until(lambda d: d.execute_script("return window.riimLive.stats.heatmaps") >= 1)
        WebDriverWait(driver, 30).until(lambda d: d.find_element(By.ID, "live-fps").text)
        last = driver.execute_script("return window.riimLive.stats.last")
        assert len(last) == len(classroom.project.classes) and abs(sum(last) - 1) < 1e-3
        values = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#live-bars .live-value")]
        assert all(v.endswith(" %") for v in values)
        driver.find_element(By.ID, "live-start").click()
        assert driver.find_element(By.ID, "live-status").text.startswith("Modelo listo")
    finally:
        driver.quit()


@pytest.mark.browser
@BROWSER_MARKS[1]
@pytest.mark.django_db(transaction=True)
def test_without_a_camera_a_picture_still_works(classroom, publish, live_server, tmp_path):
    """No camera device: a clear message; choosing a file still fills the bars."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.fixtures.models import class_pictures

    publish()
    driver = start_chromium_with_camera(None)
    try:
        log_in(driver, live_server, classroom.student)
        driver.get(f"{live_server.url}/projects/{classroom.project.slug}/live/")
        assert driver.execute_async_script(READY) == "ok"
        driver.find_element(By.ID, "live-start").click()
        WebDriverWait(driver, 30).until(lambda d: d.find_element(By.ID, "live-message").text)
        photo = tmp_path / "photo.png"
        photo.write_bytes(class_pictures(1, seed=7)[0][1])
        driver.find_element(By.ID, "live-file").send_keys(str(photo))
        WebDriverWait(driver, 30).until(lambda d: d.execute_script("return window.riimLive.stats.updates") == 1)
    finally:
        driver.quit()


CLASSIFY_FRAME = """
const done = arguments[arguments.length - 1];
const bytes = Uint8Array.from(atob(arguments[0]), (c) => c.charCodeAt(0));
createImageBitmap(new Blob([bytes], { type: "image/png" }))
  .then((frame) => window.riimLive.classify(frame, frame.width, frame.height, false))
  .then((result) => done(result.probabilities), (error) => done("error: " + error.message));
"""


@pytest.mark.browser
@BROWSER_MARKS[1]
@pytest.mark.django_db(transaction=True)
def test_a_camera_frame_is_resized_as_the_server_resizes_a_photo(classroom, publish, live_server, chromium):
    """A frame larger than the model's input, drawn at its own size, gets the server's probabilities for the same
    picture: the live page resizes it with Pillow's filter (browser_preprocess.js), not the canvas's own scaling."""
    import base64
    import io

    import numpy as np
    from PIL import Image

    from apps.inference.loader import predictor_for

    predictor = predictor_for(publish())
    # Fine detail at a 4:3 camera's shape: what a canvas's plain bilinear scaling and Pillow's filter treat differently.
    noise = np.random.default_rng(3).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    frame = io.BytesIO()
    Image.fromarray(noise).save(frame, format="PNG")
    server = predictor.run(predictor.load(frame.getvalue())[None], outputs=("probabilities",))["probabilities"][0]
    log_in(chromium, live_server, classroom.student)
    chromium.get(f"{live_server.url}/projects/{classroom.project.slug}/live/")
    assert chromium.execute_async_script(READY) == "ok"
    live = chromium.execute_async_script(CLASSIFY_FRAME, base64.b64encode(frame.getvalue()).decode())
    assert not isinstance(live, str), live
    assert np.max(np.abs(np.asarray(live) - server)) <= 1e-4, (live, server.tolist())

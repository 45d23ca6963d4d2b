"""Browser and server give the same answers: headless Chromium runs the page's onnxruntime-web."""

import numpy as np
import pytest

from tests.browser import BROWSER_MARKS, log_in
from tests.fixtures.models import class_pictures

pytestmark = BROWSER_MARKS


READY = """
const done = arguments[arguments.length - 1];
const wait = () => window.riimBrowser ? window.riimBrowser.ready.then(() => done("ok"), (e) => done("error: " + e.message)) : setTimeout(wait, 50);
wait();
"""
RUN_TENSOR = """
const done = arguments[arguments.length - 1];
window.riimBrowser.runTensor(arguments[0], arguments[1]).then((r) => done(r.probabilities), (e) => done("error: " + e.message));
"""
CLASSIFY_URLS = """
const done = arguments[arguments.length - 1];
(async () => {
  const out = [];
  for (const url of arguments[0]) out.push((await window.riimBrowser.classifyUrl(url, arguments[1])).probabilities);
  return out;
})().then(done, (e) => done("error: " + e.message));
"""


@pytest.mark.django_db(transaction=True)
def test_browser_matches_the_server(classroom, publish, stored_image, live_server, chromium):
    """fp32 in Chromium: same tensor gives max |Δp| ≤ 1e-3; from the raw files the same top-1 on ≥ 99 % of images."""
    from apps.inference.loader import predictor_for

    version = publish()
    predictor = predictor_for(version)
    images = [stored_image(raw, f"{i}.png") for i, (_l, raw) in enumerate(class_pictures(8, seed=31))]
    log_in(chromium, live_server, classroom.student)
    chromium.get(f"{live_server.url}/projects/{classroom.project.slug}/browser/")
    assert chromium.execute_async_script(READY) == "ok", chromium.get_log("browser") if hasattr(chromium, "get_log") else ""

    pixels = [predictor.load(image.file.open("rb").read()) for image in images]
    server = predictor.run(np.stack(pixels), outputs=("probabilities",))["probabilities"]
    deltas = []
    for index in range(3):
        browser = chromium.execute_async_script(RUN_TENSOR, pixels[index].reshape(-1).tolist(), "fp32")
        assert not isinstance(browser, str), browser
        deltas.append(float(np.max(np.abs(np.asarray(browser) - server[index]))))
    assert max(deltas) <= 1e-3

    urls = [f"/api/v1/images/{image.pk}/file/" for image in images]
    browser_all = chromium.execute_async_script(CLASSIFY_URLS, urls, "fp32")
    assert not isinstance(browser_all, str), browser_all
    same_top = np.mean(np.argmax(np.asarray(browser_all), axis=1) == np.argmax(server, axis=1))
    assert same_top >= 0.99


@pytest.mark.django_db(transaction=True)
def test_browser_run_is_recorded(classroom, publish, stored_image, live_server, chromium):
    """Clicking the page's button classifies the pictures in the browser and records them as ran_on=browser."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from apps.inference.models import Analysis

    publish()
    images = [stored_image(raw, f"{i}.png") for i, (_l, raw) in enumerate(class_pictures(1, seed=32))]
    log_in(chromium, live_server, classroom.student)
    chromium.get(f"{live_server.url}/projects/{classroom.project.slug}/browser/")
    assert chromium.execute_async_script(READY) == "ok"
    chromium.find_element(By.ID, "run-all").click()
    WebDriverWait(chromium, 60).until(lambda d: Analysis.objects.filter(ran_on="browser").count() == len(images))
    WebDriverWait(chromium, 30).until(lambda d: all(cell.text != "—" for cell in d.find_elements(By.CSS_SELECTOR, "#compare .agree")))
    assert Analysis.objects.filter(ran_on="server").count() == len(images)


@pytest.mark.django_db(transaction=True)
def test_unreadable_local_file_replaces_the_previous_answer(classroom, publish, live_server, chromium, tmp_path):
    """A photo's answer, then a file that is not a picture: the page says so instead of keeping the old answer."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    publish()
    _label, raw = class_pictures(1, seed=33)[0]
    photo = tmp_path / "photo.png"
    photo.write_bytes(raw)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"this is not a picture")
    log_in(chromium, live_server, classroom.student)
    chromium.get(f"{live_server.url}/projects/{classroom.project.slug}/browser/")
    assert chromium.execute_async_script(READY) == "ok"
    picker = chromium.find_element(By.ID, "local-file")
    picker.send_keys(str(photo))
    WebDriverWait(chromium, 30).until(lambda d: " % · " in d.find_element(By.ID, "local-result").text)
    # Every class gets a bar with its percentage, highest first, as on the server's analysis page.
    values = [e.text for e in chromium.find_elements(By.CSS_SELECTOR, "#local-bars .local-value")]
    assert len(values) == len(classroom.project.classes) and all(v.endswith(" %") for v in values)
    shares = [float(v.replace(" %", "").replace(",", ".")) for v in values]
    assert shares == sorted(shares, reverse=True) and abs(sum(shares) - 100) < 0.5
    picker.send_keys(str(broken))
    WebDriverWait(chromium, 30).until(lambda d: "broken.jpg" in d.find_element(By.ID, "local-result").text)
    result = chromium.find_element(By.ID, "local-result")
    assert " % · " not in result.text
    assert "text-danger" in result.get_attribute("class")
    assert not chromium.find_element(By.ID, "local-bars").is_displayed()  # no bars of the previous photo

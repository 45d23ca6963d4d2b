"""The public link from another origin: Teachable Machine's library and plain TF.js load the class's model.

The page is served on a second local port, so the browser really applies CORS to model.json,
metadata.json and the weights; the libraries' scripts come from RIIM's own static files.
"""
import http.server
import threading
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from tests.browser import BROWSER_MARKS, start_chromium
from tests.fixtures.models import SERVED_SIZE, draw, encoded

pytestmark = BROWSER_MARKS

EXAMPLE = Path(__file__).resolve().parents[3] / "docs" / "tm-example" / "index.html"
CDN_TFJS = "https://cdn.jsdelivr.net/npm/@tensorflow/tfjs@1.3.1/dist/tf.min.js"
CDN_TM = "https://cdn.jsdelivr.net/npm/@teachablemachine/image@0.8.5/dist/teachablemachine-image.min.js"
EXAMPLE_MODEL_URL = 'const MODEL_URL = "my-model/";'

TM_PREDICT = """
const done = arguments[arguments.length - 1];
window.ready.then(async () => {
  const out = [];
  for (const name of arguments[0]) {
    const img = new Image();
    img.src = name;
    await img.decode();
    out.push((await window.classify(img)).map((p) => p.probability));
  }
  done(out);
}, (error) => done("error: " + error.message));
"""
TF_PREDICT = """
const done = arguments[arguments.length - 1];
const [link, pixels, n, size] = arguments;
tf.loadLayersModel(link + "model.json").then(async (model) => {
  const x = tf.tensor4d(pixels, [n, size, size, 3]).div(127).sub(1);  // Teachable Machine's scaling
  done({version: tf.version.tfjs, probabilities: await model.predict(x).array()});
}, (error) => done("error: " + error.message));
"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def other_origin(tmp_path):
    """Serve a folder on 127.0.0.1 and a port of its own; yield (its URL, the folder)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", tmp_path
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    driver = start_chromium()
    yield driver
    driver.quit()


def _shared_link(classroom, api_as, live_server) -> str:
    link = api_as(classroom.teacher).post(f"/api/v1/projects/{classroom.project.slug}/model-link/").json()["url"]
    return link.replace("http://testserver", live_server.url)


@pytest.mark.django_db(transaction=True)
def test_teachable_machines_library_loads_the_link_from_another_origin(classroom, publish, api_as, live_server,
                                                                      other_origin, browser):
    """docs/tm-example with MODEL_URL set to the link: tmImage.load (TF.js 1.3.1) gets the classes and the server's top-1."""
    from apps.inference.loader import predictor_for

    version = publish()
    link = _shared_link(classroom, api_as, live_server)
    url, folder = other_origin
    page = EXAMPLE.read_text()
    assert CDN_TFJS in page and CDN_TM in page and EXAMPLE_MODEL_URL in page
    page = page.replace(CDN_TFJS, f"{live_server.url}/static/vendor/tfjs-tm/tf.min.js")
    page = page.replace(CDN_TM, f"{live_server.url}/static/vendor/teachablemachine-image/teachablemachine-image.min.js")
    (folder / "index.html").write_text(page.replace(EXAMPLE_MODEL_URL, f'const MODEL_URL = "{link}";'))
    rng = np.random.default_rng(8)
    names = []
    for index in range(10):
        names.append(f"photo{index}.png")
        (folder / names[-1]).write_bytes(encoded(draw(classroom.project.classes[index % 2], rng, size=120)))
    browser.get(f"{url}/index.html")
    probabilities = browser.execute_async_script(TM_PREDICT, names)
    assert not isinstance(probabilities, str), probabilities
    assert browser.find_element("id", "status").text.startswith("Modelo listo: " + ", ".join(classroom.project.classes))
    predictor = predictor_for(version)
    server = predictor.run(np.stack([predictor.load((folder / n).read_bytes()) for n in names]), outputs=("probabilities",))
    agree = np.argmax(probabilities, axis=1) == np.argmax(server["probabilities"], axis=1)
    assert agree.mean() >= 0.9, (probabilities, server["probabilities"])


@pytest.mark.django_db(transaction=True)
def test_plain_tfjs_loads_the_link_from_another_origin(classroom, publish, api_as, live_server, other_origin, browser):
    """tf.loadLayersModel(link + "model.json") with TF.js 4 from another origin gives the served model's probabilities."""
    from apps.inference.loader import predictor_for

    version = publish()
    link = _shared_link(classroom, api_as, live_server)
    url, folder = other_origin
    (folder / "tf.html").write_text(f'<!doctype html><script src="{live_server.url}/static/vendor/tfjs/tf.es2017.min.js"></script>')
    rng = np.random.default_rng(9)
    pixels = np.stack([np.asarray(draw(classroom.project.classes[i % 2], rng), np.float32) for i in range(4)])
    browser.get(f"{url}/tf.html")
    result = browser.execute_async_script(TF_PREDICT, link, pixels.reshape(-1).tolist(), len(pixels), SERVED_SIZE)
    assert not isinstance(result, str), result
    assert result["version"].startswith("4.")
    served = predictor_for(version).run(pixels, outputs=("probabilities",))["probabilities"]
    assert np.abs(np.asarray(result["probabilities"]) - served).max() <= 1e-3

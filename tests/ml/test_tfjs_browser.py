"""The TF.js export in headless Chromium: tf.loadLayersModel (current and 1.3.1) and Teachable Machine's library.

The exported folder and the example page of docs/tm-example are served by a plain HTTP server, with
the npm packages copied next to them, exactly as a student would serve them.
"""

import http.server
import shutil
import threading
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from tests.browser import BROWSER_MARKS, start_chromium
from tests.fixtures.models import SERVED_CLASSES as CLASSES
from tests.fixtures.models import SERVED_SIZE as SIZE
from tests.fixtures.models import draw, encoded, trained_model_dir  # noqa: F401

pytestmark = BROWSER_MARKS

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / "node_modules"
EXAMPLE = ROOT / "docs" / "tm-example" / "index.html"
CDN_TFJS = "https://cdn.jsdelivr.net/npm/@tensorflow/tfjs@1.3.1/dist/tf.min.js"
CDN_TM = "https://cdn.jsdelivr.net/npm/@teachablemachine/image@0.8.5/dist/teachablemachine-image.min.js"
PHOTO_SIDE = 120  # square pictures, 3x the model's input: the library and the server both downscale them

LOAD_AND_PREDICT = """
const done = arguments[arguments.length - 1];
const [pixels, n, size] = [arguments[0], arguments[1], arguments[2]];
tf.loadLayersModel("my-model/model.json").then(async (model) => {
  const x = tf.tensor4d(pixels, [n, size, size, 3]).div(127).sub(1);  // the library's documented scaling
  const out = await model.predict(x).array();
  done({version: tf.version.tfjs || tf.version_core, probabilities: out});
}, (error) => done("error: " + error.message));
"""
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


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site(trained_model_dir, tmp_path_factory):  # noqa: F811
    """Serve the exported model, the docs example page and the npm packages over HTTP; yield (url, folder)."""
    folder = tmp_path_factory.mktemp("tm-site")
    assert (trained_model_dir / "tfjs" / "model.json").is_file(), "the engine wrote no TF.js export"
    shutil.copytree(trained_model_dir / "tfjs", folder / "my-model")
    shutil.copy(NODE_MODULES / "tfjs-tm" / "dist" / "tf.min.js", folder / "tf131.min.js")
    shutil.copy(NODE_MODULES / "@teachablemachine" / "image" / "dist" / "teachablemachine-image.min.js", folder / "tm.min.js")
    shutil.copy(NODE_MODULES / "@tensorflow" / "tfjs" / "dist" / "tf.min.js", folder / "tf.min.js")
    page = EXAMPLE.read_text()
    assert CDN_TFJS in page and CDN_TM in page
    (folder / "index.html").write_text(page.replace(CDN_TFJS, "tf131.min.js").replace(CDN_TM, "tm.min.js"))
    (folder / "current.html").write_text('<!doctype html><script src="tf.min.js"></script>')
    (folder / "old.html").write_text('<!doctype html><script src="tf131.min.js"></script>')
    handler = partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", folder
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    driver = start_chromium()
    yield driver
    driver.quit()


@pytest.mark.parametrize(("page", "version"), [("current.html", "4."), ("old.html", "1.3.1")])
def test_tfjs_matches_the_served_onnx_model(site, browser, trained_model_dir, page, version):  # noqa: F811
    """tf.loadLayersModel on the export, fed pixels / 127 - 1, gives the served ONNX file's probabilities (raw pixels) within 1e-3."""
    from ml.parity import run_onnx

    url, _ = site
    pixels = np.random.default_rng(3).integers(0, 256, (6, SIZE, SIZE, 3)).astype(np.float32)
    rng = np.random.default_rng(4)
    pixels[:4] = np.stack([np.asarray(draw(CLASSES[i % 2], rng), np.float32) for i in range(4)])
    browser.get(f"{url}/{page}")
    result = browser.execute_async_script(LOAD_AND_PREDICT, pixels.reshape(-1).tolist(), len(pixels), SIZE)
    assert not isinstance(result, str), result
    assert str(result["version"]).startswith(version)
    served = run_onnx(trained_model_dir / "model.onnx", pixels, outputs=("probabilities",))["probabilities"]
    assert np.abs(np.asarray(result["probabilities"]) - served).max() <= 1e-3


def test_teachable_machine_library_agrees_with_the_server(site, browser, trained_model_dir):  # noqa: F811
    """The docs example page loads the export with tmImage.load and gives the server's top-1 on square pictures."""
    from ml.inference import Predictor

    url, folder = site
    rng = np.random.default_rng(41)
    names, labels = [], []
    for index in range(20):
        label = CLASSES[index % 2]
        name = f"photo{index}.png"
        (folder / name).write_bytes(encoded(draw(label, rng, size=PHOTO_SIDE)))
        names.append(name)
        labels.append(label)
    browser.get(f"{url}/index.html")
    browser_probabilities = browser.execute_async_script(TM_PREDICT, names)
    assert not isinstance(browser_probabilities, str), browser_probabilities
    assert "Modelo listo" in browser.find_element("id", "status").text

    predictor = Predictor(trained_model_dir)
    pixels = np.stack([predictor.load((folder / name).read_bytes()) for name in names])
    server = predictor.run(pixels, outputs=("probabilities",))["probabilities"]
    browser_top = np.argmax(np.asarray(browser_probabilities), axis=1)
    assert np.mean(browser_top == np.argmax(server, axis=1)) >= 0.97
    assert [predictor.classes[i] for i in browser_top].count(labels[0]) > 0  # labels come from metadata.json

"""The TF.js export in headless Chromium: tf.loadLayersModel (current and 1.3.1) and Teachable Machine's library.

The exported folder and the example page of docs/tm-example are served by a plain HTTP server, with
the npm packages copied next to them, exactly as a student would serve them. Two exports are checked:
the engine's trained model ("full") and a quick model ("quick": a frozen MobileNet with its logistic
head, whose TF.js files are written with numpy from the backbone's cached template). Both are held to
the served ONNX file's probabilities; a quick model's are the mean of the photo's and its mirror's, which
its TF.js copy computes too (``ml.tfjs.mirror_averaged``), so the quick checks also make sure the photo's
own answer would fail them.
"""

import http.server
import json
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


def _quick_model_dir(tmp_path_factory) -> Path:
    """Publish a quick model of the served classes on a random-weight MobileNet 0.25 (its TF.js template built first)."""
    from ml.backend import keras
    from ml.embeddings import BATCH, Embedder, backbone_onnx, embed_batches, resolve_backbone
    from ml.quick import QuickData, publish_quick

    rng = np.random.default_rng(5)
    pixels = np.stack([np.asarray(draw(CLASSES[i % 2], rng), np.float32) for i in range(80)])
    weights = tmp_path_factory.mktemp("quick-weights")
    keras.utils.set_random_seed(0)
    base = keras.applications.MobileNet(input_shape=(SIZE, SIZE, 3), alpha=0.25, include_top=False, weights=None)
    # Freshly initialised, the 13 blocks shrink the features to ~1e-18 and every head is zero: each batch
    # normalisation takes the statistics of one batch of pictures instead, so the features stay of order one.
    for layer in base.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = 0.0
    base(pixels / 127.5 - 1.0, training=True)
    base.save_weights(weights / "mobilenet_2_5_224_tf_no_top.h5")
    backbone = resolve_backbone("mobilenet", 0.25, SIZE, weights_dir=weights)
    source = backbone_onnx(backbone, tmp_path_factory.mktemp("quick-cache"))
    y = np.arange(80) % 2
    x, xm = embed_batches(Embedder(source), (pixels[i : i + BATCH] for i in range(0, len(pixels), BATCH)))
    common = {"backbone": backbone, "backbone_file": source, "classes": list(CLASSES), "test": None,
              "config": {}, "dataset_sha256": "0" * 64}
    publish_quick(tmp_path_factory.mktemp("quick-first"), train=QuickData(x[:40], xm[:40], y[:40]), **common)
    out = tmp_path_factory.mktemp("quick-model")
    card = publish_quick(out, train=QuickData(x, xm, y), **common)  # from the cached template
    assert card["tfjs"]["enabled"] and card["tfjs"]["mirror_averaging"] is True, card["tfjs"]
    assert card["kfold"]["accuracy"]["mean"] >= 0.65, card["kfold"]  # a head that tells the shapes apart
    return out


@pytest.fixture(scope="module", params=["full", "quick"])
def model_dir(request, tmp_path_factory):
    """The served folder whose export is checked: the engine's trained model, or a quick model."""
    if request.param == "full":
        return request.getfixturevalue("trained_model_dir")
    return _quick_model_dir(tmp_path_factory)


def served_reference(folder: Path, pixels: np.ndarray) -> np.ndarray:
    """Return the served probabilities the TF.js copy must give (a quick model's: the mean of photo and mirror)."""
    from ml.parity import run_onnx

    card = json.loads((folder / "card.json").read_text())
    assert card["tfjs"].get("mirror_averaging") is not False, card["tfjs"]  # a copy that differs from the server
    return run_onnx(folder / "model.onnx", pixels, outputs=("probabilities",))["probabilities"]


def photo_only(folder: Path, pixels: np.ndarray) -> np.ndarray:
    """Return a quick model's probabilities of the photo alone: its head on the served ``embedding`` (the photo's)."""
    from ml.cam import load_head
    from ml.parity import run_onnx

    kernel, bias = load_head(folder / "head.npz")
    logits = run_onnx(folder / "model.onnx", pixels, outputs=("embedding",))["embedding"] @ kernel + bias
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def _is_quick(folder: Path) -> bool:
    return json.loads((folder / "card.json").read_text()).get("mode") == "quick"


@pytest.fixture(scope="module")
def site(model_dir, tmp_path_factory):
    """Serve the exported model, the docs example page and the npm packages over HTTP; yield (url, folder)."""
    folder = tmp_path_factory.mktemp("tm-site")
    assert (model_dir / "tfjs" / "model.json").is_file(), "the engine wrote no TF.js export"
    shutil.copytree(model_dir / "tfjs", folder / "my-model")
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
def test_tfjs_matches_the_served_onnx_model(site, browser, model_dir, page, version):
    """tf.loadLayersModel on the export, fed pixels / 127 - 1, gives the served ONNX file's probabilities (raw pixels) within 1e-3
    (a quick model's: the mean of photo and mirror, which the photo's own answer would miss)."""
    url, _ = site
    pixels = np.random.default_rng(3).integers(0, 256, (6, SIZE, SIZE, 3)).astype(np.float32)
    rng = np.random.default_rng(4)
    pixels[:4] = np.stack([np.asarray(draw(CLASSES[i % 2], rng), np.float32) for i in range(4)])
    browser.get(f"{url}/{page}")
    result = browser.execute_async_script(LOAD_AND_PREDICT, pixels.reshape(-1).tolist(), len(pixels), SIZE)
    assert not isinstance(result, str), result
    assert str(result["version"]).startswith(version)
    served = served_reference(model_dir, pixels)
    delta = np.abs(np.asarray(result["probabilities"]) - served).max()
    assert delta <= 1e-3, delta
    if _is_quick(model_dir):  # the pictures are not left-right symmetric: a copy without the mirror would fail
        assert np.abs(photo_only(model_dir, pixels) - served).max() > 1e-2


def test_teachable_machine_library_agrees_with_the_server(site, browser, model_dir):
    """The docs example page loads the export with tmImage.load and gives the server's top-1 on square pictures.

    The quick model's head sits on a random-weight backbone (no ImageNet weights in tests): its answers are
    too close to even for the library's and the server's different downscaling, so it gets pictures at the
    model's own size, which neither side resamples.
    """
    from ml.inference import Predictor

    url, folder = site
    quick = _is_quick(model_dir)
    side = SIZE if quick else PHOTO_SIDE
    rng = np.random.default_rng(41)
    names, labels = [], []
    for index in range(20):
        label = CLASSES[index % 2]
        name = f"photo{index}.png"
        (folder / name).write_bytes(encoded(draw(label, rng, size=side)))
        names.append(name)
        labels.append(label)
    browser.get(f"{url}/index.html")
    browser_probabilities = browser.execute_async_script(TM_PREDICT, names)
    assert not isinstance(browser_probabilities, str), browser_probabilities
    assert "Modelo listo" in browser.find_element("id", "status").text

    predictor = Predictor(model_dir)
    pixels = np.stack([predictor.load((folder / name).read_bytes()) for name in names])
    server = served_reference(model_dir, pixels)
    browser_top = np.argmax(np.asarray(browser_probabilities), axis=1)
    assert np.mean(browser_top == np.argmax(server, axis=1)) >= 0.97, (browser_probabilities, server)
    if quick:  # the same pixels on both sides: the same (mirror-averaged) probabilities too
        delta = np.abs(np.asarray(browser_probabilities) - server).max()
        assert delta <= 1e-3, delta
        assert np.abs(photo_only(model_dir, pixels) - server).max() > 1e-2
    assert [predictor.classes[i] for i in browser_top].count(labels[0]) > 0  # labels come from metadata.json

"""In Chromium: the live and browser pages compute the server's anomaly score from the served file's embedding
(ONNX Runtime Web and anomaly.json), head a flagged photo with the warning, and draw the heatmap; a version
published without anomaly.json classifies as before and shows no warning."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.apps.test_accessibility_browser import AXE, RUN_AXE
from tests.browser import BROWSER_MARKS, log_in, screenshot
from tests.fixtures.models import class_pictures, noise_pictures

pytestmark = BROWSER_MARKS

READY = """
const done = arguments[arguments.length - 1];
const name = arguments[0];
const wait = () => window[name] ? window[name].ready.then(() => done("ok"), (e) => done("error: " + e.message)) : setTimeout(wait, 50);
wait();
"""
BROWSER_PIXELS = """
const done = arguments[arguments.length - 1];
(async () => {
  const out = [];
  for (const pixels of arguments[0]) out.push(await window.riimBrowser.explainPixels(pixels, arguments[1]));
  return out;
})().then(done, (e) => done("error: " + e.message));
"""
LIVE_PIXELS = """
const done = arguments[arguments.length - 1];
(async () => {
  const out = [];
  for (const pixels of arguments[0]) out.push(await window.riimLive.classifyPixels(pixels));
  return out;
})().then(done, (e) => done("error: " + e.message));
"""


def _photos():
    """Raw files: noise (some flagged by the fixture model's detector) and photos of its classes."""
    return [*noise_pictures(6, seed=41), *(raw for _label, raw in class_pictures(3, seed=42))]


def _server(version, photos, variant="fp32"):
    """The server's pixels and its verdict on each photo (ml.inference.Predictor.anomaly, as the analysis page)."""
    from apps.training.artifacts import artifacts_local_dir
    from ml.inference import Predictor

    predictor = Predictor(artifacts_local_dir(version), variant=variant)
    pixels = [predictor.load(raw) for raw in photos]
    verdicts = []
    for image in pixels:
        outputs = predictor.run(image[None])
        verdicts.append(predictor.anomaly(image, outputs["embedding"], outputs))
    return pixels, verdicts


def _assert_same_verdicts(browser, server):
    assert not isinstance(browser, str), browser
    for got, expected in zip(browser, server, strict=True):
        assert got["anomaly"] is not None
        assert abs(got["anomaly"]["score"] - expected["score"]) <= 1e-3, (got["anomaly"], expected)
        assert got["anomaly"]["threshold"] == pytest.approx(expected["threshold"], rel=1e-9)
        assert got["anomaly"]["flagged"] == expected["flagged"]
        assert set(got["anomaly"]["parts"]) == set(expected["parts"])
    flags = [v["flagged"] for v in server]
    assert any(flags) and not all(flags), "the photos should include flagged and usual ones"


def _open(driver, url, script):
    driver.get(url)
    assert driver.execute_async_script(READY, script) == "ok", driver.get_log("browser")


@pytest.mark.django_db(transaction=True)
def test_both_pages_give_the_servers_score(classroom, publish, trained_model_dir, live_server, chromium):
    """Same pixels: the browser page (each file it offers) and the live page score as the server, within 1e-3."""
    version = publish(trained_model_dir)  # the engine's folder, with its anomaly.json
    assert "anomaly.json" in version.files and version.metadata["files"]["anomaly_browser"] == "anomaly.json"
    photos = _photos()
    log_in(chromium, live_server, classroom.student)
    _open(chromium, f"{live_server.url}/projects/{classroom.project.slug}/browser/", "riimBrowser")
    offered = chromium.execute_script("return Object.keys(window.riimBrowser.version.files)")
    assert "fp32" in offered
    for variant in offered:  # the int8 file only where it keeps the accuracy (apps.inference.loader.variant_servable)
        pixels, server = _server(version, photos, variant)
        browser = chromium.execute_async_script(BROWSER_PIXELS, [p.reshape(-1).tolist() for p in pixels], variant)
        _assert_same_verdicts(browser, server)
        assert all(result["cam"] for result in browser)  # the heatmap is computed beside the verdict
    pixels, server = _server(version, photos)
    _open(chromium, f"{live_server.url}/projects/{classroom.project.slug}/live/", "riimLive")
    live = chromium.execute_async_script(LIVE_PIXELS, [p.reshape(-1).tolist() for p in pixels])
    _assert_same_verdicts(live, server)


def _with_reference(source: Path, folder: Path, photos) -> Path:
    """Copy a served folder and pair its fp32 file with a reference fed by its early features, as pretrained runs are."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from ml.anomaly import detector_embeddings, fit_detector, load_detectors, save_detectors
    from ml.browser_anomaly import write_browser_detectors
    from ml.inference import Predictor

    shutil.copytree(source, folder)
    model = onnx.load(str(folder / "model.onnx"))
    model.graph.node.append(helper.make_node("Identity", ["feature_maps"], ["early_features"]))
    model.graph.output.append(helper.make_tensor_value_info("early_features", TensorProto.FLOAT, None))
    onnx.save(model, str(folder / "model.onnx"))
    predictor = Predictor(folder)
    pixels = np.stack([predictor.load(raw) for raw in photos])
    channels = predictor.run(pixels[:1])["feature_maps"].shape[-1]
    projection = np.random.default_rng(3).normal(size=(channels, 12)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["early_features", "projection"], ["projected"]),
         helper.make_node("Relu", ["projected"], ["activated"]),
         helper.make_node("ReduceMean", ["activated"], ["embedding"], axes=[1, 2], keepdims=0)],
        "reference", [helper.make_tensor_value_info("early_features", TensorProto.FLOAT, None)],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(projection, "projection")])
    # IR version 8: what ONNX Runtime Web reads (the onnx package would write a newer one).
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8), str(folder / "reference.onnx"))
    labels = np.arange(len(pixels)) % 2
    detectors = load_detectors(folder / "anomaly.npz")
    detectors["reference"] = fit_detector(detector_embeddings(folder, pixels)["reference"], labels)
    save_detectors(folder / "anomaly.npz", detectors)
    section = write_browser_detectors(folder, detectors)
    assert section["variants"]["fp32"]["rule"] == "sum_of_ratios"
    card = json.loads((folder / "card.json").read_text())
    card["files"]["anomaly_browser"] = "anomaly.json"
    (folder / "card.json").write_text(json.dumps(card))
    return folder


@pytest.mark.django_db(transaction=True)
def test_a_paired_score_runs_the_second_file(classroom, publish, trained_model_dir, live_server, chromium, tmp_path):
    """A version whose server adds the reference's opinion: the browser runs reference.onnx on the early
    features too, and sums both ratios as the server does."""
    training = [raw for _label, raw in class_pictures(40, seed=43)]
    version = publish(_with_reference(trained_model_dir, tmp_path / "paired", training))
    photos = _photos()
    _pixels, server = _server(version, photos)
    assert all(set(v["parts"]) == {"served", "reference"} for v in server)
    log_in(chromium, live_server, classroom.student)
    _open(chromium, f"{live_server.url}/projects/{classroom.project.slug}/live/", "riimLive")
    pixels, _ = _server(version, photos)
    live = chromium.execute_async_script(LIVE_PIXELS, [p.reshape(-1).tolist() for p in pixels])
    _assert_same_verdicts(live, server)


def _flagged_and_usual(version, tmp_path) -> tuple[Path, Path]:
    """Write one photo the server flags and one it does not."""
    photos = _photos()
    _pixels, verdicts = _server(version, photos)
    flagged = next(raw for raw, v in zip(photos, verdicts, strict=True) if v["flagged"])
    usual = next(raw for raw, v in zip(photos, verdicts, strict=True) if not v["flagged"])
    (tmp_path / "rara.png").write_bytes(flagged)
    (tmp_path / "forma.png").write_bytes(usual)
    return tmp_path / "rara.png", tmp_path / "forma.png"


def _axe(driver) -> list:
    driver.execute_script(AXE.read_text())
    return json.loads(driver.execute_async_script(RUN_AXE))


def _scroll_to(driver, element) -> None:
    """Bring an element to the top at once (Bootstrap scrolls smoothly, which a screenshot would catch halfway)."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'start', behavior: 'instant'})", element)


def _page_fits(driver) -> bool:
    """Nothing sticks out sideways: wide tables scroll inside their own box."""
    return driver.execute_script("return document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def _before(driver, first, second_id) -> bool:
    return bool(driver.execute_script(
        "return arguments[0].compareDocumentPosition(document.getElementById(arguments[1])) & Node.DOCUMENT_POSITION_FOLLOWING",
        first, second_id))


@pytest.mark.django_db(transaction=True)
def test_a_flagged_picture_from_the_computer_is_headed_by_the_warning(classroom, publish, trained_model_dir, live_server,
                                                                       chromium, tmp_path):
    """Browser page: the flagged photo's warning comes first, the guess is unreliable, the heatmap and the bars
    follow; a photo of a class has no warning; axe finds nothing serious at 1366 px."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    version = publish(trained_model_dir)  # the engine's folder, with its anomaly.json
    flagged, usual = _flagged_and_usual(version, tmp_path)
    log_in(chromium, live_server, classroom.student)
    chromium.set_window_size(1366, 900)
    _open(chromium, f"{live_server.url}/projects/{classroom.project.slug}/browser/", "riimBrowser")
    picker = chromium.find_element(By.ID, "local-file")
    picker.send_keys(str(flagged))
    WebDriverWait(chromium, 30).until(lambda d: d.find_element(By.ID, "local-details").is_displayed())
    headline = chromium.find_element(By.ID, "local-unusual")
    assert headline.is_displayed() and "No se parece a ninguna clase del proyecto" in headline.text
    assert chromium.find_element(By.ID, "local-unreliable").text == "respuesta poco fiable"
    assert _before(chromium, headline, "local-result")
    assert " % · " in chromium.find_element(By.ID, "local-result").text
    assert chromium.find_element(By.ID, "local-heat").is_displayed()
    assert "Imagen inusual" in chromium.find_element(By.ID, "local-anomaly").text
    values = [e.text for e in chromium.find_elements(By.CSS_SELECTOR, "#local-bars .local-value")]
    assert len(values) == len(classroom.project.classes) and all(v.endswith(" %") for v in values)
    assert chromium.find_element(By.CSS_SELECTOR, "label[for=local-opacity]").text.endswith("50 %")
    assert _axe(chromium) == []
    for width, height in ((1366, 900), (390, 844)):
        chromium.set_window_size(width, height)
        _scroll_to(chromium, headline)
        screenshot(chromium, f"browser-unusual-{width}")
        _scroll_to(chromium, chromium.find_element(By.ID, "local-details"))
        screenshot(chromium, f"browser-unusual-details-{width}")
        assert _page_fits(chromium), f"the page scrolls sideways at {width} px"
    chromium.set_window_size(1366, 900)
    picker.send_keys(str(usual))
    WebDriverWait(chromium, 30).until(lambda d: "Imagen habitual" in d.find_element(By.ID, "local-anomaly").text)
    assert not chromium.find_element(By.ID, "local-unusual").is_displayed()
    assert not chromium.find_element(By.ID, "local-unreliable").is_displayed()
    _scroll_to(chromium, chromium.find_element(By.ID, "local-details"))
    screenshot(chromium, "browser-usual-1366")


@pytest.mark.django_db(transaction=True)
def test_a_flagged_frame_is_headed_by_the_warning_on_the_live_page(classroom, publish, trained_model_dir, live_server, chromium):
    """Live page: a frame the server would flag shows the warning above the class guess, marked unreliable;
    a usual one hides both; axe finds nothing serious."""
    from selenium.webdriver.common.by import By

    version = publish(trained_model_dir)  # the engine's folder, with its anomaly.json
    photos = _photos()
    pixels, verdicts = _server(version, photos)
    flagged = next(p for p, v in zip(pixels, verdicts, strict=True) if v["flagged"])
    usual = next(p for p, v in zip(pixels, verdicts, strict=True) if not v["flagged"])
    log_in(chromium, live_server, classroom.student)
    chromium.set_window_size(1366, 900)
    _open(chromium, f"{live_server.url}/projects/{classroom.project.slug}/live/", "riimLive")
    assert chromium.execute_async_script(LIVE_PIXELS, [flagged.reshape(-1).tolist()])[0]["anomaly"]["flagged"]
    headline = chromium.find_element(By.ID, "live-unusual")
    assert headline.is_displayed() and "No se parece a ninguna clase del proyecto" in headline.text
    assert chromium.find_element(By.ID, "live-unreliable").text == "respuesta poco fiable"
    assert _before(chromium, headline, "live-label")
    assert chromium.find_element(By.ID, "live-label").text in classroom.project.classes
    assert chromium.find_element(By.ID, "live-confidence").text.endswith(" %")
    assert _axe(chromium) == []
    for width, height in ((1366, 900), (390, 844)):
        chromium.set_window_size(width, height)
        _scroll_to(chromium, chromium.find_element(By.TAG_NAME, "h1") if width > 800 else headline)
        screenshot(chromium, f"live-unusual-{width}")
        assert _page_fits(chromium), f"the page scrolls sideways at {width} px"
    assert not chromium.execute_async_script(LIVE_PIXELS, [usual.reshape(-1).tolist()])[0]["anomaly"]["flagged"]
    assert not chromium.find_element(By.ID, "live-unusual").is_displayed()
    assert not chromium.find_element(By.ID, "live-unreliable").is_displayed()


@pytest.mark.django_db(transaction=True)
def test_a_version_without_the_file_shows_no_warning(classroom, publish, trained_model_dir, live_server, chromium, tmp_path):
    """Published before anomaly.json: both pages classify and draw as before, with no warning and no error."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    version = publish(trained_model_dir, drop=("anomaly.json",))
    assert "anomaly.json" not in version.files
    flagged, _usual = _flagged_and_usual(version, tmp_path)  # the server's own check still flags it
    log_in(chromium, live_server, classroom.student)
    _open(chromium, f"{live_server.url}/projects/{classroom.project.slug}/live/", "riimLive")
    assert chromium.execute_script("return window.riimLive.hasAnomalyCheck()") is False
    from apps.inference.loader import predictor_for

    pixels = predictor_for(version).load(flagged.read_bytes())
    live = chromium.execute_async_script(LIVE_PIXELS, [pixels.reshape(-1).tolist()])
    assert live[0]["anomaly"] is None and abs(sum(live[0]["probabilities"]) - 1) < 1e-3
    assert not chromium.find_element(By.ID, "live-unusual").is_displayed()
    _open(chromium, f"{live_server.url}/projects/{classroom.project.slug}/browser/", "riimBrowser")
    chromium.find_element(By.ID, "local-file").send_keys(str(flagged))
    WebDriverWait(chromium, 30).until(lambda d: d.find_element(By.ID, "local-details").is_displayed())
    assert not chromium.find_element(By.ID, "local-unusual").is_displayed()
    assert "comprobación de fotos raras" in chromium.find_element(By.ID, "local-anomaly").text
    assert chromium.find_element(By.ID, "local-heat").is_displayed()

"""The browser page's runtime switch: TensorFlow.js next to ONNX Runtime Web, same pixels, same answers."""
import numpy as np
import pytest

from ml.runtime import TFJS_FILES
from tests.browser import BROWSER_MARKS, log_in
from tests.fixtures.models import class_pictures

READY = """
const done = arguments[arguments.length - 1];
const wait = () => window.riimBrowser ? window.riimBrowser.ready.then(() => done("ok"), (e) => done("error: " + e.message)) : setTimeout(wait, 50);
wait();
"""
RUN = """
const done = arguments[arguments.length - 1];
window.riimBrowser.runTensor(arguments[0], "fp32", arguments[1]).then((r) => done(r.probabilities), (e) => done("error: " + e.message));
"""
COMPARE = """
const done = arguments[arguments.length - 1];
window.riimBrowser.compareRuntimes(2).then(done, (e) => done("error: " + e.message));
"""


@pytest.mark.django_db
def test_a_version_without_tfjs_files_offers_only_onnx(classroom, publish, client):
    """An imported or older version: the TensorFlow.js choice is disabled with the reason, and TF.js is not loaded."""
    publish(drop=tuple(TFJS_FILES.values()))
    client.force_login(classroom.student)
    html = client.get(f"/projects/{classroom.project.slug}/browser/").content.decode()
    assert '<option value="tfjs" disabled>' in html
    assert "vendor/tfjs/tf.es2017.min.js" not in html


@pytest.mark.browser
@BROWSER_MARKS[1]
@pytest.mark.django_db(transaction=True)
def test_tfjs_runtime_matches_the_server(classroom, publish, stored_image, live_server, chromium):
    """TensorFlow.js on the page (its export, under the site's CSP) gives the server's probabilities on the same pixels."""
    from apps.inference.loader import predictor_for

    version = publish()
    predictor = predictor_for(version)
    images = [stored_image(raw, f"{i}.png") for i, (_l, raw) in enumerate(class_pictures(2, seed=51))]
    log_in(chromium, live_server, classroom.student)
    chromium.get(f"{live_server.url}/projects/{classroom.project.slug}/browser/")
    assert chromium.execute_async_script(READY) == "ok"
    pixels = [predictor.load(image.file.open("rb").read()) for image in images]
    server = predictor.run(np.stack(pixels), outputs=("probabilities",))["probabilities"]
    for index, data in enumerate(pixels):
        browser = chromium.execute_async_script(RUN, data.reshape(-1).tolist(), "tfjs")
        assert not isinstance(browser, str), browser
        assert np.abs(np.asarray(browser) - server[index]).max() <= 1e-3
    comparison = chromium.execute_async_script(COMPARE)
    assert not isinstance(comparison, str), comparison
    assert comparison["onnx_ms"] > 0 and comparison["tfjs_ms"] > 0 and comparison["max_delta"] <= 1e-3
    assert len(chromium.find_elements("css selector", "#runtimes tbody tr")) == 2
    violations = [e for e in chromium.get_log("browser") if "Content Security Policy" in e.get("message", "")]
    assert not violations, violations

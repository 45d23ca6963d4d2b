"""Front-end packages from npm are served by Django's staticfiles, with the types browsers need."""

import mimetypes

import pytest
from django.contrib.staticfiles import finders
from django.test import RequestFactory
from whitenoise.middleware import WhiteNoiseMiddleware

VENDORED = [
    "vendor/bootstrap/css/bootstrap.min.css",
    "vendor/bootstrap/js/bootstrap.bundle.min.js",
    "vendor/bootstrap-icons/bootstrap-icons.min.css",
    "vendor/bootstrap-icons/fonts/bootstrap-icons.woff2",
    "vendor/chart.js/chart.umd.min.js",
    "vendor/onnxruntime-web/ort.wasm.min.js",
    "vendor/onnxruntime-web/ort-wasm-simd-threaded.wasm",
    "vendor/onnxruntime-web/ort-wasm-simd-threaded.mjs",
    "vendor/tfjs/tf.es2017.min.js",
    "vendor/tfjs-tm/tf.min.js",
    "vendor/teachablemachine-image/teachablemachine-image.min.js",
    "vendor/scratch-gui/scratch-gui-standalone.js",
    "vendor/scratch-gui/static/blocks-media/default/green-flag.svg",
    "assets/music.e6f72b57b0d9ac6966cf.png",  # Scratch asks for its pictures at /static/assets/
]


@pytest.mark.parametrize("path", VENDORED)
def test_vendored_file_is_found_by_staticfiles(path):
    """Each file the templates use is found in node_modules through STATICFILES_DIRS."""
    assert finders.find(path), f"{path} not found: run `make setup` (npm ci)"


@pytest.mark.parametrize(
    "path,content_type",
    [
        ("vendor/onnxruntime-web/ort-wasm-simd-threaded.wasm", "application/wasm"),
        ("vendor/onnxruntime-web/ort-wasm-simd-threaded.mjs", "text/javascript"),
        ("vendor/bootstrap/css/bootstrap.min.css", "text/css"),
    ],
)
def test_whitenoise_serves_with_the_right_content_type(settings, path, content_type):
    """WhiteNoise (the production static server) sends WebAssembly as application/wasm and modules as JavaScript."""
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    middleware = WhiteNoiseMiddleware(lambda request: pytest.fail("not served by WhiteNoise"))
    response = middleware(RequestFactory().get(f"/{settings.STATIC_URL.lstrip('/')}{path}"))
    assert response.status_code == 200
    assert response["Content-Type"].split(";")[0] == content_type
    # Close the file only: response.close() would send request_finished, which touches the database.
    response.file_to_stream.close()


@pytest.mark.parametrize("path", ["vendor/onnxruntime-web/ort.webgpu.min.js", "vendor/onnxruntime-web/ort.min.js",
                                  "vendor/tfjs/tf.js", "vendor/tfjs/tf.node.js", "vendor/scratch-gui/scratch-gui.js",
                                  "vendor/scratch-gui/static/blocks-media/high-contrast/green-flag.svg",
                                  "assets/nineties_logo.945297ca77c041c98377.svg"])
def test_builds_the_pages_do_not_load_are_not_collected(path):
    """Only the listed builds of the large packages are found, so collectstatic neither copies nor compresses the rest."""
    assert not finders.find(path)


def test_development_server_guesses_wasm_and_module_types():
    """runserver serves static files by mimetypes: the settings register .wasm and .mjs."""
    assert mimetypes.guess_type("model.wasm")[0] == "application/wasm"
    assert mimetypes.guess_type("ort.mjs")[0] == "text/javascript"

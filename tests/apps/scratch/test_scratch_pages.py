"""The Scratch editor page and the RIIM extension's script, as the server sends them."""
import base64
import hashlib
import json
import re

import pytest
from django.test import Client

from apps.scratch.views import SVG_SANDBOX_SCRIPT_HASH
from riim_site.vendor import node_modules

GUI_VERSION = "15.1.1"  # the in-page registration below uses private APIs of exactly this version


def test_the_gui_package_is_pinned_to_the_version_whose_private_api_the_editor_uses():
    """package.json pins @scratch/scratch-gui exactly, the installed copy is that version, and its standalone
    bundle still has createStandaloneRoot, onVmInit and the extension manager's _registerInternalExtension."""
    declared = json.loads((node_modules().parent / "package.json").read_text())["dependencies"]["@scratch/scratch-gui"]
    installed = json.loads((node_modules() / "@scratch/scratch-gui/package.json").read_text())
    assert declared == GUI_VERSION and installed["version"] == GUI_VERSION
    assert installed["license"] == "AGPL-3.0-only"  # docs/scratch.md says what serving it obliges
    bundle = (node_modules() / "@scratch/scratch-gui/dist/scratch-gui-standalone.js").read_text(encoding="utf-8")
    for name in ("createStandaloneRoot", "onVmInit", "_registerInternalExtension(", "_loadedExtensions",
                 'getFrame', 'requestSnapshot'):
        assert name in bundle, name


def test_the_svg_sandbox_hash_is_the_bundles():
    """The editor's policy allows the SVG sandbox's inline script by hash: the hash of the script the bundle injects."""
    bundle = (node_modules() / "@scratch/scratch-gui/dist/scratch-gui-standalone.js").read_text(encoding="utf-8")
    at = bundle.index("<body>\\n<script>")
    start, end = bundle.rindex('"', 0, at), at
    while True:  # the end of the JavaScript string literal that holds the iframe's document
        end = bundle.index('"', end + 1)
        if bundle[end - 1] != "\\":
            break
    document = json.loads(bundle[start:end + 1])
    script = re.search(r"<body>\n<script>(.*?)</script>", document, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert SVG_SANDBOX_SCRIPT_HASH == f"'sha256-{digest}'"


@pytest.mark.django_db
def test_the_editor_opens_in_the_readers_language_with_the_link_filled_in(client):
    """/scratch/ needs no login; its config carries the language, Scratch's base path and the model link."""
    link = "http://127.0.0.1:8000/m/abc/"
    response = client.get("/scratch/", {"model": link})
    assert response.status_code == 200
    config = json.loads(re.search(r'<script id="scratch-config" type="application/json">(.*?)</script>',
                                  response.content.decode(), re.S).group(1))
    assert config == {"locale": "es", "basePath": "/static/vendor/scratch-gui/", "modelLink": link}
    client.cookies["django_language"] = "en"
    assert '"locale": "en"' in client.get("/scratch/").content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["javascript:alert(1)", "no es un enlace", "ftp://host/m/x/"])
def test_a_model_parameter_that_is_no_web_address_is_ignored(client, value):
    """Anything but an http(s) address leaves the block empty instead of reaching the page."""
    response = client.get("/scratch/", {"model": value})
    assert response.status_code == 200 and '"modelLink": ""' in response.content.decode()


@pytest.mark.django_db
def test_the_editor_has_its_own_documented_policy(client):
    """Only /scratch/ allows eval, inline styles and the SVG sandbox's script; it may use the camera; other pages may not."""
    editor = client.get("/scratch/")
    policy = editor["Content-Security-Policy"]
    assert "'unsafe-eval'" in policy and "style-src 'self' 'unsafe-inline'" in policy and SVG_SANDBOX_SCRIPT_HASH in policy
    assert "connect-src 'self' blob: data:" in policy  # nothing is fetched from another site
    assert "camera=(self)" in editor["Permissions-Policy"]
    other = client.get("/accounts/login/")
    assert "'unsafe-eval'" not in other["Content-Security-Policy"] and "camera=()" in other["Permissions-Policy"]


@pytest.mark.django_db
def test_the_extension_script_carries_both_languages_and_loads_from_any_origin():
    """/scratch/riim.js: JavaScript with the Spanish and English block texts, and Access-Control-Allow-Origin: *."""
    response = Client().get("/scratch/riim.js", headers={"Origin": "https://turbowarp.org"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/javascript")
    assert response["Access-Control-Allow-Origin"] == "*"
    body = response.content.decode()
    for text in ("usar el modelo [URL]", "cuando la etiqueta sea [LABEL]", "¿el modelo está [STATE]?",
                 "use the model [URL]", "when the label is [LABEL]", "Modelo de la clase"):
        assert text in body, text
    assert "http://testserver/static/vendor/onnxruntime-web/ort.wasm.min.js" in body
    assert not response.cookies


@pytest.mark.django_db
def test_the_bundles_chunks_are_sent_to_their_static_files(client):
    """Scratch asks for /chunks/<name> at the site's root: a listed chunk redirects to its static file, others 404."""
    name = next(p.name for p in (node_modules() / "@scratch/scratch-gui/dist/chunks").glob("fetch-worker.*.js"))
    response = client.get(f"/chunks/{name}")
    assert response.status_code == 302 and response["Location"] == f"/static/vendor/scratch-gui/chunks/{name}"
    assert client.get("/chunks/es-steps.db67e4f4f2997903fcff.js").status_code == 404
    assert client.get("/chunks/nope.js").status_code == 404

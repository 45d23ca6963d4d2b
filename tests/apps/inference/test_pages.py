"""The result page and the browser page render for members only."""
import pytest

from tests.fixtures.models import class_pictures


@pytest.mark.django_db
def test_analysis_page_for_members_only(classroom, publish, stored_image, client):
    """Members see the result page with its chart, heatmap slider and network view; outsiders get a 404."""
    publish()
    image = stored_image(class_pictures(1, seed=1)[0][1])
    client.force_login(classroom.grader)
    page = client.get(f"/images/{image.pk}/analysis/")
    assert page.status_code == 200
    html = page.content.decode()
    for marker in ('id="probabilities-chart"', 'id="opacity"', 'id="network"', "js/analysis.js"):
        assert marker in html
    client.force_login(classroom.outsider)
    assert client.get(f"/images/{image.pk}/analysis/").status_code == 404


@pytest.mark.django_db
def test_browser_page_links_the_onnx_files(classroom, publish, client):
    """The browser page points at the active version's fp32 and int8 files and the vendored runtime."""
    version = publish()
    client.force_login(classroom.student)
    html = client.get(f"/projects/{classroom.project.slug}/browser/").content.decode()
    assert f"/api/v1/model-versions/{version.pk}/files/model.onnx" in html
    assert f"/api/v1/model-versions/{version.pk}/files/model.int8.onnx" in html
    assert "vendor/onnxruntime-web/ort.wasm.min.js" in html
    client.force_login(classroom.outsider)
    assert client.get(f"/projects/{classroom.project.slug}/browser/").status_code == 404


@pytest.mark.django_db
def test_browser_page_feeds_the_served_input_size(classroom, publish, client):
    """The browser resizes photos to the size the served graphs take (the card's serving input), not the training one."""
    import json
    import re

    version = publish()
    version.metadata = {**version.metadata, "input": {**version.metadata["input"], "size": [999, 999]}}
    version.save(update_fields=["metadata"])
    client.force_login(classroom.student)
    html = client.get(f"/projects/{classroom.project.slug}/browser/").content.decode()
    config = json.loads(re.search(r'<script id="browser-config" type="application/json">(.*?)</script>', html).group(1))
    assert config["version"]["size"] == version.metadata["serving"]["input"]["size"] != 999


@pytest.mark.django_db
def test_browser_page_without_a_model_says_so(classroom, client):
    """Before any model the page explains there is none instead of failing."""
    client.force_login(classroom.student)
    response = client.get(f"/projects/{classroom.project.slug}/browser/")
    assert response.status_code == 200
    assert 'id="run-all"' not in response.content.decode()


def test_wasm_is_served_with_its_mime_type():
    """The vendored WebAssembly file is served as application/wasm (browsers refuse to stream-compile otherwise)."""
    import mimetypes

    from django.conf import settings

    assert settings.STATIC_URL  # the settings module, which registers the type, is loaded
    assert mimetypes.guess_type("ort-wasm-simd-threaded.wasm")[0] == "application/wasm"


def test_browser_page_promises_what_it_measures(classroom, publish, client):
    """The page no longer promises agreement «hasta la milésima»: it points at the difference it measures."""
    publish()
    client.force_login(classroom.student)
    page = client.get(f"/projects/{classroom.project.slug}/browser/").content.decode()
    assert "milésima" not in page and "la mayor diferencia medida aquí" in page

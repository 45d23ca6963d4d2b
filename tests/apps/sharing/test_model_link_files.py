"""The files behind a public model link: the active version's TF.js export, readable from any origin."""
import json
import posixpath

import pytest
from django.core.files.storage import default_storage
from django.test import Client

from apps.sharing.selectors import FILE_NOT_SERVED, LINK_NOT_FOUND, NO_ACTIVE_MODEL
from apps.training.tfjs import NO_TFJS
from ml.runtime import MODEL_FILE, TFJS_FILES

FILES = ("model.json", "metadata.json", "weights.bin")


@pytest.fixture
def shared(classroom, api_as):
    """Return the class's public link (absolute URL ending in /) made by its teacher."""
    return api_as(classroom.teacher).post(f"/api/v1/projects/{classroom.project.slug}/model-link/").json()["url"]


def _get(url, **headers):
    """Fetch as a page on another origin would: no session, no cookies."""
    return Client().get(url, headers={"Origin": "http://127.0.0.1:9999", **headers})


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.django_db
def test_each_file_carries_the_cors_header_and_no_cookie(classroom, publish, shared):
    """model.json, metadata.json and every weights file answer 200 with Access-Control-Allow-Origin: *, an ETag, short caching."""
    publish()
    model = json.loads(_body(_get(shared + "model.json")))
    weight_files = [path for group in model["weightsManifest"] for path in group["paths"]]
    assert weight_files
    for name in FILES + tuple(weight_files):
        response = _get(shared + name)
        assert response.status_code == 200, (name, response.content[:200] if not response.streaming else "")
        assert response["Access-Control-Allow-Origin"] == "*"
        assert response["ETag"].startswith('"')
        assert "max-age=10" in response["Cache-Control"]
        assert not response.cookies, name


@pytest.mark.django_db
def test_the_files_are_the_active_versions(classroom, publish, shared):
    """The weights are the stored bytes of the active version, and metadata labels the project's classes in order."""
    version = publish()
    stored = default_storage.open(posixpath.join(version.artifact_dir, TFJS_FILES["tfjs_weights"]), "rb").read()
    assert _body(_get(shared + "weights.bin")) == stored
    metadata = json.loads(_body(_get(shared + "metadata.json")))
    assert metadata["labels"] == list(classroom.project.classes)
    assert _body(_get(shared + "model.onnx")) == default_storage.open(
        posixpath.join(version.artifact_dir, MODEL_FILE), "rb").read()


@pytest.mark.django_db
def test_metadata_timestamp_changes_on_every_activation(classroom, publish, shared, api_as):
    """Activating another version, and rolling back, each give metadata.json a new timeStamp (TM2Scratch reloads on it)."""
    first = publish()
    second = publish()
    teacher = api_as(classroom.teacher)
    stamps = []
    for version in (second, first, second):
        assert teacher.post(f"/api/v1/model-versions/{version.pk}/activate/").status_code == 200
        stamps.append(json.loads(_body(_get(shared + "metadata.json")))["timeStamp"])
    assert len(set(stamps)) == 3, stamps


@pytest.mark.django_db
def test_unchanged_files_answer_304(classroom, publish, shared):
    """A client that sends the ETag back gets 304 without the bytes, with the CORS header still there."""
    publish()
    etag = _get(shared + "weights.bin")["ETag"]
    response = _get(shared + "weights.bin", **{"If-None-Match": etag})
    assert response.status_code == 304 and response["Access-Control-Allow-Origin"] == "*"


@pytest.mark.django_db
def test_a_withdrawn_link_answers_404_at_once(classroom, publish, shared, api_as):
    """After DELETE every file of the old address is a JSON 404 with the CORS header, so another origin can read why."""
    publish()
    assert _get(shared + "model.json").status_code == 200
    assert api_as(classroom.teacher).delete(f"/api/v1/projects/{classroom.project.slug}/model-link/").status_code == 204
    for name in FILES:
        response = _get(shared + name)
        assert response.status_code == 404
        assert response["Access-Control-Allow-Origin"] == "*"
        assert response.json() == {"detail": str(LINK_NOT_FOUND)}


@pytest.mark.django_db
def test_a_replaced_token_stops_working(classroom, publish, shared, api_as):
    """A second POST makes a new address; the old one answers 404."""
    publish()
    new = api_as(classroom.teacher).post(f"/api/v1/projects/{classroom.project.slug}/model-link/").json()["url"]
    assert _get(shared + "model.json").status_code == 404
    assert _get(new + "model.json").status_code == 200


@pytest.mark.django_db
def test_a_class_without_a_model_says_so(classroom, shared):
    """No active version: 404 with a JSON reason and the CORS header."""
    response = _get(shared + "metadata.json")
    assert response.status_code == 404 and response["Access-Control-Allow-Origin"] == "*"
    assert response.json() == {"detail": str(NO_ACTIVE_MODEL)}


@pytest.mark.django_db
def test_a_version_without_tfjs_files_says_so(classroom, publish, shared):
    """An imported (ONNX only) version: the TF.js files answer 404 naming why; its ONNX copy is still served."""
    publish(drop=tuple(TFJS_FILES.values()))
    for name in FILES:
        response = _get(shared + name)
        assert response.status_code == 404 and response["Access-Control-Allow-Origin"] == "*"
        assert response.json() == {"detail": str(NO_TFJS)}
    assert _get(shared + "model.onnx").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["card.json", "anomaly.npz", "", "..%2Fcard.json"])
def test_nothing_but_model_files_is_served(classroom, publish, shared, name):
    """The card, the detector's statistics or any other name answer 404: a link serves model files only."""
    publish()
    response = _get(shared + name)
    assert response.status_code == 404 and response["Access-Control-Allow-Origin"] == "*"
    assert response.json() == {"detail": str(FILE_NOT_SERVED)}


@pytest.mark.django_db
def test_an_unknown_token_answers_404(db):
    """A token nobody was given: JSON 404 with the CORS header."""
    response = _get("/m/notatoken0000000000000000000000/model.json")
    assert response.status_code == 404 and response.json() == {"detail": str(LINK_NOT_FOUND)}
    assert response["Access-Control-Allow-Origin"] == "*"


@pytest.mark.django_db
def test_a_preflight_is_answered(classroom, shared):
    """OPTIONS (what a page sends before a request with extra headers) answers 204 with the CORS headers."""
    response = Client().options(shared + "model.json", headers={"Origin": "http://127.0.0.1:9999",
                                                                "Access-Control-Request-Method": "GET"})
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "*" and "GET" in response["Access-Control-Allow-Methods"]


@pytest.mark.django_db
def test_requests_are_throttled_per_address(classroom, publish, shared, settings):
    """Past the rate, 429 with Retry-After, as JSON with the CORS header."""
    publish()
    settings.RIIM_THROTTLE_RATES = {**settings.RIIM_THROTTLE_RATES, "model_link": "2/min"}
    assert [_get(shared + "metadata.json").status_code for _ in range(2)] == [200, 200]
    response = _get(shared + "metadata.json")
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert response["Access-Control-Allow-Origin"] == "*" and response.json()["detail"]

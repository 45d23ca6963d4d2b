"""Analysis end to end on a tiny model trained with the engine."""
import base64
import io

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PILImage

from apps.inference.loader import NO_ACTIVE_MODEL
from apps.inference.models import Analysis
from apps.uploads.models import Image
from tests.fixtures.models import class_pictures, noise_pictures

CONTRACT_FIELDS = {"model_version", "label", "confidence", "predictions", "tags", "anomaly", "explanation", "latency_ms", "ran_on"}


def _analyze(client, project, raw, name="forma.png"):
    return client.post(
        "/api/v1/analyze/", {"project": project.slug, "file": SimpleUploadedFile(name, raw)}, format="multipart"
    )


def _upload(client, project, raw, name="forma.png"):
    return client.post(
        "/api/v1/images/", {"project": project.slug, "file": SimpleUploadedFile(name, raw)}, format="multipart"
    )


@pytest.mark.django_db
def test_analyze_returns_the_contract_and_stores_nothing(classroom, publish, api_as):
    """POST /api/v1/analyze/ answers every contract field with an inline heatmap and stores no image or analysis."""
    version = publish()
    label, raw = class_pictures(1, seed=5)[0]
    response = _analyze(api_as(classroom.student), classroom.project, raw)
    assert response.status_code == 200, response.content
    body = response.json()
    assert CONTRACT_FIELDS <= set(body)
    assert body["model_version"] == version.number
    assert body["ran_on"] == "server"
    assert [p["label"] for p in body["predictions"]][0] == body["label"]
    assert sorted(p["label"] for p in body["predictions"]) == sorted(classroom.project.classes)
    assert sum(p["probability"] for p in body["predictions"]) == pytest.approx(1.0, abs=1e-4)
    assert body["confidence"] == body["predictions"][0]["probability"]
    assert body["latency_ms"] > 0
    assert set(body["anomaly"]) == {"score", "threshold", "is_anomaly", "parts"}
    # Each detector's own ratio; with a second opinion the score is their sum.
    parts = body["anomaly"]["parts"]
    assert "served" in parts and body["anomaly"]["score"] == pytest.approx(
        sum(parts.values()) if len(parts) > 1 else parts["served"] * body["anomaly"]["threshold"], rel=1e-3
    )
    assert all({"name", "score", "source"} <= set(tag) for tag in body["tags"])
    assert {"pixels"} <= {tag["source"] for tag in body["tags"]}
    assert body["explanation"]["available"] is True
    assert body["explanation"]["sentence"]
    picture = PILImage.open(io.BytesIO(base64.b64decode(body["explanation"]["heatmap_png"])))
    size = body["explanation"]["heatmap_size"]
    assert picture.format == "PNG" and list(picture.size) == size[::-1]
    assert Image.objects.count() == 0 and Analysis.objects.count() == 0


@pytest.mark.django_db
def test_the_model_recognises_its_classes(classroom, publish, api_as):
    """The trained model names the drawn class of most held-out pictures through the API."""
    publish()
    client = api_as(classroom.student)
    pictures = class_pictures(8, seed=11)
    right = sum(_analyze(client, classroom.project, raw).json()["label"] == label for label, raw in pictures)
    assert right / len(pictures) >= 0.8


@pytest.mark.django_db
def test_heatmap_is_image_sized_and_between_zero_and_one(classroom, publish):
    """The class-activation map has the model's input size and values in [0, 1], peaking near 1."""
    from apps.inference.loader import predictor_for

    version = publish()
    predictor = predictor_for(version)
    _label, raw = class_pictures(1, seed=3)[0]
    pixels = predictor.load(raw)
    out = predictor.run(pixels[None])
    heat = predictor.cam(out["feature_maps"][0], int(np.argmax(out["probabilities"][0])))
    size = predictor.image_size
    assert heat.shape == (size, size)
    assert float(heat.min()) >= 0.0 and float(heat.max()) <= 1.0 + 1e-6
    assert float(heat.max()) > 0.9  # bilinear upsampling may shave the peak a little


@pytest.mark.django_db
def test_anomaly_flags_out_of_distribution_pictures(classroom, publish, api_as):
    """Random-pixel pictures are flagged as anomalies far more often than pictures of the classes."""
    publish()
    client = api_as(classroom.student)
    normal = [_analyze(client, classroom.project, raw).json()["anomaly"] for _label, raw in class_pictures(6, seed=21)]
    odd = [_analyze(client, classroom.project, raw).json()["anomaly"] for raw in noise_pictures(8, seed=22)]
    assert sum(a["is_anomaly"] for a in odd) >= 6
    assert sum(a["is_anomaly"] for a in normal) <= 2
    assert min(a["score"] for a in odd) > np.median([a["score"] for a in normal])


@pytest.mark.django_db
def test_analyze_without_an_active_model_is_a_clear_409(classroom, api_as):
    """A project with no active version answers 409 with a message that says so, never a 500."""
    _label, raw = class_pictures(1, seed=1)[0]
    response = _analyze(api_as(classroom.student), classroom.project, raw)
    assert response.status_code == 409
    assert response.json()["detail"] == str(NO_ACTIVE_MODEL)


@pytest.mark.django_db
def test_upload_carries_the_analysis_or_null(classroom, publish, api_as):
    """POST /api/v1/images/ answers analysis null before any model, and the active version's analysis after."""
    client = api_as(classroom.student)
    pictures = class_pictures(1, seed=2)
    before = _upload(client, classroom.project, pictures[0][1], "a.png")
    assert before.status_code == 201 and before.json()["analysis"] is None
    version = publish()
    after = _upload(client, classroom.project, pictures[1][1], "b.png")
    assert after.status_code == 201
    analysis = after.json()["analysis"]
    assert analysis["model_version"] == version.number and analysis["ran_on"] == "server"
    assert analysis["explanation"]["heatmap_url"].endswith(f"?version={version.number}")


def _activated(version, classroom):
    """The teacher activates a version by hand: with no labeled validation photo, the rule keeps a new one aside."""
    from apps.training.services import model_version_activate

    assert version.activation["reason"] == "no_comparable_score"
    return model_version_activate(version=version, user=classroom.teacher)


@pytest.mark.django_db
def test_stored_analyses_are_kept_per_version(classroom, publish, stored_image, api_as):
    """A new active version adds its own analysis; ?version=N still returns the older one."""
    client = api_as(classroom.student)
    first = publish()
    image = stored_image(class_pictures(1, seed=4)[0][1])
    old = client.get(f"/api/v1/images/{image.pk}/analysis/")
    assert old.status_code == 200 and old.json()["model_version"] == first.number
    second = _activated(publish(), classroom)
    assert second.status == "active"
    new = client.get(f"/api/v1/images/{image.pk}/analysis/")
    assert new.json()["model_version"] == second.number
    again = client.get(f"/api/v1/images/{image.pk}/analysis/?version={first.number}")
    assert again.json()["id"] == old.json()["id"]
    assert Analysis.objects.filter(image=image).count() == 2
    assert client.get(f"/api/v1/images/{image.pk}/analysis/?version=99").status_code == 404


@pytest.mark.django_db
def test_picture_endpoints_return_pngs(classroom, publish, stored_image, api_as):
    """Heatmap overlay, bare map, autoencoder error map and feature maps come back as PNGs."""
    publish()
    client = api_as(classroom.grader)
    image = stored_image(class_pictures(1, seed=6)[0][1])
    assert api_as(classroom.student).get(f"/api/v1/images/{image.pk}/analysis/").status_code == 200  # a student analyses
    analysis = client.get(f"/api/v1/images/{image.pk}/analysis/").json()
    urls = [analysis["explanation"]["heatmap_url"], analysis["explanation"]["cam_url"], analysis["anomaly_error_map_url"]]
    network = client.get(analysis["explanation"]["feature_maps_url"]).json()
    urls.append(network["first_layer_url"])
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Content-Type"] == "image/png"
        assert PILImage.open(io.BytesIO(response.content)).format == "PNG"


@pytest.mark.django_db
def test_network_view_lists_layers_with_their_activations(classroom, publish, stored_image, api_as):
    """The network view lists the card's layers; layers with activations link to this image's feature maps."""
    version = publish()
    image = stored_image(class_pictures(1, seed=7)[0][1])
    body = api_as(classroom.student).get(f"/api/v1/images/{image.pk}/analysis/network/").json()
    assert body["model_version"] == version.number
    assert len(body["layers"]) == len(version.metadata["layers"])
    assert {"name", "type", "output_shape", "params"} <= set(body["layers"][0])
    shown = [row for row in body["layers"] if row["activation"]]
    assert shown and all(row["url"] and row["stats"]["shape"] for row in shown)
    missing = api_as(classroom.student).get(f"/api/v1/images/{image.pk}/analysis/network/nope.png")
    assert missing.status_code == 400


@pytest.mark.django_db
def test_error_map_needs_an_autoencoder(classroom, publish, stored_image, api_as):
    """A version without autoencoder answers 409 for the error map and still analyses."""
    publish(drop=("autoencoder.onnx",))
    image = stored_image(class_pictures(1, seed=8)[0][1])
    client = api_as(classroom.student)
    assert "anomaly_error_map_url" not in client.get(f"/api/v1/images/{image.pk}/analysis/").json()
    assert client.get(f"/api/v1/images/{image.pk}/analysis/error-map.png").status_code == 409


@pytest.mark.django_db
def test_browser_prediction_is_recorded_as_browser(classroom, publish, stored_image, api_as):
    """A browser prediction is stored with ran_on=browser next to the server analysis."""
    version = publish()
    image = stored_image(class_pictures(1, seed=9)[0][1])
    n = len(classroom.project.classes)
    probabilities = [0.9] + [0.1 / (n - 1)] * (n - 1)
    response = api_as(classroom.student).post(
        f"/api/v1/images/{image.pk}/browser-predictions/",
        {"version": version.number, "probabilities": probabilities, "latency_ms": 12.5, "variant": "int8"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["ran_on"] == "browser" and body["label"] == classroom.project.classes[0]
    assert body["latency_ms"] == 12.5 and body["model_version"] == version.number
    bad = api_as(classroom.student).post(
        f"/api/v1/images/{image.pk}/browser-predictions/",
        {"version": version.number, "probabilities": [0.7] * n, "latency_ms": 1},  # does not add up to 1
        format="json",
    )
    assert bad.status_code == 400


@pytest.mark.django_db
def test_refresh_reanalyses_with_the_active_version(classroom, publish, stored_image, api_as, django_capture_on_commit_callbacks):
    """Re-analysing runs the batch task: every image gets the new version's analysis, the old ones stay."""
    first = publish()
    images = [stored_image(raw, f"{i}.png") for i, (_l, raw) in enumerate(class_pictures(2, seed=10))]
    for image in images:
        api_as(classroom.student).get(f"/api/v1/images/{image.pk}/analysis/")
    second = _activated(publish(), classroom)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(classroom.teacher).post(f"/api/v1/projects/{classroom.project.slug}/analyses/refresh/")
    assert response.status_code == 202 and response.json()["images"] == len(images)
    for image in images:
        assert set(image.analyses.values_list("model_version__number", flat=True)) == {first.number, second.number}


@pytest.mark.django_db
def test_task_skips_images_already_analysed(classroom, publish, stored_image):
    """The batch analyses only what the version has not seen, and says so."""
    from apps.inference.tasks import analyses_refresh_task

    version = publish()
    for i, (_l, raw) in enumerate(class_pictures(1, seed=12)):
        stored_image(raw, f"{i}.png")
    first = analyses_refresh_task.apply(args=[classroom.project.pk, version.pk]).get()
    again = analyses_refresh_task.apply(args=[classroom.project.pk, version.pk]).get()
    assert first["analysed"] == len(classroom.project.classes[:2]) and first["failed"] == 0
    assert again == {"analysed": 0, "skipped": first["analysed"], "failed": 0}


@pytest.mark.django_db
def test_version_with_other_classes_is_refused_before_serving(classroom, trained_model_dir):
    """A model whose classes differ from the project's is refused when published, not at analysis time."""
    from apps.common.exceptions import ApplicationError
    from apps.training.services import model_version_publish

    classroom.project.classes = ["perro", "gato"]
    classroom.project.save()
    with pytest.raises(ApplicationError):
        model_version_publish(project=classroom.project, local_dir=trained_model_dir, user=classroom.teacher)
    assert classroom.project.model_versions.count() == 0


@pytest.mark.django_db
def test_a_new_active_version_is_served_without_restart(classroom, publish, api_as):
    """The loader notices the active version changed and serves the new one on the next request."""
    from apps.training.services import model_version_activate

    first = publish()
    second = _activated(publish(), classroom)
    client = api_as(classroom.student)
    raw = class_pictures(1, seed=13)[0][1]
    assert _analyze(client, classroom.project, raw).json()["model_version"] == second.number
    model_version_activate(version=first, user=classroom.teacher)
    assert _analyze(client, classroom.project, raw).json()["model_version"] == first.number

"""Refusals the API gives instead of a 500: broken versions and unknown version numbers."""
from apps.training.models import ModelVersion
from apps.training.selectors import VERSION_NOT_FOUND
from apps.uploads.services import image_upload_create
from tests.factories import image_bytes


def _version(world, **fields):
    defaults = {"project": world.project, "number": 1, "status": ModelVersion.Status.ACTIVE,
                "artifact_dir": "models/refusals/v1", "metadata": {"classes": world.project.classes}}
    return ModelVersion.objects.create(**{**defaults, **fields})


def test_a_recorded_file_missing_from_storage_is_a_409(world, api_as):
    """A version whose card lists a file that storage lost answers 409 naming the file, not a 500."""
    version = _version(world, files={"model.onnx": 1234})
    response = api_as(world.student).get(f"/api/v1/model-versions/{version.pk}/files/model.onnx")
    assert response.status_code == 409 and "model.onnx" in response.json()["detail"]


def test_a_browser_prediction_for_an_unknown_version_says_the_version_is_unknown(world, api_as):
    """The 404 names the missing version, not a missing analysis."""
    _version(world)
    image = image_upload_create(project=world.project, uploader=world.student, raw=image_bytes(), name="x.jpg")
    body = {"version": 7, "probabilities": [0.5, 0.5], "latency_ms": 3}
    response = api_as(world.student).post(f"/api/v1/images/{image.pk}/browser-predictions/", body, format="json")
    assert response.status_code == 404 and response.json()["detail"] == str(VERSION_NOT_FOUND)

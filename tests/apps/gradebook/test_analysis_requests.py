"""Who asked for each analysis, and where it ran, is kept as its own row."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.gradebook.models import AnalysisRequest
from tests.fixtures.models import class_pictures


@pytest.mark.django_db
def test_every_analysis_request_is_recorded(classroom, publish, stored_image, api_as):
    """/analyze/ (no photo kept), a stored image's analysis asked twice and a browser prediction each add a row; a grader's read adds none."""
    version = publish()
    _label, raw = class_pictures(1, seed=3)[0]
    student = api_as(classroom.student)
    response = student.post(
        "/api/v1/analyze/", {"project": classroom.project.slug, "file": SimpleUploadedFile("f.png", raw)}, format="multipart"
    )
    assert response.status_code == 200
    image = stored_image(class_pictures(1, seed=4)[0][1])
    assert student.get(f"/api/v1/images/{image.pk}/analysis/").status_code == 200
    assert api_as(classroom.teacher).get(f"/api/v1/images/{image.pk}/analysis/").status_code == 200  # stored already
    assert api_as(classroom.grader).get(f"/api/v1/images/{image.pk}/analysis/").status_code == 200
    n = len(version.metadata["classes"])
    browser = student.post(
        f"/api/v1/images/{image.pk}/browser-predictions/",
        {"version": version.number, "probabilities": [1.0 / n] * n, "latency_ms": 12},
        format="json",
    )
    assert browser.status_code == 201, browser.content
    rows = list(
        AnalysisRequest.objects.order_by("id").values_list("requester__username", "ran_on", "image_id", "model_version_id")
    )
    assert rows == [
        ("alumna", "server", None, version.pk),
        ("alumna", "server", image.pk, version.pk),
        ("profe", "server", image.pk, version.pk),
        ("alumna", "browser", image.pk, version.pk),
    ]

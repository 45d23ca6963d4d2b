"""The queue and label-quality answers (and refusals) match the published OpenAPI schema."""
import pytest

from apps.labeling.services import label_assign
from apps.uploads.services import image_upload_create
from tests.apps.test_api_schema import assert_conforms
from tests.factories import image_bytes

pytestmark = pytest.mark.django_db


def test_queue_and_quality_match_the_schema(world, api_as):
    schema = api_as(world.teacher).get("/api/schema/", {"format": "json"}).json()
    images = [image_upload_create(project=world.project, uploader=world.teacher, raw=image_bytes((30 * i, 5, 5)), name=f"{i}.jpg")
              for i in range(3)]
    label_assign(image=images[0], author=world.student, label=world.project.classes[0])
    slug = world.project.slug
    for user, url, status in [
        (world.student, f"/api/v1/projects/{slug}/labeling-queue/?strategy=mix&limit=5", 200),
        (world.student, f"/api/v1/projects/{slug}/labeling-queue/?strategy=nope", 400),
        (world.grader, f"/api/v1/projects/{slug}/labeling-queue/", 403),
        (world.teacher, f"/api/v1/projects/{slug}/label-quality/", 200),
        (world.student, f"/api/v1/projects/{slug}/label-quality/", 200),
    ]:
        response = api_as(user).get(url)
        assert response.status_code == status, (url, response.content[:200])
        assert_conforms(schema, "get", response)

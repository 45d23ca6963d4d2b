"""A furnished project for the page-wide checks (security headers, Chromium)."""
import pytest

from apps.labeling.services import label_assign
from apps.training.models import TrainingRun


@pytest.fixture
def furnished(classroom, publish, stored_image):
    """A project with a published model, a labeled and analysed photo and a finished run: every page has content."""
    from apps.inference.services import image_analysis_get_or_create
    from tests.fixtures.models import class_pictures

    publish()
    label, raw = class_pictures(1, seed=3)[0]
    image = stored_image(raw, "forma.png")
    label_assign(image=image, author=classroom.student, label=label)
    image_analysis_get_or_create(image=image, user=classroom.student)
    TrainingRun.objects.create(
        project=classroom.project, requested_by=classroom.teacher, status=TrainingRun.Status.SUCCEEDED, config={}
    )
    return classroom

from types import SimpleNamespace

import pytest
from rest_framework.test import APIClient

from apps.accounts import roles
from tests.factories import ProjectFactory, UserFactory
from tests.trained_model import classroom, model_classes, publish, stored_image, trained_model_dir  # noqa: F401


@pytest.fixture
def world(db):
    """A project with its teacher, a student and a grader, plus an outsider student and staff."""
    teacher = UserFactory(username="profe", role=roles.TEACHER)
    student = UserFactory(username="alumna", role=roles.STUDENT)
    grader = UserFactory(username="evaluador", role=roles.GRADER)
    outsider = UserFactory(username="ajeno", role=roles.STUDENT)
    staff = UserFactory(username="admin", is_staff=True, is_superuser=True)
    project = ProjectFactory(
        owner=teacher, slug="perros-y-gatos", members=[(student, "student"), (grader, "grader")]
    )
    return SimpleNamespace(
        teacher=teacher, student=student, grader=grader, outsider=outsider, staff=staff, project=project
    )


@pytest.fixture
def api_as():
    """Return an API client logged in as the given user (None: anonymous)."""

    def make(user):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def chromium():
    """A headless Chromium for one test (modules that walk many pages keep one for the module)."""
    from tests.browser import start_chromium

    driver = start_chromium()
    yield driver
    driver.quit()

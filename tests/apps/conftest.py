import pytest
from rest_framework.test import APIClient

from tests.fixtures.models import (  # noqa: F401
    model_classes,
    publish,
    served_model_dir,
    tiny_model_cache,
    tiny_weights,
    trained_model_dir,
    weights,
)
from tests.fixtures.people import classroom, stored_image, world  # noqa: F401


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

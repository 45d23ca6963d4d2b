"""Contract test: schemathesis sends generated requests to every API operation and checks each answer.

It fails on any 5xx and on any response whose status, content type or JSON body the published
OpenAPI schema (/api/schema/) does not declare. Bounded: a few examples per operation, about a
minute in all, authenticated as the project's teacher against the in-process WSGI application.
"""
import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from apps.training.models import ModelVersion
from apps.uploads.services import image_upload_create
from tests.factories import image_bytes

pytestmark = pytest.mark.contract

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES_PER_OPERATION = 12  # with ~30 operations: a few hundred requests, well under a minute


@pytest.fixture
def real_path_parameters(world) -> dict:
    """Rows for generated requests to find: an image and an active version (whose files were never written)."""
    image = image_upload_create(project=world.project, uploader=world.student, raw=image_bytes(), name="x.jpg")
    layers = [{"name": "conv", "type": "Conv2D", "output_shape": "(None, 8, 8, 4)", "params": 112}]
    version = ModelVersion.objects.create(
        project=world.project, number=1, status=ModelVersion.Status.ACTIVE, artifact_dir="models/contract/v1",
        metadata={"classes": world.project.classes, "layers": layers},
    )
    return {
        "image_id": image.pk, "slug": world.project.slug, "version_id": version.pk, "layer": "conv",
        "username": world.student.username,
    }


@pytest.fixture
def teacher_token(world):
    return Token.objects.create(user=world.teacher).key


@pytest.fixture
def wsgi_app(settings):
    """The site's WSGI application, kept inside the test's transaction.

    Django's handler closes the database connection at the end of each request; its own test client
    disconnects that, and so does this fixture, or the test database would be closed under the test.
    """
    settings.ALLOWED_HOSTS = ["*"]  # the WSGI test client's host name
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(teacher_token, wsgi_app, real_path_parameters):
    loaded = schemathesis.openapi.from_wsgi(
        "/api/schema/?format=json", wsgi_app, headers={"Authorization": f"Token {teacher_token}"}
    )

    @loaded.hook
    def flatmap_path_parameters(context, path_parameters):
        # Generated ids almost never exist, so half the requests name real rows and reach past the lookup.
        if not path_parameters:
            return st.just(path_parameters)
        real = {name: real_path_parameters.get(name, value) for name, value in path_parameters.items()}
        return st.sampled_from([path_parameters, real])

    return loaded


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,  # the same requests on every run: a failure can be replayed
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_its_schema_says(case, teacher_token):
    """No generated request gets a 5xx, and every answer matches what the schema declares for it."""
    case.call_and_validate(headers={"Authorization": f"Token {teacher_token}"}, checks=CHECKS)

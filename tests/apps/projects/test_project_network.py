"""A project's network: new projects get the registry's default, the teacher switches it, the photos follow."""
import pytest
from django.test import Client

from apps.projects.models import Project
from apps.training.models import TrainingRun

pytestmark = pytest.mark.django_db


def _url(world):
    return f"/api/v1/projects/{world.project.slug}/"


def test_a_new_project_starts_on_the_classroom_default(world, api_as):
    """Created through the API, a project reads its photos with the registry's classroom default."""
    from ml.config import defaults

    response = api_as(world.teacher).post("/api/v1/projects/", {"name": "Aves", "classes": ["loro", "paloma"]},
                                          format="json")
    assert response.status_code == 201, response.content
    classroom = defaults("classroom")
    assert response.json()["backbone"] == {"name": classroom["backbone"], "image_size": classroom["image_size"]}
    assert classroom["backbone"] == "efficientnet_lite0"


def test_the_teacher_switches_the_network_and_the_photos_are_embedded_again(world, api_as, settings,
                                                                            django_capture_on_commit_callbacks):
    """PATCH backbone: 200 with the new network, and a background task embeds every photo under it."""
    from unittest import mock

    with mock.patch("apps.embeddings.tasks.project_embeddings_refresh_task.delay") as refresh, \
            django_capture_on_commit_callbacks(execute=True):
        response = api_as(world.teacher).patch(_url(world), {"backbone": {"name": "efficientnet_lite2"}}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["backbone"] == {"name": "efficientnet_lite2", "image_size": 260}  # its native size
    refresh.assert_called_once_with(world.project.pk)
    assert Project.objects.get(pk=world.project.pk).backbone == "efficientnet_lite2"


@pytest.mark.parametrize("body, field", [
    ({"backbone": {"name": "resnet50"}}, "efficientnet_lite0"),
    ({"backbone": {"name": "efficientnet_lite0", "image_size": 999}}, "224"),
    ({"backbone": {"name": "scratch"}}, "mobilenet"),
])
def test_a_network_outside_the_registry_is_a_400_naming_the_valid_ones(world, api_as, body, field):
    response = api_as(world.teacher).patch(_url(world), body, format="json")
    assert response.status_code == 400
    assert field in response.json()["detail"]
    assert Project.objects.get(pk=world.project.pk).backbone == "mobilenet"


def test_only_the_teacher_switches_the_network(world, api_as):
    body = {"backbone": {"name": "efficientnet_lite0"}}
    assert api_as(world.student).patch(_url(world), body, format="json").status_code == 403
    assert api_as(world.grader).patch(_url(world), body, format="json").status_code == 403
    assert api_as(world.outsider).patch(_url(world), body, format="json").status_code == 404


def test_switching_while_a_run_is_active_is_a_409(world, api_as):
    """No run may mix two networks: while one is queued, the switch is refused and nothing changes."""
    TrainingRun.objects.create(project=world.project, requested_by=world.teacher, config={}, dataset_snapshot=[],
                               dataset_hash="x")
    response = api_as(world.teacher).patch(_url(world), {"backbone": {"name": "efficientnet_lite0"}}, format="json")
    assert response.status_code == 409
    assert Project.objects.get(pk=world.project.pk).backbone == "mobilenet"


def test_the_network_page_suggests_the_measured_gain_and_switches(world):
    """In Spanish: the page names the network, suggests the default with measured numbers, and the form switches."""
    client = Client(HTTP_ACCEPT_LANGUAGE="es")
    client.force_login(world.teacher)
    url = f"/projects/{world.project.slug}/network/"
    page = client.get(url).content.decode()
    assert "La red que mira las fotos" in page and "MobileNet" in page
    assert 'id="network-suggestion"' in page and "EfficientNet-Lite0" in page
    response = client.post(url, {"choice": "efficientnet_lite0:224"})
    assert response.status_code == 302
    assert Project.objects.get(pk=world.project.pk).backbone == "efficientnet_lite0"
    assert 'id="network-suggestion"' not in client.get(url).content.decode()
    student = Client(HTTP_ACCEPT_LANGUAGE="es")
    student.force_login(world.student)
    assert 'id="network-form"' not in student.get(url).content.decode()

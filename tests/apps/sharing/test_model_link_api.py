"""The public model link: its teacher makes, reads, replaces and withdraws it through the API."""
import base64
from datetime import datetime
from urllib.parse import urlsplit

import pytest

from apps.sharing.selectors import PROJECT_LINK_NOT_FOUND
from apps.sharing.services import ONLY_TEACHER


def _url(slug):
    return f"/api/v1/projects/{slug}/model-link/"


@pytest.mark.django_db
def test_teacher_creates_a_link_whose_token_is_in_the_path(world, api_as):
    """201 with an absolute URL ending in "/" whose last segment is a token of at least 128 random bits."""
    response = api_as(world.teacher).post(_url(world.project.slug))
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"url", "created"}
    parts = urlsplit(body["url"])
    assert parts.scheme == "http" and parts.netloc == "testserver" and not parts.query
    assert body["url"].endswith("/")
    prefix, token = parts.path.strip("/").split("/")
    assert prefix == "m"
    assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) * 8 >= 128
    assert datetime.fromisoformat(body["created"].replace("Z", "+00:00"))


@pytest.mark.django_db
def test_members_read_the_link_and_it_is_off_by_default(world, api_as):
    """GET is 404 until the teacher shares; afterwards every member gets the same body as the POST."""
    assert api_as(world.student).get(_url(world.project.slug)).json() == {"detail": str(PROJECT_LINK_NOT_FOUND)}
    created = api_as(world.teacher).post(_url(world.project.slug)).json()
    for user in (world.teacher, world.student, world.grader):
        response = api_as(user).get(_url(world.project.slug))
        assert response.status_code == 200 and response.json() == created


@pytest.mark.django_db
def test_a_second_post_replaces_the_token(world, api_as):
    """The new URL differs from the old one, and only the new one is the project's link."""
    client = api_as(world.teacher)
    first = client.post(_url(world.project.slug)).json()["url"]
    second = client.post(_url(world.project.slug)).json()["url"]
    assert first != second
    assert client.get(_url(world.project.slug)).json()["url"] == second


@pytest.mark.django_db
def test_delete_withdraws_the_link(world, api_as):
    """DELETE answers 204, then GET and a second DELETE answer 404."""
    client = api_as(world.teacher)
    client.post(_url(world.project.slug))
    assert client.delete(_url(world.project.slug)).status_code == 204
    assert client.get(_url(world.project.slug)).status_code == 404
    assert client.delete(_url(world.project.slug)).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["student", "grader"])
def test_only_the_teacher_shares_or_withdraws(world, api_as, role):
    """A student or grader of the class gets 403 for POST and DELETE, and the link stays as it was."""
    teacher = api_as(world.teacher)
    shared = teacher.post(_url(world.project.slug)).json()
    client = api_as(getattr(world, role))
    refused = client.post(_url(world.project.slug))
    assert refused.status_code == 403
    if role == "student":  # the grader is refused by role before the service speaks
        assert refused.json()["detail"] == str(ONLY_TEACHER)
    assert client.delete(_url(world.project.slug)).status_code == 403
    assert teacher.get(_url(world.project.slug)).json() == shared


@pytest.mark.django_db
def test_outsiders_and_anonymous_users_learn_nothing(world, api_as):
    """Someone outside the class gets 404 as for any project they are not in; no login gets 403."""
    api_as(world.teacher).post(_url(world.project.slug))
    assert api_as(world.outsider).get(_url(world.project.slug)).status_code == 404
    assert api_as(world.outsider).post(_url(world.project.slug)).status_code == 404
    assert api_as(None).get(_url(world.project.slug)).status_code == 403


@pytest.mark.django_db
def test_the_schema_declares_the_contract(world, api_as):
    """/api/schema/ lists GET, POST and DELETE on the link, the 201 body with url and created, and the 404 and 403 refusals."""
    schema = api_as(world.teacher).get("/api/schema/", {"format": "json"}).json()
    operations = schema["paths"]["/api/v1/projects/{slug}/model-link/"]
    assert {"get", "post", "delete"} <= set(operations)
    assert {"201", "403", "404"} <= set(operations["post"]["responses"])
    assert "204" in operations["delete"]["responses"]
    body = operations["post"]["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
    assert set(schema["components"]["schemas"][body]["properties"]) == {"url", "created"}

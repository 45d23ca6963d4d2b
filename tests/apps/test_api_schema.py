"""The OpenAPI schema at /api/schema/ describes the bodies the API really answers, errors included."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from jsonschema import Draft202012Validator

from apps.inference.serializers import ComputedAnalysisOutputSerializer
from apps.training.models import ModelVersion, TrainingRun
from tests.fixtures.models import class_pictures


def _json_schema(node):
    """Turn OpenAPI 3.0 schema objects into JSON Schema (``nullable: true`` becomes "or null")."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _json_schema(value) for key, value in node.items()}
    if node.pop("nullable", False):
        node = {"anyOf": [node, {"type": "null"}]}
    return node


@pytest.fixture
def schema(api_as, classroom):
    response = api_as(classroom.teacher).get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def _template(schema, path: str) -> str:
    """Return the schema's path template that a concrete API path matches."""
    import re

    for template in schema["paths"]:
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            return template
    raise AssertionError(f"{path} is not in the schema")


def assert_conforms(schema, method: str, response):
    """Fail unless the response's status is declared for its operation and its JSON body fits the declared schema."""
    path = response.wsgi_request.path
    operation = schema["paths"][_template(schema, path)][method]
    declared = operation["responses"]
    status = str(response.status_code)
    assert status in declared, f"{method.upper()} {path} answered {status}, declared {sorted(declared)}"
    content = declared[status].get("content", {})
    if "application/json" not in content:
        return
    body_schema = {**_json_schema(content["application/json"]["schema"]),
                   "components": _json_schema(schema["components"])}
    errors = sorted(Draft202012Validator(body_schema).iter_errors(response.json()), key=str)
    assert not errors, f"{method.upper()} {path} {status}: " + "; ".join(
        f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]
    )


def test_no_operation_answers_a_bare_object(schema):
    """Every JSON response is a described object or list, never ``{}`` with no properties (the old ``responses=dict``)."""
    loose = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                body = response.get("content", {}).get("application/json", {}).get("schema")
                if body is not None and body.get("type") == "object" and "properties" not in body:
                    loose.append(f"{method.upper()} {path} {status}")
    assert not loose


def test_lists_are_declared_paginated(schema):
    """The list endpoints answer {count, next, previous, results}: the schema says so."""
    for path in ("/api/v1/projects/", "/api/v1/images/", "/api/v1/projects/{slug}/training-runs/",
                 "/api/v1/projects/{slug}/model-versions/"):
        ref = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        assert ref.rsplit("/", 1)[-1].startswith("Paginated"), path


@pytest.mark.django_db
def test_real_responses_match_the_schema(schema, classroom, publish, stored_image, api_as):
    """The main endpoints' real answers (success and refusals) validate against the published schema."""
    slug = classroom.project.slug
    teacher, student, grader = api_as(classroom.teacher), api_as(classroom.student), api_as(classroom.grader)
    raw = class_pictures(1, seed=11)[0][1]

    def check(client, method, url, **kwargs):
        response = getattr(client, method)(url, **kwargs)
        assert_conforms(schema, method, response)
        return response

    # Before any model: the upload keeps the image with a null analysis; /analyze/ is a 409.
    upload = {"project": slug, "file": SimpleUploadedFile("a.png", raw)}
    before = check(student, "post", "/api/v1/images/", data=upload, format="multipart")
    assert before.status_code == 201 and before.json()["analysis"] is None
    upload = {"project": slug, "file": SimpleUploadedFile("a.png", raw)}
    assert check(student, "post", "/api/v1/analyze/", data=upload, format="multipart").status_code == 409

    version = publish()
    image = stored_image(class_pictures(1, seed=12)[0][1])
    upload = {"project": slug, "file": SimpleUploadedFile("b.png", class_pictures(1, seed=13)[0][1])}
    after = check(student, "post", "/api/v1/images/", data=upload, format="multipart")
    assert after.status_code == 201 and after.json()["analysis"]["model_version"] == version.number
    analyzed = check(student, "post", "/api/v1/analyze/", data={"project": slug, "file": SimpleUploadedFile("c.png", raw)},
                     format="multipart")
    assert analyzed.status_code == 200 and analyzed.json()["anomaly"] is not None
    # /analyze/ answers the service's dict without the serializer (hot path): the serializer must agree with it.
    assert ComputedAnalysisOutputSerializer(analyzed.json()).data == analyzed.json()

    for client, url in [
        (teacher, "/api/v1/projects/"),
        (teacher, f"/api/v1/projects/{slug}/"),
        (student, f"/api/v1/projects/{slug}/"),
        (teacher, f"/api/v1/images/?project={slug}"),
        (teacher, f"/api/v1/images/{image.pk}/"),
        (student, f"/api/v1/images/{image.pk}/analysis/"),
        (grader, f"/api/v1/images/{image.pk}/analysis/"),
        (student, f"/api/v1/images/{image.pk}/analysis/network/"),
        (teacher, f"/api/v1/projects/{slug}/training-runs/"),
        (teacher, f"/api/v1/projects/{slug}/model-versions/"),
        # Refusals: a bad query parameter, an unknown image, an unknown version, a page past the end.
        (student, f"/api/v1/images/{image.pk}/analysis/?version=²"),
        (student, "/api/v1/images/999999/"),
        (student, f"/api/v1/images/{image.pk}/analysis/?version=99"),
        (teacher, "/api/v1/projects/?page=9"),
    ]:
        assert check(client, "get", url).status_code < 500, url

    n = len(classroom.project.classes)
    prediction = {"version": version.number, "probabilities": [1.0 / n] * n, "latency_ms": 4}
    url = f"/api/v1/images/{image.pk}/browser-predictions/"
    assert check(student, "post", url, data=prediction, format="json").status_code == 201
    assert check(grader, "post", url, data=prediction, format="json").status_code == 403
    label = check(student, "post", f"/api/v1/images/{image.pk}/labels/", data={"label": "nope"}, format="json")
    assert label.status_code == 400
    refresh = check(teacher, "post", f"/api/v1/projects/{slug}/analyses/refresh/")
    assert refresh.status_code == 202
    start = check(teacher, "post", f"/api/v1/projects/{slug}/training-runs/", data={"config": {}}, format="json")
    assert start.status_code == 400  # too few labeled images: refused with the schema's error body
    run = TrainingRun.objects.create(project=classroom.project, requested_by=classroom.teacher, config={})
    assert check(teacher, "get", f"/api/v1/training-runs/{run.pk}/").status_code == 200
    assert check(teacher, "post", f"/api/v1/training-runs/{run.pk}/cancel/").status_code == 200
    assert check(teacher, "get", f"/api/v1/projects/{slug}/training-runs/").status_code == 200
    ModelVersion.objects.create(project=classroom.project, number=version.number + 1, artifact_dir="models/never")
    assert check(teacher, "get", f"/api/v1/projects/{slug}/model-versions/").status_code == 200  # one never active
    assert check(grader, "post", f"/api/v1/model-versions/{version.pk}/activate/").status_code == 403
    assert check(teacher, "post", f"/api/v1/model-versions/{version.pk}/activate/").status_code == 200
    reset = f"/api/v1/projects/{slug}/members/{classroom.student.username}/password/"
    assert check(teacher, "post", reset).status_code == 200
    assert check(grader, "post", reset).status_code == 403
    assert check(teacher, "post", f"/api/v1/projects/{slug}/members/nadie/password/").status_code == 404
    experiment = check(student, "post", f"/lab/api/projects/{slug}/experiments/",
                       data={"kind": "clusters", "params": {"k": 2}}, format="json")
    assert experiment.status_code == 201
    assert check(student, "get", experiment.json()["url"]).status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/nope/", "/api/v1/images/abc/", "/api/v1/images/1/%0A/", "/lab/api/experiments/x/"])
def test_an_unknown_api_address_is_a_json_404(world, api_as, path):
    """An address under the API that no endpoint matches answers JSON like every other API error, not an HTML page."""
    from apps.common.api_errors import NO_SUCH_ENDPOINT

    for user in (world.teacher, None):
        response = api_as(user).get(path)
        assert response.status_code == 404 and response["Content-Type"] == "application/json"
        assert response.json()["detail"] == str(NO_SUCH_ENDPOINT)


def test_the_json_404_catch_all_comes_last():
    """Routes listed after the catch-all would never be reached: it must stay the last API pattern."""
    from riim_site.api_urls import urlpatterns

    assert urlpatterns[-1].name == "api-not-found"
    assert [p.name for p in urlpatterns].count("api-not-found") == 1


def test_the_lab_api_catch_all_follows_every_lab_api_route():
    """A lab API route listed after the lab's JSON 404 would never be reached."""
    from apps.lab.urls import urlpatterns

    names = [p.name for p in urlpatterns]
    catch_all = names.index("lab-api-not-found")
    assert all(not str(p.pattern).startswith("api/") for p in urlpatterns[catch_all + 1:])

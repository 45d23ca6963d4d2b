"""Every query-string and JSON parameter is validated: a bad value is a 4xx naming it, never a 500.

"²" is the sharpest case: ``"²".isdigit()`` is True but ``int("²")`` raises ValueError.
"""
import pytest

from apps.common.forms import MAX_QUERY_INTEGER
from apps.uploads.services import image_upload_create
from tests.factories import image_bytes

BAD_NUMBERS = ["²", "abc", "1.5", "-3", "0", str(10**30)]


@pytest.fixture
def image(world):
    return image_upload_create(project=world.project, uploader=world.student, raw=image_bytes(), name="x.jpg")


def _names(response, parameter: str) -> bool:
    """Whether the page quotes the parameter's name (Spanish «…» once compiled, English “…” otherwise)."""
    html = response.content.decode()
    return f"«{parameter}»" in html or f"“{parameter}”" in html


def test_superscript_two_looks_like_a_digit_but_is_no_integer():
    """The trap the checks below guard against."""
    assert "²".isdigit()
    with pytest.raises(ValueError):
        int("²")
    assert MAX_QUERY_INTEGER == 2**31 - 1


@pytest.mark.parametrize("value", BAD_NUMBERS)
def test_labeling_page_refuses_a_bad_image_number(world, image, client, value):
    """/label/<slug>/?image=² is a 400 page that names the parameter."""
    client.force_login(world.student)
    response = client.get(f"/label/{world.project.slug}/", {"image": value})
    assert response.status_code == 400
    assert _names(response, "image")


@pytest.mark.parametrize("value", BAD_NUMBERS)
def test_analysis_page_refuses_a_bad_version(world, image, client, value):
    """/images/<id>/analysis/?version=² is a 400 page that names the parameter."""
    client.force_login(world.student)
    response = client.get(f"/images/{image.pk}/analysis/", {"version": value})
    assert response.status_code == 400
    assert _names(response, "version")


def test_pages_still_take_good_numbers(world, image, client):
    """A valid number (or none) still opens the page."""
    client.force_login(world.student)
    assert client.get(f"/label/{world.project.slug}/", {"image": image.pk}).status_code == 200
    assert client.get(f"/label/{world.project.slug}/").status_code == 200
    assert client.get(f"/images/{image.pk}/analysis/", {"version": 3}).status_code == 200


def test_a_refusal_raised_in_a_page_is_shown_with_its_status_and_message(world, image, client):
    """An ApplicationError escaping an HTML view becomes its 4xx page with the message (one place, no ad hoc catch)."""
    from apps.labeling.services import CANNOT_LABEL
    from apps.uploads.selectors import IMAGE_NOT_FOUND

    client.force_login(world.outsider)
    response = client.get(f"/images/{image.pk}/analysis/")
    assert response.status_code == 404 and str(IMAGE_NOT_FOUND) in response.content.decode()
    client.force_login(world.grader)
    response = client.get(f"/label/{world.project.slug}/")
    assert response.status_code == 404 and str(CANNOT_LABEL) in response.content.decode()


VERSIONED_APIS = [
    "/api/v1/images/{id}/analysis/",
    "/api/v1/images/{id}/analysis/heatmap.png",
    "/api/v1/images/{id}/analysis/cam.png",
    "/api/v1/images/{id}/analysis/error-map.png",
    "/api/v1/images/{id}/analysis/network/",
    "/api/v1/images/{id}/analysis/network/conv.png",
]


@pytest.mark.parametrize("url", VERSIONED_APIS)
@pytest.mark.parametrize("value", BAD_NUMBERS)
def test_analysis_apis_refuse_a_bad_version(world, image, api_as, url, value):
    """?version=² on every analysis endpoint is a 400 whose body names ``version``, for any role that may read."""
    for user in (world.student, world.grader):
        response = api_as(user).get(url.format(id=image.pk), {"version": value})
        assert response.status_code == 400, (url, value, response.status_code)
        assert "version" in response.json()


@pytest.mark.parametrize(
    ("kind", "params", "field"),
    [
        ("compression", {"version": "abc"}, "version"),
        ("compression", {"version": [1]}, "version"),
        ("compression", {"version": "²"}, "version"),
        ("compression", {"version": 10**30}, "version"),
        ("clusters", {"k": "²"}, "k"),
        ("clusters", {"k": [3]}, "k"),
        ("clusters", {"k": 11}, "k"),
        ("clusters", {"method": "umap"}, "method"),
        ("label_noise", {"percent": "mucho"}, "percent"),
        ("label_noise", {"percent": {"a": 1}}, "percent"),
    ],
)
def test_lab_experiments_refuse_bad_params(world, api_as, kind, params, field):
    """A lab experiment's params of the wrong type or range are a 400 naming the field, not a 500."""
    url = f"/lab/api/projects/{world.project.slug}/experiments/"
    response = api_as(world.student).post(url, {"kind": kind, "params": params}, format="json")
    assert response.status_code == 400, (params, response.status_code)
    assert field in response.json()["params"]


def test_lab_params_must_be_an_object(world, api_as):
    url = f"/lab/api/projects/{world.project.slug}/experiments/"
    response = api_as(world.student).post(url, {"kind": "clusters", "params": [1, 2]}, format="json")
    assert response.status_code == 400 and "params" in response.json()


def test_browser_prediction_refuses_a_version_beyond_any_row(world, image, api_as):
    """A version number too large for the database is a 400, not an overflow."""
    url = f"/api/v1/images/{image.pk}/browser-predictions/"
    body = {"version": 10**30, "probabilities": [0.5, 0.5], "latency_ms": 3}
    response = api_as(world.student).post(url, body, format="json")
    assert response.status_code == 400 and "version" in response.json()

"""Analyses appear in the student's and the grader's history, filterable."""
import pytest

from apps.inference.models import Analysis
from tests.fixtures.models import class_pictures, noise_pictures


@pytest.fixture
def analysed(classroom, publish, stored_image, api_as):
    """Two versions, server analyses of three pictures (one unusual) and one browser prediction."""
    first = publish()
    client = api_as(classroom.student)
    images = [stored_image(raw, f"{i}.png") for i, (_l, raw) in enumerate(class_pictures(1, seed=41))]
    images.append(stored_image(noise_pictures(1, seed=42)[0], "ruido.png"))
    for image in images:
        client.get(f"/api/v1/images/{image.pk}/analysis/")
    second = publish()
    client.get(f"/api/v1/images/{images[0].pk}/analysis/")
    n = len(classroom.project.classes)
    client.post(
        f"/api/v1/images/{images[0].pk}/browser-predictions/",
        {"version": second.number, "probabilities": [1.0] + [0.0] * (n - 1), "latency_ms": 4.0},
        format="json",
    )
    return first, second, images


def _rows(response):
    return response.content.decode().count('class="analysis-row"')


@pytest.mark.django_db
def test_grader_history_filters_analyses(classroom, analysed, client):
    """The grader's activity page lists analyses and filters them by class, confidence, anomaly, version and where they ran."""
    first, second, images = analysed
    client.force_login(classroom.grader)
    url = "/history/activity/?kind=analyses"
    total = Analysis.objects.count()
    assert _rows(client.get(url)) == total
    assert _rows(client.get(url + "&ran_on=browser")) == 1
    assert _rows(client.get(url + f"&version={first.number}")) == len(images)
    unfiltered = client.get(url).content.decode()
    # Each select's empty choice says "any" in words (the default was a row of dashes).
    for select in ("anomaly", "ran_on"):
        options = unfiltered.split(f'name="{select}"')[1].split("</select>")[0]
        assert '<option value="" selected>Cualquiera</option>' in options and "---" not in options
    assert _rows(client.get(url + "&anomaly=")) == total
    assert _rows(client.get(url + "&anomaly=yes")) == Analysis.objects.filter(is_anomaly=True).count()
    assert _rows(client.get(url + "&anomaly=no")) == Analysis.objects.filter(is_anomaly=False).count()
    label = classroom.project.classes[0]
    assert _rows(client.get(url + f"&label={label}")) == Analysis.objects.filter(label=label).count()
    assert _rows(client.get(url + "&confidence_min=0.999")) == Analysis.objects.filter(confidence__gte=0.999).count()
    csv = client.get(url + "&format=csv").content.decode().strip().splitlines()
    # Spanish spreadsheet format: a byte-order mark, ";" between cells, headers in the reader's language.
    assert len(csv) == total + 1 and csv[0].startswith("\ufeffFecha;Proyecto;Subida por;")


@pytest.mark.django_db
def test_student_history_shows_own_analyses(classroom, analysed, client):
    """The student's history lists the analyses of her pictures, filterable by where they ran."""
    client.force_login(classroom.student)
    assert _rows(client.get("/history/")) == Analysis.objects.count()
    assert _rows(client.get("/history/?ran_on=server")) == Analysis.objects.filter(ran_on="server").count()
    client.force_login(classroom.outsider)
    assert _rows(client.get("/history/")) == 0

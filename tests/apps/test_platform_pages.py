"""Every page renders for the roles that may see it, and refuses others cleanly."""
import pytest

from apps.labeling.services import label_assign
from apps.uploads.services import image_upload_create
from tests.factories import image_bytes


@pytest.fixture
def labeled(world):
    image = image_upload_create(project=world.project, uploader=world.student, raw=image_bytes(), name="a.jpg")
    label_assign(image=image, author=world.student, label="gato")
    return image


@pytest.mark.parametrize("role", ["student", "teacher", "grader", "staff"])
def test_home_and_project_pages_render(world, labeled, client, role):
    client.force_login(getattr(world, role))
    assert client.get("/").status_code == 200
    assert client.get(f"/projects/{world.project.slug}/").status_code == 200
    assert client.get("/history/").status_code == 200


@pytest.mark.parametrize("role", ["student", "teacher"])
def test_upload_and_label_pages_render(world, labeled, client, role):
    client.force_login(getattr(world, role))
    assert client.get("/upload/").status_code == 200
    page = client.get(f"/label/{world.project.slug}/")
    assert page.status_code == 200
    assert b'data-label="gato"' in page.content
    assert '<span class="badge text-bg-light border">Estudiante</span>' in page.content.decode()  # who gave the label that counts


def test_grader_cannot_open_labeling(world, client):
    client.force_login(world.grader)
    assert client.get(f"/label/{world.project.slug}/").status_code == 404


def test_anonymous_is_sent_to_login(db, client):
    response = client.get("/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_activity_filters_and_csv(world, labeled, client):
    """Graders filter activity by student and class and export it as CSV; students have no activity page."""
    client.force_login(world.grader)
    page = client.get("/history/activity/", {"student": "alumna", "label": "gato"})
    assert page.status_code == 200 and b"alumna" in page.content
    empty = client.get("/history/activity/", {"label": "perro"})
    assert b"alumna" not in empty.content.split(b"<tbody>")[1]
    csv = client.get("/history/activity/", {"student": "alumna", "format": "csv"})
    assert csv["Content-Type"].startswith("text/csv")
    lines = csv.content.decode("utf-8-sig").strip().splitlines()
    assert lines[0].startswith("Fecha;Proyecto;Autor") and len(lines) == 2 and ";gato;" in lines[1]
    uploads = client.get("/history/activity/", {"kind": "uploads", "format": "csv"}).content.decode("utf-8-sig")
    assert "a.jpg" in uploads and ";Estudiante" in uploads  # values in words, as on the page
    row = client.get("/history/activity/", {"kind": "uploads"}).content.decode().split("<tbody>")[1].split("</tr>")[0]
    assert "a.jpg" in row and "<td>Estudiante</td>" in row and ("<td>Entrenamiento</td>" in row or "<td>Reserva</td>" in row)
    client.force_login(world.student)
    assert client.get("/history/activity/").status_code == 404


def test_project_create_page(world, client):
    """A teacher creates a project through the form; a bad form is a 400 with messages."""
    client.force_login(world.teacher)
    bad = client.post("/projects/new/", {"name": "Aves", "classes": "loro", "test_fraction": 0.2})
    assert bad.status_code == 400
    good = client.post("/projects/new/", {"name": "Aves", "classes": "loro, paloma", "test_fraction": 0.2})
    assert good.status_code == 302 and good["Location"] == "/projects/aves/"


def test_project_page_names_the_split_in_the_readers_language(world, labeled, client):
    """The fixed split's table and sentence speak Spanish: the three shares' names, and their sizes as percentages."""
    client.force_login(world.teacher)
    html = client.get(f"/projects/{world.project.slug}/").content.decode()
    table = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert "<td>Entrenamiento</td>" in table and "<td>Validación</td>" in table and "<td>Prueba</td>" in table
    assert "<td>train</td>" not in table and "<td>test</td>" not in table
    assert (f"alrededor del {round(100 * world.project.test_fraction)} % a la parte de prueba sellada, el "
            f"{round(100 * world.project.validation_fraction)} % a validación") in html

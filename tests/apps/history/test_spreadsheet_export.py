"""Exports open correctly in the reader's spreadsheet program; the activity tabs keep and check their filters."""
import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from apps.common.csv_writer import spreadsheet_cell
from apps.uploads.services import image_upload_create
from tests.factories import image_bytes


def test_spreadsheet_cells_are_localized():
    """Decimal comma, no exponent, yes/no in words, local time without microseconds, formulas still quoted."""
    moment = datetime.datetime(2026, 7, 1, 10, 0, 5, 123456, tzinfo=datetime.UTC)
    with translation.override("es"), timezone.override("Europe/Madrid"):
        assert spreadsheet_cell(0.994, ",") == "0,994"
        assert spreadsheet_cell(-0.5, ",") == "-0,5"
        assert spreadsheet_cell(1e-7, ",") == "0"
        assert spreadsheet_cell(Decimal("2.50"), ",") == "2,5"
        assert spreadsheet_cell(True, ",") == "sí"
        assert spreadsheet_cell(None, ",") == ""
        assert spreadsheet_cell(moment, ",") == "2026-07-01 12:00:05"  # summer time in Madrid
        assert spreadsheet_cell("=1+1", ",") == "'=1+1"
        assert spreadsheet_cell(7, ",") == 7


def _export(client, language):
    client.cookies["django_language"] = language
    response = client.get("/history/activity/?kind=uploads&format=csv")
    assert response.status_code == 200
    return response.content


@pytest.mark.django_db
def test_spanish_export_has_bom_semicolons_and_spanish_words(world, client, settings):
    """Spanish: UTF-8 BOM, ';' between cells, Spanish headers and values, local time without microseconds."""
    settings.TIME_ZONE = "Europe/Madrid"
    image = image_upload_create(project=world.project, uploader=world.student, raw=image_bytes(), name="gato, negro.jpg")
    client.force_login(world.grader)
    raw = _export(client, "es")
    assert raw.startswith("\ufeff".encode())
    header, row = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))[:2]
    assert header[:4] == ["Fecha", "Proyecto", "Subida por", "ID de la imagen"]
    assert row[header.index("Nombre del archivo")] == "gato, negro.jpg"
    assert row[header.index("Partición")] == str(image.get_split_display()) != image.split
    madrid = timezone.localtime(image.created_at)
    assert str(madrid.tzinfo) == "Europe/Madrid" and madrid.utcoffset()
    assert row[0] == madrid.strftime("%Y-%m-%d %H:%M:%S")


@pytest.mark.django_db
def test_english_export_keeps_commas(world, client):
    """English: the BOM stays, cells are split by commas and headers are English."""
    image_upload_create(project=world.project, uploader=world.student, raw=image_bytes(), name="cat.jpg")
    client.force_login(world.grader)
    header = next(csv.reader(io.StringIO(_export(client, "en").decode("utf-8-sig"))))
    assert header[:3] == ["Date", "Project", "Uploaded by"]


@pytest.mark.django_db
def test_tabs_keep_the_filters_they_share(world, client):
    """Switching tab keeps the student and dates; a filter the other tab lacks is not carried over."""
    client.force_login(world.grader)
    page = client.get("/history/activity/?kind=analyses&student=alumna&date_from=2026-01-01&confidence_min=0.5")
    tabs = page.context["tabs"]
    assert "student=alumna" in tabs["labels"] and "date_from=2026-01-01" in tabs["uploads"]
    assert "confidence_min" not in tabs["labels"] and "confidence_min=0.5" in tabs["analyses"]
    assert f'href="?{tabs["uploads"]}"'.replace("&", "&amp;") in page.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    ["kind=analyses&confidence_min=mucho", "kind=labels&date_from=ayer", "kind=notas", "kind=uploads&format=csv&date_to=x"],
)
def test_invalid_filters_are_reported_not_ignored(world, client, query):
    """A filter value that cannot be read is a 400 naming it, for the page and the CSV alike."""
    client.force_login(world.grader)
    response = client.get(f"/history/activity/?{query}")
    assert response.status_code == 400
    assert "Algunos filtros no son válidos" in response.content.decode()


@pytest.mark.django_db
def test_a_students_invalid_analysis_filter_is_reported(world, client):
    """The student's own history answers 400 naming the filter it cannot read."""
    client.force_login(world.student)
    response = client.get("/history/?confidence_min=mucho")
    assert response.status_code == 400
    assert "Algunos filtros no son válidos" in response.content.decode()
    assert client.get("/history/?confidence_min=0.5").status_code == 200

"""Gradebook pages: who sees what, the rubric and course settings, exports, reviews and the access log."""
import csv
import io

import pytest

from apps.gradebook.models import AccessLog, Criterion, Review
from apps.gradebook.services import grade_update
from apps.training.models import TrainingRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def graded(world):
    criterion = Criterion.objects.create(project=world.project, name="Etiquetas", points=10)
    grade_update(project=world.project, author=world.grader, username="alumna", scores={str(criterion.pk): 8}, comment="=Buen trabajo")
    return criterion


@pytest.mark.parametrize("role", ["teacher", "grader"])
def test_graders_see_the_class_view(world, graded, client, role):
    """The class view lists each student with a scoring row and the rubric's criteria."""
    client.force_login(getattr(world, role))
    page = client.get(f"/gradebook/{world.project.slug}/")
    assert page.status_code == 200
    assert b'data-student="alumna"' in page.content and b"Etiquetas" in page.content
    assert (b'id="criterion-add"' in page.content) is (role == "teacher")


def test_a_student_sees_only_their_grade(world, graded, client):
    """A student's gradebook page shows their own total and feedback, never the class table."""
    client.force_login(world.student)
    page = client.get(f"/gradebook/{world.project.slug}/")
    assert page.status_code == 200
    assert b'id="my-feedback"' in page.content and "=Buen trabajo".encode() in page.content
    assert b'id="gradebook"' not in page.content
    assert client.get(f"/gradebook/{world.project.slug}/export.csv").status_code == 404
    assert client.get(f"/gradebook/{world.project.slug}/report/").status_code == 404
    assert client.get(f"/gradebook/{world.project.slug}/access-log/").status_code == 404


def test_outsiders_get_a_404(world, client):
    client.force_login(world.outsider)
    assert client.get(f"/gradebook/{world.project.slug}/").status_code == 404


def test_teacher_edits_the_rubric_and_course_dates(world, client):
    """Add, rename and delete criteria; bad points are refused; course dates are saved."""
    client.force_login(world.teacher)
    url = f"/gradebook/{world.project.slug}/"
    assert client.post(url, {"action": "criterion-add", "name": "Fotos", "points": "5"}).status_code == 302
    criterion = Criterion.objects.get()
    assert client.post(url, {"action": "criterion-add", "name": "Mal", "points": "-1"}).status_code == 400
    client.post(url, {"action": "criterion-update", "criterion": criterion.pk, "name": "Fotos nítidas", "points": "6"})
    criterion.refresh_from_db()
    assert (criterion.name, criterion.points) == ("Fotos nítidas", 6.0)
    response = client.post(url, {"action": "policy", "course_end": "2027-06-30", "retention_days": "30", "warn_days": "7"})
    assert response.status_code == 302
    assert str(world.project.course_policy.course_end) == "2027-06-30"
    assert client.post(url, {"action": "policy", "course_end": "2027-06-30", "retention_days": "99999999", "warn_days": "7"}).status_code == 400
    client.post(url, {"action": "criterion-delete", "criterion": criterion.pk})
    assert not Criterion.objects.exists()
    client.force_login(world.grader)
    assert client.post(url, {"action": "criterion-add", "name": "X", "points": "5"}).status_code == 403


def test_csv_export_through_the_shared_writer(world, graded, client):
    """The CSV has one row per student with the criterion's points, and a formula-like comment is defused."""
    client.force_login(world.grader)
    response = client.get(f"/gradebook/{world.project.slug}/export.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";" if ";" in text.splitlines()[0] else ","))
    assert rows[1][0] == "alumna" and rows[1][-1] == "'=Buen trabajo"
    assert rows[1][-2] in ("8", "8.0", "8,0")
    assert AccessLog.objects.filter(viewer=world.grader, what="export").exists()


def test_student_history_is_logged(world, graded, client):
    """A grader opening a student's history leaves a line in the access log the teacher reads."""
    client.force_login(world.grader)
    assert client.get(f"/gradebook/{world.project.slug}/students/alumna/").status_code == 200
    assert client.get(f"/gradebook/{world.project.slug}/students/nadie/").status_code == 400
    client.force_login(world.teacher)
    log = client.get(f"/gradebook/{world.project.slug}/access-log/")
    assert b"evaluador" in log.content and AccessLog.objects.filter(student=world.student, what="history").count() == 1
    client.force_login(world.student)
    assert client.get(f"/gradebook/{world.project.slug}/students/alumna/").status_code == 200
    assert AccessLog.objects.count() == 1  # reading one's own history is not logged


def test_report_has_one_page_per_student(world, graded, client):
    client.force_login(world.teacher)
    page = client.get(f"/gradebook/{world.project.slug}/report/")
    assert page.status_code == 200 and page.content.count(b'class="report-page"') == 1
    assert b"gradebook_report" in page.content  # the print stylesheet


def test_reviews_on_the_run_page(world, client):
    """A grader comments on a run and it shows on the run page; a student cannot, whatever the text.

    A student may never review, so their request is refused as forbidden (403) before its text is read;
    an empty comment is bad input (400) only from someone allowed to comment.
    """
    run = TrainingRun.objects.create(project=world.project, requested_by=world.teacher, status="succeeded")
    url = f"/gradebook/training-runs/{run.pk}/reviews/"
    client.force_login(world.grader)
    response = client.post(url, {"text": "sobreajuste a partir de la época 6"})
    assert response.status_code == 302
    assert "sobreajuste a partir de la época 6" in client.get(f"/training-runs/{run.pk}/").content.decode()
    assert client.post(url, {"text": ""}).status_code == 400
    client.force_login(world.student)
    assert client.post(url, {"text": "hola"}).status_code == 403
    assert client.post(url, {"text": ""}).status_code == 403
    assert client.post(url, {}).status_code == 403
    assert Review.objects.count() == 1


def test_version_reviews_through_the_api(world, api_as, client):
    """A grader reviews a version; the review is listed with the version and shown on its run's page."""
    from apps.training.models import ModelVersion

    run = TrainingRun.objects.create(project=world.project, requested_by=world.teacher, status="succeeded")
    version = ModelVersion.objects.create(project=world.project, number=3, run=run, artifact_dir="models/v3")
    url = f"/api/v1/model-versions/{version.pk}/reviews/"
    created = api_as(world.grader).post(url, {"text": "sobreajuste a partir de la época 6"}, format="json")
    assert created.status_code == 201 and created.json()["model_version"] == 3
    assert api_as(world.grader).post(url, {"text": ""}, format="json").status_code == 400
    # A student is forbidden to review whatever the body: 403, not a 400 about a text they may not send.
    assert api_as(world.student).post(url, {"text": ""}, format="json").status_code == 403
    listed = api_as(world.student).get(url).json()
    assert [(r["author"], r["text"]) for r in listed] == [("evaluador", "sobreajuste a partir de la época 6")]
    client.force_login(world.teacher)
    assert "sobreajuste a partir de la época 6" in client.get(f"/training-runs/{run.pk}/").content.decode()
    assert api_as(world.outsider).get(url).status_code == 404


def test_the_grade_history_names_each_change_as_a_noun(world, client):
    """The history column of a student's page reads «Cambio», not the verb «Cambiar»."""
    criterion = Criterion.objects.create(project=world.project, name="Fotos", points=4)
    grade_update(project=world.project, author=world.grader, username="alumna", scores={str(criterion.pk): 3.5}, comment="")
    client.force_login(world.teacher)
    page = client.get(f"/gradebook/{world.project.slug}/students/alumna/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert '<th scope="col">Cambio</th>' in page and "Fotos: 3,5" in page


def test_rubric_points_take_a_decimal_comma(world, client):
    """A criterion's points typed «2,5» are 2.5 (and «2.5» too), and the form shows them the Spanish way."""
    client.force_login(world.teacher)
    url = f"/gradebook/{world.project.slug}/"
    assert client.post(url, {"action": "criterion-add", "name": "Fotos", "points": "2,5"}).status_code == 302
    criterion = Criterion.objects.get()
    assert criterion.points == 2.5
    client.post(url, {"action": "criterion-update", "criterion": criterion.pk, "name": "Fotos", "points": "3.5"})
    criterion.refresh_from_db()
    assert criterion.points == 3.5
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert f'id="crit-points-{criterion.pk}" name="points" type="text" inputmode="decimal" autocomplete="off" value="3,5"' in page


def test_a_score_out_of_range_names_the_points_the_spanish_way(world, client):
    """The refusal of a score above «2,5» writes the limit with a decimal comma."""
    from django.utils import translation

    from apps.common.exceptions import ApplicationError

    criterion = Criterion.objects.create(project=world.project, name="Fotos", points=2.5)
    with translation.override("es"), pytest.raises(ApplicationError) as refused:
        grade_update(project=world.project, author=world.grader, username="alumna", scores={str(criterion.pk): 3}, comment="")
    assert "entre 0 y 2,5" in str(refused.value.message)

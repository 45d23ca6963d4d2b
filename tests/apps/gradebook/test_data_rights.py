"""Data rights: a student's download, deleting one student's data and the end-of-course retention leave nothing behind."""
import datetime
import io
import json
import zipfile
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage

from apps.gradebook.data_rights import retention_sweep, student_data_delete
from apps.gradebook.models import (
    AccessLog,
    AnalysisRequest,
    ContributionSnapshot,
    CoursePolicy,
    Criterion,
    FeedbackEntry,
    QuizAnswer,
    ScoreEntry,
    VersionDataRemoval,
)
from apps.gradebook.services import grade_update
from apps.inference.models import Analysis
from apps.labeling.models import Label
from apps.labeling.services import label_assign
from apps.projects.models import Membership
from apps.training.models import ModelVersion, TrainingRun
from apps.uploads import deletion
from apps.uploads.models import Image, ImageDeletion
from apps.uploads.processing import image_process
from apps.uploads.services import image_upload_create
from tests.factories import UserFactory, image_bytes

pytestmark = pytest.mark.django_db


def _media_files() -> set[str]:
    root = Path(settings.MEDIA_ROOT)
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def _photo(project, student, color, version):
    """A photo with its thumbnail, the uploader's label, a stored analysis with a heatmap and the request for it."""
    image = image_upload_create(project=project, uploader=student, raw=image_bytes(color=color), name="foto.jpg")
    image_process(image, worker_info={})
    label_assign(image=image, author=student, label="gato")
    heatmap = default_storage.save(f"analyses/{image.pk}.png", ContentFile(b"png"))
    Analysis.objects.create(image=image, model_version=version, label="gato", confidence=0.9, heatmap=heatmap)
    AnalysisRequest.objects.create(project=project, image=image, model_version=version, requester=student, ran_on="server")
    return image


@pytest.fixture
def course(world):
    """Two students with photos, labels on each other's photos, analyses, quiz answers, grades and a trained version."""
    project = world.project
    classmate = UserFactory(username="compa", role="student")
    Membership.objects.create(project=project, user=classmate, role="student")
    run = TrainingRun.objects.create(project=project, requested_by=world.teacher, status="succeeded")
    version = ModelVersion.objects.create(project=project, number=1, run=run, artifact_dir="models/x")
    mine = [_photo(project, world.student, (200, 10 * i, 30), version) for i in range(2)]
    theirs = _photo(project, classmate, (10, 200, 30), version)
    # The student's label on the classmate's photo is the only one until the classmate's: it decides with it.
    label_assign(image=theirs, author=world.student, label="perro")
    run.dataset_snapshot = [[image.pk, "gato", "train"] for image in [*mine, theirs]]
    run.save()
    QuizAnswer.objects.create(user=world.student, project=project, question="overfitting-dropout", option=2, correct=True)
    criterion = Criterion.objects.create(project=project, name="Fotos", points=10)
    for user in (world.student, classmate):
        grade_update(project=project, author=world.grader, username=user.username, scores={str(criterion.pk): 7}, comment="ok")
    AccessLog.objects.create(project=project, viewer=world.grader, student=world.student, what="history")
    return world, classmate, mine, theirs, version, criterion


def _rows_pointing_at(user) -> dict:
    """Every row of every table that has a foreign key to this user (the account itself aside)."""
    found = {}
    for model in django_apps.get_models():
        if model._meta.app_label in ("auth", "accounts", "authtoken", "admin", "sessions"):
            continue
        for field in model._meta.get_fields():
            if field.many_to_one and field.related_model is get_user_model():
                n = model.objects.filter(**{field.name: user}).count()
                if n:
                    found[f"{model._meta.label}.{field.name}"] = n
    return found


def test_deleting_a_student_leaves_nothing_of_them(course, django_capture_on_commit_callbacks):
    """Their files and rows go, the classmate's photo gets its label recomputed, and the version is marked."""
    world, classmate, mine, theirs, version, _criterion = course
    theirs.refresh_from_db()
    kept_files = {theirs.file.name, theirs.thumbnail.name, theirs.analyses.get().heatmap.name}
    assert _media_files() > kept_files

    with django_capture_on_commit_callbacks(execute=True):
        report = student_data_delete(project=world.project, student=world.student, actor=world.teacher)

    assert (report.images, report.versions_marked) == (2, 1)
    assert _media_files() == kept_files  # nothing of theirs in media, and no trash left
    assert _rows_pointing_at(world.student) == {}
    assert not Membership.objects.filter(user=world.student).exists()
    assert all(world.student.username not in record.uploaders for record in ImageDeletion.objects.all())
    theirs.refresh_from_db()
    assert list(theirs.labels.values_list("author__username", flat=True)) == ["compa"]
    assert theirs.label == "gato"
    assert VersionDataRemoval.objects.get().model_version == version
    assert [row[0] for row in TrainingRun.objects.get().dataset_snapshot] == [theirs.pk]
    # The classmate keeps everything.
    assert ScoreEntry.objects.filter(student=classmate).count() == 1
    assert AnalysisRequest.objects.filter(requester=classmate).count() == 1


class _FailingStorage(FileSystemStorage):
    """A file system storage whose nth delete raises, as a disk or object store can."""

    def __init__(self, fail_at, **kwargs):
        super().__init__(**kwargs)
        self.fail_at = fail_at
        self.deletes = 0

    def delete(self, name):
        self.deletes += 1
        if self.deletes == self.fail_at:
            raise OSError("disk gone")
        super().delete(name)


def _state():
    return {
        model._meta.label: model.objects.count()
        for model in (Image, Label, Analysis, AnalysisRequest, QuizAnswer, ScoreEntry, FeedbackEntry, AccessLog,
                      Membership, VersionDataRemoval, ContributionSnapshot, ImageDeletion)
    } | {"snapshot": len(TrainingRun.objects.get().dataset_snapshot), "purged": CoursePolicy.objects.filter(purged_at__isnull=False).count()}


@pytest.mark.parametrize("fail_at", [1, 4])
def test_a_student_deletion_failing_half_way_changes_nothing(course, monkeypatch, fail_at):
    """A storage failing on the nth file delete leaves every row and file as before."""
    world = course[0]
    before, files = _state(), _media_files()
    monkeypatch.setattr(deletion, "default_storage", _FailingStorage(fail_at, location=settings.MEDIA_ROOT))
    with pytest.raises(OSError):
        student_data_delete(project=world.project, student=world.student, actor=world.teacher)
    assert _state() == before
    assert _media_files() == files


def test_retention_deletes_the_photos_and_keeps_the_gradebook(course, api_as, django_capture_on_commit_callbacks):
    """Past course end + retention every photo and derived copy goes; rubric, scores, comments and counts stay."""
    world = course[0]
    before = api_as(world.teacher).get(f"/api/v1/projects/{world.project.slug}/gradebook/").json()
    today = datetime.date(2027, 7, 1)
    CoursePolicy.objects.create(project=world.project, course_end=today - datetime.timedelta(days=31), retention_days=30)
    with django_capture_on_commit_callbacks(execute=True):
        assert retention_sweep(today=today) == [world.project.pk]
    assert _media_files() == set()
    assert not Image.objects.exists() and not Label.objects.exists() and not Analysis.objects.exists()
    assert TrainingRun.objects.get().dataset_snapshot == []
    assert VersionDataRemoval.objects.get().images_removed == 3
    after = api_as(world.teacher).get(f"/api/v1/projects/{world.project.slug}/gradebook/").json()
    assert after == before
    assert retention_sweep(today=today) == []  # once


def test_retention_waits_for_its_day(course):
    """A day before the end of the retention period nothing is deleted."""
    world = course[0]
    today = datetime.date(2027, 7, 1)
    CoursePolicy.objects.create(project=world.project, course_end=today - datetime.timedelta(days=29), retention_days=30)
    assert retention_sweep(today=today) == []
    assert Image.objects.count() == 3


def test_a_retention_run_failing_half_way_changes_nothing(course, monkeypatch):
    """The failing project is left whole (no snapshot, no purge mark, files restored) and retried next time."""
    world = course[0]
    CoursePolicy.objects.create(project=world.project, course_end=datetime.date(2020, 1, 1), retention_days=30)
    before, files = _state(), _media_files()
    monkeypatch.setattr(deletion, "default_storage", _FailingStorage(3, location=settings.MEDIA_ROOT))
    assert retention_sweep() == []
    assert _state() == before
    assert _media_files() == files


def test_student_downloads_all_their_data(course, client):
    """The zip holds the student's photos, labels, analyses, quiz answers and grade as JSON."""
    world, _classmate, mine, _theirs, _version, criterion = course
    client.force_login(world.student)
    response = client.get(f"/gradebook/{world.project.slug}/my-data.zip")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    photos = sorted(name for name in archive.namelist() if name.startswith("photos/"))
    assert photos == sorted(f"photos/{image.pk}.jpg" for image in mine)
    labels = json.loads(archive.read("labels.json"))
    assert {row["label"] for row in labels} == {"gato", "perro"}
    assert len(json.loads(archive.read("analyses.json"))) == 2
    assert json.loads(archive.read("quiz_answers.json"))[0]["question"] == "overfitting-dropout"
    grade = json.loads(archive.read("grade.json"))
    assert grade["scores"] == {str(criterion.pk): 7.0} and grade["comment"] == "ok"


@pytest.mark.parametrize("role", ["grader", "teacher", "outsider"])
def test_only_students_download_their_data(course, client, role):
    """Teachers, graders and outsiders get a 404: the download is the student's own."""
    world = course[0]
    client.force_login(getattr(world, role))
    assert client.get(f"/gradebook/{world.project.slug}/my-data.zip").status_code == 404


def test_a_grader_cannot_delete_and_the_teacher_must_confirm(course, client):
    """A grader's POST is refused, a wrong confirmation is a 400; the right one deletes and returns to the class."""
    world = course[0]
    url = f"/gradebook/{world.project.slug}/students/alumna/delete/"
    client.force_login(world.grader)
    assert client.post(url, {"confirm": "alumna"}).status_code == 403
    client.force_login(world.teacher)
    assert client.post(url, {"confirm": "alumn"}).status_code == 400
    assert Image.objects.filter(uploader=world.student).count() == 2
    response = client.post(url, {"confirm": "alumna"})
    assert response.status_code == 302 and not Image.objects.filter(uploader=world.student).exists()


def test_the_teacher_is_warned_before_retention(world, client):
    """The project page shows the deletion day to its teacher within the warning days, and to nobody else."""
    from django.utils import timezone

    today = timezone.localdate()
    CoursePolicy.objects.create(project=world.project, course_end=today - datetime.timedelta(days=20), retention_days=30, warn_days=14)
    client.force_login(world.teacher)
    assert b'id="retention-warning"' in client.get(f"/projects/{world.project.slug}/").content
    client.force_login(world.student)
    assert b'id="retention-warning"' not in client.get(f"/projects/{world.project.slug}/").content
    CoursePolicy.objects.filter(project=world.project).update(warn_days=5)
    client.force_login(world.teacher)
    assert b'id="retention-warning"' not in client.get(f"/projects/{world.project.slug}/").content


def test_beat_runs_the_retention_task(course, settings, django_capture_on_commit_callbacks):
    """The beat schedule names the task, and the task runs the sweep."""
    from apps.gradebook.tasks import retention_sweep_task

    world = course[0]
    entry = settings.CELERY_BEAT_SCHEDULE["gradebook-retention-sweep"]
    assert entry["task"] == retention_sweep_task.name
    CoursePolicy.objects.create(project=world.project, course_end=datetime.date(2020, 1, 1), retention_days=0)
    with django_capture_on_commit_callbacks(execute=True):
        assert retention_sweep_task() == [world.project.pk]
    assert not Image.objects.exists() and CoursePolicy.objects.get().purged_at is not None


def test_a_period_beyond_the_calendar_never_deletes_nor_breaks_the_page(world, client):
    """A huge retention period (settable only in the admin) means never: no deletion, no warning, no 500."""
    CoursePolicy.objects.create(project=world.project, course_end=datetime.date(2020, 1, 1), retention_days=2_000_000_000)
    assert retention_sweep() == []
    client.force_login(world.teacher)
    page = client.get(f"/projects/{world.project.slug}/")
    assert page.status_code == 200 and b'id="retention-warning"' not in page.content

"""The label that counts: teacher > import > student majority; ties count as no label."""
import pytest

from apps.accounts import roles
from apps.labeling.models import Label
from apps.labeling.services import label_assign, label_undo
from apps.projects.models import Membership
from apps.uploads.services import image_upload_create
from tests.factories import UserFactory, image_bytes


@pytest.fixture
def image(world):
    return image_upload_create(project=world.project, uploader=world.student, raw=image_bytes(), name="a.jpg")


def _students(world, n):
    users = [UserFactory(role=roles.STUDENT) for _ in range(n)]
    for user in users:
        Membership.objects.create(project=world.project, user=user, role="student")
    return users


def test_student_majority_counts(world, image):
    """Two students say perro, one says gato: perro counts, source student."""
    a, b, c = _students(world, 3)
    label_assign(image=image, author=a, label="perro")
    label_assign(image=image, author=b, label="perro")
    label_assign(image=image, author=c, label="gato")
    image.refresh_from_db()
    assert (image.label, image.label_source) == ("perro", "student")


def test_tie_gives_no_label(world, image):
    """One vote each: no label counts."""
    a, b = _students(world, 2)
    label_assign(image=image, author=a, label="perro")
    label_assign(image=image, author=b, label="gato")
    image.refresh_from_db()
    assert image.label == ""


def test_only_latest_label_of_each_student_counts(world, image):
    """A student who changes their mind votes once, with the newest label."""
    a, b = _students(world, 2)
    label_assign(image=image, author=a, label="gato")
    label_assign(image=image, author=a, label="perro")
    label_assign(image=image, author=b, label="perro")
    image.refresh_from_db()
    assert image.label == "perro"
    assert image.labels.filter(author=a).count() == 2  # history kept, not overwritten


def test_teacher_overrides_majority(world, image):
    """The teacher's label wins over any number of students."""
    for student in _students(world, 3):
        label_assign(image=image, author=student, label="perro")
    row = label_assign(image=image, author=world.teacher, label="gato")
    image.refresh_from_db()
    assert row.source == Label.Source.TEACHER
    assert (image.label, image.label_source) == ("gato", "teacher")


def test_import_label_beats_students_but_not_teacher(world, image):
    """An imported label counts over students; a teacher still overrides it."""
    (a,) = _students(world, 1)
    label_assign(image=image, author=a, label="perro")
    label_assign(image=image, author=world.teacher, label="gato", source=Label.Source.IMPORT)
    image.refresh_from_db()
    assert (image.label, image.label_source) == ("gato", "import")
    label_assign(image=image, author=world.teacher, label="perro")
    image.refresh_from_db()
    assert (image.label, image.label_source) == ("perro", "teacher")


def test_undo_restores_previous_label(world, image):
    """Undo brings back the student's previous label as a new history row."""
    label_assign(image=image, author=world.student, label="gato")
    label_assign(image=image, author=world.student, label="perro")
    label_undo(image=image, author=world.student)
    image.refresh_from_db()
    assert image.label == "gato"
    assert image.labels.count() == 3


def test_unknown_class_and_tag_are_refused(world, image, api_as):
    """A class outside the project or a tag outside its vocabulary is a 400 with a message."""
    world.project.tag_vocabulary = ["interior"]
    world.project.save()
    client = api_as(world.student)
    response = client.post(f"/api/v1/images/{image.pk}/labels/", {"label": "caballo"}, format="json")
    assert response.status_code == 400 and "caballo" in response.json()["detail"]
    response = client.post(f"/api/v1/images/{image.pk}/labels/", {"label": "gato", "tags": ["playa"]}, format="json")
    assert response.status_code == 400 and "playa" in response.json()["detail"]
    response = client.post(f"/api/v1/images/{image.pk}/labels/", {"label": "gato", "tags": ["interior"]}, format="json")
    assert response.status_code == 201
    assert response.json()["counted_label"] == "gato"

"""The access log holds every read of students' data by someone else: gradebook pages and API, and their photos."""
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.gradebook.models import AccessLog
from apps.projects.models import Membership
from apps.uploads.services import image_upload_create
from tests.factories import UserFactory, image_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def photo(world, django_capture_on_commit_callbacks):
    """A student's photo, processed (so it has its thumbnail)."""
    with django_capture_on_commit_callbacks(execute=True):
        image = image_upload_create(project=world.project, uploader=world.student, raw=image_bytes(), name="mia.jpg")
    image.refresh_from_db()
    assert image.thumbnail
    return image


def _entries():
    return list(AccessLog.objects.order_by("id").values_list("viewer__username", "student__username", "what"))


def test_a_grader_reading_the_class_leaves_a_line_per_read(world, photo, api_as, client):
    """The probe's reads: every row through the API, a student's photo file and the class gradebook page."""
    slug = world.project.slug
    assert api_as(world.grader).get(f"/api/v1/projects/{slug}/gradebook/").status_code == 200
    assert api_as(world.grader).get(f"/api/v1/images/{photo.pk}/file/").status_code == 200
    client.force_login(world.grader)
    assert client.get(f"/gradebook/{slug}/").status_code == 200
    assert _entries() == [
        ("evaluador", None, "api"),
        ("evaluador", "alumna", "photo"),
        ("evaluador", None, "gradebook"),
    ]
    client.force_login(world.teacher)
    page = client.get(f"/gradebook/{slug}/access-log/").content.decode()
    for shown in ("Cuaderno de notas por la API", "Foto", "Cuaderno de notas de la clase"):
        assert shown in page


def test_students_reading_their_own_data_are_not_logged(world, photo, api_as, client):
    """The uploader opening her photo, or a student reading her own row and page, leaves nothing."""
    slug = world.project.slug
    api_as(world.student).get(f"/api/v1/projects/{slug}/gradebook/")
    api_as(world.student).get(f"/api/v1/images/{photo.pk}/file/")
    api_as(world.student).get(f"/api/v1/images/{photo.pk}/thumbnail/")
    client.force_login(world.student)
    client.get(f"/gradebook/{slug}/")
    client.get(f"/gradebook/{slug}/students/alumna/")
    assert _entries() == []


def test_photos_are_logged_when_staff_of_the_class_open_them(world, photo, api_as):
    """The teacher's and staff's opening of a student's photo (thumbnail included) is logged; a classmate labeling
    the class's photos is not, nor is a photo the teacher uploaded."""
    classmate = UserFactory(username="companera", role="student")
    Membership.objects.create(project=world.project, user=classmate, role="student")
    teachers_photo = image_upload_create(
        project=world.project, uploader=world.teacher, raw=image_bytes(color=(1, 2, 3)), name="profe.jpg"
    )
    assert api_as(world.teacher).get(f"/api/v1/images/{photo.pk}/thumbnail/").status_code == 200
    assert api_as(world.staff).get(f"/api/v1/images/{photo.pk}/file/").status_code == 200
    assert api_as(classmate).get(f"/api/v1/images/{photo.pk}/file/").status_code == 200
    assert api_as(world.grader).get(f"/api/v1/images/{teachers_photo.pk}/file/").status_code == 200
    assert _entries() == [("profe", "alumna", "photo"), ("admin", "alumna", "photo")]


def test_repeated_reads_within_minutes_are_one_line(world, photo, api_as):
    """Opening a student's photos one after another is one line per viewer and student; later, another."""
    client = api_as(world.grader)
    for _ in range(3):
        client.get(f"/api/v1/images/{photo.pk}/file/")
        client.get(f"/api/v1/projects/{world.project.slug}/gradebook/")
    assert len(_entries()) == 2
    AccessLog.objects.update(created_at=timezone.now() - timedelta(minutes=11))
    client.get(f"/api/v1/images/{photo.pk}/file/")
    assert len(_entries()) == 3

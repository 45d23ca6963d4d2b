"""Projects: creation rules, join codes, members and bulk student accounts."""
import io

import pytest
from django.urls import reverse

from apps.common.exceptions import ApplicationError, PermissionDeniedError
from apps.projects.services import project_create, project_join, students_bulk_create


def test_only_teachers_create_projects(world):
    """A student cannot create a project."""
    with pytest.raises(PermissionDeniedError):
        project_create(owner=world.student, name="X", classes=["a", "b"])


def test_project_needs_two_classes(world):
    """One class (or duplicates) is refused with a message."""
    with pytest.raises(ApplicationError):
        project_create(owner=world.teacher, name="X", classes=["gato", "gato"])


def test_join_with_code(world):
    """A student joins with the code (case-insensitive) and becomes a student member."""
    project = project_join(user=world.outsider, join_code=world.project.join_code.lower())
    assert project.memberships.get(user=world.outsider).role == "student"


def test_bulk_students_from_csv(world, client):
    """The CSV creates accounts with generated passwords that work, and reports bad lines."""
    csv_file = io.BytesIO(b"username,first_name,password\nana,Ana,\nluis,Luis,secreto-123\n,Nadie,\n")
    report = students_bulk_create(project=world.project, actor=world.teacher, csv_file=csv_file)
    created = dict(report["created"])
    assert set(created) == {"ana", "luis"} and created["luis"] == "secreto-123"
    assert report["errors"] and report["errors"][0][0] == 4
    assert client.login(username="ana", password=created["ana"])
    assert world.project.memberships.filter(user__username="ana", role="student").exists()


def test_bulk_students_refused_for_students(world):
    with pytest.raises(PermissionDeniedError):
        students_bulk_create(project=world.project, actor=world.student, csv_file=io.BytesIO(b"username\nx\n"))


def test_home_lists_each_project_once_with_its_image_count_and_role(world, client):
    """The teacher's home counts a project's images once (not once per member) and shows the role;
    more projects cost no more queries (roles are read with the list)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.uploads.services import image_upload_create
    from tests.factories import ProjectFactory, image_bytes

    for i, color in enumerate([(200, 0, 0), (0, 200, 0), (0, 0, 200)]):
        image_upload_create(project=world.project, uploader=world.student, raw=image_bytes(color=color), name=f"{i}.jpg")
    client.force_login(world.student)
    with CaptureQueriesContext(connection) as one:
        page = client.get(reverse("home")).content.decode()
    assert "3 imágenes" in page and ">estudiante</span>" in page and ">student<" not in page  # the role in words
    for _ in range(3):
        ProjectFactory(members=[(world.student, "student")])
    with CaptureQueriesContext(connection) as four:
        page = client.get(reverse("home")).content.decode()
    assert page.count("0 imágenes") == 3 and "3 imágenes" in page
    assert len(four.captured_queries) == len(one.captured_queries)
    client.force_login(world.teacher)
    assert "3 imágenes" in client.get(reverse("home")).content.decode()


def test_the_class_page_links_the_live_camera(world, client):
    """The live page is reached from the class page, not only from the browser page."""
    client.force_login(world.student)
    page = client.get(reverse("project_detail", args=[world.project.slug])).content.decode()
    assert f'href="/projects/{world.project.slug}/live/" id="live-link"' in page and "Cámara en directo" in page

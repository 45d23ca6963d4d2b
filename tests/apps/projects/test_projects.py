"""Projects: creation rules, join codes, members and bulk student accounts."""
import io

import pytest

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

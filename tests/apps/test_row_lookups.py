"""The hand-written lookups of the analysis API's hot path return real model instances."""
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PILImage
from rest_framework.authtoken.models import Token

from apps.accounts.authentication import TokenAuthentication
from apps.accounts.models import User
from apps.common.exceptions import NotFoundError
from apps.inference.loader import NO_ACTIVE_MODEL
from apps.inference.selectors import analysis_project_get
from apps.projects.models import Project


def test_token_user_has_python_values_and_reads_dates_on_use(world):
    """Booleans come back as bool (not SQLite's 0/1); date columns are deferred and load when read."""
    token = Token.objects.create(user=world.staff)
    user, auth = TokenAuthentication().authenticate_credentials(token.key)
    stored = User.objects.get(pk=world.staff.pk)
    assert auth.key == token.key and user.pk == stored.pk and user.username == stored.username
    assert user.is_active is True and user.is_superuser is True and user.is_staff is True
    assert user.get_deferred_fields() == {"last_login", "date_joined"}
    assert user.date_joined == stored.date_joined


def test_analysis_project_carries_role_and_active_version(world):
    """The project comes with the viewer's role and no active version; JSON columns load when read."""
    target = analysis_project_get(user=world.student, slug=world.project.slug)
    project = target.project
    assert isinstance(project, Project) and project.pk == world.project.pk and project.owner_id == world.teacher.pk
    assert target.role == "student" and target.active_version_id is None and target.active_version_dir is None
    assert not hasattr(project, "viewer_role") and not hasattr(project, "active_version_id")  # nothing pinned on the row
    assert analysis_project_get(user=world.grader, slug=world.project.slug).role == "grader"
    assert analysis_project_get(user=world.teacher, slug=world.project.slug).role == "teacher"
    assert analysis_project_get(user=world.staff, slug=world.project.slug).role == "staff"
    assert "classes" in project.get_deferred_fields() and project.classes == Project.objects.get(pk=project.pk).classes
    with pytest.raises(NotFoundError):
        analysis_project_get(user=world.outsider, slug=world.project.slug)


def test_analyze_answers_json_whatever_the_accept_header(world, api_as):
    """The analysis endpoint only speaks JSON: a browser's Accept header still gets JSON, errors included."""
    out = io.BytesIO()
    PILImage.new("RGB", (40, 30), (200, 30, 30)).save(out, format="PNG")
    response = api_as(world.student).post(
        "/api/v1/analyze/", {"project": world.project.slug, "file": SimpleUploadedFile("rojo.png", out.getvalue())},
        format="multipart", HTTP_ACCEPT="text/html",
    )
    assert response.status_code == 409 and response["Content-Type"] == "application/json"
    assert response.json()["detail"] == str(NO_ACTIVE_MODEL)

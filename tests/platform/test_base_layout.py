"""The base layout: vendored assets, language selector and navigation that follows the user's role."""

import pytest
from django.urls import reverse

from apps.accounts import roles
from tests.factories import ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


def _page(client, user=None, url="/"):
    if user is not None:
        client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_assets_come_from_the_vendored_npm_packages(client):
    """Bootstrap's CSS and JS are served locally under static/vendor/, never from a CDN."""
    html = _page(client, url="/accounts/login/")
    assert "/static/vendor/bootstrap/css/bootstrap.min.css" in html
    assert "/static/vendor/bootstrap/js/bootstrap.bundle.min.js" in html
    assert "cdn" not in html.lower()


def test_anonymous_page_has_language_selector_and_no_navigation(client):
    """Visitors can switch language; the role navigation only appears after logging in."""
    html = _page(client, url="/accounts/login/")
    assert 'action="/i18n/setlang/"' in html
    assert 'value="es"' in html and 'value="en"' in html
    assert reverse("history_mine") not in html


def test_student_navigation(client):
    """A student sees upload and history but not the class activity of graders and teachers."""
    html = _page(client, UserFactory(role=roles.STUDENT))
    assert f'href="{reverse("image_upload")}"' in html
    assert f'href="{reverse("history_mine")}"' in html
    assert f'href="{reverse("history_activity")}"' not in html


def test_grader_navigation(client):
    """A grader reviews activity and does not upload."""
    html = _page(client, UserFactory(role=roles.GRADER))
    assert f'href="{reverse("history_activity")}"' in html
    assert f'href="{reverse("image_upload")}"' not in html


def test_teacher_navigation(client):
    """A teacher uploads, reviews activity and can create projects."""
    html = _page(client, UserFactory(role=roles.TEACHER))
    assert f'href="{reverse("image_upload")}"' in html
    assert f'href="{reverse("history_activity")}"' in html
    assert f'href="{reverse("project_create")}"' in html


def test_project_pages_link_labeling_and_teacher_training(client):
    """On a project's page the navigation links its labeling page, and for its teacher its training page."""
    teacher = UserFactory(role=roles.TEACHER)
    project = ProjectFactory(owner=teacher)
    html = _page(client, teacher, url=reverse("project_detail", args=[project.slug]))
    assert f'href="{reverse("labeling", args=[project.slug])}"' in html
    assert f'href="{reverse("training", args=[project.slug])}"' in html

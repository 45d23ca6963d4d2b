"""Teachers invite usernames; an existing account joins only by accepting, and nobody learns which names exist."""
import io

import pytest
from django.urls import reverse

from apps.accounts import roles
from apps.projects.models import Invitation, Membership
from apps.projects.services import students_bulk_create
from tests.factories import UserFactory


def _invite(client, project, username, role="grader"):
    return client.post(reverse("project_detail", args=[project.slug]), {"username": username, "role": role}, follow=True)


def _messages(response):
    return [str(m) for m in response.context["messages"]]


@pytest.mark.django_db
def test_same_answer_whether_or_not_the_username_exists(world, client):
    """Inviting an existing and a made-up name gives the same message: the form reveals no usernames."""
    client.force_login(world.teacher)
    existing = _messages(_invite(client, world.project, world.outsider.username))
    missing = _messages(_invite(client, world.project, "nadie-se-llama-asi"))
    assert len(existing) == len(missing) == 1
    assert existing[0].replace(world.outsider.username, "X") == missing[0].replace("nadie-se-llama-asi", "X")


@pytest.mark.django_db
def test_invitation_changes_nothing_until_accepted(world, client):
    """The invited account is not a member and keeps its global role until it accepts on its home page."""
    client.force_login(world.teacher)
    _invite(client, world.project, world.outsider.username, role="grader")
    assert not Membership.objects.filter(project=world.project, user=world.outsider).exists()
    world.outsider.refresh_from_db()
    assert world.outsider.role == roles.STUDENT

    client.force_login(world.outsider)
    home = client.get(reverse("home")).content.decode()
    invitation = Invitation.objects.get(project=world.project, username=world.outsider.username)
    assert reverse("invitation_accept", args=[invitation.pk]) in home
    response = client.post(reverse("invitation_accept", args=[invitation.pk]))
    assert response.status_code == 302
    assert Membership.objects.get(project=world.project, user=world.outsider).role == "grader"
    world.outsider.__dict__.pop("role", None)  # cached_property
    assert world.outsider.role == roles.STUDENT  # the global role changes only in the admin
    assert not Invitation.objects.exists()


@pytest.mark.django_db
def test_invitation_can_be_declined_and_is_private(world, client):
    """Only the invited account can answer an invitation; declining removes it without joining."""
    client.force_login(world.teacher)
    _invite(client, world.project, world.outsider.username, role="student")
    invitation = Invitation.objects.get()
    client.force_login(world.grader)  # someone else
    assert client.post(reverse("invitation_accept", args=[invitation.pk])).status_code == 404
    assert client.get(reverse("invitation_accept", args=[invitation.pk])).status_code == 405
    client.force_login(world.outsider)
    assert client.post(reverse("invitation_decline", args=[invitation.pk])).status_code == 302
    assert not Invitation.objects.exists()
    assert not Membership.objects.filter(project=world.project, user=world.outsider).exists()


@pytest.mark.django_db
def test_only_the_teacher_invites(world, client):
    """A student posting the member form gets a 404 and no invitation is stored."""
    client.force_login(world.student)
    response = client.post(reverse("project_detail", args=[world.project.slug]), {"username": "x", "role": "grader"})
    assert response.status_code == 404
    assert not Invitation.objects.exists()


@pytest.mark.django_db
def test_csv_never_adds_an_existing_account(world):
    """A CSV line naming an existing account invites it instead of adding it; new names become student accounts."""
    other_teacher = UserFactory(username="otra-profe", role=roles.TEACHER)
    csv_file = io.BytesIO(f"username\n{other_teacher.username}\nnueva\n".encode())
    report = students_bulk_create(project=world.project, actor=world.teacher, csv_file=csv_file)
    assert [u for u, _p in report["created"]] == ["nueva"]
    assert report["invited"] == [other_teacher.username]
    assert not Membership.objects.filter(project=world.project, user=other_teacher).exists()
    other_teacher.refresh_from_db()
    other_teacher.__dict__.pop("role", None)  # cached_property
    assert other_teacher.role == roles.TEACHER
    assert Invitation.objects.get(username=other_teacher.username).role == "student"

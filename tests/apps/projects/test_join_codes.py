"""Join codes: guessing is throttled per user and per address, the teacher rotates a code and may give it a last day."""
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import override

from apps.projects.models import Membership
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

JOIN = "/projects/join/"


@pytest.fixture
def rates(settings):
    """Join-code rates as in production, with an empty throttle cache."""
    settings.RIIM_THROTTLE_RATES = {**settings.RIIM_THROTTLE_RATES, "join_code": "10/min", "join_code_address": "100/min"}
    cache.clear()
    yield settings
    cache.clear()


def _as(user, address="10.0.0.1"):
    client = Client(REMOTE_ADDR=address)
    client.force_login(user)
    return client


def _code_url(world):
    return f"/projects/{world.project.slug}/join-code/"


def test_guessing_codes_is_throttled_per_user(world, rates):
    """The eleventh attempt in a minute is a 429 with Retry-After and says when to try again; others still join."""
    client = _as(world.outsider)
    statuses = [client.post(JOIN, {"join_code": f"ZZZZZZ{i:02d}"}).status_code for i in range(11)]
    assert statuses == [400] * 10 + [429]
    refused = client.post(JOIN, {"join_code": world.project.join_code})  # even the right code, until the minute ends
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 60
    assert "1 minuto" in refused.content.decode()
    assert not Membership.objects.filter(user=world.outsider).exists()
    classmate = UserFactory(username="companera", role="student")
    assert _as(classmate).post(JOIN, {"join_code": world.project.join_code}).status_code == 302


def test_guessing_codes_from_many_accounts_is_throttled_per_address(world, rates):
    """Accounts sharing an address share a budget wide enough for a class, so one address cannot try without end."""
    rates.RIIM_THROTTLE_RATES = {**rates.RIIM_THROTTLE_RATES, "join_code_address": "30/min"}
    statuses = [
        _as(UserFactory(username=f"s{i}", role="student")).post(JOIN, {"join_code": world.project.join_code}).status_code
        for i in range(31)
    ]
    assert statuses == [302] * 30 + [429]
    elsewhere = _as(UserFactory(username="casa", role="student"), address="10.0.0.2")
    assert elsewhere.post(JOIN, {"join_code": world.project.join_code}).status_code == 302


def test_the_teacher_rotates_the_code(world):
    """A new code replaces the old one at once: the old code joins nobody, the new one does."""
    old = world.project.join_code
    response = _as(world.teacher).post(_code_url(world), {"action": "rotate", "expires_on": ""})
    assert response.status_code == 302
    world.project.refresh_from_db()
    assert world.project.join_code != old and len(world.project.join_code) == 8
    student = _as(world.outsider)
    refused = student.post(JOIN, {"join_code": old})
    assert refused.status_code == 400 and "no corresponde a ningún proyecto" in refused.content.decode()
    assert student.post(JOIN, {"join_code": world.project.join_code.lower()}).status_code == 302
    page = _as(world.teacher).get(f"/projects/{world.project.slug}/")
    assert world.project.join_code in page.content.decode() and b'id="join-code-form"' in page.content


@pytest.mark.parametrize("role", ["student", "grader", "outsider"])
def test_only_the_teacher_changes_the_code(world, role):
    """Students, graders and outsiders get a 404 and the code stays; they never see the code's form."""
    old = world.project.join_code
    client = _as(getattr(world, role))
    assert client.post(_code_url(world), {"action": "rotate", "expires_on": ""}).status_code == 404
    world.project.refresh_from_db()
    assert world.project.join_code == old
    if role != "outsider":
        page = client.get(f"/projects/{world.project.slug}/")
        assert old not in page.content.decode() and b'id="join-code-form"' not in page.content


def test_an_expired_code_is_refused_with_its_date(world):
    """After its last day a code is refused with a message that says so (the date in the reader's language)."""
    today = timezone.localdate()
    response = _as(world.teacher).post(_code_url(world), {"action": "expiry", "expires_on": today.isoformat()})
    assert response.status_code == 302
    world.project.refresh_from_db()
    assert world.project.join_code_expires_on == today
    world.project.join_code_expires_on = today - timedelta(days=1)
    world.project.save()
    refused = _as(world.outsider).post(JOIN, {"join_code": world.project.join_code})
    with override("es"):
        shown = date_format(today - timedelta(days=1), "DATE_FORMAT")
    assert refused.status_code == 400 and "caducó" in refused.content.decode() and shown in refused.content.decode()
    assert not Membership.objects.filter(user=world.outsider).exists()
    page = _as(world.teacher).get(f"/projects/{world.project.slug}/")
    assert "Caducado" in page.content.decode()


def test_the_last_day_cannot_be_in_the_past(world):
    """Setting a past last day, or rotating with one, is a 400 that names the problem and changes nothing."""
    old = world.project.join_code
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    for action in ("expiry", "rotate"):
        response = _as(world.teacher).post(_code_url(world), {"action": action, "expires_on": yesterday})
        assert response.status_code == 400 and "no puede ser anterior a hoy" in response.content.decode()
    world.project.refresh_from_db()
    assert world.project.join_code == old and world.project.join_code_expires_on is None

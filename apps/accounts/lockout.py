"""Lock an account against password guessing: per username, and per username and address.

A classroom shares one public address, so an address alone never locks anyone out: a student
who mistypes, or one who tries classmates' names, only locks the names tried. Failures count
within a sliding window (``RIIM_LOGIN_LOCKOUT_WINDOW``); a name is locked while it has
``RIIM_LOGIN_LOCKOUT_FAILURES`` failures from one address, or ``RIIM_LOGIN_LOCKOUT_USER_FAILURES``
from anywhere (a guess spread over many addresses), and unlocks when the oldest of them ages out.
"""
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import LoginFailure

LOCKED_OUT = _("Too many failed logins for this username. Try again in %(minutes)d minutes.")


def client_address(request) -> str | None:
    """The address the request came from (the server's peer: a proxy must be trusted explicitly)."""
    return (getattr(request, "META", None) or {}).get("REMOTE_ADDR") or None


def _normalise(username) -> str:
    return str(username or "").strip().lower()[:150]


def _locked_until(failures, limit: int, window: timedelta):
    """When the newest ``limit`` failures of a query stop counting, or None if there are fewer."""
    times = list(failures.order_by("-created_at").values_list("created_at", flat=True)[:limit])
    return times[-1] + window if len(times) >= limit else None


def login_lockout_seconds(*, username, address) -> int:
    """Return how many seconds the username stays locked for logins from this address (0: not locked)."""
    username = _normalise(username)
    if not username:
        return 0
    now = timezone.now()
    window = timedelta(seconds=settings.RIIM_LOGIN_LOCKOUT_WINDOW)
    recent = LoginFailure.objects.filter(username=username, created_at__gt=now - window)
    ends = [
        _locked_until(recent, settings.RIIM_LOGIN_LOCKOUT_USER_FAILURES, window),
        _locked_until(recent.filter(address=address), settings.RIIM_LOGIN_LOCKOUT_FAILURES, window),
    ]
    latest = max((end for end in ends if end is not None), default=None)
    return max(1, int((latest - now).total_seconds()) + 1) if latest and latest > now else 0


def login_locked_message(seconds: int) -> str:
    return str(LOCKED_OUT % {"minutes": max(1, -(-seconds // 60))})


def login_failure_record(*, username, address) -> None:
    """Count one failed login; failures older than the window are dropped on the way."""
    username = _normalise(username)
    if not username:
        return
    cutoff = timezone.now() - timedelta(seconds=settings.RIIM_LOGIN_LOCKOUT_WINDOW)
    LoginFailure.objects.filter(username=username, created_at__lte=cutoff).delete()
    LoginFailure.objects.create(username=username, address=address)


def login_failures_clear(*, username) -> None:
    """Forget a username's failures once its owner logged in."""
    LoginFailure.objects.filter(username=_normalise(username)).delete()


def on_login_failed(sender, credentials, request=None, **kwargs):
    """``user_login_failed`` receiver: count the failure, unless the name was refused for being locked."""
    if request is not None and getattr(request, "riim_login_locked", False):
        return  # attempts while locked do not extend the lockout
    login_failure_record(username=credentials.get("username"), address=client_address(request))


def on_logged_in(sender, request, user, **kwargs):
    login_failures_clear(username=user.get_username())

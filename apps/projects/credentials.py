"""The credentials a teacher is handed with accounts just created or reset: a printable sheet and a CSV.

Both are built in the response that shows the passwords, the only time they exist in clear: the sheet
is a section of the page that printing keeps alone (``static/css/credentials.css``), the CSV a ``data:``
link the browser saves without asking the server again.
"""
from dataclasses import dataclass
from urllib.parse import quote

from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.translation import gettext as _

from apps.common.csv_writer import csv_export_text


@dataclass(frozen=True)
class CredentialCard:
    """One student's card on the sheet (and row of the CSV)."""

    username: str
    password: str
    name: str


@dataclass(frozen=True)
class CredentialsSheet:
    cards: list[CredentialCard]
    class_name: str
    join_code: str
    login_url: str
    csv_filename: str
    csv_href: str


def credentials_sheet(*, request, project, credentials) -> CredentialsSheet:
    """Return the sheet and CSV of ``credentials``: (username, password) pairs or objects with both attributes."""
    pairs = [(c.username, c.password) if hasattr(c, "username") else tuple(c) for c in credentials]
    names = {
        user.username: user.get_full_name()
        for user in get_user_model().objects.filter(username__in=[username for username, _password in pairs])
    }
    cards = [CredentialCard(username=u, password=p, name=names.get(u, "")) for u, p in pairs]
    login_url = request.build_absolute_uri(reverse("login"))
    header = [_("Username"), _("Password"), _("Name"), _("Class"), _("Join code"), _("Address")]
    rows = [[card.username, card.password, card.name, project.name, project.join_code, login_url] for card in cards]
    text = csv_export_text(header=header, rows=rows)
    return CredentialsSheet(
        cards=cards,
        class_name=project.name,
        join_code=project.join_code,
        login_url=login_url,
        csv_filename=f"{_('credentials')}-{project.slug}.csv",
        csv_href="data:text/csv;charset=utf-8," + quote(text, safe=""),
    )

"""Generated passwords are easy to copy by hand, and the page shows them where the teacher looks first."""
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.accounts.passwords import readable_password

LOOK_ALIKES = set("O0o1lI")


def test_generated_passwords_have_no_look_alike_characters():
    """Hundreds of passwords never contain O, 0, o, 1, l or I, and are not repeated."""
    passwords = [readable_password() for _ in range(500)]
    assert not LOOK_ALIKES & set("".join(passwords))
    assert len(set(passwords)) == 500 and all(len(p) == 10 for p in passwords)


@pytest.mark.django_db
def test_created_accounts_are_listed_at_the_top_of_the_page(world, client):
    """The once-only password list comes before the project's title, and its passwords are readable ones."""
    client.force_login(world.teacher)
    upload = SimpleUploadedFile("alumnos.csv", b"username\nnueva1\nnueva2\n", content_type="text/csv")
    html = client.post(f"/projects/{world.project.slug}/", {"csv_file": upload}).content.decode()
    assert html.index("created-accounts") < html.index('<h1 class="h3">')
    passwords = re.findall(r'<code class="fs-6">([^<]+)</code>', html)
    assert len(passwords) == 2 and not LOOK_ALIKES & set("".join(passwords))

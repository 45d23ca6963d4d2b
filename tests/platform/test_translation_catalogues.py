"""Both Spanish catalogues (django and djangojs) are complete, and the scripts' strings reach the browser."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import polib
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SPANISH = REPO_ROOT / "locale" / "es" / "LC_MESSAGES"
# gettext("...") / gettext('...') calls with a literal in the project's own scripts.
GETTEXT_CALL = re.compile(r"""\bgettext\(\s*(["'])((?:\\.|(?!\1).)*)\1\s*\)""")


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="gettext's msgfmt is not installed")
@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_msgfmt_counts_no_untranslated_or_fuzzy_message(domain):
    """msgfmt --statistics reports only translated messages for the Spanish catalogue."""
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(SPANISH / f"{domain}.po")],
        capture_output=True, text=True, check=True, env={"LC_ALL": "C"},
    )
    report = result.stderr.strip().splitlines()[-1]
    assert re.fullmatch(r"\d+ translated messages\.", report), result.stderr


def _script_msgids() -> set[str]:
    found = set()
    for script in (REPO_ROOT / "static" / "js").glob("*.js"):
        for _quote, text in GETTEXT_CALL.findall(script.read_text()):
            found.add(text.replace("\\'", "'").replace('\\"', '"'))
    return found


def test_every_script_string_is_in_the_djangojs_catalogue():
    """A gettext() added to static/js without refreshing djangojs.po would reach Spanish readers in English."""
    catalogue = {entry.msgid for entry in polib.pofile(str(SPANISH / "djangojs.po"))}
    missing = sorted(_script_msgids() - catalogue)
    assert _script_msgids(), "no gettext() call found in static/js"
    assert not missing, f"not in djangojs.po (run make messages): {missing}"


@pytest.mark.django_db
def test_javascript_catalogue_is_served_in_the_readers_language(client):
    """/jsi18n/ answers the Spanish translations, and every page loads it before its own scripts."""
    client.cookies["django_language"] = "es"
    script = client.get("/jsi18n/").content.decode()
    assert all(json.dumps(text)[1:-1] in script for text in ("validación cruzada", "más detalles"))
    html = client.get("/accounts/login/").content.decode()
    assert html.index('src="/jsi18n/"') < html.index("js/format.js")


def test_make_messages_also_refreshes_the_scripts_catalogue():
    """make messages runs makemessages for the djangojs domain too."""
    makefile = (REPO_ROOT / "Makefile").read_text()
    target = makefile.split("\nmessages:", 1)[1].split("\n\n", 1)[0]
    assert "makemessages -d djangojs" in target

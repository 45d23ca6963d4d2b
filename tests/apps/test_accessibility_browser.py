"""axe-core in headless Chromium: every page each role reaches has no serious or critical accessibility violation."""
import json
from pathlib import Path

import pytest

from tests.apps.test_spanish_pages import _pages
from tests.browser import BROWSER_MARKS, log_in

pytestmark = BROWSER_MARKS

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# Run axe on the page as it is after its scripts ran; only what blocks or seriously hinders someone counts.
RUN_AXE = """
const done = arguments[arguments.length - 1];
axe.run(document, { resultTypes: ["violations"] }).then((r) => done(JSON.stringify(
  r.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ") + " " + JSON.stringify((n.any[0] || {}).data || "")) }))
))).catch((e) => done(JSON.stringify([{ id: "axe-error", impact: "critical", nodes: [String(e)] }])));
"""


@pytest.mark.skipif(not AXE.exists(), reason="axe-core is not installed (npm ci)")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ["student", "teacher", "grader"])
def test_pages_have_no_serious_accessibility_violation(world, live_server, chromium, role):
    """axe-core finds 0 serious or critical violations on each page of the role, at a laptop's width."""
    script = AXE.read_text()
    log_in(chromium, live_server, getattr(world, role))
    chromium.set_window_size(1366, 768)
    found = {}
    for url in _pages(world)[role]:
        chromium.get(live_server.url + url)
        chromium.execute_script(script)
        violations = json.loads(chromium.execute_async_script(RUN_AXE))
        if violations:
            found[url] = violations
    assert not found, json.dumps(found, indent=1, ensure_ascii=False)

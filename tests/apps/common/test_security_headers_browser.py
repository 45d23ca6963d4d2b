"""Every page of the student and teacher loads in headless Chromium without a Content-Security-Policy violation.

The pages are the ones the crawl of test_security_headers finds (the lab, analysis and in-browser
pages included); the in-browser page must also start onnxruntime-web, which compiles WebAssembly
under the policy's 'wasm-unsafe-eval'.
"""
import pytest

from tests.apps.common.test_security_headers import crawl
from tests.browser import BROWSER_MARKS, log_in

pytestmark = BROWSER_MARKS

ORT_READY = """
const done = arguments[arguments.length - 1];
const wait = () => window.riimBrowser ? window.riimBrowser.ready.then(() => done("ok"), (e) => done("error: " + e.message)) : setTimeout(wait, 50);
wait();
"""
# A violation Chromium reports in the console ("Refused to execute inline script because it violates
# the following Content Security Policy directive...").
VIOLATION_MARKERS = ("Content Security Policy", "Refused to")


def violations(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if any(m in entry["message"] for m in VIOLATION_MARKERS)]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ["student", "teacher"])
def test_pages_load_without_policy_violations(furnished, client, live_server, chromium, role):
    """No page's console reports a blocked script, handler, style or WebAssembly compile."""
    user = getattr(furnished, role)
    client.force_login(user)
    slug = furnished.project.slug
    pages = [path for path, _found in crawl(client, ["/", f"/projects/{slug}/", "/lab/", "/history/"]).items()]
    assert f"/projects/{slug}/browser/" in pages and any(p.startswith("/images/") for p in pages), pages

    log_in(chromium, live_server, user)
    chromium.get_log("browser")  # drop the login page's entries
    found = {}
    for path in pages:
        chromium.get(live_server.url + path)
        if path == f"/projects/{slug}/browser/":
            assert chromium.execute_async_script(ORT_READY) == "ok", chromium.get_log("browser")
        found[path] = violations(chromium)
    assert not {path: messages for path, messages in found.items() if messages}

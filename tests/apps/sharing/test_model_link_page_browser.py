"""The public model link on a phone: the teacher's panel stays readable at 390 px and its copy button works."""
import pytest
from selenium.webdriver.support.ui import WebDriverWait

from apps.sharing.models import ModelLink
from tests.browser import BROWSER_MARKS, log_in, screenshot

pytestmark = BROWSER_MARKS


@pytest.mark.django_db(transaction=True)
def test_the_link_panel_reads_on_a_phone(world, live_server, chromium):
    """At 390 px the page does not widen, the link and its buttons are visible, and «Copiar» says it copied."""
    link = ModelLink.objects.create(project=world.project, created_by=world.teacher)
    log_in(chromium, live_server, world.teacher)
    chromium.set_window_size(390, 844)
    chromium.get(f"{live_server.url}/projects/{world.project.slug}/#model-link")
    assert "Enlace público del modelo" in chromium.page_source
    page_width = chromium.execute_script("return document.documentElement.scrollWidth")
    assert page_width <= 390, page_width
    field = chromium.find_element("id", "model-link-url")
    assert field.is_displayed() and field.get_attribute("value").endswith(f"/m/{link.token}/")
    for button in ("model-link-replace", "model-link-withdraw"):
        assert chromium.find_element("id", button).is_displayed()
    copy = chromium.find_element("css selector", "button[data-copy='model-link-url']")
    chromium.execute_script("arguments[0].scrollIntoView({block: 'center'})", copy)
    # Every text the button shows, recorded as it changes: «Copiado» lasts a moment, a busy machine may be slower.
    chromium.execute_script("""const button = arguments[0]; window.seen = [];
        new MutationObserver(() => window.seen.push(button.textContent.trim()))
          .observe(button, {childList: true, characterData: true, subtree: true});""", copy)
    copy.click()
    WebDriverWait(chromium, 10).until(lambda driver: "Copiado" in driver.execute_script("return window.seen"))
    screenshot(chromium, "model-link-panel-390")
    violations = [e for e in chromium.get_log("browser") if "Content Security Policy" in e.get("message", "")]
    assert not violations, violations


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ["teacher", "student"])
def test_the_shared_link_panel_has_no_serious_accessibility_violation(world, live_server, chromium, role):
    """axe-core on the project page with the link shared (the teacher's panel, the student's with the Scratch key)."""
    import json

    from tests.apps.test_accessibility_browser import AXE, RUN_AXE

    ModelLink.objects.create(project=world.project, created_by=world.teacher)
    log_in(chromium, live_server, getattr(world, role))
    chromium.get(f"{live_server.url}/projects/{world.project.slug}/")
    assert chromium.find_elements("id", "scratch-key" if role == "student" else "scratch-settings")
    chromium.execute_script(AXE.read_text())
    violations = json.loads(chromium.execute_async_script(RUN_AXE))
    assert not violations, json.dumps(violations, indent=1, ensure_ascii=False)

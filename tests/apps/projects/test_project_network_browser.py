"""The network page as a teacher sees it on a phone, in Spanish: the measured table must stay readable."""
import pytest

from tests.browser import BROWSER_MARKS, log_in, screenshot

pytestmark = BROWSER_MARKS


@pytest.mark.django_db(transaction=True)
def test_the_network_page_reads_on_a_phone(world, live_server, chromium):
    """At 390 px the table scrolls inside its box instead of widening the page, and the switch is reachable."""
    log_in(chromium, live_server, world.teacher)
    chromium.set_window_size(390, 844)
    chromium.get(f"{live_server.url}/projects/{world.project.slug}/network/")
    assert "La red que mira las fotos" in chromium.page_source
    page_width = chromium.execute_script("return document.documentElement.scrollWidth")
    assert page_width <= 390, page_width
    assert chromium.find_element("id", "network-form").is_displayed()
    screenshot(chromium, "network-page-390")

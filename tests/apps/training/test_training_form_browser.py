"""In Chromium: choosing «Rápido» on the training form leaves only the settings a quick run reads."""
import pytest

from ml.quick import QUICK_CONFIG_FIELDS
from tests.browser import BROWSER_MARKS, log_in, screenshot

pytestmark = BROWSER_MARKS

VISIBLE_FIELDS = """
return [...new Set([...document.getElementById("training-form").elements]
  .filter((el) => el.name && el.name !== "csrfmiddlewaretoken" && el.closest("fieldset, .mb-3").offsetParent !== null)
  .map((el) => el.name))];
"""


@pytest.mark.django_db(transaction=True)
def test_quick_mode_shows_only_what_applies(world, live_server, chromium):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    log_in(chromium, live_server, world.teacher)
    chromium.set_window_size(1366, 900)
    chromium.get(f"{live_server.url}/projects/{world.project.slug}/training/")
    mode = Select(chromium.find_element(By.NAME, "mode"))
    mode.select_by_value("full")
    every = set(chromium.execute_script(VISIBLE_FIELDS))
    assert {"epochs", "fine_tune_epochs", "dropout", "prune"} <= every
    mode.select_by_value("quick")
    shown = set(chromium.execute_script(VISIBLE_FIELDS))
    assert shown == every & {"mode", "seed", *QUICK_CONFIG_FIELDS} and "epochs" not in shown
    assert chromium.find_element(By.ID, "quick-settings-note").is_displayed()
    screenshot(chromium, "training-form-quick-1366", 1366, 900)
    screenshot(chromium, "training-form-quick-390", 390, 844)
    mode.select_by_value("full")
    assert set(chromium.execute_script(VISIBLE_FIELDS)) == every

"""Headless Chromium for the browser tests: Debian's chromium and chromedriver, no downloads."""
import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER_BIN", shutil.which("chromedriver") or "/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,1000",
)

# Put on a module as ``pytestmark = BROWSER_MARKS``.
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
        reason="chromium and chromedriver are not installed (apt-get install -y chromium chromium-driver)",
    ),
]


def start_chromium():
    """Return a headless Chromium driver that keeps the page's console log and waits up to 2 min for scripts."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(120)
    return driver


def log_in(driver, live_server, user, language="es"):
    """Give the browser the session of ``user`` (no password typing) and the interface language."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    driver.get(live_server.url + "/accounts/login/")
    driver.delete_all_cookies()
    driver.add_cookie(
        {"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value, "path": "/"}
    )
    driver.add_cookie({"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "path": "/"})


# WCAG contrast ratio between an element's text colour and the first opaque background behind it.
CONTRAST_RATIO = """
const el = arguments[0];
const rgb = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
const lum = ([r, g, b]) => {
  const c = [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
  return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
};
let node = el, bg = null;
while (node && node.nodeType === 1) {
  const c = rgb(getComputedStyle(node).backgroundColor);
  if (c.length >= 3 && (c.length === 3 || c[3] > 0.5)) { bg = c; break; }
  node = node.parentElement;
}
bg = bg || [255, 255, 255];
const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(bg)].sort((x, y) => y - x);
return (a + 0.05) / (b + 0.05);
"""


def contrast_ratio(driver, element) -> float:
    """Return the WCAG contrast ratio of an element's text against its background."""
    return float(driver.execute_script(CONTRAST_RATIO, element))


ARTIFACTS = Path(os.environ.get("RIIM_TEST_ARTIFACTS", Path(__file__).resolve().parents[1] / "var" / "test-artifacts"))


def screenshot(driver, name: str, width: int | None = None, height: int | None = None) -> Path:
    """Save the page as var/test-artifacts/<name>.png (optionally at a phone's window size) for people to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    if width and height:
        driver.set_window_size(width, height)
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def allow_downloads(driver, folder: Path) -> None:
    """Let the headless browser save the files it downloads into ``folder`` (it refuses them by default)."""
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(folder)})


def downloaded_file(driver, folder: Path, name: str, seconds: int = 120) -> Path:
    """Wait until the browser has finished writing ``folder/name`` (no partial .crdownload left) and return it."""
    from selenium.webdriver.support.ui import WebDriverWait

    path = Path(folder) / name

    def finished(_driver):
        return path.exists() and not any(Path(folder).glob("*.crdownload")) and path

    return WebDriverWait(driver, seconds, poll_frequency=0.2).until(finished)

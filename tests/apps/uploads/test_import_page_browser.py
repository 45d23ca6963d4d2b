"""The import and moderation pages in headless Chromium: a teacher imports a zip and sees the summary."""
import io
import zipfile

import pytest

from tests.browser import BROWSER_MARKS, log_in, screenshot
from tests.factories import image_bytes

pytestmark = BROWSER_MARKS


def _kaggle_zip(path):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for i in range(3):
            zf.writestr(f"train/cat/{i}.jpg", image_bytes(color=(200, 40 * i, 9)))
            zf.writestr(f"train/dog/{i}.jpg", image_bytes(color=(9, 40 * i, 200)))
        zf.writestr("train/dog/copia.jpg", image_bytes(color=(9, 0, 200)))
        zf.writestr("train/cat/leeme.txt", b"no es una foto")
        inner = io.BytesIO()
        with zipfile.ZipFile(inner, "w") as nested:
            nested.writestr("x.jpg", image_bytes())
        zf.writestr("train/cat/mas.zip", inner.getvalue())


@pytest.mark.django_db(transaction=True)
def test_teacher_imports_a_zip_and_sees_the_summary(world, live_server, chromium, tmp_path):
    """The preview maps cat → gato and dog → perro; after Import the bar fills and the summary counts each outcome."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import Select, WebDriverWait

    from apps.uploads.models import Image

    archive = tmp_path / "mascotas.zip"
    _kaggle_zip(archive)
    log_in(chromium, live_server, world.teacher)
    chromium.get(f"{live_server.url}/upload/import/?project={world.project.slug}")
    chromium.find_element(By.ID, "import-file").send_keys(str(archive))
    WebDriverWait(chromium, 30).until(ready.visibility_of_element_located((By.ID, "map-0")))
    mapped = {
        row.find_element(By.TAG_NAME, "th").text: Select(row.find_element(By.TAG_NAME, "select")).first_selected_option.text
        for row in chromium.find_elements(By.CSS_SELECTOR, "#mapping-rows tr")
    }
    assert mapped == {"cat": "gato", "dog": "perro"}
    assert "mismo significado" in chromium.find_element(By.ID, "mapping-rows").text
    assert not Image.objects.exists()  # nothing stored by the preview
    screenshot(chromium, "import-preview")

    chromium.find_element(By.ID, "import-start").click()
    WebDriverWait(chromium, 60).until(ready.visibility_of_element_located((By.ID, "import-summary")))
    assert chromium.find_element(By.ID, "sum-imported").text == "6"
    assert chromium.find_element(By.ID, "sum-duplicates").text == "1"
    assert chromium.find_element(By.ID, "sum-skipped").text == "2"
    reasons = chromium.find_element(By.ID, "sum-reasons").text
    assert "leeme.txt" in reasons and "mas.zip" in reasons and "zip dentro del zip" in reasons
    assert chromium.find_element(By.ID, "import-bar").get_attribute("value") == "100"
    assert sorted(Image.objects.values_list("label", flat=True)) == ["gato"] * 3 + ["perro"] * 3
    screenshot(chromium, "import-summary")
    screenshot(chromium, "import-summary-phone", 390, 844)

    moderate = chromium.find_element(By.ID, "sum-moderate").get_attribute("href")
    assert moderate.endswith(f"/upload/moderate/?project={world.project.slug}")
    chromium.get(moderate)
    WebDriverWait(chromium, 30).until(ready.presence_of_element_located((By.ID, "moderation-grid")))
    assert len(chromium.find_elements(By.CSS_SELECTOR, "#moderation-grid li")) == 6
    width = chromium.execute_script("return document.documentElement.scrollWidth")
    assert width <= 390, "the moderation page scrolls sideways on a phone"
    screenshot(chromium, "moderation-phone")


@pytest.mark.django_db(transaction=True)
def test_teacher_imports_loose_photos_into_one_class(world, live_server, chromium, tmp_path):
    """Several photos (Teachable Machine's per-class download) ask for one class and are all imported into it."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import Select, WebDriverWait

    from apps.uploads.models import Image

    paths = []
    for i in range(2):
        path = tmp_path / f"perro-{i}.jpg"
        path.write_bytes(image_bytes(color=(9, 90 * i, 200)))
        paths.append(str(path))
    log_in(chromium, live_server, world.teacher)
    chromium.get(f"{live_server.url}/upload/import/?project={world.project.slug}")
    chromium.find_element(By.ID, "import-file").send_keys("\n".join(paths))
    select = WebDriverWait(chromium, 30).until(ready.visibility_of_element_located((By.ID, "single-class-select")))
    assert chromium.find_element(By.ID, "mapping").get_attribute("hidden") is not None  # no folders to map
    Select(select).select_by_visible_text("perro")
    chromium.find_element(By.ID, "import-start").click()
    WebDriverWait(chromium, 60).until(ready.visibility_of_element_located((By.ID, "import-summary")))
    assert chromium.find_element(By.ID, "sum-imported").text == "2"
    assert sorted(Image.objects.values_list("original_name", "label")) == [("perro-0.jpg", "perro"), ("perro-1.jpg", "perro")]
    screenshot(chromium, "import-loose-photos")

"""The upload page in headless Chromium: a student drops a photo and follows the link to its analysis."""

import pytest

from tests.browser import BROWSER_MARKS, log_in
from tests.fixtures.models import class_pictures

pytestmark = BROWSER_MARKS


@pytest.mark.django_db(transaction=True)
def test_upload_result_links_to_the_analysis_page(classroom, publish, live_server, chromium, tmp_path):
    """Each stored photo's line names the class with its confidence and links to the page that explains it."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    from apps.uploads.models import Image

    publish()
    label, raw = class_pictures(1, seed=5)[0]
    photo = tmp_path / "forma.png"
    photo.write_bytes(raw)
    log_in(chromium, live_server, classroom.student)
    chromium.get(f"{live_server.url}/upload/?project={classroom.project.slug}")
    chromium.find_element(By.ID, "file-input").send_keys(str(photo))
    link = WebDriverWait(chromium, 60).until(ready.presence_of_element_located((By.CSS_SELECTOR, "#results a")))

    image = Image.objects.get(project=classroom.project)
    line = chromium.find_element(By.CSS_SELECTOR, "#results li").text
    assert "forma.png" in line and "clasificada como" in line and "%" in line
    assert any(f"partición: {name}" in line for name in ("Entrenamiento", "Validación", "Prueba")), line
    assert link.text == "Mira cómo decidió la red"
    assert link.get_attribute("href") == f"{live_server.url}/images/{image.pk}/analysis/"
    link.click()
    WebDriverWait(chromium, 30).until(ready.presence_of_element_located((By.ID, "probabilities-chart")))
    assert image.analyses.get().label in chromium.find_element(By.TAG_NAME, "main").text

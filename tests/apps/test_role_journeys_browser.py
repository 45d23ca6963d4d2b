"""Each role in Spanish, in headless Chromium, from the login form to its goal; screenshots for people to look at.

The student joins with the code, uploads, reads how the network decided and labels with undo; the teacher
imports a zip, retrains (quick mode), compares and activates a version and moderates a photo; the grader
filters the class activity and downloads the CSV in the Spanish spreadsheet format. Celery runs eagerly in
the live server's thread (tests/conftest.py), so the import and the retrain finish inside their requests.
"""
import csv
import io
import zipfile

import pytest

from tests.browser import BROWSER_MARKS, allow_downloads, downloaded_file, screenshot
from tests.fixtures.models import class_pictures

pytestmark = BROWSER_MARKS
PASSWORD = "pass-12345"  # tests.factories.UserFactory's
WAIT = 120  # seconds: CI shares two cores with workers and other browsers


def _log_in_with_the_form(driver, live_server, user):
    from selenium.webdriver.common.by import By

    driver.get(live_server.url + "/accounts/login/")
    driver.delete_all_cookies()
    driver.add_cookie({"name": "django_language", "value": "es", "path": "/"})
    driver.get(live_server.url + "/accounts/login/")
    assert "Iniciar sesión" in driver.page_source
    driver.find_element(By.NAME, "username").send_keys(user.username)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()


def _wait(driver, css, seconds=WAIT):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds).until(ready.presence_of_element_located((By.CSS_SELECTOR, css)))


def _visible(driver, css, seconds=WAIT):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds).until(ready.visibility_of_element_located((By.CSS_SELECTOR, css)))


def _until(driver, condition, seconds=WAIT):
    """Wait for a condition, reading again when the page is replaced under it (a reload after each answer)."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    ignored = (NoSuchElementException, StaleElementReferenceException)
    return WebDriverWait(driver, seconds, ignored_exceptions=ignored).until(condition)


def _click(driver, element):
    """Click after scrolling the element to the middle of the window (sticky bars cover the edges).

    The scroll is instant: Bootstrap makes scrolling smooth, and a click during the animation misses.
    """
    driver.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'});", element)
    element.click()


def _main(driver):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.TAG_NAME, "main").text


def _both_widths(driver, name):
    """Screenshots at a laptop's and a phone's width, then back to the laptop."""
    screenshot(driver, f"{name}-1366", 1366, 768)
    screenshot(driver, f"{name}-390", 390, 844)
    driver.set_window_size(1366, 768)


@pytest.mark.django_db(transaction=True)
def test_student_joins_uploads_understands_and_labels_with_undo(classroom, publish, stored_image, live_server, chromium, tmp_path):
    """Join with the code, upload a photo, read how the network decided, label a photo and undo the answer."""
    from selenium.webdriver.common.by import By

    from apps.labeling.selectors import label_latest_by
    from apps.projects.models import Membership

    publish()
    project = classroom.project
    Membership.objects.filter(project=project, user=classroom.student).delete()  # she joins in the browser
    for i, (_label, raw) in enumerate(class_pictures(1, seed=11)):
        stored_image(raw, f"profe-{i}.png", user=classroom.teacher)
    _label, raw = class_pictures(1, seed=7)[0]
    photo = tmp_path / "mi-foto.png"
    photo.write_bytes(raw)
    chromium.set_window_size(1366, 768)
    _log_in_with_the_form(chromium, live_server, classroom.student)

    # Join: the menu under her name leads to the join page; the code takes her to the project.
    _click(chromium, _wait(chromium, ".navbar .dropdown-toggle"))
    _click(chromium, _visible(chromium, ".dropdown-menu a[href='/projects/join/']"))
    code = _wait(chromium, "input[name=join_code]")
    assert "Escribe el código que te dio tu profesor" in _main(chromium)
    code.send_keys(project.join_code.lower())  # as a student may type it
    _click(chromium, chromium.find_element(By.CSS_SELECTOR, "main form button[type=submit]"))
    joined = _wait(chromium, ".alert-success")
    assert f"Te has unido a {project.name}" in joined.text
    assert Membership.objects.filter(project=project, user=classroom.student, role="student").exists()
    _both_widths(chromium, "journey-student-joined")

    # Upload from the project's page, open the result: plain words, details on request.
    _click(chromium, chromium.find_element(By.LINK_TEXT, "Subir imágenes"))
    _wait(chromium, "#file-input").send_keys(str(photo))
    _click(chromium, _wait(chromium, "#results a"))
    _until(chromium, lambda d: d.find_element(By.ID, "label").text not in ("", "—"))
    main = _main(chromium)
    assert "Las zonas coloreadas" in main and "más detalles" in main and "Mahalanobis" not in main
    screenshot(chromium, "journey-student-analysis-1366")
    screenshot(chromium, "journey-student-analysis-390", 390, 844)
    chromium.set_window_size(1366, 768)

    # Label: a key answers and the page moves on saying what was saved; the Undo button withdraws it.
    chromium.get(f"{live_server.url}/projects/{project.slug}/")
    _click(chromium, _wait(chromium, f"main a[href='/label/{project.slug}/']"))
    labeler = _wait(chromium, "#labeler")
    first = int(labeler.get_attribute("data-image"))
    ahead = labeler.get_attribute("data-next-unlabeled")
    assert ahead, "the queue has more photos after this one"
    classes = [b.text for b in chromium.find_elements(By.CSS_SELECTOR, ".label-btn")]
    assert classes[-1].endswith("Ninguna de estas")
    chromium.find_element(By.TAG_NAME, "body").send_keys("2")  # the second class, from the keyboard
    _until(chromium, lambda d: f"image={ahead}" in d.current_url and d.find_element(By.ID, "status").text)
    saved = chromium.find_element(By.ID, "status").text
    assert f"Guardado «{project.classes[1]}» para la foto anterior" in saved and "Pulsa U para deshacerlo" in saved
    assert label_latest_by(image=project.images.get(pk=first), user=classroom.student).label == project.classes[1]
    assert chromium.find_element(By.ID, "counter").text.startswith("Has etiquetado 1 de 3")
    _both_widths(chromium, "journey-student-labeled")

    _click(chromium, chromium.find_element(By.ID, "undo-btn"))
    _until(chromium, lambda d: f"image={first}" in d.current_url and "Deshecho" in d.find_element(By.ID, "status").text)
    assert "Deshecho: esta foto ya no tiene ninguna respuesta tuya." in chromium.find_element(By.ID, "status").text
    assert label_latest_by(image=project.images.get(pk=first), user=classroom.student) is None
    assert chromium.find_element(By.ID, "counter").text.startswith("Has etiquetado 0 de 3")  # the undone answer is not counted
    # Nothing of hers is chosen any more on the photo she is back on.
    assert not chromium.find_elements(By.CSS_SELECTOR, ".label-btn.btn-primary, .label-btn.btn-secondary")
    _both_widths(chromium, "journey-student-undone")


@pytest.fixture
def quick_weights(settings, tiny_weights, tiny_model_cache):
    """Quick retraining on the random MobileNet; no automatic retrain in the middle of the journey."""
    settings.RIIM_WEIGHTS_DIR = str(tiny_weights / "weights")
    settings.RIIM_MODEL_CACHE_DIR = tiny_model_cache
    settings.RIIM_TRAINING_MIN_IMAGES_PER_CLASS = 4
    settings.RIIM_QUICK_RETRAIN_LABELS = 1000
    return settings


def _class_folders_zip(path, classes, per_class):
    """A zip with one folder per class, as Kaggle data sets come."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for i, (label, raw) in enumerate(class_pictures(per_class, seed=23)):
            assert label in classes
            zf.writestr(f"fotos/{label}/{label}-{i:02d}.png", raw)


@pytest.mark.django_db(transaction=True)
def test_teacher_imports_retrains_activates_and_moderates(classroom, publish, trained_model_dir, quick_weights, live_server,
                                                        chromium, tmp_path):
    """Import a zip of class folders, retrain quickly, activate a version after comparing, hide and delete photos."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import Select

    from apps.training.models import ModelVersion
    from apps.uploads.models import Image

    project = classroom.project
    publish(trained_model_dir)  # version 1, trained elsewhere (every variant the engine exports), is the active one
    per_class = 12
    archive = tmp_path / "formas.zip"
    _class_folders_zip(archive, project.classes, per_class)
    chromium.set_window_size(1366, 768)
    _log_in_with_the_form(chromium, live_server, classroom.teacher)
    _wait(chromium, ".navbar")

    # Import: the preview maps each folder to its class; Import stores them and the summary counts them.
    chromium.get(f"{live_server.url}/projects/{project.slug}/")
    _click(chromium, _wait(chromium, ".navbar a[href^='/upload/import/']"))
    _wait(chromium, "#import-file").send_keys(str(archive))
    _visible(chromium, "#map-0")
    mapped = {
        row.find_element(By.TAG_NAME, "th").text: (
            row.find_element(By.CSS_SELECTOR, "td").text,
            Select(row.find_element(By.TAG_NAME, "select")).first_selected_option.text,
        )
        for row in chromium.find_elements(By.CSS_SELECTOR, "#mapping-rows tr")
    }
    assert mapped == {c: (str(per_class), c) for c in project.classes}, mapped  # the common top folder is left out
    assert "¿Qué clase es cada carpeta?" in _main(chromium)
    assert not Image.objects.exists()  # nothing stored by the preview
    _both_widths(chromium, "journey-teacher-import-preview")
    _click(chromium, chromium.find_element(By.ID, "import-start"))
    _visible(chromium, "#import-summary")
    assert chromium.find_element(By.ID, "sum-imported").text == str(2 * per_class)
    assert chromium.find_element(By.ID, "sum-skipped").text == "0"
    assert "Fotos importadas" in chromium.find_element(By.ID, "import-summary").text
    assert sorted(set(Image.objects.values_list("label", flat=True))) == sorted(project.classes)
    _both_widths(chromium, "journey-teacher-import-summary")

    # Retrain in quick mode from the training page: the run page shows it finished, with a new version.
    chromium.get(f"{live_server.url}/projects/{project.slug}/")
    _click(chromium, _wait(chromium, f"main a[href='/projects/{project.slug}/training/']"))
    Select(_wait(chromium, "select[name=mode]")).select_by_visible_text("Rápido (segundos)")
    size = chromium.find_element(By.NAME, "image_size")
    size.clear()
    size.send_keys("32")
    _click(chromium, chromium.find_element(By.CSS_SELECTOR, "main form button[type=submit]"))
    _until(chromium, lambda d: "/training-runs/" in d.current_url)
    _until(chromium, ready.text_to_be_present_in_element((By.ID, "run-status"), "Completado"))
    assert "Entrenamiento n.º" in chromium.find_element(By.CSS_SELECTOR, ".alert-success").text
    assert chromium.find_element(By.ID, "run-bar").text == "100 %"
    assert chromium.find_element(By.ID, "run-error").get_attribute("hidden") is not None
    # A quick run has no epochs: the page says so instead of drawing two empty charts.
    assert "no tiene curvas por época" in chromium.find_element(By.ID, "run-no-curves").text
    assert not chromium.find_element(By.ID, "loss-chart").is_displayed()
    trained = ModelVersion.objects.get(project=project, run__isnull=False)
    assert (trained.number, trained.mode) == (2, "quick")
    _both_widths(chromium, "journey-teacher-retrained")

    # Compare the two versions and activate the one that is not active.
    _click(chromium, chromium.find_element(By.LINK_TEXT, "Versiones del modelo"))
    button = _wait(chromium, ".activate-btn")
    number = int(button.get_attribute("data-number"))
    main = _main(chromium)
    assert "v1" in main and "v2" in main and "rápido" in main
    right = chromium.execute_script("return arguments[0].getBoundingClientRect().right", button)
    assert right <= 1366  # on screen at a laptop's width (it used to be in the last, off-screen column)
    assert "TFLite, pesos de 8 bits" in main
    screenshot(chromium, "journey-teacher-versions-1366")
    # Clicked from a timer: the confirmation dialog would otherwise block the script that clicks.
    chromium.execute_script("const b = arguments[0]; b.scrollIntoView({block: 'center'}); setTimeout(() => b.click(), 0);", button)
    alert = _until(chromium, ready.alert_is_present())
    assert f"¿Activar la versión {number}?" in alert.text
    alert.accept()
    message = _wait(chromium, ".alert-success")
    assert f"La versión {number} ahora es el modelo activo" in message.text
    assert ModelVersion.objects.get(project=project, status="active").number == number
    screenshot(chromium, "journey-teacher-activated-390", 390, 844)
    chromium.set_window_size(1366, 768)

    # Moderate: hide one photo from the students, then delete another after the confirmation page.
    _click(chromium, chromium.find_element(By.CSS_SELECTOR, ".navbar a[href^='/upload/moderate/']"))
    _wait(chromium, "#moderation-grid")
    assert "Moderar fotos" in _main(chromium) and f"{2 * per_class} fotos" in _main(chromium)
    picks = chromium.find_elements(By.CSS_SELECTOR, "#moderation-grid input[name=image]")
    hidden_id, deleted_id = int(picks[0].get_attribute("value")), int(picks[1].get_attribute("value"))
    _click(chromium, picks[0])
    _click(chromium, chromium.find_element(By.CSS_SELECTOR, "button[name=action][value=hide]"))
    assert "1 foto oculta para los estudiantes." in _wait(chromium, ".alert-success").text
    card = chromium.find_element(By.ID, f"pick-{hidden_id}").find_element(By.XPATH, "ancestor::div[contains(@class,'card')]")
    assert "oculta" in card.text
    assert Image.objects.get(pk=hidden_id).hidden
    _both_widths(chromium, "journey-teacher-moderated")

    _click(chromium, chromium.find_element(By.ID, f"pick-{deleted_id}"))
    _click(chromium, chromium.find_element(By.CSS_SELECTOR, "button[name=action][value=delete]"))
    _wait(chromium, "main form input[name=confirm]")
    assert "no se puede deshacer" in _main(chromium).lower()
    _both_widths(chromium, "journey-teacher-delete-confirm")
    _click(chromium, chromium.find_element(By.CSS_SELECTOR, "main form button[type=submit].btn-danger"))
    assert "1 foto borrada" in _wait(chromium, ".alert-success").text
    assert not Image.objects.filter(pk=deleted_id).exists()
    assert f"{2 * per_class - 1} fotos" in _main(chromium)


@pytest.mark.django_db(transaction=True)
def test_grader_filters_history_and_downloads_the_csv(classroom, publish, stored_image, api_as, live_server, chromium, tmp_path):
    """Filter by student, switch tabs without losing the filter, and download a CSV a Spanish spreadsheet opens."""
    from selenium.webdriver.common.by import By

    publish()
    analyst = api_as(classroom.student)
    for i, (_label, raw) in enumerate(class_pictures(1, seed=31)):
        image = stored_image(raw, f"alumna-{i}.png")
        assert analyst.get(f"/api/v1/images/{image.pk}/analysis/").status_code == 200
    other = stored_image(class_pictures(1, seed=32)[0][1], "profe.png", user=classroom.teacher)
    assert api_as(classroom.teacher).get(f"/api/v1/images/{other.pk}/analysis/").status_code == 200
    downloads = tmp_path / "descargas"
    downloads.mkdir()

    chromium.set_window_size(1366, 768)
    _log_in_with_the_form(chromium, live_server, classroom.grader)
    _wait(chromium, ".navbar")
    _click(chromium, chromium.find_element(By.CSS_SELECTOR, ".navbar a[href='/history/activity/']"))
    _click(chromium, _wait(chromium, "main .nav-tabs a[href*='kind=uploads']"))
    _wait(chromium, "main .nav-tabs a.active[href*='kind=uploads']")
    chromium.find_element(By.NAME, "student").send_keys(classroom.student.username)
    _click(chromium, chromium.find_element(By.CSS_SELECTOR, "main form button[type=submit]"))
    _until(chromium, lambda d: "student=" in d.current_url and "2 resultados" in _main(d))
    assert "profe.png" not in _main(chromium)
    _click(chromium, chromium.find_element(By.LINK_TEXT, "Análisis"))
    _wait(chromium, "main .nav-tabs a.active[href*='kind=analyses']")
    assert chromium.find_element(By.NAME, "student").get_attribute("value") == classroom.student.username
    assert "2 resultados" in _main(chromium)
    _both_widths(chromium, "journey-grader-activity")

    export = chromium.find_element(By.PARTIAL_LINK_TEXT, "CSV")
    assert "format=csv" in export.get_attribute("href") and "student=" in export.get_attribute("href")
    allow_downloads(chromium, downloads)
    _click(chromium, export)
    raw = downloaded_file(chromium, downloads, "riim-analyses.csv").read_bytes()
    assert raw.startswith("\ufeff".encode())  # UTF-8 with a byte-order mark: Excel reads the accents right
    header, *rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert header[:5] == ["Fecha", "Proyecto", "Subida por", "ID de la imagen", "Versión del modelo"]
    assert "Confianza" in header and len(header) > 5
    assert len(rows) == 2 and {row[2] for row in rows} == {classroom.student.username}
    confidence = rows[0][header.index("Confianza")]
    assert "," in confidence and "." not in confidence, confidence  # decimal comma
    assert rows[0][header.index("Inusual")] in ("sí", "no")


@pytest.mark.django_db(transaction=True)
def test_teacher_creates_accounts_prints_the_sheet_and_resets_a_password(world, live_server, chromium, tmp_path):
    """Create students from a CSV: the sheet alone prints, one card each, and the CSV downloads; then reset a
    forgotten password from the class page, and the student logs in with the new one (the old one fails)."""
    from selenium.webdriver.common.by import By

    project = world.project
    roster = tmp_path / "alumnos.csv"
    roster.write_text("username,first_name,last_name\nana,Ana,Luna\nleo,Leo,Sol\n", encoding="utf-8")
    allow_downloads(chromium, tmp_path)
    chromium.set_window_size(1366, 768)
    _log_in_with_the_form(chromium, live_server, world.teacher)
    _wait(chromium, ".navbar")
    chromium.get(f"{live_server.url}/projects/{project.slug}/")
    _wait(chromium, "input[type=file][name=csv_file]").send_keys(str(roster))
    _click(chromium, chromium.find_element(By.XPATH, "//button[normalize-space()='Crear cuentas']"))
    _visible(chromium, "#created-accounts")
    passwords = {
        row.find_elements(By.TAG_NAME, "td")[0].text: row.find_element(By.TAG_NAME, "code").text
        for row in chromium.find_elements(By.CSS_SELECTOR, "#created-accounts tbody tr")
    }
    assert set(passwords) == {"ana", "leo"}
    assert not chromium.find_element(By.ID, "credentials-sheet").is_displayed()  # on screen: the table only
    _both_widths(chromium, "journey-teacher-accounts-created")

    # The CSV link saves the same passwords in the Spanish spreadsheet format.
    _click(chromium, chromium.find_element(By.ID, "credentials-csv"))
    saved = downloaded_file(chromium, tmp_path, f"credenciales-{project.slug}.csv")
    rows = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8-sig")), delimiter=";"))
    assert rows[0][:2] == ["Nombre de usuario", "Contraseña"]
    assert {row[0]: row[1] for row in rows[1:]} == passwords

    # Printing: the button opens the print dialog, and print media shows the sheet alone, one card per student.
    chromium.execute_script("window.__printed = 0; window.print = () => { window.__printed += 1; };")
    _click(chromium, chromium.find_element(By.ID, "credentials-print"))
    assert chromium.execute_script("return window.__printed") == 1
    chromium.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        cards = chromium.find_elements(By.CSS_SELECTOR, "#credentials-sheet .credential-card")
        assert len(cards) == 2 and all(card.is_displayed() for card in cards)
        assert not chromium.find_element(By.TAG_NAME, "header").is_displayed()
        assert not chromium.find_element(By.ID, "created-accounts").is_displayed()
        first = cards[0].text
        assert "Ana Luna" in first and passwords["ana"] in first and project.join_code in first
        assert f"{live_server.url}/accounts/login/" in first and "pide a tu docente que la restablezca" in first
        screenshot(chromium, "journey-teacher-credentials-sheet-print", 1366, 768)
        pdf = chromium.execute_cdp_cmd("Page.printToPDF", {"printBackground": True})
        assert len(pdf["data"]) > 1000
    finally:
        chromium.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
        chromium.set_window_size(1366, 768)

    # A forgotten password: the teacher resets it from the members list after confirming.
    chromium.get(f"{live_server.url}/projects/{project.slug}/")
    _click(chromium, _wait(chromium, "#members button[name=password_reset][value=alumna]"))
    chromium.switch_to.alert.accept()
    _visible(chromium, "#created-accounts")
    assert "alumna tiene una contraseña nueva" in _main(chromium)
    new_password = chromium.find_element(By.CSS_SELECTOR, "#created-accounts tbody code").text
    assert chromium.find_elements(By.CSS_SELECTOR, "#members button[name=password_reset][value=profe]") == []
    _both_widths(chromium, "journey-teacher-password-reset")

    # The student: the old password fails (with the hint to ask the teacher), the new one logs in.
    chromium.delete_all_cookies()
    _log_in_with_the_form(chromium, live_server, world.student)
    _wait(chromium, "#forgot-password")
    assert "Pide a tu docente que la restablezca" in _main(chromium)
    chromium.find_element(By.NAME, "username").clear()
    chromium.find_element(By.NAME, "username").send_keys("alumna")
    chromium.find_element(By.NAME, "password").send_keys(new_password)
    chromium.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    _wait(chromium, ".navbar .dropdown-toggle")
    assert "alumna" in chromium.find_element(By.CSS_SELECTOR, ".navbar .dropdown-toggle").get_attribute("textContent")

"""In Chromium: a run page watched until the run ends says which version it made and whether it is active."""
import pytest

from apps.training.models import ModelVersion, TrainingRun
from tests.browser import BROWSER_MARKS, log_in, screenshot

pytestmark = BROWSER_MARKS


@pytest.mark.django_db(transaction=True)
def test_the_watched_run_page_ends_with_its_outcome(world, live_server, chromium):
    """While running it shows the stage; once the run succeeds the page shows the version, its score and that it
    is active, with no stage line and no stale «queued» notice."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    run = TrainingRun.objects.create(project=world.project, requested_by=world.teacher, status="running", stage="train",
                                     percent=40.0, mode="quick")
    log_in(chromium, live_server, world.teacher)
    chromium.set_window_size(1366, 768)
    chromium.get(f"{live_server.url}/training-runs/{run.pk}/")
    assert chromium.find_element(By.ID, "run-stage-line").is_displayed()
    ModelVersion.objects.create(project=world.project, number=3, run=run, status=ModelVersion.Status.ACTIVE,
                                artifact_dir="models/v3", test_accuracy=0.875, test_n=16)
    TrainingRun.objects.filter(pk=run.pk).update(status="succeeded", stage="report", percent=100.0)
    outcome = WebDriverWait(chromium, 30).until(lambda d: d.find_elements(By.ID, "run-outcome"))[0]
    assert "versión 3: 87,5 % de aciertos en 16 fotos de prueba" in outcome.text and "Es el modelo activo" in outcome.text
    assert not chromium.find_element(By.ID, "run-stage-line").is_displayed()
    screenshot(chromium, "training-run-outcome-1366", 1366, 768)
    screenshot(chromium, "training-run-outcome-390", 390, 844)


@pytest.mark.django_db(transaction=True)
def test_a_long_stage_says_how_long_it_usually_takes_and_that_the_worker_lives(world, live_server, chromium):
    """Pruning for minutes: the page names the stage's usual time on this project (from earlier full versions),
    how long it has run, and the worker's last heartbeat."""
    from datetime import timedelta

    from django.utils import timezone
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from apps.training.events import log_entry

    earlier = TrainingRun.objects.create(project=world.project, requested_by=world.teacher, status="succeeded", mode="full")
    ModelVersion.objects.create(project=world.project, number=1, run=earlier, artifact_dir="models/v1",
                                metadata={"timings": {"stages": {"prune": 150.0, "train": 60.0}}})
    started = timezone.now() - timedelta(seconds=70)
    entry = {**log_entry("stage.started", {}, stage="prune"), "at": started.isoformat(timespec="seconds")}
    run = TrainingRun.objects.create(project=world.project, requested_by=world.teacher, status="running", stage="prune",
                                     percent=80.0, mode="full", log=[entry], heartbeat_at=timezone.now())
    log_in(chromium, live_server, world.teacher)
    chromium.set_window_size(1366, 768)
    chromium.get(f"{live_server.url}/training-runs/{run.pk}/")
    hint = WebDriverWait(chromium, 30).until(lambda d: d.find_element(By.ID, "run-stage-hint").text and d.find_element(By.ID, "run-stage-hint"))
    assert "La fase «podando» suele tardar unos 3 min en este proyecto; empezó hace 7" in hint.text
    assert "Última señal de vida del proceso de trabajo: hace" in hint.text
    screenshot(chromium, "training-run-stage-hint-1366", 1366, 768)

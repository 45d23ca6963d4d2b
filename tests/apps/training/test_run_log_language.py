"""A run's log is stored as keys and parameters and read in each reader's language; the run page says what it knows when it knows it."""
import pytest
from django.utils import translation

from apps.training.events import log_entry, log_text
from apps.training.models import TrainingRun
from apps.training.serializers import TrainingRunOutputSerializer
from apps.training.services import training_run_log

FALLBACK_DETAIL = "No pretrained weights available: mobilenet_2_5_224_tf_no_top.h5 is not in the weights folder."


def test_one_log_entry_reads_in_each_language():
    """The same stored line is Spanish for a Spanish reader and English for an English one."""
    entry = log_entry("run.finished", {"status": "succeeded"})
    with translation.override("es"):
        spanish = log_text(entry)
    with translation.override("en"):
        english = log_text(entry)
    assert spanish.endswith("terminado: Completado") and english.endswith("finished: Succeeded")
    assert log_text("10:00:00 an old line stored as text") == "10:00:00 an old line stored as text"


@pytest.mark.django_db
def test_run_page_and_api_show_the_log_in_the_readers_language(world, client):
    """Every line of the log, engine's and platform's, follows the reader's language."""
    run = TrainingRun.objects.create(project=world.project, requested_by=world.teacher, status="running",
                                     log=[log_entry("run.queued", {"user": "profe"})])
    training_run_log(run_id=run.pk, key="kfold.fold", params={"fold": 1, "folds": 5}, stage="kfold")
    client.force_login(world.teacher)
    html = client.get(f"/training-runs/{run.pk}/").content.decode()
    assert "en cola, pedido por profe" in html and "queued by" not in html
    client.cookies["django_language"] = "en"
    html = client.get(f"/training-runs/{run.pk}/").content.decode()
    assert "queued by profe" in html and "en cola" not in html
    with translation.override("en"):
        tail = TrainingRunOutputSerializer(TrainingRun.objects.get(pk=run.pk)).data["log_tail"]
    assert tail[0].endswith("queued by profe") and "fold 1/5" in tail[1]


@pytest.mark.django_db
def test_fallback_warning_appears_while_the_run_is_still_running(world, client):
    """The "no pretrained weights" warning is on the page (and in the API) as soon as the network was built."""
    run = TrainingRun.objects.create(project=world.project, requested_by=world.teacher, status="running", stage="train")
    client.force_login(world.teacher)
    html = client.get(f"/training-runs/{run.pk}/").content.decode()
    assert 'id="run-fallback" class="alert alert-warning" role="alert" hidden' in html
    training_run_log(run_id=run.pk, key="build.backbone", params={"detail": FALLBACK_DETAIL, "fallback": True},
                     stage="build")
    html = client.get(f"/training-runs/{run.pk}/").content.decode()
    assert 'id="run-fallback" class="alert alert-warning" role="alert">' in html and FALLBACK_DETAIL in html
    progress = TrainingRunOutputSerializer(TrainingRun.objects.get(pk=run.pk)).data["progress"]
    assert progress["fallback"] == FALLBACK_DETAIL


@pytest.mark.django_db
def test_a_finished_run_has_no_current_stage(world, client):
    """A succeeded run never still reads «Fase: escribiendo la ficha del modelo»."""
    run = TrainingRun.objects.create(project=world.project, requested_by=world.teacher, status="succeeded",
                                     stage="report", percent=100)
    client.force_login(world.teacher)
    html = client.get(f"/training-runs/{run.pk}/").content.decode()
    assert '<span id="run-stage">—</span>' in html and "Fase:</strong> <span id=\"run-stage\">escribiendo" not in html

"""A run no worker picks up says so (API, run page, `train --wait`) and names its queue, instead of waiting forever."""

import time
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone, translation

from apps.labeling.services import label_assign
from apps.training.models import TrainingRun
from apps.training.services import training_run_start
from apps.training.workers import queue_listened
from apps.uploads.services import image_upload_create
from tests.factories import image_bytes
from tests.platform.worker import app_broker, celery_worker, embedded_broker_url, wait_for

SENTENCE = "no worker is listening on the `{queue}` queue"


@pytest.fixture
def english(client):
    client.cookies["django_language"] = "en"
    return client


def _trainable(project, teacher) -> None:
    """Label photos until each class has a training photo (the fewest a run may start with here)."""
    for n in range(1, 60):
        counts = {name: project.images.filter(label=name, split="train").count() for name in project.classes}
        if min(counts.values()) >= 1:
            return
        label = min(counts, key=counts.get)
        image = image_upload_create(project=project, uploader=teacher, raw=image_bytes(color=(n * 4, 90, 200 - n)), name=f"{n}.jpg")
        label_assign(image=image, author=teacher, label=label)
    raise AssertionError("no training photo for some class")


def _queued(world, mode: str, seconds_ago: float) -> TrainingRun:
    """A run row still queued, asked for seconds_ago (not sent to any broker)."""
    run = TrainingRun.objects.create(project=world.project, requested_by=world.teacher, mode=mode)
    TrainingRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(seconds=seconds_ago))
    return run


def _notice(client, run) -> dict | None:
    response = client.get(f"/api/v1/training-runs/{run.pk}/")
    assert response.status_code == 200
    return response.json()["worker_notice"]


@pytest.mark.django_db(transaction=True)
def test_the_api_says_no_worker_listens_once_the_threshold_passed(world, settings, tmp_path, english):
    """A full run sent to the embedded broker with no worker: nothing at first, then the notice names `training`."""
    settings.RIIM_TRAINING_MIN_IMAGES_PER_CLASS = 1
    settings.RIIM_WORKER_PICKUP_SECONDS = 1
    english.force_login(world.teacher)
    with app_broker(embedded_broker_url(tmp_path)):
        _trainable(world.project, world.teacher)
        run = training_run_start(project=world.project, user=world.teacher, config={"mode": "full"})
        run.refresh_from_db()
        assert run.celery_task_id  # the message is in the broker: only a worker is missing
        assert _notice(english, run) is None  # a worker could still be starting
        notice = wait_for(lambda: _notice(english, run), timeout=10, message="the worker notice")
        page = english.get(f"/training-runs/{run.pk}/").content.decode()
    assert notice["queue"] == "training" and notice["waited_seconds"] >= 1
    assert SENTENCE.format(queue="training") in notice["message"]
    assert "celery -A riim_site worker -Q training" in notice["message"]
    block = page.split('id="run-worker-notice"', 1)[1].split("</div>", 1)[0]
    assert "hidden" not in block.split(">", 1)[0] and SENTENCE.format(queue="training") in block


@pytest.mark.django_db
def test_a_quick_run_names_the_quick_queue_in_the_readers_language(world, settings, client, tmp_path):
    """A quick run waits on `quick`; Spanish readers get the sentence in Spanish, and a fresh run gets none."""
    settings.RIIM_WORKER_PICKUP_SECONDS = 60
    client.force_login(world.teacher)
    with app_broker(embedded_broker_url(tmp_path)):  # not eager: runs need a worker
        assert _notice(client, _queued(world, "quick", seconds_ago=5)) is None
        TrainingRun.objects.all().delete()
        notice = _notice(client, _queued(world, "quick", seconds_ago=61))
        page = client.get(f"/training-runs/{TrainingRun.objects.get().pk}/").content.decode()
    assert notice["queue"] == "quick"
    assert "ningún proceso de trabajo escucha la cola «quick»" in notice["message"]
    assert "ningún proceso de trabajo escucha la cola «quick»" in page


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_listening_worker_silences_the_notice_of_its_queue_only(world, settings, english, tmp_path):
    """While a worker consumes `quick`, a quick run waits without a notice but a full run gets one; when it stops, both do."""
    settings.RIIM_WORKER_PICKUP_SECONDS = 1
    english.force_login(world.teacher)
    quick, full = _queued(world, "quick", seconds_ago=5), _queued(world, "full", seconds_ago=5)
    with app_broker(embedded_broker_url(tmp_path)):
        with celery_worker("quick", settings_overrides={"RIIM_QUEUE_HEARTBEAT_SECONDS": 1}):
            wait_for(lambda: queue_listened("quick"), timeout=30, message="the quick worker's heartbeat")
            assert not queue_listened("training")
            assert _notice(english, quick) is None
            assert _notice(english, full)["queue"] == "training"
        # Its beats expire a few seconds after it stopped: nobody listens on `quick` any more.
        wait_for(lambda: not queue_listened("quick"), timeout=15, message="the stopped worker's heartbeat to expire")
        assert SENTENCE.format(queue="quick") in _notice(english, quick)["message"]


@pytest.mark.django_db(transaction=True)
def test_train_wait_exits_with_the_sentence_instead_of_waiting(world, settings, tmp_path):
    """`train SLUG --wait --timeout 120` with no worker fails within seconds, naming the queue; the run stays queued."""
    settings.RIIM_TRAINING_MIN_IMAGES_PER_CLASS = 1
    settings.RIIM_WORKER_PICKUP_SECONDS = 1
    with app_broker(embedded_broker_url(tmp_path)):
        _trainable(world.project, world.teacher)
        started = time.monotonic()
        with translation.override("en"), pytest.raises(CommandError) as refused:
            call_command("train", world.project.slug, "--wait", "--timeout", "120", "--mode", "full")
        elapsed = time.monotonic() - started
    assert SENTENCE.format(queue="training") in str(refused.value)
    assert elapsed < 30, elapsed
    assert TrainingRun.objects.get().status == TrainingRun.Status.QUEUED

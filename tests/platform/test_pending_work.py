"""Work whose enqueue failed (broker down at commit) is not lost: the pending-work sweep sends it again."""

import sqlite3
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.accounts import roles
from apps.delivery.models import PendingResend
from apps.delivery.services import pending_work_resend
from apps.lab.models import LabExperiment
from apps.training.models import TrainingRun
from apps.training.services import training_run_start
from apps.uploads.models import Image
from apps.uploads.services import image_upload_create
from tests.factories import ProjectFactory, UserFactory, image_bytes
from tests.platform.worker import app_broker, celery_worker, embedded_broker_url, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

BROKER_DOWN = "redis://127.0.0.1:1/0"  # nothing listens on port 1: every connection is refused


def _queued_messages(folder, queue):
    with sqlite3.connect(folder / "broker.sqlite3") as db:
        return db.execute(
            "SELECT count(*) FROM kombu_message m JOIN kombu_queue q ON m.queue_id = q.id WHERE q.name = ?", (queue,)
        ).fetchone()[0]


def _later(settings, factor=1):
    return timezone.now() + timedelta(seconds=settings.RIIM_PENDING_RESEND_AFTER * factor + 1)


@pytest.mark.worker
def test_upload_while_the_broker_is_down_is_processed_after_the_sweep(tmp_path, settings):
    """The upload succeeds with the broker down; once it is back, the sweep sends the image to a worker."""
    student = UserFactory(role=roles.STUDENT)
    project = ProjectFactory(members=[(student, "student")])
    with app_broker(BROKER_DOWN):
        image = image_upload_create(project=project, uploader=student, raw=image_bytes(), name="gato.jpg")
        assert pending_work_resend(now=_later(settings)) == {
            "image_process": 0, "training_run": 0, "lab_experiment": 0, "image_import": 0, "project_autoencoder": 0
        }
    assert Image.objects.get(pk=image.pk).processed_by == {}
    assert not PendingResend.objects.exists()  # a failed resend is not counted

    with app_broker(embedded_broker_url(tmp_path)), celery_worker("default"):
        assert pending_work_resend(now=_later(settings))["image_process"] == 1
        wait_for(lambda: Image.objects.get(pk=image.pk).processed_by, timeout=60, message="image_process_task")


def test_training_run_queued_while_the_broker_is_down_is_sent_by_the_sweep(tmp_path, settings):
    """A run whose enqueue failed keeps no task id; the sweep sends it to the training queue once."""
    settings.RIIM_TRAINING_MIN_IMAGES_PER_CLASS = 0
    project = ProjectFactory()
    with app_broker(BROKER_DOWN):
        run = training_run_start(project=project, user=project.owner)
    run.refresh_from_db()
    assert (run.status, run.celery_task_id) == (TrainingRun.Status.QUEUED, "")

    with app_broker(embedded_broker_url(tmp_path)):
        assert pending_work_resend(now=timezone.now())["training_run"] == 0  # too young: may still be on its way
        assert pending_work_resend(now=_later(settings))["training_run"] == 1
        assert pending_work_resend(now=_later(settings))["training_run"] == 0  # sent once: the next waits longer
    run.refresh_from_db()
    assert run.celery_task_id
    assert _queued_messages(tmp_path, "training") == 1


def test_photo_import_queued_while_the_broker_is_down_is_sent_by_the_sweep(tmp_path, settings):
    """An import whose enqueue failed stays queued; the sweep sends it to the default queue once."""
    import io
    import zipfile

    from django.core.files.uploadedfile import SimpleUploadedFile

    from apps.uploads.imports import image_import_create
    from apps.uploads.models import ImageImport

    project = ProjectFactory()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("gato/a.jpg", image_bytes())
    with app_broker(BROKER_DOWN):
        image_import = image_import_create(
            project=project, user=project.owner, uploads=[SimpleUploadedFile("fotos.zip", archive.getvalue())]
        )
    assert ImageImport.objects.get(pk=image_import.pk).status == ImageImport.Status.QUEUED

    with app_broker(embedded_broker_url(tmp_path)):
        assert pending_work_resend(now=_later(settings))["image_import"] == 1
        assert pending_work_resend(now=_later(settings))["image_import"] == 0
    assert _queued_messages(tmp_path, "default") == 1


def test_queued_run_whose_message_was_lost_is_sent_again_once_nothing_trains(tmp_path, settings):
    """A queued run with a task id waits its turn while another run trains; with none training it is resent."""
    first, second = ProjectFactory(), ProjectFactory()
    lost = TrainingRun.objects.create(project=first, requested_by=first.owner, celery_task_id="sent-then-lost")
    busy = TrainingRun.objects.create(project=second, requested_by=second.owner, status=TrainingRun.Status.RUNNING)
    with app_broker(embedded_broker_url(tmp_path)):
        assert pending_work_resend(now=_later(settings))["training_run"] == 0
        TrainingRun.objects.filter(pk=busy.pk).update(status=TrainingRun.Status.FAILED)
        assert pending_work_resend(now=_later(settings))["training_run"] == 1
    assert PendingResend.objects.get(kind="training_run", object_id=lost.pk).count == 1
    assert _queued_messages(tmp_path, "training") == 1


def test_queued_run_waits_only_behind_a_run_of_its_own_mode(tmp_path, settings):
    """A full run training does not hold back a lost quick run: quick runs have their own queue."""
    first, second = ProjectFactory(), ProjectFactory()
    lost = TrainingRun.objects.create(project=first, requested_by=first.owner, mode=TrainingRun.Mode.QUICK,
                                      celery_task_id="sent-then-lost")
    TrainingRun.objects.create(project=second, requested_by=second.owner, status=TrainingRun.Status.RUNNING)
    with app_broker(embedded_broker_url(tmp_path)):
        assert pending_work_resend(now=_later(settings))["training_run"] == 1
    assert PendingResend.objects.filter(kind="training_run", object_id=lost.pk).exists()


def test_resends_back_off_and_stop(tmp_path, settings):
    """A lab experiment that stays queued is sent again after 1, 2, 4... grace periods, at most N times."""
    settings.RIIM_PENDING_RESEND_MAX = 2
    project = ProjectFactory()
    experiment = LabExperiment.objects.create(project=project, kind=LabExperiment.Kind.SPLITS, params={})
    grace = settings.RIIM_PENDING_RESEND_AFTER
    start = timezone.now()
    with app_broker(embedded_broker_url(tmp_path)):
        sends = [
            pending_work_resend(now=start + timedelta(seconds=seconds))["lab_experiment"]
            for seconds in (grace + 1, grace + 2, 2 * grace + 1, 3 * grace + 2, 10 * grace)
        ]
    assert sends == [1, 0, 0, 1, 0]
    assert PendingResend.objects.get(kind="lab_experiment", object_id=experiment.pk).count == 2
    assert _queued_messages(tmp_path, "lab") == 2

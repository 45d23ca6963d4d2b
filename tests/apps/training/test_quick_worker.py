"""Quick runs and the automatic quick retrain with real Celery workers (Redis in CI)."""
import time

import pytest

from apps.embeddings.models import ImageEmbedding
from apps.labeling.services import label_assign
from apps.training.models import ModelVersion, TrainingRun
from apps.training.services import training_run_start
from apps.uploads.services import image_upload_create
from tests.apps.training.test_quick_runs import QUICK
from tests.apps.training.test_retrain_e2e import drawing
from tests.factories import ProjectFactory, UserFactory
from tests.platform.worker import celery_worker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def overrides(settings, tiny_weights, tiny_model_cache):
    """The tiny weights and the test's model cache, for this process and for the workers."""
    values = {
        "RIIM_WEIGHTS_DIR": str(tiny_weights / "weights"),
        "RIIM_MODEL_CACHE_DIR": str(tiny_model_cache),
        "RIIM_TRAINING_MIN_IMAGES_PER_CLASS": 4,
        "RIIM_QUICK_RETRAIN_LABELS": 1000,
        "RIIM_QUICK_RETRAIN_QUIET_SECONDS": 3,
    }
    for name, value in values.items():
        setattr(settings, name, value)
    return values


def _project(n, *, label=True):
    from apps.accounts import roles

    teacher = UserFactory(role=roles.TEACHER)
    project = ProjectFactory(owner=teacher)
    project.auto_quick_retrain = False
    project.save()
    images = []
    for i in range(n):
        name = ("gato", "perro")[i % 2]
        image = image_upload_create(project=project, uploader=teacher, raw=drawing(name, i), name=f"{name}{i}.png")
        if label:
            label_assign(image=image, author=teacher, label=name)
        images.append((image, name))
    return project, images


def _finished(run_id):
    run = TrainingRun.objects.get(pk=run_id)
    return run if not run.is_active else None


def test_quick_run_end_to_end_on_its_own_worker(overrides):
    """Uploads are embedded once when processed; a quick run on the `quick` worker publishes an active version."""
    project, _ = _project(24)
    assert ImageEmbedding.objects.filter(image__project=project).count() == 24  # computed after processing
    with celery_worker("quick", settings_overrides=overrides) as worker:
        # The classroom image size: the embeddings computed on processing are the ones the run uses.
        run = training_run_start(project=project, user=project.owner, config={**QUICK, "image_size": 224})
        run = wait_for(lambda: _finished(run.pk), timeout=300, interval=0.5, message="quick run finished")
    assert run.status == "succeeded", (run.error_message, worker.log()[-3000:])
    assert run.worker_pid and run.mode == "quick"
    version = ModelVersion.objects.get(project=project)
    assert version.status == "active" and version.mode == "quick" and version.test_n > 0
    assert ImageEmbedding.objects.filter(image__project=project).count() == 24  # nothing embedded twice


def test_automatic_quick_retrain_fires_once_after_the_quiet_time(overrides):
    """Labels given on a project with the automatic retrain on start exactly one automatic quick run,
    a few seconds after the last label, on real workers."""
    project, images = _project(20, label=False)
    project.auto_quick_retrain = True
    project.save()
    with celery_worker("default,quick", settings_overrides=overrides) as worker:
        for image, name in images:
            label_assign(image=image, author=project.owner, label=name)
        run = wait_for(lambda: TrainingRun.objects.filter(project=project).first(), timeout=60, interval=0.5,
                       message="automatic run queued")
        run = wait_for(lambda: _finished(run.pk), timeout=300, interval=0.5, message="automatic run finished")
        # Every label's check has had its turn (each runs QUIET seconds after its label): none started a second run.
        time.sleep(overrides["RIIM_QUICK_RETRAIN_QUIET_SECONDS"] + 3)
    assert run.status == "succeeded", (run.error_message, worker.log()[-3000:])
    assert run.automatic and run.mode == "quick"
    assert TrainingRun.objects.filter(project=project).count() == 1
    assert ModelVersion.objects.get(project=project).status == "active"

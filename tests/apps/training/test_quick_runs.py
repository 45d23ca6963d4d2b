"""Quick runs: a head on the cached embeddings, its own queue, the automatic retrain, the pin, the cleanup.

A random-weight MobileNet 0.25 saved under the ImageNet file name stands in for the pretrained
weights (32 px drawings): the tests check the workflow, not the accuracy.
"""
import pytest
from django.core.files.storage import default_storage

from apps.common.exceptions import ApplicationError
from apps.embeddings.models import ImageEmbedding
from apps.labeling.services import label_assign
from apps.training import services
from apps.training.automation import automatic_versions_prune, quick_model_progress, quick_retrain_check
from apps.training.models import ModelVersion, TrainingRun
from apps.training.services import (
    model_version_activate,
    project_model_pin_release,
    training_run_execute,
    training_run_start,
)
from apps.uploads.services import image_upload_create
from tests.apps.training.test_retrain_e2e import drawing
from tests.factories import ProjectFactory, UserFactory

SIZE = 32
QUICK = {"mode": "quick", "image_size": SIZE, "quantize": ["int8"]}


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    """A weights folder with a random-weight MobileNet 0.25, and a backbone cache shared by the module."""
    from ml.backend import keras

    folder = tmp_path_factory.mktemp("weights")
    keras.utils.set_random_seed(0)
    base = keras.applications.MobileNet(input_shape=(SIZE, SIZE, 3), alpha=0.25, include_top=False, weights=None)
    base.save_weights(folder / "mobilenet_2_5_224_tf_no_top.h5")
    return folder, tmp_path_factory.mktemp("model-cache")


@pytest.fixture
def weights(settings, tiny_weights):
    settings.RIIM_WEIGHTS_DIR = str(tiny_weights[0])
    settings.RIIM_MODEL_CACHE_DIR = tiny_weights[1]
    settings.RIIM_TRAINING_MIN_IMAGES_PER_CLASS = 4
    settings.RIIM_QUICK_RETRAIN_LABELS = 1000  # only the tests that want the automatic retrain get it
    return settings


def _project(n=24, *, auto=False):
    from apps.accounts import roles

    teacher = UserFactory(role=roles.TEACHER)
    project = ProjectFactory(owner=teacher)
    project.auto_quick_retrain = auto
    project.save()
    for i in range(n):
        label = ("gato", "perro")[i % 2]
        image = image_upload_create(project=project, uploader=teacher, raw=drawing(label, i), name=f"{label}{i}.png")
        label_assign(image=image, author=teacher, label=label)
    return project


@pytest.fixture
def in_process(monkeypatch):
    """Runs are executed by the test itself, not sent to a broker."""
    monkeypatch.setattr(services, "_enqueue", lambda run_id: None)


def _quick_run(project, *, automatic=False):
    run = training_run_start(project=project, user=project.owner, config=QUICK, automatic=automatic)
    return training_run_execute(run_id=run.pk)


@pytest.mark.django_db
def test_quick_mode_without_weights_is_refused_with_the_reason(settings, tmp_path, in_process):
    """No pretrained weights: quick mode is refused at once, naming the weights folder."""
    settings.RIIM_WEIGHTS_DIR = str(tmp_path)
    settings.RIIM_TRAINING_MIN_IMAGES_PER_CLASS = 4
    project = _project(12)
    with pytest.raises(ApplicationError, match="RIIM_WEIGHTS_DIR"):
        training_run_start(project=project, user=project.owner, config={"mode": "quick"})
    assert not TrainingRun.objects.exists()


@pytest.mark.django_db
def test_api_refuses_unknown_mode_and_too_few_labels_like_a_full_run(weights, api_as, in_process):
    """An unknown mode is a 400 naming the valid ones; too few labels is the full run's 400."""
    project = _project(4)
    client = api_as(project.owner)
    url = f"/api/v1/projects/{project.slug}/training-runs/"
    response = client.post(url, {"config": {"mode": "instant"}}, format="json")
    assert response.status_code == 400 and "quick, full" in str(response.json())
    quick = client.post(url, {"config": {"mode": "quick", "image_size": SIZE}}, format="json")
    full = client.post(url, {"config": {"mode": "full"}}, format="json")
    assert quick.status_code == full.status_code == 400
    assert quick.json() == full.json() and "gato: 1" in quick.json()["detail"]


@pytest.mark.django_db
def test_quick_and_full_runs_may_be_active_together_but_one_of_each(weights, in_process):
    """One quick and one full run per project at a time, each on its own queue."""
    from apps.common.exceptions import ConflictError

    project = _project(12)
    quick = training_run_start(project=project, user=project.owner, config=QUICK)
    full = training_run_start(project=project, user=project.owner, config={"mode": "full"})
    assert (quick.mode, full.mode) == ("quick", "full")
    with pytest.raises(ConflictError):
        training_run_start(project=project, user=project.owner, config=QUICK)


@pytest.mark.django_db
def test_quick_run_publishes_an_active_served_version(weights, in_process, api_as):
    """A quick run embeds the photos once, publishes a complete version (fp32, int8, CAM head, detector)
    scored on the holdout, activates it, and the version JSON says its mode."""
    project = _project(24)
    run = _quick_run(project)
    assert run.status == "succeeded", run.error_message
    version = ModelVersion.objects.get(project=project)
    assert version.status == "active" and version.mode == "quick"
    assert {"model.onnx", "model.int8.onnx", "head.npz", "anomaly.npz", "card.json"} <= set(version.files)
    assert version.holdout_n == project.images.filter(split="holdout").count() > 0
    assert ImageEmbedding.objects.filter(image__project=project).count() == 24
    listed = api_as(project.owner).get(f"/api/v1/projects/{project.slug}/model-versions/").json()
    row = listed["results"][0] if isinstance(listed, dict) else listed[0]
    assert row["mode"] == "quick"
    # The holdout score from the cache is the served graph's own answer on the photos.
    from apps.training.artifacts import artifacts_local_dir
    from apps.training.evaluation import folder_holdout_score, holdout_images

    accuracy, n = folder_holdout_score(artifacts_local_dir(version), holdout_images(project))
    assert (accuracy, n) == (version.holdout_accuracy, version.holdout_n)


@pytest.mark.django_db
def test_automatic_run_never_overrides_a_hand_picked_version(weights, in_process):
    """After the teacher activates a version by hand, automatic versions publish without activating,
    until the teacher releases the pin."""
    project = _project(16)
    first = _quick_run(project)
    v1 = first.model_version
    model_version_activate(version=v1, user=project.owner)
    project.refresh_from_db()
    assert project.model_pinned
    _quick_run(project, automatic=True)
    assert ModelVersion.objects.get(project=project, number=2).status == "candidate"
    assert ModelVersion.objects.get(pk=v1.pk).status == "active"
    project_model_pin_release(project=project, user=project.owner)
    _quick_run(project, automatic=True)
    assert ModelVersion.objects.get(project=project, number=3).status == "active"


@pytest.mark.django_db
def test_superseded_automatic_versions_are_removed_with_their_files(weights, in_process, settings):
    """Only the newest automatic versions are kept (and the active one); the others lose row and files."""
    settings.RIIM_AUTOMATIC_VERSIONS_KEPT = 1
    project = _project(12)
    _quick_run(project)
    v2 = _quick_run(project, automatic=True).model_version
    v2_files = [f"{v2.artifact_dir}/{name}" for name in v2.files]
    assert v2_files and all(default_storage.exists(path) for path in v2_files)
    runs = [_quick_run(project, automatic=True) for _ in range(2)]
    assert all(run.status == "succeeded" for run in runs)
    numbers = sorted(ModelVersion.objects.filter(project=project).values_list("number", flat=True))
    # v1 (a teacher's run) stays; of the automatic v2..v4, v4 is active and v3 the one kept.
    assert numbers == [1, 3, 4]
    assert not any(default_storage.exists(path) for path in v2_files)
    assert automatic_versions_prune(project=project) == []


@pytest.mark.django_db
def test_labels_progress_compares_the_last_two_quick_versions(weights, in_process):
    """The labeling page's sentence: the previous and the latest quick versions' holdout scores."""
    project = _project(12)
    assert quick_model_progress(project) is None
    _quick_run(project)
    first = quick_model_progress(project)
    assert first.before is None and first.after is not None
    _quick_run(project)
    second = quick_model_progress(project)
    assert second.before == first.after and second.labels > 0


@pytest.mark.django_db
def test_debounce_waits_for_quiet_or_enough_labels(weights, in_process, settings):
    """The check starts a run only after the quiet time or enough new labels, and never with one queued."""
    from datetime import timedelta

    from django.utils import timezone

    settings.RIIM_QUICK_RETRAIN_QUIET_SECONDS = 60
    project = _project(12, auto=True)
    assert quick_retrain_check(project_id=project.pk) is None  # labels seconds old
    run = quick_retrain_check(project_id=project.pk, now=timezone.now() + timedelta(seconds=61))
    assert run is not None and run.automatic and run.mode == "quick"
    assert quick_retrain_check(project_id=project.pk, now=timezone.now() + timedelta(seconds=61)) is None  # queued
    settings.RIIM_QUICK_RETRAIN_LABELS = 5
    training_run_execute(run_id=run.pk)
    image = project.images.first()
    for _ in range(5):
        label_assign(image=image, author=project.owner, label="perro")
    assert quick_retrain_check(project_id=project.pk) is not None  # five new labels: at once
    project.auto_quick_retrain = False
    project.save()
    assert quick_retrain_check(project_id=project.pk, now=timezone.now() + timedelta(hours=1)) is None


@pytest.mark.django_db
def test_versions_page_says_the_mode_and_the_teacher_switches_automation(weights, in_process, client):
    """The versions page marks quick versions; its form switches the automatic retrain and releases the pin
    (for the teacher only)."""
    project = _project(12, auto=True)
    version = _quick_run(project).model_version
    model_version_activate(version=version, user=project.owner)
    client.force_login(project.owner)
    page = client.get(f"/projects/{project.slug}/versions/").content.decode()
    assert "badge text-bg-secondary" in page and 'name="release_pin"' in page
    response = client.post(f"/projects/{project.slug}/automation/", {"release_pin": "on"})
    assert response.status_code == 302
    project.refresh_from_db()
    assert not project.auto_quick_retrain and not project.model_pinned
    from apps.accounts import roles
    from apps.projects.models import Membership

    student = UserFactory(role=roles.STUDENT)
    Membership.objects.create(project=project, user=student, role="student")
    client.force_login(student)
    assert client.post(f"/projects/{project.slug}/automation/", {"auto_quick_retrain": "on"}).status_code == 404
    project.refresh_from_db()
    assert not project.auto_quick_retrain

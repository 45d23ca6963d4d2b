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
    project_automation_update,
    training_run_execute,
    training_run_start,
)
from apps.uploads.services import image_upload_create
from tests.apps.training.test_retrain_e2e import drawing
from tests.factories import ProjectFactory, UserFactory
from tests.fixtures.models import QUICK_SIZE as SIZE  # the size the tiny weights' backbone is exported at

QUICK = {"mode": "quick", "image_size": SIZE, "quantize": ["int8"]}


def _project(n=24, *, auto=False):
    from apps.accounts import roles

    teacher = UserFactory(role=roles.TEACHER)
    project = ProjectFactory(owner=teacher)
    project.auto_quick_retrain = auto
    # Wide held-out shares: with a dozen photos each share still gets some.
    project.test_fraction = project.validation_fraction = 0.25
    project.save()
    for i in range(n):
        label = ("gato", "perro")[i % 2]
        image = image_upload_create(project=project, uploader=teacher, raw=drawing(label, i), name=f"{label}{i}.png")
        label_assign(image=image, author=teacher, label=label)
    return project


@pytest.fixture
def in_process(monkeypatch):
    """Runs are executed by the test itself, not sent to a broker."""
    monkeypatch.setattr(services, "training_run_send", lambda run_id: None)


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
    scored on the sealed test photos, activates it, and the version JSON says its mode and its test score."""
    project = _project(24)
    run = _quick_run(project)
    assert run.status == "succeeded", run.error_message
    version = ModelVersion.objects.get(project=project)
    assert version.status == "active" and version.mode == "quick"
    assert {"model.onnx", "model.int8.onnx", "head.npz", "anomaly.npz", "card.json"} <= set(version.files)
    assert version.test_n == project.images.filter(split="test").count() > 0
    assert ImageEmbedding.objects.filter(image__project=project).count() == 24
    listed = api_as(project.owner).get(f"/api/v1/projects/{project.slug}/model-versions/").json()
    row = listed["results"][0] if isinstance(listed, dict) else listed[0]
    assert row["mode"] == "quick"
    assert row["test"]["n"] == version.test_n and row["test"]["accuracy"] == row["holdout_accuracy"]
    assert row["test"]["ci95"][0] <= row["test"]["accuracy"] <= row["test"]["ci95"][1]
    # The test score from the cache is the served graph's own answer on the photos.
    from apps.training.artifacts import artifacts_local_dir
    from apps.training.evaluation import folder_test_score

    accuracy, n = folder_test_score(artifacts_local_dir(version), project)
    assert (accuracy, n) == (version.test_accuracy, version.test_n)
    # No decision read the test photos: the run's engine never saw the validation photos either.
    trained = {row[0] for row in run.dataset_snapshot if row[2] == "train"}
    assert not trained & set(project.images.exclude(split="train").values_list("pk", flat=True))


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
    assert ModelVersion.objects.get(project=project, number=2).activation["reason"] == "pinned"
    project_automation_update(project=project, user=project.owner, auto_quick_retrain=False, release_pin=True)
    _quick_run(project, automatic=True)
    v3 = ModelVersion.objects.get(project=project, number=3)
    assert v3.status == "active" and v3.activation["reason"] == "not_worse"
    project.refresh_from_db()
    assert not project.model_pinned  # automatic activation never sets (or clears) the pin


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
    assert ModelVersion.objects.get(project=project, number=4).status == "active"
    assert ModelVersion.objects.get(project=project, number=3).status == "archived"
    assert not any(default_storage.exists(path) for path in v2_files)
    assert automatic_versions_prune(project=project) == []


@pytest.mark.django_db
def test_labels_progress_reads_the_test_score_and_the_comparison_on_identical_validation_photos(weights, in_process):
    """The labeling page's sentences: the latest quick version's sealed test score, and its change from the
    version it was compared with, judged on the validation photos both predicted (the wording follows the
    paired verdict; a drop is never called learning)."""
    from apps.training.change import change_sentences
    from apps.training.templatetags.quick_progress import quick_progress

    project = _project(12)
    assert quick_model_progress(project) is None
    _quick_run(project)
    first = quick_model_progress(project)
    assert first.version.number == 1 and first.labels > 0
    assert quick_progress(project)["change"] == ""  # nothing to compare the first version with
    for i in range(12, 20):  # more photos: the second version learns from more
        label = ("gato", "perro")[i % 2]
        image = image_upload_create(project=project, uploader=project.owner, raw=drawing(label, i), name=f"{label}{i}.png")
        label_assign(image=image, author=project.owner, label=label)
    _quick_run(project)
    second = quick_model_progress(project)
    assert second.version.number == 2 and second.labels > first.labels
    record = second.version.activation["validation"]
    validation = project.images.filter(split="validation", label__in=project.classes)
    trained = {row[0] for row in second.version.run.dataset_snapshot if row[2] == "train"}
    assert record["n"] == validation.exclude(pk__in=trained).count() > 0
    assert record["reference_number"] == 1
    wins, losses = record["candidate_only"], record["reference_only"]
    assert record["candidate_correct"] - record["reference_correct"] == wins - losses
    expected = {"better": "Better than", "worse": "Worse than", "same": "No measurable change"}[record["verdict"]]
    from django.utils import translation

    with translation.override("en"):
        sentence = quick_progress(project)["change"]
        assert sentence == change_sentences(record) and sentence.startswith(expected)
    assert f"With {record['n']} validation photos" in sentence


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


def _republish(version):
    """Publish a copy of a version's folder as a new version, as a finished run does."""
    from apps.training.artifacts import artifacts_local_dir

    return services.model_version_publish(project=version.project, local_dir=artifacts_local_dir(version))


def _at_once(*calls):
    """Run the calls in threads released together (each with its own database connection); re-raise any error."""
    import threading

    from django.db import connection

    barrier, errors = threading.Barrier(len(calls)), []

    def target(call):
        try:
            barrier.wait()
            call()
        except Exception as exc:  # surfaced below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors


@pytest.mark.django_db(transaction=True)
def test_a_pin_made_during_an_automatic_publish_survives_it(weights, in_process, monkeypatch):
    """The teacher pins the active version while a new one is being compared (before the decision): the
    hand-picked version stays active and pinned, because the rule re-reads the pin under the lock."""
    import threading

    from apps.training import activation

    project = _project(12)
    v1 = _quick_run(project).model_version
    comparing, pinned = threading.Event(), threading.Event()
    fill = activation.validation_predictions_fill

    def slow_fill(version, images):
        # The publish's comparison, before the lock: hold it here until the teacher's pin has committed.
        if threading.current_thread() is not threading.main_thread() and not comparing.is_set():
            comparing.set()
            pinned.wait(30)
        return fill(version, images)

    def pin():
        comparing.wait(30)
        model_version_activate(version=v1, user=project.owner)
        pinned.set()

    monkeypatch.setattr(activation, "validation_predictions_fill", slow_fill)
    _at_once(lambda: _republish(v1), pin)
    project.refresh_from_db()
    assert comparing.is_set() and project.model_pinned
    assert list(ModelVersion.objects.filter(project=project, status="active").values_list("pk", flat=True)) == [v1.pk]
    assert ModelVersion.objects.get(project=project, number=2).activation["reason"] == "pinned"


@pytest.mark.django_db(transaction=True)
def test_two_publishes_at_once_are_decided_in_turn(weights, in_process, monkeypatch):
    """Two versions of one project published at the same moment are decided one after the other: the second
    decision sees what the first left active, and exactly one version is active. The first decision is held
    for a moment inside the lock, so a rule without the lock would let the second read a stale active version."""
    import threading
    import time

    from apps.training import activation

    project = _project(12)
    v1 = _quick_run(project).model_version
    decide, held = activation._decide, threading.Lock()

    def slow_decide(*args):
        if held.acquire(blocking=False):  # the first decision only
            time.sleep(1.5)
        return decide(*args)

    monkeypatch.setattr(activation, "_decide", slow_decide)
    _at_once(lambda: _republish(v1), lambda: _republish(v1))
    first, second = sorted(ModelVersion.objects.filter(project=project, number__gt=1),
                           key=lambda version: version.activation["at"])
    assert first.activation["active_before"] == 1
    after_first = first.number if first.activation["decision"] == "activated" else 1
    assert second.activation["active_before"] == after_first
    assert ModelVersion.objects.filter(project=project, status="active").count() == 1

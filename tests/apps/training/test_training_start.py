"""Starting, refusing and cancelling retraining runs (no training happens here)."""
import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.common.exceptions import ApplicationError, ConflictError, PermissionDeniedError
from apps.labeling.services import label_assign
from apps.training.configs import training_config_clean
from apps.training.models import TrainingRun
from apps.training.services import STALE_HEARTBEAT, training_run_cancel, training_run_start, training_runs_sweep_stale
from apps.uploads.services import image_upload_create
from tests.factories import image_bytes


@pytest.fixture
def labeled_project(world, settings):
    """Three training images per class, labeled by the teacher."""
    settings.RIIM_TRAINING_MIN_IMAGES_PER_CLASS = 3
    project = world.project
    project.test_fraction = project.validation_fraction = 0.05
    project.save()
    n = 0
    for label, base in (("gato", (250, 0, 0)), ("perro", (0, 0, 250))):
        made = 0
        while made < 3:
            n += 1
            image = image_upload_create(project=project, uploader=world.teacher, raw=image_bytes(color=(base[0], n, base[2])), name=f"{n}.jpg")
            label_assign(image=image, author=world.teacher, label=label)
            made += image.split == "train"
    return project


@pytest.fixture
def no_enqueue(monkeypatch):
    """Keep queued runs queued: these tests look at the service, not at a worker."""
    from apps.training import services

    monkeypatch.setattr(services, "training_run_send", lambda run_id: None)


def test_config_rejects_unknown_keys_and_bad_values(settings, tmp_path):
    """Unknown keys, out-of-range values and paths as weights are refused with per-key messages."""
    settings.RIIM_WEIGHTS_DIR = str(tmp_path)
    with pytest.raises(ApplicationError) as err:
        training_config_clean({"learning_rate": 1})
    assert list(err.value.extra) == ["config"] and "learning_rate" in err.value.extra["config"][0]
    with pytest.raises(ApplicationError) as err:
        training_config_clean({"epochs": 0})
    assert list(err.value.extra) == ["epochs"]
    for path in ("../../etc/passwd", "/tmp/x.h5", "missing.h5"):
        with pytest.raises(ApplicationError) as err:
            training_config_clean({"weights": path})
        assert list(err.value.extra) == ["weights"]
    with pytest.raises(ApplicationError) as err:
        training_config_clean([3])
    assert list(err.value.extra) == ["config"]
    (tmp_path / "mine.h5").write_bytes(b"x")
    assert training_config_clean({"weights": "mine.h5", "epochs": 2})["weights"] == "mine.h5"


def test_start_snapshots_dataset(labeled_project, world, no_enqueue):
    """A run records the images, the labels that counted and the split, with a hash."""
    run = training_run_start(project=labeled_project, user=world.teacher, config={"epochs": 2})
    assert run.status == "queued" and run.config["epochs"] == 2 and run.config["backbone"] == "mobilenet"
    assert len(run.dataset_snapshot) == labeled_project.images.exclude(label="").count()
    assert {row[1] for row in run.dataset_snapshot} == {"gato", "perro"}
    assert len(run.dataset_hash) == 64


def test_refusals(labeled_project, world, no_enqueue, settings):
    """Non-teachers, too few labels and a second active run are refused clearly."""
    with pytest.raises(PermissionDeniedError):
        training_run_start(project=labeled_project, user=world.student)
    settings.RIIM_TRAINING_MIN_IMAGES_PER_CLASS = 50
    with pytest.raises(ApplicationError) as err:
        training_run_start(project=labeled_project, user=world.teacher)
    assert "gato" in str(err.value.message)
    settings.RIIM_TRAINING_MIN_IMAGES_PER_CLASS = 3
    training_run_start(project=labeled_project, user=world.teacher)
    with pytest.raises(ConflictError):
        training_run_start(project=labeled_project, user=world.teacher)
    assert TrainingRun.objects.count() == 1


def test_database_allows_one_active_run(labeled_project, world):
    """The unique constraint itself refuses a second queued run (two clicks at once)."""
    TrainingRun.objects.create(project=labeled_project, requested_by=world.teacher)
    with pytest.raises(IntegrityError), transaction.atomic():
        TrainingRun.objects.create(project=labeled_project, requested_by=world.teacher)


def test_cancel_queued_run(labeled_project, world, no_enqueue):
    run = training_run_start(project=labeled_project, user=world.teacher)
    run = training_run_cancel(run=run, user=world.teacher)
    assert run.status == "cancelled"
    with pytest.raises(ConflictError):
        training_run_cancel(run=run, user=world.teacher)


def test_sweeper_fails_stale_runs_only(labeled_project, world, settings):
    """A running run with an old heartbeat is failed; a fresh one is left alone."""
    settings.RIIM_TRAINING_HEARTBEAT_TIMEOUT = 60
    stale = TrainingRun.objects.create(
        project=labeled_project, requested_by=world.teacher, status="running",
        heartbeat_at=timezone.now() - timezone.timedelta(seconds=120),
    )
    assert training_runs_sweep_stale() == 1
    stale.refresh_from_db()
    assert stale.status == "failed" and stale.error_message == str(STALE_HEARTBEAT % {"seconds": 60})
    fresh = TrainingRun.objects.create(project=labeled_project, requested_by=world.teacher, status="running", heartbeat_at=timezone.now())
    assert training_runs_sweep_stale() == 0
    fresh.refresh_from_db()
    assert fresh.status == "running"


@pytest.mark.parametrize("role,expected", [("teacher", 202), ("student", 403), ("grader", 403), ("outsider", 404), ("staff", 202)])
def test_start_api_permissions(labeled_project, world, api_as, no_enqueue, role, expected):
    response = api_as(getattr(world, role)).post(
        f"/api/v1/projects/{labeled_project.slug}/training-runs/", {"config": {"epochs": 1}}, format="json"
    )
    assert response.status_code == expected, response.content
    if expected == 202:
        body = response.json()
        assert body["status"] == "queued" and body["progress"]["percent"] == 0


def test_start_api_bad_config_is_400(labeled_project, world, api_as, no_enqueue):
    response = api_as(world.teacher).post(
        f"/api/v1/projects/{labeled_project.slug}/training-runs/", {"config": {"epochs": "many", "colour": 1}}, format="json"
    )
    assert response.status_code == 400 and "colour" in str(response.json())


def test_start_api_bad_values_are_400_with_a_message_per_key(labeled_project, world, api_as, no_enqueue):
    """Values out of range are refused with 400: one list of messages per refused key, beside the detail."""
    response = api_as(world.teacher).post(
        f"/api/v1/projects/{labeled_project.slug}/training-runs/",
        {"config": {"epochs": "many", "dropout": 1, "quantize": ["int4"]}}, format="json",
    )
    body = response.json()
    assert response.status_code == 400, body
    assert {"epochs", "dropout", "quantize"} <= set(body) and isinstance(body["epochs"], list)
    assert "epochs" in body["detail"] and not TrainingRun.objects.exists()


@pytest.mark.parametrize("role,expected", [("teacher", 200), ("student", 200), ("grader", 200), ("outsider", 404)])
def test_run_read_and_cancel_permissions(labeled_project, world, api_as, no_enqueue, role, expected):
    run = training_run_start(project=labeled_project, user=world.teacher)
    client = api_as(getattr(world, role))
    assert client.get(f"/api/v1/training-runs/{run.pk}/").status_code == expected
    assert client.get(f"/api/v1/projects/{labeled_project.slug}/training-runs/").status_code == expected
    assert client.get(f"/api/v1/projects/{labeled_project.slug}/model-versions/").status_code == expected
    cancel = client.post(f"/api/v1/training-runs/{run.pk}/cancel/")
    assert cancel.status_code == {"teacher": 200, "student": 403, "grader": 403, "outsider": 404}[role]


def test_admin_retrain_action(labeled_project, world, client, no_enqueue):
    """The admin action queues a run for the selected project."""
    world.teacher.is_staff = True
    world.teacher.save()
    client.force_login(world.teacher)
    response = client.post(
        "/admin/projects/project/", {"action": "retrain_model", "_selected_action": [labeled_project.pk]}, follow=True
    )
    assert response.status_code == 200
    assert TrainingRun.objects.filter(project=labeled_project, status="queued").count() == 1


def test_train_command_refuses_bad_config(labeled_project):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError):
        call_command("train", labeled_project.slug, "--config", '{"nope": 1}')
    with pytest.raises(CommandError, match="does not exist"):
        call_command("train", "no-such-project")
    with pytest.raises(CommandError, match="not valid JSON"):
        call_command("train", labeled_project.slug, "--config", "{epochs: 3")
    with pytest.raises(CommandError, match="JSON object"):
        call_command("train", labeled_project.slug, "--config", "[3]")
    with pytest.raises(CommandError, match="JSON object"):
        call_command("export_training_bundle", labeled_project.slug, "out.zip", "--config", "3")
    with pytest.raises(CommandError, match="epochs"):
        call_command("train", labeled_project.slug, "--config", '{"epochs": 0}')
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("train", labeled_project.slug, "--backbone", "resnet")
    assert not TrainingRun.objects.filter(project=labeled_project).exists()


def test_train_command_flags_win_over_config(labeled_project, no_enqueue, capsys):
    """Option flags override --config; keys given nowhere take the classroom defaults."""
    from django.core.management import call_command

    call_command("train", labeled_project.slug, "--config", '{"epochs": 3, "folds": 0}', "--epochs", "2",
                 "--prune", "none", "--quantize", "int8")
    run = TrainingRun.objects.get()
    assert (run.config["epochs"], run.config["folds"], run.config["prune"], run.config["quantize"]) == (2, 0, None, ["int8"])
    assert run.config["fine_tune_epochs"] == 3 and run.config["backbone"] == "mobilenet"


def test_training_pages(labeled_project, world, client, no_enqueue):
    """The teacher starts a run from the page and follows it; students only read."""
    client.force_login(world.teacher)
    assert client.get(f"/projects/{labeled_project.slug}/training/").status_code == 200
    form = {"backbone": "scratch", "alpha": "0.25", "weights": "none", "image_size": 64, "epochs": 2, "fine_tune_epochs": 0,
            "augment": "light", "dropout": 0.2, "folds": 0, "prune": "", "seed": 1}
    response = client.post(f"/projects/{labeled_project.slug}/training/", form)
    assert response.status_code == 302
    run = TrainingRun.objects.get()
    assert run.config["backbone"] == "scratch" and run.config["prune"] is None and run.config["quantize"] == []
    assert client.get(response["Location"]).status_code == 200
    assert client.get(f"/projects/{labeled_project.slug}/versions/").status_code == 200
    client.force_login(world.student)
    assert client.post(f"/projects/{labeled_project.slug}/training/", form).status_code == 404


def test_training_page_shows_a_refused_value_beside_its_field(labeled_project, world, client, no_enqueue, settings, tmp_path):
    """A value the form accepts but the service refuses (an absent weights file) is shown on its field: 400, no run."""
    settings.RIIM_WEIGHTS_DIR = str(tmp_path)
    client.force_login(world.teacher)
    form = {"backbone": "mobilenet", "alpha": "0.25", "weights": "absent.h5", "image_size": 64, "epochs": 2,
            "fine_tune_epochs": 0, "augment": "light", "dropout": 0.2, "folds": 0, "prune": "", "seed": 1}
    response = client.post(f"/projects/{labeled_project.slug}/training/", form)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert list(errors) == ["weights"] and "absent.h5" in errors["weights"][0]
    assert not TrainingRun.objects.exists()

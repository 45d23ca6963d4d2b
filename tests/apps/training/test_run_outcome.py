"""A finished run's page says what happened: the version it made, its test score, whether it was activated and
why not; an automatic run says it was automatic and after how many new labels."""
import pytest
from django.utils import timezone

from apps.training.models import ModelVersion, TrainingRun

pytestmark = pytest.mark.django_db


def _run(world, *, automatic=False, status=TrainingRun.Status.SUCCEEDED, mode="quick"):
    from apps.training.events import log_entry

    return TrainingRun.objects.create(
        project=world.project, requested_by=world.teacher, status=status, stage="report", percent=100.0, mode=mode,
        automatic=automatic, log=[log_entry("run.queued", {"user": world.teacher.username})],
    )


def _version(world, run, number, *, status=ModelVersion.Status.CANDIDATE, accuracy=0.925, n=40, activated=False,
             activation=None):
    return ModelVersion.objects.create(
        project=world.project, number=number, run=run, status=status, artifact_dir=f"models/v{number}",
        test_accuracy=accuracy, test_n=n, activated_at=timezone.now() if activated else None,
        activation=activation or {},
    )


def _compared(verdict, ours, theirs, n=14, reference=1):
    """An activation record's comparison on ``n`` identical validation photos."""
    return {"n": n, "candidate_correct": ours, "reference_correct": theirs, "candidate_only": max(0, ours - theirs),
            "reference_only": max(0, theirs - ours), "p_value": 0.5, "reference_number": reference, "verdict": verdict}


def _page(client, world, run):
    client.force_login(world.teacher)
    return client.get(f"/training-runs/{run.pk}/", HTTP_ACCEPT_LANGUAGE="es").content.decode()


def test_an_activated_version_is_named_with_its_score(world, client):
    """The page names the version, its score on the sealed test photos the Spanish way with its interval, and that
    it is active."""
    run = _run(world)
    _version(world, run, 3, status=ModelVersion.Status.ACTIVE, activated=True)
    page = _page(client, world, run)
    assert 'id="run-outcome"' in page
    assert ("Este entrenamiento hizo la versión 3: 92,5 % de aciertos en 40 fotos de prueba (intervalo del 95 % de "
            "80,1 % a 97,4 %)") in page
    assert "Es el modelo activo" in page
    assert 'id="run-stage-line" hidden' in page  # no «Fase: —» once the run has ended


def test_a_worse_version_says_why_it_was_not_activated(world, client):
    """A version that got fewer of the same validation photos right says so, with both counts, and never speaks of
    learning: «con 14 fotos de validación, una diferencia de 7,1 puntos es una sola foto»."""
    old = _run(world)
    _version(world, old, 1, status=ModelVersion.Status.ACTIVE, accuracy=0.9, activated=True)
    run = _run(world)
    _version(world, run, 2, accuracy=0.5, activation={"decision": "kept", "reason": "worse", "active_before": 1,
                                                      "validation": _compared("same", 12, 13)})
    page = _page(client, world, run)
    assert "No se activó: acertó menos de las mismas fotos de validación que la versión activa" in page
    assert ("Sin cambio medible respecto a la versión 1: acertó 12 de 14 fotos de validación, frente a 13, en las "
            "mismas fotos. Con 14 fotos de validación, una diferencia de 7,1 puntos es una sola foto.") in page
    assert "aprendió" not in page


def test_a_measured_drop_is_called_worse(world, client):
    run = _run(world)
    _version(world, run, 2, activation={"decision": "kept", "reason": "worse", "active_before": 1,
                                        "validation": _compared("worse", 30, 40, n=50)})
    assert "Peor que la versión 1: acertó 30 de 50 fotos de validación, frente a 40" in _page(client, world, run)


def test_a_version_without_a_common_validation_photo_says_it_could_not_be_compared(world, client):
    run = _run(world)
    _version(world, run, 2, activation={"decision": "kept", "reason": "no_comparable_score", "active_before": 1,
                                        "validation": None})
    page = _page(client, world, run)
    assert "no tiene ninguna foto de validación etiquetada en común con la versión activa" in page
    assert "No se pudo comparar con la versión anterior" in page


def test_an_automatic_version_under_a_pinned_choice_says_so(world, client):
    """An automatic run's version is not activated over the teacher's hand-picked one, and the page says so."""
    old = _run(world)
    _version(world, old, 1, status=ModelVersion.Status.ACTIVE, accuracy=0.5, activated=True)
    world.project.model_pinned = True
    world.project.save(update_fields=["model_pinned"])
    run = _run(world, automatic=True)
    _version(world, run, 2, accuracy=0.95, activation={"decision": "kept", "reason": "pinned", "active_before": 1})
    assert "elegiste a mano la versión activa" in _page(client, world, run)


def test_a_broken_version_gives_its_problem(world, client):
    run = _run(world)
    version = _version(world, run, 2)
    ModelVersion.objects.filter(pk=version.pk).update(status=ModelVersion.Status.FAILED, problem="El archivo no se abre.")
    assert "El archivo no se abre." in _page(client, world, run)


def test_a_running_run_has_no_outcome_yet(world, client):
    run = _run(world, status=TrainingRun.Status.RUNNING)
    page = _page(client, world, run)
    assert 'id="run-outcome"' not in page and 'data-active="1"' in page


def test_an_automatic_run_says_after_how_many_new_labels(world, client, api_as):
    """«automático, tras 3 etiquetas nuevas» on the page and in the log the page polls, not «pedido por profe»."""
    from apps.labeling.services import label_assign
    from apps.uploads.services import image_upload_create
    from tests.factories import image_bytes

    for i in range(3):
        image = image_upload_create(project=world.project, uploader=world.student,
                                    raw=image_bytes(color=(10 * i, 200, 30)), name=f"{i}.jpg")
        label_assign(image=image, author=world.student, label="gato")
    TrainingRun.objects.filter(project=world.project).delete()  # only the run below, whatever the labels started
    run = _run(world, automatic=True)
    page = _page(client, world, run)
    assert "Automático, tras 3 etiquetas nuevas" in page
    assert "en cola automáticamente, tras 3 etiquetas nuevas" in page and "pedido por profe" not in page
    client.force_login(world.teacher)
    log = client.get(f"/api/v1/training-runs/{run.pk}/", HTTP_ACCEPT_LANGUAGE="es").json()["log_tail"]
    assert log[0].endswith("en cola automáticamente, tras 3 etiquetas nuevas")


def test_a_teachers_run_names_who_asked(world, client):
    run = _run(world, status=TrainingRun.Status.QUEUED)
    assert "Pedido por profe" in _page(client, world, run)

"""The teacher's training page recommends the kind of training the project's own scores support: the quick
model when full training did not beat it on the same holdout photos, full training when it did (by how much),
and what full training costs while only quick models exist."""
import pytest
from django.utils import translation

from apps.training.models import ModelVersion
from apps.training.selectors import training_mode_advice


def version(project, number, mode, accuracy, n, status=ModelVersion.Status.ARCHIVED, **extra):
    """A published version of the project's classes, scored on ``n`` holdout photos."""
    metadata = {"classes": list(project.classes), **({"mode": "quick"} if mode == "quick" else {})}
    return ModelVersion.objects.create(project=project, number=number, artifact_dir=f"v{number}", status=status,
                                       metadata=metadata, holdout_accuracy=accuracy, holdout_n=n, **extra)


def page(client, world):
    client.force_login(world.teacher)
    response = client.get(f"/projects/{world.project.slug}/training/")
    assert response.status_code == 200
    return response


@pytest.mark.django_db
def test_full_training_not_above_the_quick_model_recommends_the_quick_model(world, client):
    project = world.project
    version(project, 1, "quick", 0.94, 50)
    version(project, 2, "full", 0.93, 50, status=ModelVersion.Status.ACTIVE)
    version(project, 3, "full", 0.99, 20)  # another holdout (fewer photos): not comparable, left out
    version(project, 4, "full", 0.99, 50, status=ModelVersion.Status.FAILED, problem="model.onnx cannot be opened")
    response = page(client, world)
    html = response.content.decode()
    assert ("El entrenamiento completo no ha superado al modelo rápido con vuestras etiquetas (93 % frente a 94 %, "
            "en las mismas 50 fotos de reserva): usad el modelo rápido, tarda segundos.") in html
    assert response.context["form"]["mode"].value() == "quick"
    assert '<option value="quick" selected>' in html

    client.cookies["django_language"] = "en"
    html = page(client, world).content.decode()
    assert "Full training has not beaten the quick model with your labels (93 % against 94 %" in html


@pytest.mark.django_db
def test_close_scores_show_the_decimals_that_tell_them_apart_in_the_readers_format(world):
    project = world.project
    version(project, 1, "quick", 0.938, 500)
    version(project, 2, "full", 0.936, 500)
    with translation.override("es"):
        advice = training_mode_advice(project=project)
    assert advice.case == "quick_not_beaten" and "(93,6 % frente a 93,8 %" in advice.text


@pytest.mark.django_db
def test_a_full_version_that_beats_the_quick_model_says_by_how_much(world, client):
    project = world.project
    version(project, 1, "quick", 0.90, 40)
    version(project, 2, "quick", 0.92, 40)
    version(project, 3, "full", 0.975, 40, status=ModelVersion.Status.ACTIVE)
    response = page(client, world)
    html = response.content.decode()
    assert ("El entrenamiento completo supera al modelo rápido en 6 puntos con vuestras etiquetas "
            "(98 % frente a 92 %, en las mismas 40 fotos de reserva)") in html
    assert response.context["form"]["mode"].value() == "full" and '<option value="full" selected>' in html
    version(project, 4, "quick", 0.965, 40)
    html = page(client, world).content.decode()
    assert "supera al modelo rápido en 1 punto con vuestras etiquetas (98 % frente a 97 %" in html


@pytest.mark.django_db
def test_only_quick_versions_explain_what_full_training_costs(world, client):
    project = world.project
    version(project, 1, "quick", 0.875, 16, status=ModelVersion.Status.ACTIVE)
    response = page(client, world)
    html = response.content.decode()
    assert response.context["form"]["mode"].value() == "full"  # the default: the teacher chooses
    assert ("Por ahora solo se ha entrenado el modelo rápido: 88 % en 16 fotos de reserva. Un entrenamiento completo "
            "ajusta la propia red y tarda varios minutos; su versión solo sustituye a la activa si acierta al menos "
            "lo mismo en las mismas fotos de reserva.") in html


@pytest.mark.django_db
def test_versions_of_other_classes_or_holdouts_are_not_compared(world, client):
    project = world.project
    assert training_mode_advice(project=project) is None
    version(project, 1, "full", 0.99, 30)
    assert training_mode_advice(project=project) is None  # no quick model: nothing to compare with
    version(project, 2, "quick", 0.80, 40)
    other = version(project, 3, "full", 0.99, 40)
    other.metadata["classes"] = ["otra", "cosa"]
    other.save(update_fields=["metadata"])
    advice = training_mode_advice(project=project)
    assert advice.case == "not_comparable" and advice.mode is None
    html = page(client, world).content.decode()
    assert "se midieron con fotos de reserva distintas (40 y 30)" in html

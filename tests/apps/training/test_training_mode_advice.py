"""The teacher's training page recommends the kind of training the project's own scores support, judged on
identical validation photos (the sealed test share is never read): the quick model unless full training
measurably beats it (by how much), and what full training costs while only quick models exist."""
import pytest
from django.utils import translation

from apps.training.models import ModelVersion, TrainingRun
from apps.training.selectors import training_mode_advice
from apps.uploads.models import Image


def photos(project, n, split="validation", start=0):
    """Labeled photos of one split (rows only: the advice never opens a file)."""
    label = project.classes[0]
    return [Image.objects.create(project=project, uploader=project.owner, original_name=f"{i}.jpg", file=f"x/{i}.jpg",
                                 sha256=f"{i:064x}", width=8, height=8, format="JPEG", split=split, label=label)
            for i in range(start, start + n)]


def version(project, number, mode, images, right, status=ModelVersion.Status.ARCHIVED, trained_on=(), **extra):
    """A version that predicted ``images``, getting the first ``right`` of them right (the rest wrong)."""
    metadata = {"classes": list(project.classes), **({"mode": "quick"} if mode == "quick" else {})}
    wrong = project.classes[1]
    predictions = {str(image.pk): (image.label if k < right else wrong) for k, image in enumerate(images)}
    run = None
    if trained_on:
        run = TrainingRun.objects.create(project=project, requested_by=project.owner, mode=mode,
                                         status=TrainingRun.Status.SUCCEEDED,
                                         dataset_snapshot=[[image.pk, image.label, "train"] for image in trained_on])
    return ModelVersion.objects.create(project=project, number=number, artifact_dir=f"v{number}", status=status,
                                       metadata=metadata, validation_predictions=predictions, run=run, **extra)


def page(client, world):
    client.force_login(world.teacher)
    response = client.get(f"/projects/{world.project.slug}/training/")
    assert response.status_code == 200
    return response


@pytest.mark.django_db
def test_full_training_not_measurably_above_recommends_the_quick_model(world, client):
    project = world.project
    images = photos(project, 50)
    version(project, 1, "quick", images, 47)
    version(project, 2, "full", images, 46, status=ModelVersion.Status.ACTIVE)
    version(project, 3, "full", images, 50, status=ModelVersion.Status.FAILED, problem="model.onnx cannot be opened")
    response = page(client, world)
    html = response.content.decode()
    assert ("El entrenamiento completo no ha superado de forma medible al modelo rápido con vuestras etiquetas "
            "(92 % frente a 94 % en las mismas 50 fotos de validación): usad el modelo rápido, tarda segundos.") in html
    assert response.context["form"]["mode"].value() == "quick"
    assert '<option value="quick" selected>' in html

    client.cookies["django_language"] = "en"
    html = page(client, world).content.decode()
    assert "Full training has not measurably beaten the quick model with your labels (92 % against 94 %" in html


@pytest.mark.django_db
def test_a_few_more_right_is_not_a_measurable_win(world):
    """Full right on 3 more of 40 photos (3 to 0 where they disagree): chance gives that 1 time in 4, so the quick
    model stays advised."""
    project = world.project
    images = photos(project, 40)
    version(project, 1, "quick", images, 34)
    version(project, 2, "full", images, 37)
    advice = training_mode_advice(project=project)
    assert advice.case == "quick_not_beaten" and advice.mode == "quick"


@pytest.mark.django_db
def test_close_scores_show_the_decimals_that_tell_them_apart_in_the_readers_format(world):
    project = world.project
    images = photos(project, 500)
    version(project, 1, "quick", images, 469)
    version(project, 2, "full", images, 468)
    with translation.override("es"):
        advice = training_mode_advice(project=project)
    assert advice.case == "quick_not_beaten" and "(93,6 % frente a 93,8 %" in advice.text


@pytest.mark.django_db
def test_a_full_version_that_measurably_beats_the_quick_model_says_by_how_much(world, client):
    project = world.project
    images = photos(project, 40)
    version(project, 1, "quick", images, 34)
    version(project, 2, "full", images, 40, status=ModelVersion.Status.ACTIVE)
    response = page(client, world)
    html = response.content.decode()
    assert ("El entrenamiento completo supera al modelo rápido en 15 puntos con vuestras etiquetas "
            "(100 % frente a 85 % en las mismas 40 fotos de validación)") in html
    assert response.context["form"]["mode"].value() == "full" and '<option value="full" selected>' in html


@pytest.mark.django_db
def test_only_quick_versions_explain_what_full_training_costs(world, client):
    project = world.project
    version(project, 1, "quick", photos(project, 16), 14, status=ModelVersion.Status.ACTIVE)
    response = page(client, world)
    html = response.content.decode()
    assert response.context["form"]["mode"].value() == "full"  # the default: the teacher chooses
    assert ("Hasta ahora solo se ha entrenado el modelo rápido. Un entrenamiento completo ajusta la propia red y "
            "tarda varios minutos") in html


@pytest.mark.django_db
def test_versions_without_common_validation_photos_or_of_other_classes_are_not_compared(world, client):
    project = world.project
    assert training_mode_advice(project=project) is None
    first, second = photos(project, 30), photos(project, 30, start=30)
    version(project, 1, "full", first, 30)
    assert training_mode_advice(project=project) is None  # no quick model: nothing to compare with
    version(project, 2, "quick", second, 20)
    other = version(project, 3, "full", second, 30)
    other.metadata["classes"] = ["otra", "cosa"]
    other.save(update_fields=["metadata"])
    advice = training_mode_advice(project=project)
    assert advice.case == "not_comparable" and advice.mode is None
    html = page(client, world).content.decode()
    assert "aún no tienen ninguna foto de validación en común" in html
    # Photos a version trained on (a small class borrowed them) never count in a comparison.
    version(project, 4, "full", second, 30, trained_on=second[:25])
    advice = training_mode_advice(project=project)
    assert advice.validation_n == 5
    # The sealed test share is never read, whatever the versions predicted there.
    test_photos = photos(project, 10, split="test", start=60)
    version(project, 5, "full", second + test_photos, 30)
    assert training_mode_advice(project=project).validation_n == 30

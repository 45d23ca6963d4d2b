"""The teacher's run and versions pages: names in the reader's language, and a run that had to start from scratch says so."""
import pytest

from apps.training.models import TrainingRun

# What the engine writes in the card when the pretrained weights cannot be loaded.
FALLBACK = {
    "requested": "mobilenet", "used": "scratch", "alpha": None, "pretrained": False, "fallback": True,
    "fallback_reason": "No pretrained weights available: mobilenet_2_5_224_tf_no_top.h5 is not in the weights folder. "
                       "Falling back to the scratch CNN.",
}


@pytest.mark.django_db
def test_versions_page_names_the_network_and_warns_of_a_fallback(classroom, publish, client):
    version = publish()
    client.force_login(classroom.teacher)
    url = f"/projects/{classroom.project.slug}/versions/"
    html = client.get(url).content.decode()
    assert version.metadata["backbone"]["used"] == "scratch" and "CNN desde cero" in html
    assert "sin pesos preentrenados" not in html  # asked for a scratch network: nothing to warn about

    version.metadata["backbone"] = FALLBACK
    version.save(update_fields=["metadata"])
    html = client.get(url).content.decode()
    assert "sin pesos preentrenados: entrenada desde cero" in html
    assert "is not in the weights folder" in html


@pytest.mark.django_db
def test_run_page_names_status_and_stage_and_warns_of_a_fallback(classroom, publish, client):
    version = publish()
    run = TrainingRun.objects.create(project=classroom.project, requested_by=classroom.teacher,
                                     status=TrainingRun.Status.RUNNING, stage="prune", percent=80)
    client.force_login(classroom.teacher)
    page = client.get(f"/training-runs/{run.pk}/")
    html = page.content.decode()
    assert "podando" in html and "Fase:</strong> <span id=\"run-stage\">prune" not in html
    texts = page.context["texts"]
    assert texts["statuses"]["succeeded"] == "Completado" and texts["stages"]["fine_tune"] == "ajustando las capas superiores"
    assert 'id="run-fallback" class="alert alert-warning" role="alert" hidden' in html

    version.run = run
    version.metadata["backbone"] = FALLBACK
    version.save(update_fields=["run", "metadata"])
    html = client.get(f"/training-runs/{run.pk}/").content.decode()
    assert 'id="run-fallback" class="alert alert-warning" role="alert">' in html
    assert "No había pesos preentrenados" in html and "is not in the weights folder" in html


def test_every_engine_stage_has_a_name_on_the_run_page():
    """The run page names each stage the engine reports; a new stage without a name would show its key."""
    from apps.training.views import STAGE_LABELS
    from ml.training import STAGE_WEIGHTS

    assert set(STAGE_WEIGHTS) <= set(STAGE_LABELS)

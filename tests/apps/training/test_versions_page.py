"""The versions page: variant names in words, activation that asks and confirms, the lab's cross-validation spread."""
import pytest

from apps.training.models import ModelVersion
from ml.validation import summarize

# Five folds whose sample and population standard deviations differ in the third decimal.
PER_FOLD = [{"fold": i + 1, "accuracy": a, "loss": 0.5, "n": 10} for i, a in enumerate([0.8, 0.95, 0.85, 0.7, 0.9])]


@pytest.mark.django_db
def test_variants_are_named_in_words(classroom, publish, trained_model_dir, client):
    """No raw key such as tflite_dynamic is shown as a variant name; it stays only in the title attribute."""
    publish(trained_model_dir)  # the engine's export: every variant it measures
    client.force_login(classroom.teacher)
    html = client.get(f"/projects/{classroom.project.slug}/versions/").content.decode()
    assert "TFLite, pesos de 8 bits" in html and "ONNX (el que responde)" in html
    assert ">tflite_dynamic<" not in html and "<code>onnx_fp32</code>" not in html


@pytest.mark.django_db
def test_activation_asks_first_and_the_page_confirms_it(classroom, publish, client):
    """The activate button carries its question, a version the rule kept aside says why on the page, and the page
    says which version became active."""
    first = publish()
    second = publish()
    # No labeled validation photo: the new version cannot be compared, so it waits, and the page says so.
    assert (first.status, second.status, second.activation["reason"]) == ("active", "candidate", "no_comparable_score")
    client.force_login(classroom.teacher)
    url = f"/projects/{classroom.project.slug}/versions/"
    html = client.get(url).content.decode()
    assert f"¿Activar la versión {second.number}?" in html
    assert "No se activó: no tiene ninguna foto de validación etiquetada en común con la versión activa" in html
    assert "js/versions.js" in html and "<script>\n" not in html.split("js/riim.js")[1]
    assert "ahora es el modelo activo" not in client.get(f"{url}?activated={second.number}").content.decode()
    assert client.post(f"/api/v1/model-versions/{second.pk}/activate/").status_code == 200
    html = client.get(f"{url}?activated={second.number}").content.decode()
    assert f"La versión {second.number} ahora es el modelo activo" in html


@pytest.mark.django_db
def test_cross_validation_spread_is_the_same_on_the_versions_page_and_in_the_lab(classroom, publish, client):
    """Both pages show the card's mean ± sample standard deviation for the same version."""
    version = publish()
    kfold = summarize(PER_FOLD, 5, "head")
    version.metadata["kfold"] = kfold
    version.metrics = {**version.metrics, "kfold_k": 5, "kfold_mean": kfold["accuracy"]["mean"],
                       "kfold_std": kfold["accuracy"]["std"]}
    version.save(update_fields=["metadata", "metrics"])
    assert ModelVersion.objects.get(pk=version.pk).metrics["kfold_std"] == pytest.approx(0.0962, abs=1e-4)
    client.force_login(classroom.teacher)
    spread = f"± {kfold['accuracy']['std']:.3f}".replace(".", ",")
    versions = client.get(f"/projects/{classroom.project.slug}/versions/").content.decode()
    lab = client.get(f"/lab/cross-validation/?project={classroom.project.slug}").content.decode()
    assert spread in versions
    assert spread in lab


@pytest.mark.django_db
def test_pages_use_decimal_commas_while_the_api_keeps_dots_and_iso_times(classroom, publish, client, api_as):
    """The same test score reads 0,xxx on the Spanish page and is a JSON number with an ISO time in the API."""
    import datetime
    import json

    version = publish()
    version.test_accuracy, version.test_n = 0.9375, 16
    version.save(update_fields=["test_accuracy", "test_n"])
    client.force_login(classroom.teacher)
    assert "0,938" in client.get(f"/projects/{classroom.project.slug}/versions/").content.decode()
    raw = api_as(classroom.teacher).get(f"/api/v1/projects/{classroom.project.slug}/model-versions/",
                                        HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert '"holdout_accuracy":0.9375' in raw.replace(" ", "")
    assert '"test":{"accuracy":0.9375,"n":16,"ci95":[' in raw.replace(" ", "")
    row = next(r for r in json.loads(raw)["results"] if r["number"] == version.number)
    assert datetime.datetime.fromisoformat(row["created_at"]).utcoffset() is not None

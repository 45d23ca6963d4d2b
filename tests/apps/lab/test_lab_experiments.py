"""Lab experiments run on the project's own model and photos, through the API and the `lab` task."""

import numpy as np
import pytest

from apps.lab.features import version_features
from apps.lab.models import LabExperiment
from apps.lab.services import NO_MODEL_YET, ONLY_MEMBERS_EXPERIMENT

pytestmark = pytest.mark.django_db


def _run(api_as, user, project, kind, capture, params=None):
    with capture(execute=True):
        response = api_as(user).post(
            f"/lab/api/projects/{project.slug}/experiments/", {"kind": kind, "params": params or {}}, format="json"
        )
    assert response.status_code == 201, response.content
    detail = api_as(user).get(response.data["url"])
    assert detail.status_code == 200
    return detail.data


def test_clusters_match_the_red_and_blue_labels(lab_world, api_as, django_capture_on_commit_callbacks):
    """k-means on the model's embeddings of the project's photos finds the two colours, with thumbnails."""
    data = _run(api_as, lab_world.student, lab_world.project, "clusters", django_capture_on_commit_callbacks, {"k": 2})
    assert data["status"] == "succeeded", data["error"]
    result = data["result"]
    assert len(result["points"]) == len(lab_world.images)
    assert result["agreement"]["matched_accuracy"] > 0.9
    assert result["points"][0]["thumb"].startswith("/api/v1/images/")
    assert len(result["anomalies"]) == 8 and result["anomalies"][0]["error"] >= result["anomalies"][-1]["error"]


def test_overfitting_experiment_returns_both_curves_with_the_coach(
    lab_world, api_as, django_capture_on_commit_callbacks
):
    data = _run(api_as, lab_world.student, lab_world.project, "overfitting", django_capture_on_commit_callbacks)
    result = data["result"]
    assert len(result["plain"]) == len(result["regularized"]) > 10
    assert result["augmented_size"] == 5 * result["subset_size"]
    assert result["coach"]["plain"]["verdict"] in {"overfitting", "underfitting", "fine"}
    assert data["percent"] == 100.0


def test_label_noise_includes_the_chosen_percentage(lab_world, api_as, django_capture_on_commit_callbacks):
    data = _run(
        api_as, lab_world.teacher, lab_world.project, "label_noise", django_capture_on_commit_callbacks, {"percent": 35}
    )
    fractions = [row["fraction"] for row in data["result"]["rows"]]
    assert 0.35 in fractions and data["result"]["rows"][0]["accuracy"] > 0.8


def test_splits_and_bandit_and_autoencoder_run(lab_world, api_as, django_capture_on_commit_callbacks):
    splits = _run(api_as, lab_world.student, lab_world.project, "splits", django_capture_on_commit_callbacks)["result"]
    assert len(splits["single_splits"]) == 12 and splits["kfold"]["k"] >= 2
    bandit = _run(api_as, lab_world.student, lab_world.project, "bandit", django_capture_on_commit_callbacks)["result"]
    assert bandit["agent"]["best"] in bandit["actions"] and len(bandit["agent"]["rewards"]) == 24
    assert sum(bandit["agent"]["counts"].values()) == 24
    ae = _run(api_as, lab_world.student, lab_world.project, "autoencoder", django_capture_on_commit_callbacks)["result"]
    assert len(ae["images"]) == 6 and ae["images"][0]["reconstruction"].startswith("data:image/png;base64,")


def test_compression_compares_the_three_files(lab_world, api_as, django_capture_on_commit_callbacks):
    """fp32, int8 and unpruned files are read: int8 weights take few values, the pruned kernel has zeros."""
    result = _run(api_as, lab_world.student, lab_world.project, "compression", django_capture_on_commit_callbacks)[
        "result"
    ]
    variants = result["variants"]
    assert set(variants) == {"fp32", "int8", "unpruned"}
    assert variants["int8"]["histogram"]["distinct"] < variants["unpruned"]["histogram"]["distinct"]
    assert all(v["heatmap"].startswith("data:image/png") for v in variants.values())
    assert variants["unpruned"]["kernel_source"] == "model.unpruned.onnx"
    assert {v["label"] for v in variants.values()} == {result["image"]["label"]}


def test_features_are_cached_per_version(lab_world):
    first = version_features(lab_world.version)
    calls = []
    second = version_features(lab_world.version, progress=lambda *a: calls.append(a))
    assert calls == []  # nothing recomputed
    assert np.allclose(first.embeddings["original"], second.embeddings["original"])
    held_out = np.concatenate([second.select("test"), second.select("validation")])
    assert len(held_out) and np.isnan(second.embeddings["flip"][held_out]).all()


def test_graders_read_but_cannot_start(lab_world, api_as):
    response = api_as(lab_world.grader).post(
        f"/lab/api/projects/{lab_world.project.slug}/experiments/", {"kind": "clusters"}, format="json"
    )
    assert response.status_code == 403 and response.data["detail"] == str(ONLY_MEMBERS_EXPERIMENT)


def test_outsiders_see_nothing(lab_world, api_as, django_capture_on_commit_callbacks):
    data = _run(api_as, lab_world.student, lab_world.project, "splits", django_capture_on_commit_callbacks)
    assert api_as(lab_world.outsider).get(f"/lab/api/experiments/{data['id']}/").status_code == 404
    assert (
        api_as(lab_world.outsider)
        .post(f"/lab/api/projects/{lab_world.project.slug}/experiments/", {"kind": "clusters"}, format="json")
        .status_code
        == 404
    )


def test_without_a_model_the_lab_says_it_comes_after_retraining(world, api_as):
    response = api_as(world.student).post(
        f"/lab/api/projects/{world.project.slug}/experiments/", {"kind": "clusters"}, format="json"
    )
    assert response.status_code == 409 and response.data["detail"] == str(NO_MODEL_YET)
    assert not LabExperiment.objects.exists()


def test_a_broken_model_fails_the_experiment_with_a_message(lab_world, api_as, django_capture_on_commit_callbacks):
    from django.core.files.storage import default_storage

    default_storage.delete(f"{lab_world.version.artifact_dir}/model.onnx")
    data = _run(api_as, lab_world.student, lab_world.project, "clusters", django_capture_on_commit_callbacks)
    assert data["status"] == "failed" and data["error"]


def test_tasks_route_to_the_lab_queue(settings):
    from apps.lab.tasks import lab_experiment_execute_task
    from riim_site.celery import app

    route = app.amqp.router.route({}, lab_experiment_execute_task.name)
    assert route["queue"].name == "lab"


def test_overfitting_compares_the_gap_over_several_seeds(lab_world, api_as, django_capture_on_commit_callbacks):
    """Besides the drawn curves, the gap with and without regularization is measured on 5 seeds, with its spread."""
    from apps.lab.runners import OVERFIT_SEEDS

    result = _run(api_as, lab_world.student, lab_world.project, "overfitting", django_capture_on_commit_callbacks)["result"]
    seeds = result["seeds"]
    assert seeds["n"] == OVERFIT_SEEDS == 5
    for key in ("plain", "regularized"):
        assert len(seeds[key]["gaps"]) == OVERFIT_SEEDS and seeds[key]["std"] is not None
        assert abs(seeds[key]["mean"] - sum(seeds[key]["gaps"]) / OVERFIT_SEEDS) < 1e-9
    assert seeds["plain"]["gaps"][0] == result["coach"]["plain"]["final_gap"]  # seed 0 is the one drawn

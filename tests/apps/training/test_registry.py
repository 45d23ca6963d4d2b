"""Model versions: publishing policy, activation and rollback, imports, artifacts and broken versions."""
import io
import json
import shutil
import zipfile
from pathlib import Path

import onnx
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from apps.inference.loader import cache_clear
from apps.labeling.services import label_assign
from apps.training.imports import model_version_import
from apps.training.models import ModelVersion
from apps.training.services import model_version_activate
from tests.fixtures.models import class_pictures


def _client(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def _zip_folder(folder: Path, prefix: str = "model/", extra: dict | None = None) -> SimpleUploadedFile:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, prefix + path.relative_to(folder).as_posix())
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return SimpleUploadedFile("model.zip", out.getvalue(), content_type="application/zip")


@pytest.fixture
def labeled_holdout(classroom, stored_image):
    """Pictures with teacher labels in every share, so versions get a test score and can be compared on validation photos."""
    made = {"train": 0, "validation": 0, "test": 0}
    for label, raw in class_pictures(40, seed=77):
        image = stored_image(raw, name=f"{label}.png", user=classroom.teacher)
        label_assign(image=image, author=classroom.teacher, label=label)
        made[image.split] += 1
    assert made["test"] > 0 and made["validation"] > 0
    return made


def test_first_version_is_activated_and_scored(classroom, publish, labeled_holdout):
    """Version 1 becomes active and is scored on the project's sealed test photos."""
    version = publish()
    assert (version.number, version.status, version.activation["reason"]) == (1, "active", "first")
    assert version.test_n == labeled_holdout["test"]
    assert version.test_accuracy >= 0.8


def test_equal_version_replaces_active_and_rollback_restores_it(classroom, publish, labeled_holdout):
    """Not worse on the same validation photos: v2 becomes active; activating v1 again is a rollback."""
    v1 = publish()
    v2 = publish()
    v1.refresh_from_db()
    assert (v1.status, v2.status) == ("archived", "active")
    compared = v2.activation["validation"]
    assert v2.activation["reason"] == "not_worse" and compared["n"] == labeled_holdout["validation"]
    assert compared["candidate_correct"] == compared["reference_correct"] and compared["verdict"] == "same"
    response = _client(classroom.teacher).post(f"/api/v1/model-versions/{v1.pk}/activate/")
    assert response.status_code == 200 and response.json()["status"] == "active"
    v2.refresh_from_db()
    assert v2.status == "archived"
    assert ModelVersion.objects.filter(project=classroom.project, status="active").count() == 1


def _swap_class_outputs(source: Path, target: Path, n_classes: int) -> None:
    """Copy a model folder whose network answers every class's score for the other class (a real, worse model)."""
    from onnx import numpy_helper

    shutil.copytree(source, target)
    model = onnx.load(target / "model.onnx")
    swapped = 0
    for init in model.graph.initializer:
        array = numpy_helper.to_array(init)
        if array.ndim in (1, 2) and array.shape[-1] == n_classes and array.size > n_classes // 2:
            init.CopyFrom(numpy_helper.from_array(array[..., ::-1].copy(), init.name))
            swapped += 1
    assert swapped >= 1
    onnx.save(model, target / "model.onnx")
    for name in ("model.int8.onnx",):
        (target / name).unlink(missing_ok=True)


def test_worse_version_stays_candidate(classroom, publish, labeled_holdout, tmp_path, trained_model_dir):
    """A version that gets fewer of the same validation photos right stays a candidate; the teacher decides."""
    v1 = publish()
    worse = tmp_path / "worse"
    _swap_class_outputs(trained_model_dir, worse, len(classroom.project.classes))
    v2 = publish(folder=worse)
    v1.refresh_from_db()
    compared = v2.activation["validation"]
    assert compared["candidate_correct"] < compared["reference_correct"] and v2.activation["reason"] == "worse"
    assert (v1.status, v2.status) == ("active", "candidate")


@pytest.mark.parametrize("role,expected", [("teacher", 200), ("student", 403), ("grader", 403), ("outsider", 404)])
def test_activate_permissions(classroom, publish, role, expected):
    v1 = publish()
    publish()
    assert _client(getattr(classroom, role)).post(f"/api/v1/model-versions/{v1.pk}/activate/").status_code == expected


@pytest.mark.parametrize("role,expected", [("teacher", 200), ("student", 200), ("grader", 200), ("outsider", 404)])
def test_artifact_download_permissions(classroom, publish, role, expected):
    """Members download a version's files (the browser needs model.onnx); others get 404; unknown names 404."""
    version = publish()
    client = _client(getattr(classroom, role))
    response = client.get(f"/api/v1/model-versions/{version.pk}/files/card.json")
    assert response.status_code == expected
    if expected == 200:
        assert json.loads(b"".join(response.streaming_content))["classes"] == classroom.project.classes
        assert client.get(f"/api/v1/model-versions/{version.pk}/files/../../settings.py").status_code == 404


def test_import_good_folder_is_a_scored_candidate(classroom, publish, labeled_holdout, trained_model_dir):
    """A zipped model folder passes `ml validate`, is scored on the sealed test photos and waits as a candidate."""
    publish()
    response = _client(classroom.teacher).post(
        f"/api/v1/projects/{classroom.project.slug}/model-versions/import/",
        {"file": _zip_folder(trained_model_dir)}, format="multipart",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["source"], body["explainable"]) == ("candidate", "imported", True)
    assert body["test"]["n"] == labeled_holdout["test"] and body["test"]["accuracy"] >= 0.8
    assert (body["holdout_n"], body["holdout_accuracy"]) == (body["test"]["n"], body["test"]["accuracy"])
    assert body["activation"] == {"decision": "kept", "reason": "imported"}


def test_import_classification_only_model(classroom, trained_model_dir, tmp_path, stored_image):
    """A model.onnx with only `probabilities` and no head is accepted as classification only and answers."""
    folder = tmp_path / "plain"
    folder.mkdir()
    shutil.copy(trained_model_dir / "card.json", folder / "card.json")
    model = onnx.load(trained_model_dir / "model.onnx")
    keep = [o for o in model.graph.output if o.name == "probabilities"]
    del model.graph.output[:]
    model.graph.output.extend(keep)
    onnx.save(model, folder / "model.onnx")
    version = model_version_import(project=classroom.project, user=classroom.teacher, zip_file=_zip_folder(folder, prefix=""))
    assert (version.status, version.explainable) == ("candidate", False)
    model_version_activate(version=version, user=classroom.teacher)
    label, raw = class_pictures(1, seed=9)[0]
    response = _client(classroom.student).post(
        "/api/v1/analyze/", {"project": classroom.project.slug, "file": SimpleUploadedFile("x.png", raw)}, format="multipart"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["label"] in classroom.project.classes and body["explanation"]["available"] is False


@pytest.mark.parametrize(
    "case", ["not a zip", "path traversal", "no card", "broken onnx", "wrong classes"],
)
def test_import_broken_folders_are_refused(classroom, trained_model_dir, tmp_path, case):
    """Each broken upload is a 400 with a message, and no version or stored file appears."""
    if case == "not a zip":
        upload = SimpleUploadedFile("model.zip", b"PK nope")
    elif case == "path traversal":
        upload = _zip_folder(trained_model_dir, extra={"../../evil.txt": "x"})
    elif case == "no card":
        folder = tmp_path / "nocard"
        shutil.copytree(trained_model_dir, folder)
        (folder / "card.json").unlink()
        upload = _zip_folder(folder)
    elif case == "broken onnx":
        folder = tmp_path / "broken"
        shutil.copytree(trained_model_dir, folder)
        (folder / "model.onnx").write_bytes(b"\x00" * 100)
        upload = _zip_folder(folder)
    else:
        folder = tmp_path / "classes"
        shutil.copytree(trained_model_dir, folder)
        card = json.loads((folder / "card.json").read_text())
        card["classes"] = ["uno", "dos"]
        (folder / "card.json").write_text(json.dumps(card))
        upload = _zip_folder(folder)
    response = _client(classroom.teacher).post(
        f"/api/v1/projects/{classroom.project.slug}/model-versions/import/", {"file": upload}, format="multipart"
    )
    assert response.status_code == 400, response.content
    assert response.json()["detail"]
    assert not ModelVersion.objects.exists()
    assert not default_storage.exists("models")


def test_import_refused_for_students(classroom, trained_model_dir):
    response = _client(classroom.student).post(
        f"/api/v1/projects/{classroom.project.slug}/model-versions/import/",
        {"file": _zip_folder(trained_model_dir)}, format="multipart",
    )
    assert response.status_code == 403


def test_missing_artifact_gives_clear_409_and_admin_shows_it(classroom, publish, client):
    """Deleting the active version's model.onnx: analyses get a 409 message; the admin lists the problem."""
    version = publish()
    cache_clear()
    default_storage.delete(f"{version.artifact_dir}/model.onnx")
    label, raw = class_pictures(1, seed=4)[0]
    response = _client(classroom.student).post(
        "/api/v1/analyze/", {"project": classroom.project.slug, "file": SimpleUploadedFile("x.png", raw)}, format="multipart"
    )
    assert response.status_code == 409 and "model.onnx" in response.json()["detail"]
    classroom.teacher.is_staff = True
    classroom.teacher.save()
    client.force_login(classroom.teacher)
    page = client.get("/admin/training/modelversion/")
    assert page.status_code == 200 and b"model.onnx is missing" in page.content


def _with_int8(trained_model_dir: Path, target: Path, n_classes: int, *, wrong: bool) -> Path:
    """A model folder whose int8 file is its fp32 graph (accurate) or that graph with the classes swapped (wrong)."""
    if wrong:
        _swap_class_outputs(trained_model_dir, target, n_classes)
        swapped = target / "model.onnx"
        shutil.copy(trained_model_dir / "model.onnx", target / "model.fp32.keep")
        shutil.move(swapped, target / "model.int8.onnx")
        shutil.move(target / "model.fp32.keep", target / "model.onnx")
    else:
        shutil.copytree(trained_model_dir, target)
        shutil.copy(target / "model.onnx", target / "model.int8.onnx")
    return target


def test_an_int8_file_that_loses_accuracy_on_validation_photos_is_not_served(
        classroom, publish, labeled_holdout, tmp_path, trained_model_dir, settings):
    """int8 is judged on validation photos (never the test share): a file that loses more than a point is withheld,
    the server falls back to fp32 even when configured for int8, and the judgement is in the version's metrics."""
    from apps.inference.loader import served_variant

    settings.RIIM_INFERENCE_VARIANT = "int8"
    n = len(classroom.project.classes)
    good = publish(folder=_with_int8(trained_model_dir, tmp_path / "good", n, wrong=False))
    bad = publish(folder=_with_int8(trained_model_dir, tmp_path / "bad", n, wrong=True))
    judged = {version.number: version.metrics["int8"] for version in (good, bad)}
    assert judged[good.number]["n"] == judged[bad.number]["n"] == labeled_holdout["validation"]
    assert judged[good.number]["servable"] and judged[good.number]["int8_accuracy"] == judged[good.number]["fp32_accuracy"]
    assert not judged[bad.number]["servable"] and judged[bad.number]["reason"] == "loses_accuracy"
    assert judged[bad.number]["int8_accuracy"] < judged[bad.number]["fp32_accuracy"] - 0.01
    assert (served_variant(good), served_variant(bad)) == ("int8", "fp32")
    listed = _client(classroom.teacher).get(f"/api/v1/projects/{classroom.project.slug}/model-versions/").json()
    rows = {row["number"]: row for row in (listed["results"] if isinstance(listed, dict) else listed)}
    assert rows[bad.number]["metrics"]["int8"]["servable"] is False
    from django.test import Client

    client = Client()
    client.force_login(classroom.teacher)
    page = client.get(f"/projects/{classroom.project.slug}/versions/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "El archivo int8 no se usa: en" in page and "El archivo int8 puede usarse: en" in page

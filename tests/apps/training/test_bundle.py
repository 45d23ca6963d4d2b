"""export_training_bundle: the zip trains with its own copy of the engine and imports back as a candidate."""
import json
import os
import shlex
import subprocess
import sys
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from apps.labeling.services import label_assign
from apps.training.imports import model_version_import
from ml.__main__ import build_parser
from ml.config import OPTIONS, TrainConfig
from tests.fixtures.models import class_pictures


@pytest.fixture
def labeled(classroom, stored_image):
    for label, raw in class_pictures(12, seed=31):
        label_assign(image=stored_image(raw, user=classroom.teacher), author=classroom.teacher, label=label)
    return classroom.project


def test_bundle_contents(labeled, tmp_path, capsys):
    """The bundle has the ImageFolder split (training and test photos; the validation share stays on the platform,
    which compares versions on it), a manifest, the config, the engine, a script and a notebook."""
    out = tmp_path / "bundle.zip"
    call_command("export_training_bundle", labeled.slug, str(out), "--config", '{"epochs": 3}')
    summary = json.loads(capsys.readouterr().out)
    names = zipfile.ZipFile(out).namelist()
    counts = summary["counts"]
    validation = labeled.images.filter(split="validation").exclude(label="").count()
    assert validation and set(counts) <= {"train", "test"}
    assert sum(sum(by_class.values()) for by_class in counts.values()) == 24 - validation
    assert not any(n.startswith("dataset/validation/") for n in names)
    assert {"dataset/manifest.csv", "config.json", "train.sh", "riim_train.ipynb", "riim-ml/pyproject.toml",
            "riim-ml/ml/training.py"} <= set(names)
    assert any(n.startswith("dataset/train/") for n in names)
    with zipfile.ZipFile(out) as bundle:
        assert json.loads(bundle.read("config.json"))["epochs"] == 3
        assert json.loads(bundle.read("riim_train.ipynb"))["nbformat"] == 4
        config = json.loads(bundle.read("config.json"))
        line = next(line for line in bundle.read("train.sh").decode().splitlines() if line.startswith("python -m ml train"))
    # The script's flags rebuild exactly the engine configuration the platform's worker would train with.
    args = build_parser().parse_args(shlex.split(line)[3:])
    assert TrainConfig(**{o.name: getattr(args, o.name) for o in OPTIONS}) == TrainConfig.from_dict(
        {**config, "prune": config["prune"] or None})
    with pytest.raises(CommandError):
        call_command("export_training_bundle", labeled.slug, str(out), "--config", '{"bogus": 1}')


def test_bundle_trains_elsewhere_and_imports(labeled, tmp_path, classroom):
    """Train from the unpacked bundle with its own `ml` copy (a separate Python process), then import the result."""
    bundle = tmp_path / "bundle.zip"
    call_command("export_training_bundle", labeled.slug, str(bundle))
    workdir = tmp_path / "elsewhere"
    zipfile.ZipFile(bundle).extractall(workdir)
    env = {**os.environ, "PYTHONPATH": str(workdir / "riim-ml")}
    command = [
        sys.executable, "-m", "ml", "train", "--data", "dataset/manifest.csv", "--out", "model", "--quiet",
        "--backbone", "scratch", "--weights", "none", "--image-size", "40", "--epochs", "3",
        "--fine-tune-epochs", "0", "--folds", "0", "--augment", "none",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    probe = subprocess.run([sys.executable, "-c", "import ml; print(ml.__file__)"], cwd=tmp_path, env=env,
                           capture_output=True, text=True)
    assert str(workdir / "riim-ml") in probe.stdout  # the bundle's own engine ran
    archive = tmp_path / "model.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for path in (workdir / "model").rglob("*"):
            out.write(path, path.relative_to(workdir / "model").as_posix())
    version = model_version_import(
        project=labeled, user=classroom.teacher, zip_file=SimpleUploadedFile("model.zip", archive.read_bytes())
    )
    assert (version.source, version.status, version.explainable) == ("imported", "candidate", True)
    assert version.metadata["classes"] == labeled.classes

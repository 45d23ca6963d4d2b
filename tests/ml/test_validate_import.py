"""The import checks run a folder's classifier at one photo and at a batch, and sort folders into served or refused."""

import json

import onnx
import pytest

from ml.validate import IMPORT_BATCH, classification_problems, import_problems
from tests.fixtures.models import write_model_folder


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "model"
    write_model_folder(path, ["rojo", "azul"])
    return path


def test_a_classifier_that_takes_batches_is_accepted_for_classification(folder):
    """The tiny folder lacks what `ml validate` wants (a full card) but classifies: accepted, not explainable."""
    assert classification_problems(folder) == []
    assert import_problems(folder) == ([], False)


def test_a_classifier_fixed_to_one_photo_is_refused(folder):
    """One photo at a time passes a single-image run; the batch run names the batch size it failed at."""
    model = onnx.load(folder / "model.onnx")
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 1
    onnx.save(model, folder / "model.onnx")
    assert classification_problems(folder, batch_sizes=(1,)) == []
    problems, explainable = import_problems(folder)
    assert any(f"batch of {IMPORT_BATCH}" in p for p in problems) and not explainable


def test_probabilities_for_other_classes_are_refused(folder):
    """A card with three classes for a two-class model is reported with both counts."""
    card = json.loads((folder / "card.json").read_text())
    card["classes"] = ["rojo", "azul", "verde"]
    (folder / "card.json").write_text(json.dumps(card))
    (problem,) = classification_problems(folder)
    assert "3 classes" in problem

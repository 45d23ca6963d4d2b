"""The runtime contract is declared once, in ml.runtime, and the card schema agrees with it."""

import json

import pytest

from ml import runtime
from ml.card import card_schema


def test_input_size_prefers_the_served_input():
    """A card whose served graphs take another size than training used answers with the served one."""
    card = {"input": {"size": [224, 224]}, "serving": {"input": {"size": 160}}, "classes": ["a", "b"]}
    assert runtime.input_size(card) == 160
    assert runtime.input_size({"input": {"size": [96, 96]}}) == 96
    assert runtime.input_size({"input": {"size": 64}}) == 64



def _input_name_constants(node):
    """Yield every fixed value the schema gives an ``input``'s ``name``, wherever the section sits."""
    if isinstance(node, dict):
        section = node.get("input")
        if isinstance(section, dict) and "const" in section.get("properties", {}).get("name", {}):
            yield section["properties"]["name"]["const"]
        for value in node.values():
            yield from _input_name_constants(value)
    elif isinstance(node, list):
        for value in node:
            yield from _input_name_constants(value)


def test_the_schema_names_the_served_input_as_the_runtime_does():
    """The card's serving section may only name the graph input ml.runtime feeds."""
    names = list(_input_name_constants(card_schema()))
    assert names and set(names) == {runtime.INPUT_NAME}

def test_input_size_refuses_a_card_without_one():
    with pytest.raises(KeyError):
        runtime.input_size({"classes": ["a"]})


def test_read_model_card_from_a_folder(tmp_path):
    """The reader gives the served size, the classes and the listed files of a folder's card.json."""
    card = {"input": {"size": [32, 32]}, "classes": ["circle", "square"], "files": {"onnx": "model.onnx"}}
    (tmp_path / runtime.CARD_FILE).write_text(json.dumps(card))
    read = runtime.read_model_card(tmp_path)
    assert (read.input_size, read.classes, read.files) == (32, ["circle", "square"], {"onnx": "model.onnx"})
    assert read.raw == card


def test_every_file_has_one_name_and_a_role():
    """No two roles share a file name, no name is declared twice, and the served variants are folder files."""
    names = [f.name for f in runtime.MODEL_FOLDER]
    assert len(names) == len(set(names)) and len(runtime.FILES) == len(runtime.MODEL_FOLDER)
    assert all(f.role for f in runtime.MODEL_FOLDER)
    assert set(runtime.VARIANT_FILES.values()) <= set(names)
    assert runtime.variant_of("model.int8.onnx") == "int8" and runtime.variant_of("model.onnx") == "fp32"


def test_the_schema_names_the_runtime_files_and_inputs():
    """The schema's folder section lists only files the runtime knows, fed through the runtime's input names."""
    spec = card_schema()["x-model-folder"]
    names = set(runtime.FILES.values())
    assert set(spec["required_files"]) <= names and set(spec["onnx"]) <= names
    for name in runtime.CLASSIFIER_FILES:
        assert spec["onnx"][name]["inputs"] == [runtime.INPUT_NAME]
        assert spec["onnx"][name]["outputs"] == list(runtime.SERVING_OUTPUTS)
    assert spec["onnx"][runtime.TAGS_FILE]["inputs"] == [runtime.TAGS_INPUT_NAME]
    assert set(spec["onnx"][runtime.REFERENCE_FILE]["inputs_one_of"]) == {runtime.INPUT_NAME, runtime.EARLY_FEATURES}

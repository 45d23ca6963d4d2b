"""The engine's stage table: selection with what each stage needs, and the card that records which ran."""

import pytest

from ml.stages import EXPORT_STAGES, QUICK_STAGES, STAGES, UnknownStage, select, stages_section
from tests.fixtures import models as fx


def test_no_selection_runs_every_stage_in_table_order():
    """None selects the whole table, in the order the pipeline runs it."""
    assert select(None, EXPORT_STAGES) == tuple(stage.name for stage in EXPORT_STAGES)
    assert select(None) == tuple(STAGES)


def test_a_stage_brings_what_it_needs_and_the_required_ones():
    """Asking for tags alone runs the anomaly stage it reads and the export every served folder needs."""
    assert select(["tags"], EXPORT_STAGES) == ("export", "anomaly", "tags")
    assert select([], EXPORT_STAGES) == ("export",)
    assert select(["tfjs"], QUICK_STAGES) == ("fit", "export", "tfjs")


def test_an_unknown_stage_is_refused_by_name():
    with pytest.raises(UnknownStage, match="autoencodr"):
        select(["autoencodr"], EXPORT_STAGES)


def test_every_file_a_stage_writes_is_a_model_folder_file():
    """A stage declares its files by the keys of ml.runtime's table, so nothing writes an unlisted file."""
    from ml.runtime import FILES

    for table in (tuple(STAGES.values()), QUICK_STAGES):
        for stage in table:
            assert set(stage.files) <= set(FILES), stage.name
            assert set(stage.needs) <= {other.name for other in table}, stage.name


def test_stages_section_lists_the_skipped_ones():
    assert stages_section(["fit", "export"], QUICK_STAGES) == {"ran": ["fit", "export"],
                                                              "skipped": ["tfjs", "anomaly", "imagenet"]}


def test_export_all_runs_only_the_selected_stages(tmp_path, shape_classifier):
    """export_all with the anomaly stage writes the served graph and the detector, and nothing of the others."""
    from ml.export import export_all

    data = shape_classifier
    result = export_all(data["model"], tmp_path, train=data["train"], holdout=data["holdout"],
                        classes=list(fx.CLASSES), stages=("anomaly",))
    assert result["stages"] == ("export", "anomaly")
    assert {"onnx", "activations", "head", "tflite", "anomaly"} <= set(result["sections"]["files"])
    for absent in ("autoencoder.onnx", "tfjs", "model.int8.onnx", "tags.onnx"):
        assert not (tmp_path / absent).exists(), absent
    assert set(result["sections"]["timings"]) == {"export", "anomaly"}
    assert "parity" not in result["sections"] and "autoencoder" not in result["sections"]

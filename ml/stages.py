"""The engine's stages, one entry each: what a stage needs, what it writes, and its share of a run.

``ml.training.train`` and ``ml.export.export_all`` take a selection of these names and run only
those (plus what they need); the card's ``stages`` section records which ran. Adding a stage is
one entry here, its function, and the platform's label for it (``apps.training.events``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Stage:
    """One step of a training run.

    ``weight`` is the stage's share of the progress bar (roughly its share of the run time);
    ``needs`` are the stages whose output it reads; ``files`` the ``ml.runtime.FILES`` keys it may
    write; ``sections`` the card sections it fills; ``required`` stages always run.
    """

    name: str
    weight: float
    needs: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    required: bool = False


TRAINING_STAGES = (
    Stage("data", 0.08, required=True),
    Stage("build", 0.02, needs=("data",), required=True),
    Stage("kfold", 0.15, needs=("build",), sections=("kfold",)),
    Stage("train", 0.45, needs=("build",), files=("model", "history", "history_plot"), sections=("history",),
          required=True),
    Stage("fine_tune", 0.25, needs=("train",), sections=("fine_tuning",)),
    Stage("evaluate", 0.03, needs=("train",), sections=("metrics",), required=True),
)

EXPORT_STAGES = (
    Stage("prune", 0.08, files=("onnx_unpruned",), sections=("pruning",)),
    Stage("export", 0.03, files=("onnx", "activations", "head", "tflite"), sections=("serving",), required=True),
    Stage("quantize", 0.04, needs=("export",), files=("onnx_int8", "tflite_dynamic", "tflite_int8", "tflite_float16"),
          sections=("quantization",)),
    Stage("parity", 0.03, needs=("export",), sections=("parity", "sizes", "latency", "variants")),
    Stage("tfjs", 0.01, files=("tfjs_model", "tfjs_weights", "tfjs_metadata"), sections=("tfjs",)),
    Stage("anomaly", 0.02, needs=("export",), files=("onnx_reference", "anomaly", "anomaly_browser"),
          sections=("anomaly",)),
    Stage("autoencoder", 0.06, files=("autoencoder",), sections=("autoencoder",)),
    Stage("tags", 0.01, needs=("anomaly",), files=("tags",), sections=("tags",)),
)

REPORT_STAGE = Stage("report", 0.02, files=("card",), required=True)

STAGES = {stage.name: stage for stage in (*TRAINING_STAGES, *EXPORT_STAGES, REPORT_STAGE)}
STAGE_WEIGHTS = {name: stage.weight for name, stage in STAGES.items()}
EXPORT_STAGE_NAMES = tuple(stage.name for stage in EXPORT_STAGES)


class UnknownStage(ValueError):
    """A stage name that is not in the table."""


def select(requested: Iterable[str] | None, table: Iterable[Stage] = STAGES.values()) -> tuple[str, ...]:
    """Return the stages of ``table`` to run, in table order: the requested ones, what they need and the required.

    ``None`` selects every stage of the table.
    """
    table = tuple(table)
    by_name = {stage.name: stage for stage in table}
    names = set(by_name)
    if requested is None:
        return tuple(stage.name for stage in table)
    unknown = sorted(set(requested) - set(STAGES) - names)
    if unknown:
        raise UnknownStage(f"unknown stages {unknown}; known: {sorted(set(STAGES) | names)}")
    chosen = {name for name in requested if name in names} | {stage.name for stage in table if stage.required}
    pending = list(chosen)
    while pending:  # a stage brings what it needs, and that brings what it needs
        for need in by_name[pending.pop()].needs:
            if need in names and need not in chosen:
                chosen.add(need)
                pending.append(need)
    return tuple(stage.name for stage in table if stage.name in chosen)


def stages_section(ran: Iterable[str], table: Iterable[Stage] = STAGES.values()) -> dict:
    """Return the card's ``stages`` section: which stages of the run's table ran and which were skipped."""
    ran = list(ran)
    return {"ran": ran, "skipped": [stage.name for stage in table if stage.name not in ran]}

# A quick run's stages: a convex head on cached embeddings, written into the cached backbone graph.
QUICK_STAGES = (
    Stage("fit", 0.2, sections=("quick", "kfold", "metrics"), required=True),
    Stage("export", 0.3, needs=("fit",), files=("onnx", "onnx_int8", "head", "activations"),
          sections=("serving", "quantization"),
          required=True),
    Stage("tfjs", 0.2, needs=("fit",), files=("tfjs_model", "tfjs_weights", "tfjs_metadata"), sections=("tfjs",)),
    Stage("anomaly", 0.3, files=("anomaly", "anomaly_browser"), sections=("anomaly",)),
    Stage("imagenet", 0.05, files=("imagenet_head", "imagenet_labels"), sections=("tags",)),
)

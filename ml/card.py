"""The model card (``card.json``): everything needed to read, trust and rebuild a model.

``schema/card.schema.json`` is the contract; imported external models are validated against it.
``build_card`` is the one builder: full runs (``ml.training``) and quick runs (``ml.quick``) pass
what they measured, and the sections both share (serving, timings, libraries, stages) are
written here once.
"""

from __future__ import annotations

import json
import platform
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from ml.preprocess import preprocessing_spec
from ml.stages import stages_section

SCHEMA_PATH = Path(__file__).parent / "schema" / "card.schema.json"
SCHEMA_VERSION = "1.0"
CARD_FILE = "card.json"
# The libraries that shape a model, read from the installed packages (importing TensorFlow to ask would cost seconds).
LIBRARIES = ("tensorflow", "tf_keras", "numpy", "scikit-learn", "pillow", "onnx", "onnxruntime", "tf2onnx")


def card_schema() -> dict:
    """Return the committed JSON Schema of a model card."""
    return json.loads(SCHEMA_PATH.read_text())


def validate_card(card: dict) -> None:
    """Raise ``jsonschema.ValidationError`` if the card does not follow the schema."""
    import jsonschema

    jsonschema.validate(card, card_schema(), cls=jsonschema.Draft202012Validator)


def write_card(card: dict, path: str | Path) -> Path:
    """Validate and write a card as indented JSON."""
    validate_card(card)
    path = Path(path)
    path.write_text(json.dumps(card, indent=2, sort_keys=False))
    return path


def read_card(path: str | Path) -> dict:
    """Read a card from a JSON file, or from the ``card.json`` of a model folder."""
    path = Path(path)
    return json.loads((path / CARD_FILE if path.is_dir() else path).read_text(encoding="utf-8"))


def library_versions() -> dict:
    """Return the installed versions of the libraries that shape a trained model."""

    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "absent"

    return {"python": platform.python_version(), **{name: version(name) for name in LIBRARIES}}


def timings_section(stages: dict, final_training_s: float, total_s: float | None = None) -> dict:
    """Return each stage's seconds, the total (the stages' sum unless measured whole) and its ratio to training."""
    total = round(sum(stages.values()) if total_s is None else total_s, 3)
    return {"stages": stages, "total_s": total, "final_training_s": round(final_training_s, 3),
            "total_over_final_training": round(total / final_training_s, 3) if final_training_s else None}


def build_card(*, name: str, seed: int, classes: list, image_size: int, backbone: dict, config: dict,
               dataset: dict, metrics: dict, kfold: dict | None, history: dict, overfitting: dict,
               layers: list, parameters: dict, timings: dict, files: dict, stages_ran, stage_table,
               serving: dict, sections: dict | None = None, mode: str | None = None) -> dict:
    """Assemble a model card (validated against the schema when written).

    ``timings`` is ``timings_section``'s, ``serving`` is ``serving_section``'s; ``sections`` are the
    stages' own card sections (pruning, parity, anomaly ...), added as they are.
    """
    card = {
        "schema_version": SCHEMA_VERSION,
        "name": name,
        **({"mode": mode} if mode else {}),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "seed": seed,
        "classes": list(classes),
        "input": {"size": [int(image_size), int(image_size)], "channels": 3,
                  "preprocessing": preprocessing_spec(int(image_size))},
        "backbone": backbone,
        "config": config,
        "dataset": dataset,
        "metrics": metrics,
        "kfold": kfold,
        "history": history,
        "overfitting": overfitting,
        "layers": layers,
        "parameters": parameters,
        "libraries": library_versions(),
        "timings": timings,
        "serving": serving,
        "stages": stages_section(stages_ran, stage_table),
        **(sections or {}),
    }
    card["files"] = {**files, "card": CARD_FILE}
    return card

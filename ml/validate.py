"""Check a model folder against the card schema before anyone serves it.

The schema (``ml/schema/card.schema.json``) carries, besides the card's shape, an
``x-model-folder`` section listing the files every folder must hold and the
input/output names of each ONNX file. The registry runs this on imported models;
``python -m ml validate DIR`` runs it from the shell. No TensorFlow is needed.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

import numpy as np

from ml.anomaly import load_detectors
from ml.cam import load_head
from ml.card import CARD_FILE, card_schema, read_card
from ml.errors import ModelError
from ml.runtime import (
    ANOMALY_FILE,
    HEAD_FILE,
    INPUT_NAME,
    MODEL_FILE,
    REFERENCE_FILE,
    VARIANT_FILES,
    input_size,
    input_size_or_none,
    open_session,
)

FOLDER_KEY = "x-model-folder"
MAX_SCHEMA_ERRORS = 10  # enough to show what is wrong without burying the first problem
PROBABILITY_TOLERANCE = 1e-3


class ModelFolderInvalid(ModelError):
    """A model folder does not hold what the schema requires."""


def folder_spec() -> dict:
    """Return the required files and ONNX names declared in the schema."""
    return card_schema()[FOLDER_KEY]


def _check_card(folder: Path, problems: list) -> dict | None:
    import jsonschema

    path = folder / CARD_FILE
    if not path.is_file():
        problems.append(f"{CARD_FILE} is missing")
        return None
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems.append(f"{CARD_FILE} is not valid JSON ({exc})")
        return None
    validator = jsonschema.Draft202012Validator(card_schema())
    for error in sorted(validator.iter_errors(card), key=lambda e: list(e.path))[:MAX_SCHEMA_ERRORS]:
        where = "/".join(str(p) for p in error.path) or "(card)"
        problems.append(f"{CARD_FILE}: {where}: {error.message}")
    return card if isinstance(card, dict) else None


def _confined_name(name) -> bool:
    """Whether a card's file entry names a file inside the folder (``tfjs/model.json`` yes, ``../x`` no)."""
    if not isinstance(name, str) or not name or "\\" in name:
        return False
    path = PurePosixPath(name)
    return not path.is_absolute() and all(part not in ("", ".", "..") for part in name.split("/"))


def _check_listed_files(folder: Path, card: dict, problems: list) -> None:
    for key, name in (card.get("files") or {}).items():
        if not _confined_name(name):
            problems.append(f"card files.{key} is not a file name inside the folder: {name!r}")
        elif not (folder / name).is_file():
            problems.append(f"card lists {name} ({key}) but the file is missing")


def _check_onnx(path: Path, expected: dict, problems: list):
    """Load and check one ONNX file and its input/output names; return the model or None."""
    import onnx

    try:
        model = onnx.load(str(path))
        onnx.checker.check_model(model)
    except Exception as exc:  # protobuf and checker errors have many types; all mean "unusable"
        problems.append(f"{path.name} is not a valid ONNX model ({type(exc).__name__}: {exc})"[:300])
        return None
    inputs = [i.name for i in model.graph.input]
    outputs = [o.name for o in model.graph.output]
    missing_in = [n for n in expected.get("inputs", []) if n not in inputs]
    one_of = expected.get("inputs_one_of")
    if one_of and not set(one_of) & set(inputs):
        missing_in.append(" or ".join(one_of))
    missing_out = [n for n in expected.get("outputs", []) if n not in outputs]
    if missing_in:
        problems.append(f"{path.name} lacks input(s) {missing_in}; it has {inputs}")
    if missing_out:
        problems.append(f"{path.name} lacks output(s) {missing_out}; it has {outputs}")
    return model if not (missing_in or missing_out) else None


def _check_served_model(folder: Path, name: str, card: dict | None, problems: list) -> dict:
    """Run a served classifier on one grey image and check shapes against the card; return its outputs."""
    session = open_session(folder / name)
    (image,) = session.get_inputs()
    shape = list(image.shape)
    size = input_size_or_none(card or {})  # None: the schema check says what is wrong
    fixed_batch = isinstance(shape[0], int) and shape[0] > 0 if shape else True
    if len(shape) != 4 or shape[3] != 3 or fixed_batch:
        problems.append(f"{name} input must be NHWC with 3 channels and a dynamic batch, got {shape}")
        return {}
    if size is not None and shape[1:3] != [size, size]:
        problems.append(f"{name} takes {shape[1]}x{shape[2]} images but the card says {size}")
        return {}
    grey = np.full((1, shape[1], shape[2], 3), 128.0, np.float32)
    try:
        names = [o.name for o in session.get_outputs()]
        outputs = dict(zip(names, session.run(names, {image.name: grey}), strict=True))
    except Exception as exc:  # a model that cannot run is as broken as a missing one
        problems.append(f"{name} fails on a test image ({type(exc).__name__})")
        return {}
    probabilities = outputs.get("probabilities")
    classes = (card or {}).get("classes") or []
    if probabilities is not None:
        if classes and probabilities.shape != (1, len(classes)):
            problems.append(f"{name} gives {probabilities.shape[-1]} probabilities for {len(classes)} classes")
        elif not np.isfinite(probabilities).all() or abs(float(probabilities.sum()) - 1.0) > PROBABILITY_TOLERANCE:
            problems.append(f"{name} probabilities do not sum to 1")
    return outputs


def _check_head(folder: Path, outputs: dict, card: dict | None, problems: list) -> None:
    path = folder / HEAD_FILE
    if not path.is_file():
        return
    try:
        kernel, bias = load_head(path)
    except (OSError, KeyError, ValueError) as exc:
        problems.append(f"{HEAD_FILE} cannot be read ({type(exc).__name__})")
        return
    classes = len((card or {}).get("classes") or []) or kernel.shape[-1]
    channels = outputs["feature_maps"].shape[-1] if "feature_maps" in outputs else kernel.shape[0]
    if kernel.shape != (channels, classes) or bias.shape != (classes,):
        problems.append(f"{HEAD_FILE} kernel {kernel.shape} does not fit {channels} feature maps and {classes} classes")


def _check_anomaly(folder: Path, outputs: dict, problems: list) -> None:
    path = folder / ANOMALY_FILE
    if not path.is_file():
        return
    try:
        detectors = load_detectors(path)
    except (OSError, KeyError, ValueError) as exc:
        problems.append(f"{ANOMALY_FILE} cannot be read ({type(exc).__name__})")
        return
    if "fp32" not in detectors:
        problems.append(f"{ANOMALY_FILE} has no detector for the fp32 model")
    if "embedding" in outputs:
        dim = outputs["embedding"].shape[-1]
        for variant, detector in detectors.items():
            if detector.means.shape[1] != dim:
                problems.append(
                    f"{ANOMALY_FILE} ({variant}) expects {detector.means.shape[1]}-d embeddings, model gives {dim}"
                )


def _check_reference_feed(models: dict, problems: list) -> None:
    """A reference that continues from a served output needs every served file to give it."""
    initialized = {t.name for t in models[REFERENCE_FILE].graph.initializer}
    feed = next(i.name for i in models[REFERENCE_FILE].graph.input if i.name not in initialized)
    if feed == INPUT_NAME:
        return
    for name in VARIANT_FILES.values():
        if models.get(name) is not None and feed not in [o.name for o in models[name].graph.output]:
            problems.append(f"{REFERENCE_FILE} starts from {feed}, which {name} does not output")


def _check_tflite(path: Path, problems: list) -> None:
    try:
        from ai_edge_litert.interpreter import Interpreter

        Interpreter(model_path=str(path)).allocate_tensors()
    except Exception as exc:  # LiteRT raises ValueError or RuntimeError for damaged files
        problems.append(f"{path.name} is not a loadable TFLite model ({type(exc).__name__})")


def validate_folder(folder: str | Path) -> list[str]:
    """Return every problem found in a model folder (an empty list means it can be served)."""
    folder = Path(folder)
    if not folder.is_dir():
        return [f"{folder} is not a folder"]
    spec = folder_spec()
    problems: list[str] = []
    card = _check_card(folder, problems)
    for name in spec["required_files"]:
        if not (folder / name).is_file():
            problems.append(f"required file {name} is missing")
    if card is not None:
        _check_listed_files(folder, card, problems)
    models = {}  # file name -> the loaded ONNX model, or None when it failed its checks
    for name, expected in spec["onnx"].items():
        if (folder / name).is_file():
            models[name] = _check_onnx(folder / name, expected, problems)
    outputs = {}
    for name in VARIANT_FILES.values():
        if models.get(name) is not None:
            result = _check_served_model(folder, name, card, problems)
            if name == MODEL_FILE:
                outputs = result
    _check_head(folder, outputs, card, problems)
    _check_anomaly(folder, outputs, problems)
    if models.get(REFERENCE_FILE) is not None:
        _check_reference_feed(models, problems)
    for path in sorted(folder.glob("*.tflite")):
        _check_tflite(path, problems)
    return problems


# Importing a model trained elsewhere ---------------------------------------------------------------

IMPORT_BATCH = 5  # the registry scores the holdout many photos at a time: a model fixed to one photo fails here


def classification_problems(folder: str | Path, batch_sizes: tuple[int, ...] = (1, IMPORT_BATCH)) -> list[str]:
    """Return why a folder cannot classify (an empty list when it can).

    The minimum a classifier needs: a card with classes and an input size, and a ``model.onnx`` that
    takes the served input and gives one row of ``probabilities`` per photo at every batch size given.
    """
    folder = Path(folder)
    try:
        card = read_card(folder)
        classes = list(card["classes"])
        size = input_size(card)
        session = open_session(folder / MODEL_FILE)
    except Exception as exc:  # any unreadable piece makes the folder unusable
        return [f"{type(exc).__name__}: {exc}"[:300]]
    inputs = [i.name for i in session.get_inputs()]
    if "probabilities" not in [o.name for o in session.get_outputs()] or inputs != [INPUT_NAME]:
        return [f"{MODEL_FILE} must take `{INPUT_NAME}` and give `probabilities`"]
    for batch in batch_sizes:
        grey = np.full((batch, size, size, 3), 128.0, np.float32)
        try:
            (probabilities,) = session.run(["probabilities"], {INPUT_NAME: grey})
        except Exception as exc:  # ONNX Runtime raises its own error types for shapes it cannot take
            return [f"{MODEL_FILE} fails on a batch of {batch} images ({type(exc).__name__}: {exc})"[:300]]
        if probabilities.shape != (batch, len(classes)):
            return [
                f"{MODEL_FILE} gives probabilities of shape {list(probabilities.shape)}"
                f" for {batch} images of {len(classes)} classes"
            ]
    return []


def import_problems(folder: str | Path) -> tuple[list[str], bool]:
    """Return (problems, explainable) for a model folder brought from elsewhere.

    A folder that passes ``validate_folder`` and classifies batches is fully served (heatmaps, anomaly).
    One that fails ``validate_folder`` but still classifies is accepted as classification only.
    Anything else is refused with every problem found.
    """
    problems = validate_folder(folder)
    basic = classification_problems(folder)
    if basic:
        return problems + [p for p in basic if p not in problems], False
    return [], not problems

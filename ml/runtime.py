"""The runtime contract of a model folder: its files, the served input, its card, ONNX sessions.

Every other module (serving, export, validation, the Django apps, the benchmarks) takes these
names from here, so a file name or the input name is declared once. A leaf: it imports nothing
from ``ml`` but the card reader, and neither TensorFlow nor Keras.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ml.card import CARD_FILE, read_card

# The one input every served graph (classifier, activations, autoencoder, image-fed reference) takes:
# NHWC float32, raw 0..255 pixels, dynamic batch.
INPUT_NAME = "image"
# The served classifier's outputs, by their contract names.
SERVING_OUTPUTS = ("probabilities", "logits", "embedding", "feature_maps")
# The extra output of model.onnx that reference.onnx continues from (when the backbone allows it).
EARLY_FEATURES = "early_features"
# The tag head's input: a graph of its own, fed with the classifier's embedding rather than pixels.
TAGS_INPUT_NAME = "embedding"


@dataclass(frozen=True)
class ModelFile:
    """One file of a model folder: its key in ``card["files"]``, its name, and what it is for."""

    key: str
    name: str
    role: str


# Every file a model folder can hold, keyed as in ``card["files"]``.
MODEL_FOLDER = (
    ModelFile("card", CARD_FILE, "model card: classes, input, metrics, every section below"),
    ModelFile("model", "model.keras", "the trained Keras model (unpruned); not served"),
    ModelFile("history", "history.json", "training curves"),
    ModelFile("history_plot", "history.png", "training curves, drawn"),
    ModelFile("onnx", "model.onnx", "served classifier (pruned when pruning was asked for)"),
    ModelFile("onnx_int8", "model.int8.onnx", "served classifier, static int8"),
    ModelFile("onnx_unpruned", "model.unpruned.onnx", "the classifier before pruning, for comparison"),
    ModelFile("onnx_reference", "reference.onnx", "the pretrained backbone as loaded: the anomaly detector's second opinion"),
    ModelFile("activations", "activations.onnx", "every conv block's activations, for the network view"),
    ModelFile("head", "head.npz", "the Dense head's kernel and bias, for class-activation maps"),
    ModelFile("anomaly", "anomaly.npz", "one anomaly detector per ONNX file"),
    ModelFile("anomaly_browser", "anomaly.json",
              "the served files' anomaly detectors as the browser reads them: means, packed float32 precision, "
              "thresholds and the server's score rule"),
    ModelFile("autoencoder", "autoencoder.onnx", "per-pixel reconstruction error, where an image is unusual"),
    ModelFile("tags", "tags.onnx", "the learned tag head, fed with the embedding"),
    ModelFile("imagenet_head", "imagenet_head.npz", "ImageNet classifier head on the embedding (optional)"),
    ModelFile("imagenet_labels", "imagenet_labels.json", "ImageNet names in the reader's language (optional)"),
    ModelFile("tflite", "model.tflite", "TFLite, float32"),
    ModelFile("tflite_dynamic", "model.dynamic.tflite", "TFLite, int8 weights and float activations"),
    ModelFile("tflite_float16", "model.float16.tflite", "TFLite, float16 weights"),
    ModelFile("tflite_int8", "model.int8.tflite", "TFLite, full integer"),
    ModelFile("tfjs_model", "tfjs/model.json", "TF.js layers model: topology and weights manifest (Teachable Machine input)"),
    ModelFile("tfjs_weights", "tfjs/weights.bin", "TF.js weights, little-endian float32"),
    ModelFile("tfjs_metadata", "tfjs/metadata.json", "Teachable Machine metadata: labels in output order, imageSize"),
)
FILES = {f.key: f.name for f in MODEL_FOLDER}  # card["files"] key -> file name
ROLES = {f.name: f.role for f in MODEL_FOLDER}  # file name -> what it is for

MODEL_FILE = FILES["onnx"]
INT8_MODEL_FILE = FILES["onnx_int8"]
UNPRUNED_MODEL_FILE = FILES["onnx_unpruned"]
REFERENCE_FILE = FILES["onnx_reference"]
ACTIVATIONS_FILE = FILES["activations"]
HEAD_FILE = FILES["head"]
ANOMALY_FILE = FILES["anomaly"]
ANOMALY_BROWSER_FILE = FILES["anomaly_browser"]
AUTOENCODER_FILE = FILES["autoencoder"]
TAGS_FILE = FILES["tags"]
IMAGENET_HEAD_FILE = FILES["imagenet_head"]
IMAGENET_LABELS_FILE = FILES["imagenet_labels"]
KERAS_FILE = FILES["model"]
# The variants the server can answer with (``RIIM_INFERENCE_VARIANT``) and their files.
VARIANT_FILES = {"fp32": MODEL_FILE, "int8": INT8_MODEL_FILE}
# The ONNX files that compute the classifier's outputs (the served ones and the unpruned one).
CLASSIFIER_FILES = (MODEL_FILE, INT8_MODEL_FILE, UNPRUNED_MODEL_FILE)
# The TF.js export, loaded as it is by @teachablemachine/image: key -> path inside the model folder.
TFJS_FILES = {key: FILES[key] for key in ("tfjs_model", "tfjs_weights", "tfjs_metadata")}
# What a version needs before the server can answer with it.
REQUIRED_FILES = (MODEL_FILE, CARD_FILE)


@dataclass(frozen=True)
class ModelCard:
    """What the runtime reads from a card: the served input's side, the class names, the files."""

    input_size: int
    classes: list
    files: dict
    raw: dict  # the whole card, for the sections only some callers need


def input_size(card: dict) -> int:
    """Return the side of the square input the exported models take (``serving.input`` first, then ``input``).

    Raises KeyError, TypeError, ValueError or IndexError on a card without a usable size.
    """
    spec = (card.get("serving") or {}).get("input") or card["input"]
    size = spec["size"]
    return int(size[0] if isinstance(size, list) else size)


def input_size_or_none(card: dict) -> int | None:
    """Return ``input_size(card)``, or None for a card that gives no usable size (an imported or damaged one)."""
    try:
        return input_size(card)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):
        return None


def model_card(card: dict) -> ModelCard:
    """Return the runtime's view of a card dict."""
    return ModelCard(input_size=input_size(card), classes=list(card["classes"]),
                     files=dict(card.get("files") or {}), raw=card)


def read_model_card(path: str | Path) -> ModelCard:
    """Read a card from a JSON file or from the ``card.json`` of a model folder."""
    return model_card(read_card(path))


def variant_of(model_file: str | Path) -> str:
    """Return the served variant (``fp32`` or ``int8``) a model file name stands for."""
    name = Path(model_file).name
    for variant, file_name in VARIANT_FILES.items():
        if name == file_name:
            return variant
    return "int8" if ".int8." in name else "fp32"


def open_session(path: str | Path, intra_op_threads: int = 1, inter_op_threads: int = 1):
    """Open an ONNX Runtime CPU session with explicit thread counts (the web process shares its cores)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op_threads
    options.inter_op_num_threads = inter_op_threads
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def serving_section(image_size: int, *, pruned: bool = False, **extra) -> dict:
    """Return the card's ``serving`` section: every served graph takes raw 0..255 RGB pixels, NHWC, dynamic batch."""
    return {"input": {"name": INPUT_NAME, "size": int(image_size), "channels": 3, "range": [0, 255], "layout": "NHWC"},
            "outputs": list(SERVING_OUTPUTS), "model": MODEL_FILE, "pruned": bool(pruned), **extra}

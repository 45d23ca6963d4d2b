"""The TensorFlow.js export: a layers model that Teachable Machine's image library loads as it is.

``@teachablemachine/image`` 0.8.x runs on TF.js 1.3.1 (its peer dependency) and does its own
preprocessing: the centre square of the picture, resized to ``metadata.imageSize`` on a canvas,
pixels divided by 127 and minus 1 (so in [-1, 1.008], not the server's ``/ 127.5 - 1``). The
exported model therefore takes exactly that input and has one output, the class probabilities:
the served graph's input scaling is replaced by a 1x1 depthwise convolution that turns the
library's values into what the network was trained on (an exact per-pixel affine map, and a layer
type TF.js 1.3.1 knows, unlike ``Rescaling``).

The ``tensorflowjs`` pip package cannot be imported here (it needs ``tensorflow_decision_forests``),
so the documented layers-model format is written directly: ``model.json`` holds the Keras topology
(restricted to layer types TF.js 1.3.1 deserializes) and a weights manifest; ``weights.bin`` holds
every weight as little-endian float32, in manifest order (one shard, as Teachable Machine writes it).

A quick model's export is the frozen backbone plus a new logistic head, and it averages the
probabilities of the photo and of its mirror image as the served quick graph does. The mirror is
built from layers TF.js 1.3.1 knows (``mirror_averaged``): two ``Permute`` layers around a ``Dense``
whose fixed kernel reverses the width axis; the backbone, pooling and head are shared by both images
and an ``Average`` layer gives the mean of the two softmax outputs. Building it through
TensorFlow costs seconds a run, so the backbone part (the topology and every weight but the head's)
is built through TensorFlow once per backbone fingerprint and cached next to the backbone's ONNX
file; each quick run then writes its head's units and weights into a copy with numpy alone
(``export_quick_tfjs`` with ``cache_dir``): the same bytes as the TensorFlow path, without importing it.
"""

from __future__ import annotations

import copy
import json
import shutil
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ml.runtime import INPUT_NAME, TFJS_FILES

# Layer types TF.js 1.3.1 (the Teachable Machine library's version) deserializes and every RIIM
# backbone uses; anything else would load in a current TF.js and fail in the library.
SUPPORTED_LAYERS = frozenset({
    "InputLayer", "Conv2D", "DepthwiseConv2D", "SeparableConv2D", "BatchNormalization", "ReLU", "Activation",
    "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D", "ZeroPadding2D", "Add", "Multiply",
    "Dropout", "Dense", "Flatten", "Reshape", "Softmax", "LeakyReLU", "Concatenate",
    "Permute", "Average",  # the quick copy's mirror and its mean of photo and mirror
})
TM_PIXEL_DIVISOR = 127.0  # the library computes pixel / 127 - 1 (utils/tf.js, capture())
TM_LIBRARY = "@teachablemachine/image"
TM_PACKAGE_VERSION = "0.8.5"
TFJS_VERSION = "1.3.1"  # the library's peer dependency: the version the topology must load in
TM_VERSION = "2.4.10"  # the Teachable Machine export format these files follow
ENGINE_SCALE = (1 / 127.5, -1.0)  # ml.preprocess.scale as (scale, offset): what the backbones were trained on
SCALING_LAYER = "input_scaling"  # the served graphs' Rescaling layer, and the name of what replaces it
OUTPUT_LAYER = "probabilities"
# Keys the Keras serializer adds that TF.js 1.3.1 does not expect (it ignores or rejects them).
DROPPED_KEYS = ("module", "registered_name", "build_config", "compile_config")
# Training-only parts of a layer config: irrelevant to inference, and TF.js 1.3.1 knows none of Keras 2's "L2".
NULLED_CONFIG = ("kernel_regularizer", "bias_regularizer", "activity_regularizer", "beta_regularizer",
                 "gamma_regularizer", "depthwise_regularizer", "pointwise_regularizer", "kernel_constraint",
                 "bias_constraint", "beta_constraint", "gamma_constraint", "depthwise_constraint",
                 "pointwise_constraint")
QUICK_HEAD_LAYER = "logits"  # the flat quick twin's Dense layer (``ml.graphs.flatten`` splits off its softmax)
# The quick copy's mirror: H,W,C -> H,C,W, a Dense that reverses the last axis, back to H,W,C.
MIRROR_SWAP, MIRROR_FLIP, MIRROR_LAYER = "mirror_swap", "mirror_flip", "mirror"
BRANCH_OUTPUT = "branch_probabilities"  # each image's softmax, before the Average named ``probabilities``
# The quick TF.js template in a backbone's cache folder: the document without the head's weights, and
# the backbone's weights in manifest order. The folder belongs to a backbone fingerprint, which hashes
# this module's code too (``ml.embeddings.builder_code_sha256``): a changed exporter is a new folder.
QUICK_TEMPLATE_DIR = "tfjs-quick"
QUICK_TEMPLATE_FILE = "template.json"
QUICK_TEMPLATE_WEIGHTS = "backbone.bin"
# A refusal is cached so quick runs need not load TensorFlow to repeat it, but only for a while: a
# refusal caused by something outside the code (a damaged file since replaced) must not last forever.
REFUSAL_TTL_S = 3600


class UnsupportedModel(ValueError):
    """The model uses a layer type the Teachable Machine library's TF.js cannot load."""


def tm_scaling(served_scale: tuple | None) -> tuple[np.ndarray, np.ndarray]:
    """Return (a, b) so that ``a * (pixel / 127 - 1) + b`` is what the served graph's first layer computes."""
    scale, offset = served_scale or (1.0, 0.0)
    scale, offset = np.asarray(scale, np.float64), np.asarray(offset, np.float64)
    # raw pixel = 127 * (x + 1), so scale * pixel + offset = 127 * scale * x + 127 * scale + offset
    return TM_PIXEL_DIVISOR * scale, TM_PIXEL_DIVISOR * scale + offset


def _consumers(config: dict, name: str) -> list[dict]:
    return [layer for layer in config["layers"]
            if any(ref[0] == name for node in layer["inbound_nodes"] for ref in node)]


def tm_model(served):
    """Return the single-output classifier that takes the library's [-1, 1] input.

    ``served`` is the flat served classifier (raw 0..255 pixels, ending in ``probabilities``). The
    ``Rescaling`` layers the input goes through first (the served graphs' ``input_scaling``) are
    folded into one 1x1 depthwise layer that takes the last one's name; a graph without any gets
    the layer inserted.
    """
    from ml.backend import keras

    config = copy.deepcopy(served.get_config())
    if len(config["output_layers"]) != 1:
        raise UnsupportedModel("the served classifier must have one output, the probabilities")
    input_name = config["input_layers"][0][0]
    consumers = _consumers(config, input_name)
    served_scale, name = None, None
    # Fold the chain of Rescaling layers the input goes through: each is scale * x + offset.
    while len(consumers) == 1 and consumers[0]["class_name"] == "Rescaling":
        rescaling = consumers[0]
        scale, offset = (np.asarray(rescaling["config"][k], np.float64) for k in ("scale", "offset"))
        before = served_scale or (1.0, 0.0)
        served_scale = (before[0] * scale, before[1] * scale + offset)
        name = rescaling["name"]
        config["layers"].remove(rescaling)
        consumers = _consumers(config, name)
    if name is None:  # a graph fed raw pixels: insert the layer and feed its output to the input's consumers
        name = SCALING_LAYER
        if any(layer["name"] == name for layer in config["layers"]):
            raise UnsupportedModel(f"a layer is already named {name}")
        for layer in consumers:
            for node in layer["inbound_nodes"]:
                for ref in node:
                    if ref[0] == input_name:
                        ref[0] = name
    affine = keras.layers.DepthwiseConv2D(1, use_bias=True, name=name)
    position = next(i for i, layer in enumerate(config["layers"]) if layer["name"] == input_name) + 1
    config["layers"].insert(position, {"class_name": "DepthwiseConv2D", "config": affine.get_config(), "name": name,
                                       "inbound_nodes": [[[input_name, 0, 0, {}]]]})
    model = keras.Model.from_config(config)
    channels = int(served.input_shape[-1])
    a, b = tm_scaling(served_scale)
    for layer in model.layers:
        if layer.name == name:
            layer.set_weights([np.broadcast_to(a, (channels,)).reshape(1, 1, channels, 1).astype(np.float32),
                               np.broadcast_to(b, (channels,)).astype(np.float32)])
        elif layer.weights:
            layer.set_weights(served.get_layer(layer.name).get_weights())
    return model


def _clean(value):
    """Drop the serializer's extra keys everywhere; Keras 2.13+ writes them, TF.js 1.3.1 predates them."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if k not in DROPPED_KEYS}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def topology(model) -> dict:
    """Return the Keras topology of ``model`` in the form TF.js 1.3.1 deserializes."""
    config = _clean(json.loads(model.to_json()))
    unknown = sorted({layer["class_name"] for layer in config["config"]["layers"]} - SUPPORTED_LAYERS)
    if unknown:
        raise UnsupportedModel(f"layer types TF.js {TFJS_VERSION} cannot load: {', '.join(unknown)}")
    config["class_name"] = "Model"  # TF.js 1.3.1 predates the name "Functional"
    for layer in config["config"]["layers"]:
        layer_config = layer["config"]
        for key in NULLED_CONFIG:
            if key in layer_config:
                layer_config[key] = None
        axis = layer_config.get("axis")
        if layer["class_name"] == "BatchNormalization" and isinstance(axis, list) and len(axis) == 1:
            layer_config["axis"] = axis[0]  # TF.js takes one integer axis
    return {"class_name": config["class_name"], "config": config["config"],
            "keras_version": "tfjs-layers " + TFJS_VERSION, "backend": "tensor_flow.js"}


def _weight_entries(model) -> list[tuple[str, np.ndarray]]:
    """Return (TF.js name, value) for every weight: TF.js names them ``<layer>/<weight>`` without ``:0``."""
    entries = []
    for layer in model.layers:
        for weight in layer.weights:
            short = weight.name.split("/")[-1].split(":")[0]
            entries.append((f"{layer.name}/{short}", np.asarray(weight.numpy(), dtype="<f4")))
    return entries


def _layers_document(model) -> tuple[dict, list[tuple[str, np.ndarray]]]:
    """Return the ``model.json`` document of ``model`` and its weights in manifest order."""
    layers_topology = topology(model)  # refuses an unsupported model
    entries = _weight_entries(model)
    manifest = [{"paths": [Path(TFJS_FILES["tfjs_weights"]).name],
                 "weights": [{"name": name, "shape": list(value.shape), "dtype": "float32"} for name, value in entries]}]
    document = {"format": "layers-model", "generatedBy": "RIIM", "convertedBy": "RIIM ml.tfjs",
                "modelTopology": layers_topology, "weightsManifest": manifest}
    return document, entries


def write_layers_model(model, folder: Path) -> dict:
    """Write ``model.json`` and ``weights.bin`` (little-endian float32) into ``folder``; return sizes."""
    document, entries = _layers_document(model)  # refuses an unsupported model before anything is written
    folder.mkdir(parents=True, exist_ok=True)
    weights_name = Path(TFJS_FILES["tfjs_weights"]).name
    with (folder / weights_name).open("wb") as out:
        for _, value in entries:
            out.write(value.tobytes(order="C"))
    (folder / Path(TFJS_FILES["tfjs_model"]).name).write_text(json.dumps(document), encoding="utf-8")
    return {"weights": len(entries), "weight_bytes": (folder / weights_name).stat().st_size}


def metadata(classes: list[str], image_size: int, model_name: str = "riim-model") -> dict:
    """Return the ``metadata.json`` the library reads: labels in output order, imageSize and its version fields."""
    return {
        "tfjsVersion": TFJS_VERSION,
        "tmVersion": TM_VERSION,
        "packageVersion": TM_PACKAGE_VERSION,
        "packageName": TM_LIBRARY,
        "timeStamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "userMetadata": {"exportedBy": "RIIM"},
        "modelName": model_name,
        "labels": list(classes),
        "imageSize": int(image_size),
    }


def _write_metadata(out: Path, classes: list[str], image_size: int, model_name: str) -> None:
    (out / TFJS_FILES["tfjs_metadata"]).write_text(
        json.dumps(metadata(classes, image_size, model_name), ensure_ascii=False, indent=1), encoding="utf-8")


def _section(image_size: int, sizes: dict) -> dict:
    return {
        "enabled": True,
        "format": "tfjs layers-model",
        "tfjs_version": TFJS_VERSION,
        "library": f"{TM_LIBRARY} {TM_PACKAGE_VERSION}",
        "input": {"size": image_size, "pixels": f"centre square, pixel / {TM_PIXEL_DIVISOR:g} - 1"},
        "output": OUTPUT_LAYER,
        **sizes,
    }


def export_tfjs(served, out_dir: str | Path, classes: list[str], model_name: str = "riim-model") -> dict:
    """Write the TF.js layers model and its Teachable Machine metadata under ``out_dir``; return the card section."""
    out = Path(out_dir)
    model = tm_model(served)
    image_size = int(model.input_shape[1])
    if len(classes) != int(model.output_shape[-1]):
        raise ValueError(f"{len(classes)} class names for {model.output_shape[-1]} outputs")
    folder = out / Path(TFJS_FILES["tfjs_model"]).parent
    sizes = write_layers_model(model, folder)
    _write_metadata(out, classes, image_size, model_name)
    return _section(image_size, sizes)


def quick_classifier(network: str, alpha: float, image_size: int, weights_path: str | None,
                     kernel: np.ndarray, bias: np.ndarray):
    """Return the flat Keras twin of a quick model on the photo alone: the frozen backbone, pooling and its head.

    The network view's activations graph reads it as it is; the TF.js copy wraps it in ``mirror_averaged``.
    """
    from ml.backend import keras
    from ml.graphs import flatten
    from ml.models import build_pretrained_backbone

    base = build_pretrained_backbone(network, alpha, image_size, weights_path)
    inputs = keras.Input((image_size, image_size, 3), name=INPUT_NAME)
    scaled = keras.layers.Rescaling(*ENGINE_SCALE, name=SCALING_LAYER)(inputs)
    pooled = keras.layers.GlobalAveragePooling2D(name="embedding")(base(scaled, training=False))
    head = keras.layers.Dense(int(kernel.shape[1]), activation="softmax", name="head_predictions")
    model = keras.Model(inputs, head(pooled), name="quick")
    head.set_weights([np.asarray(kernel, np.float32), np.asarray(bias, np.float32)])
    return flatten(model)


def mirror_kernel(width: int) -> np.ndarray:
    """Return the anti-identity: a Dense with this kernel reverses its input's last axis (x @ K)[j] = x[width-1-j]."""
    return np.eye(width, dtype=np.float32)[::-1].copy()


def mirror_averaged(flat):
    """Return ``flat`` predicting the mean of the probabilities of the photo and of its mirror image.

    ``flat`` is a flat classifier whose input feeds only ``input_scaling`` and whose output is
    ``probabilities``. The scaled photo is mirrored by layers TF.js 1.3.1 knows (``Permute`` to put the
    width last, a non-trainable ``Dense`` with the anti-identity kernel, ``Permute`` back; a Dense on a
    rank-4 tensor acts on the last axis), then every later layer is called a second time on the mirror
    (shared: its second inbound node), and an ``Average`` named ``probabilities`` gives the mean of the
    two softmax outputs. The mirror follows the scaling layer so ``tm_model`` still folds one Rescaling.
    """
    from ml.backend import keras

    config = copy.deepcopy(flat.get_config())
    taken = {layer["name"] for layer in config["layers"]}
    if {MIRROR_SWAP, MIRROR_FLIP, MIRROR_LAYER, BRANCH_OUTPUT} & taken:
        raise ValueError("the classifier already has a layer named like the mirror's")
    if config["output_layers"] != [[OUTPUT_LAYER, 0, 0]]:
        raise ValueError(f"the classifier must have one output, {OUTPUT_LAYER}")
    input_name = config["input_layers"][0][0]
    if [layer["name"] for layer in _consumers(config, input_name)] != [SCALING_LAYER]:
        raise ValueError(f"the classifier's input must feed {SCALING_LAYER} alone")
    for layer in config["layers"]:
        if layer["name"] in (input_name, SCALING_LAYER):
            continue
        (node,) = layer["inbound_nodes"]  # a flat twin calls each layer once: node 0 is the photo's
        # Node 1 is the mirror's: it reads the mirror where the photo's node reads the scaled photo,
        # and every other layer's mirror node (1) where the photo's reads its photo node (0).
        layer["inbound_nodes"].append([[MIRROR_LAYER, 0, 0, ref[3]] if ref[0] == SCALING_LAYER
                                       else [ref[0], 1, ref[2], ref[3]] for ref in node])
        if layer["name"] == OUTPUT_LAYER:
            layer["name"] = layer["config"]["name"] = BRANCH_OUTPUT
    width = int(flat.input_shape[2])
    swap_axes = (1, 3, 2)  # H,W,C <-> H,C,W (1-based, batch excluded); its own inverse
    mirror = [keras.layers.Permute(swap_axes, name=MIRROR_SWAP),
              keras.layers.Dense(width, use_bias=False, trainable=False, name=MIRROR_FLIP),
              keras.layers.Permute(swap_axes, name=MIRROR_LAYER)]
    inbound = SCALING_LAYER
    position = next(i for i, layer in enumerate(config["layers"]) if layer["name"] == SCALING_LAYER) + 1
    for offset, layer in enumerate(mirror):
        config["layers"].insert(position + offset, {"class_name": type(layer).__name__, "config": layer.get_config(),
                                                    "name": layer.name, "inbound_nodes": [[[inbound, 0, 0, {}]]]})
        inbound = layer.name
    average = keras.layers.Average(name=OUTPUT_LAYER)
    config["layers"].append({"class_name": "Average", "config": average.get_config(), "name": OUTPUT_LAYER,
                             "inbound_nodes": [[[BRANCH_OUTPUT, 0, 0, {}], [BRANCH_OUTPUT, 1, 0, {}]]]})
    model = keras.Model.from_config(config)
    for layer in model.layers:
        if layer.name == MIRROR_FLIP:
            layer.set_weights([mirror_kernel(width)])
        elif layer.weights:
            layer.set_weights(flat.get_layer(layer.name).get_weights())
    return model


def quick_tfjs_twin(network: str, alpha: float, image_size: int, weights_path: str | None,
                    kernel: np.ndarray, bias: np.ndarray):
    """Return the Keras twin of a quick model's TF.js copy (raw pixels in): the served graph's mirror averaging."""
    return mirror_averaged(quick_classifier(network, alpha, image_size, weights_path, kernel, bias))


def _head_names() -> tuple[str, str]:
    return f"{QUICK_HEAD_LAYER}/kernel", f"{QUICK_HEAD_LAYER}/bias"


def _replace_atomically(folder: Path, name: str, data: bytes) -> None:
    partial = folder / f"{uuid.uuid4().hex[:8]}.partial"
    partial.write_bytes(data)
    partial.replace(folder / name)  # a reader never sees half a file; two writers leave the same content


def load_quick_template(folder: str | Path) -> dict | None:
    """Return the quick TF.js template cached in ``folder`` (or its cached refusal); None when absent or stale."""
    folder = Path(folder)
    try:
        template = json.loads((folder / QUICK_TEMPLATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(template, dict):
        return None
    if "refused" in template:
        fresh = time.time() - float(template.get("refused_at") or 0) < REFUSAL_TTL_S
        return template if fresh else None
    weights = folder / QUICK_TEMPLATE_WEIGHTS
    if not weights.is_file() or weights.stat().st_size != template.get("weight_bytes"):
        return None
    if not {"head_at", "head_offset", "mirror_averaging"} <= template.keys():
        return None  # written by an exporter that did not record where the head goes
    return template


def quick_template(cache_dir: str | Path, *, network: str, alpha: float, image_size: int,
                   weights_path: str | None, kernel: np.ndarray, bias: np.ndarray) -> Path:
    """Return the folder of the quick TF.js template of a backbone, building it through TensorFlow the first time.

    ``cache_dir`` belongs to one backbone fingerprint (``ml.embeddings.backbone_folder``). The template is
    the quick twin's ``model.json`` document without the head's weights, and the other weights' bytes in
    manifest order; ``kernel`` and ``bias`` only fill the head while the twin is built. A refusal
    (``UnsupportedModel``) is cached too, so later runs refuse without importing TensorFlow.
    """
    folder = Path(cache_dir) / QUICK_TEMPLATE_DIR
    if load_quick_template(folder) is not None:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    try:
        model = tm_model(quick_tfjs_twin(network, alpha, image_size, weights_path, kernel, bias))
        document, entries = _layers_document(model)
    except UnsupportedModel as error:
        refusal = {"refused": str(error), "refused_at": time.time()}
        _replace_atomically(folder, QUICK_TEMPLATE_FILE, json.dumps(refusal).encode())
        raise
    head = _head_names()
    names = [name for name, _ in entries]
    # The head is found by name (kernel then bias) and its place kept: other weights (the mirror's
    # fixed kernel among them) may come before or after it in manifest order.
    head_at = names.index(head[0]) if head[0] in names else -1
    if head_at < 0 or names[head_at:head_at + len(head)] != list(head):
        raise ValueError(f"the quick twin has no {' and '.join(head)} weights")
    kept = entries[:head_at] + entries[head_at + len(head):]
    manifest = document["weightsManifest"][0]
    manifest["weights"] = [entry for entry in manifest["weights"] if entry["name"] not in head]
    data = b"".join(value.tobytes(order="C") for _, value in kept)
    _replace_atomically(folder, QUICK_TEMPLATE_WEIGHTS, data)
    template = {"image_size": int(model.input_shape[1]),
                "embedding_size": int(np.asarray(kernel).shape[0]), "weights": len(kept), "weight_bytes": len(data),
                "head_at": head_at, "head_offset": sum(value.nbytes for _, value in entries[:head_at]),
                "mirror_averaging": True, "document": document}
    _replace_atomically(folder, QUICK_TEMPLATE_FILE, json.dumps(template).encode())
    return folder


def write_quick_tfjs(template_dir: str | Path, out_dir: str | Path, kernel: np.ndarray, bias: np.ndarray,
                     classes: list[str], model_name: str = "riim-model") -> dict:
    """Write a quick model's TF.js export from its backbone's cached template with numpy alone; return its section.

    The head's units go into the topology and its weights where the template recorded them (manifest
    position and byte offset), so the files are those the TensorFlow path writes.
    """
    template_dir = Path(template_dir)
    template = load_quick_template(template_dir)
    if template is None:
        raise FileNotFoundError(f"no quick TF.js template in {template_dir}")
    if "refused" in template:
        raise UnsupportedModel(template["refused"])
    kernel, bias = np.asarray(kernel, "<f4"), np.asarray(bias, "<f4")
    if kernel.ndim != 2 or kernel.shape[0] != template["embedding_size"] or bias.shape != kernel.shape[1:]:
        raise ValueError(f"a head of shape {kernel.shape} + {bias.shape} for {template['embedding_size']} features")
    units = int(kernel.shape[1])
    if len(classes) != units:
        raise ValueError(f"{len(classes)} class names for {units} outputs")
    document = template["document"]
    layers = [layer for layer in document["modelTopology"]["config"]["layers"] if layer["name"] == QUICK_HEAD_LAYER]
    if len(layers) != 1 or layers[0]["class_name"] != "Dense":
        raise ValueError(f"the template has no Dense layer named {QUICK_HEAD_LAYER}")
    layers[0]["config"]["units"] = units
    kernel_name, bias_name = _head_names()
    head_at = int(template["head_at"])
    document["weightsManifest"][0]["weights"][head_at:head_at] = [
        {"name": kernel_name, "shape": list(kernel.shape), "dtype": "float32"},
        {"name": bias_name, "shape": list(bias.shape), "dtype": "float32"},
    ]
    out = Path(out_dir)
    folder = out / Path(TFJS_FILES["tfjs_model"]).parent
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / Path(TFJS_FILES["tfjs_weights"]).name
    with (template_dir / QUICK_TEMPLATE_WEIGHTS).open("rb") as source, weights.open("wb") as stream:
        stream.write(source.read(int(template["head_offset"])))
        stream.write(kernel.tobytes(order="C"))
        stream.write(bias.tobytes(order="C"))
        shutil.copyfileobj(source, stream)
    (folder / Path(TFJS_FILES["tfjs_model"]).name).write_text(json.dumps(document), encoding="utf-8")
    _write_metadata(out, classes, int(template["image_size"]), model_name)
    return {**_section(int(template["image_size"]), {"weights": template["weights"] + 2,
                                                     "weight_bytes": weights.stat().st_size}),
            "mirror_averaging": bool(template["mirror_averaging"])}


def export_quick_tfjs(out_dir: str | Path, *, network: str, alpha: float, image_size: int,
                      weights_path: str | None, kernel: np.ndarray, bias: np.ndarray, classes: list[str],
                      cache_dir: str | Path | None = None) -> dict:
    """Write the TF.js export of a quick model under ``out_dir``; return its card section.

    With ``cache_dir`` (the backbone's cache folder) the backbone part comes from the cached template,
    built through TensorFlow only when absent; without it the whole twin is built through TensorFlow.
    """
    if cache_dir is None:
        twin = quick_tfjs_twin(network, alpha, image_size, weights_path, kernel, bias)
        # the mean of photo and mirror, as the served quick graph (``ml.quick.served_graph``) gives
        return {**export_tfjs(twin, out_dir, classes), "mirror_averaging": True}
    template = quick_template(cache_dir, network=network, alpha=alpha, image_size=image_size,
                              weights_path=weights_path, kernel=kernel, bias=bias)
    return write_quick_tfjs(template, out_dir, kernel, bias, classes)


def predict_tm(model, pixels: np.ndarray) -> np.ndarray:
    """Return the probabilities ``model`` gives raw 0..255 pixels after the library's scaling (for checks)."""
    x = np.asarray(pixels, np.float32) / TM_PIXEL_DIVISOR - 1.0
    return np.asarray(model.predict(x, verbose=0))

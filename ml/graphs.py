"""Graph tools: turn a trained Keras classifier into the named graphs the runtime serves, and write ONNX.

The served graph has one input, ``image`` (NHWC float32, raw 0..255 pixels,
dynamic batch), and four named outputs: ``probabilities``, ``logits``,
``embedding`` (the pooled features) and ``feature_maps`` (the last conv block,
which the server multiplies by the Dense kernel in ``head.npz`` to draw class
activation maps). ``activations.onnx`` outputs every block's activations for the
network view.

Before export the model is *flattened*: a nested backbone is inlined into one
functional graph with fresh layers carrying the trained weights, and a Dense
layer with a built-in softmax is split into linear ``logits`` plus a softmax
``probabilities`` layer, so every tensor the server needs has a name.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np

from ml.backend import keras, tf
from ml.models import REFERENCE_INPUT, build_reference_tail
from ml.runtime import INPUT_NAME

OPSET = 17  # tf2onnx maps tf_keras graphs reliably at 17; onnxruntime supports it everywhere
NESTED_MODELS = ("Functional", "Model")
ACTIVATION_TYPES = (keras.layers.ReLU, keras.layers.Activation, keras.layers.LeakyReLU, keras.layers.ELU)


# --- flattening ---------------------------------------------------------------


def _refs(inbound_nodes: list, alias: dict) -> list:
    """Rewrite the tensor references of a layer's inbound nodes through ``alias``."""
    return [
        [alias.get((ref[0], ref[2]), list(ref[:3])) + [ref[3] if len(ref) > 3 else {}] for ref in node]
        for node in inbound_nodes
    ]


def _flatten_config(config: dict) -> dict:
    """Return a functional config with every nested functional model inlined."""
    layers, alias = [], {}
    for layer in config["layers"]:
        layer = copy.deepcopy(layer)
        layer["inbound_nodes"] = _refs(layer["inbound_nodes"], alias)
        if layer["class_name"] not in NESTED_MODELS:
            layers.append(layer)
            continue
        if len(layer["inbound_nodes"]) != 1:
            raise ValueError(
                f"nested model {layer['name']} is called {len(layer['inbound_nodes'])} times; expected once"
            )
        inner = _flatten_config(layer["config"])
        call = layer["inbound_nodes"][0]
        inner_alias = {
            (name, index): list(ref[:3]) for (name, _, index), ref in zip(inner["input_layers"], call, strict=True)
        }
        for inner_layer in inner["layers"]:
            if inner_layer["class_name"] == "InputLayer":
                continue
            inner_layer["inbound_nodes"] = _refs(inner_layer["inbound_nodes"], inner_alias)
            layers.append(inner_layer)
        for index, ref in enumerate(inner["output_layers"]):
            alias[(layer["name"], index)] = inner_alias.get((ref[0], ref[2]), list(ref[:3]))
    names = [layer["name"] for layer in layers]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"layer names clash after inlining the backbone: {duplicates}")
    outputs = [alias.get((ref[0], ref[2]), list(ref[:3])) for ref in config["output_layers"]]
    return {**config, "layers": layers, "output_layers": outputs}


def _split_softmax(config: dict) -> tuple[dict, dict]:
    """Split an output Dense with softmax into ``logits`` + ``probabilities``; return config and renames."""
    renames: dict[str, str] = {}
    ((out_name, _, _),) = config["output_layers"]
    layer = next(item for item in config["layers"] if item["name"] == out_name)
    if layer["class_name"] != "Dense" or layer["config"].get("activation") != "softmax":
        return config, renames
    taken = {item["name"] for item in config["layers"]}
    if {"logits", "probabilities"} & taken:
        raise ValueError("cannot name the head: 'logits' or 'probabilities' is already a layer name")
    layer["config"] = {**layer["config"], "activation": "linear", "name": "logits"}
    layer["name"] = "logits"
    renames["logits"] = out_name
    config["layers"].append(
        {
            "class_name": "Activation",
            "config": {"name": "probabilities", "trainable": True, "dtype": "float32", "activation": "softmax"},
            "name": "probabilities",
            "inbound_nodes": [[["logits", 0, 0, {}]]],
        }
    )
    config["output_layers"] = [["probabilities", 0, 0]]
    return config, renames


def _all_layers(model) -> dict:
    """Map every layer name, nested ones included, to its layer."""
    found = {}
    for layer in model.layers:
        found[layer.name] = layer
        if isinstance(layer, keras.Model):
            found.update(_all_layers(layer))
    return found


def flatten(model):
    """Return a flat copy of a functional classifier with the trained weights and a split head."""
    config, renames = _split_softmax(_flatten_config(model.get_config()))
    flat = keras.Model.from_config(config)
    source = _all_layers(model)
    for layer in flat.layers:
        if layer.weights:
            layer.set_weights(source[renames.get(layer.name, layer.name)].get_weights())
    return flat


# --- named tensors -------------------------------------------------------------


def _pool_layer(model):
    pools = [layer for layer in model.layers if isinstance(layer, keras.layers.GlobalAveragePooling2D)]
    if not pools:
        raise ValueError("the classifier has no GlobalAveragePooling2D layer; embedding and CAM need one")
    return pools[-1]


def _logits_layer(model):
    """Return the Dense layer feeding the softmax."""
    last = model.layers[-1]
    producer = last._inbound_nodes[0].inbound_layers if isinstance(last, keras.layers.Activation) else last
    if not isinstance(producer, keras.layers.Dense):
        raise ValueError("the classifier must end with Dense -> softmax")
    return producer


def named_tensors(flat) -> dict:
    """Return the served tensors of a flat classifier by their contract names."""
    pool = _pool_layer(flat)
    return {
        "probabilities": flat.output,
        "logits": _logits_layer(flat).output,
        "embedding": pool.output,
        "feature_maps": pool.input,
    }


def _named_model(inputs, tensors: dict, name: str):
    """Build a model whose outputs carry exactly the given names (identity layers where needed)."""
    outputs = {}
    for key, tensor in tensors.items():
        if tensor.node.layer.name != key:
            tensor = keras.layers.Activation("linear", name=key)(tensor)
        outputs[key] = tensor
    return keras.Model(inputs, outputs, name=name)


def serving_model(model, extra_outputs: dict[str, str] | None = None):
    """Return the four-output model (probabilities, logits, embedding, feature_maps) of a classifier.

    ``extra_outputs`` maps more output names to layers of the flat model whose output to expose too
    (``early_features``, where the anomaly reference continues from).
    """
    flat = model if _is_flat(model) else flatten(model)
    tensors = named_tensors(flat)
    for name, layer in (extra_outputs or {}).items():
        tensors[name] = flat.get_layer(layer).output
    return _named_model(flat.input, tensors, "serving")


def with_input_scaling(model, scale: float, offset: float):
    """Prepend ``x * scale + offset`` so the graph takes raw 0..255 pixels, as every served model does."""
    inputs = keras.Input(model.input_shape[1:], name=INPUT_NAME)
    scaled = keras.layers.Rescaling(scale, offset, name="input_scaling")(inputs)
    return keras.Model(inputs, model(scaled), name=model.name)


def _is_flat(model) -> bool:
    return (
        not any(isinstance(layer, keras.Model) for layer in model.layers) and model.layers[-1].name == "probabilities"
    )


def block_activations(flat) -> dict:
    """Return, in graph order, the 4-D activation outputs of every conv block of a flat model."""
    tensors = {}
    for layer in flat.layers:
        if isinstance(layer, ACTIVATION_TYPES) or (
            isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D))
            and layer.get_config().get("activation", "linear") != "linear"
        ):
            if len(layer.output.shape) == 4:
                tensors[layer.name] = layer.output
    return tensors


def activations_model(model):
    """Return a model that outputs every block's activations, named after its layer."""
    flat = model if _is_flat(model) else flatten(model)
    blocks = block_activations(flat)
    return keras.Model(flat.input, {name: tensor for name, tensor in blocks.items()}, name="activations")


# --- writers ------------------------------------------------------------------


def to_onnx(model, path: str | Path, opset: int = OPSET, input_name: str = INPUT_NAME) -> Path:
    """Write a Keras model with one input (``image`` unless told) and a dynamic batch to ONNX."""
    import tf2onnx

    shape = (None, *model.input_shape[1:])
    signature = (tf.TensorSpec(shape, tf.float32, name=input_name),)
    path = Path(path)
    tf2onnx.convert.from_keras(model, input_signature=signature, opset=opset, output_path=str(path))
    return path


def export_reference(reference_model, path: str | Path, branch: str | None = None,
                     input_scale: tuple[float, float] | None = None) -> Path:
    """Write the anomaly reference: from ``branch``'s output (``early_features``) on, or from the image."""
    if branch is not None:
        return to_onnx(build_reference_tail(reference_model, branch), path, input_name=REFERENCE_INPUT)
    scaled = with_input_scaling(reference_model, *input_scale) if input_scale else reference_model
    return to_onnx(_named_model(scaled.input, {"embedding": scaled.output}, "reference"), path)


def head_weights(model) -> tuple[np.ndarray, np.ndarray]:
    """Return the Dense head's kernel (channels, classes) and bias of a classifier."""
    flat = model if _is_flat(model) else flatten(model)
    kernel, bias = _logits_layer(flat).get_weights()
    return kernel, bias


def predict_named(model, images: np.ndarray, batch_size: int = 32) -> dict:
    """Run a named-output Keras model and return numpy arrays by output name."""
    outputs = model.predict(images, batch_size=batch_size, verbose=0)
    return {name: np.asarray(value) for name, value in outputs.items()}

"""Export a trained Keras classifier to ONNX (and give TFLite the same graph).

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
from ml.parity import onnx_latency_ms, tflite_latency_ms

OPSET = 17  # tf2onnx maps tf_keras graphs reliably at 17; onnxruntime supports it everywhere
INPUT_NAME = "image"
SERVING_OUTPUTS = ("probabilities", "logits", "embedding", "feature_maps")
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
    from ml.models import REFERENCE_INPUT, build_reference_tail

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


# --- the export stages of a training run ------------------------------------------

SERVED_FILES = {
    "onnx": "model.onnx",
    "onnx_int8": "model.int8.onnx",
    "onnx_unpruned": "model.unpruned.onnx",
    "onnx_reference": "reference.onnx",
    "activations": "activations.onnx",
    "head": "head.npz",
    "tflite": "model.tflite",
    "tflite_dynamic": "model.dynamic.tflite",
    "tflite_float16": "model.float16.tflite",
    "tflite_int8": "model.int8.tflite",
}
PARITY_IMAGES = 64  # enough images to expose a wrong layer, few enough to stay fast
CALIBRATION_IMAGES = 100  # int8 activation ranges settle after about a hundred images; each costs conversion time
LATENCY_REPEATS = 30
KERAS_LATENCY_REPEATS = 10  # a Keras call takes tens of ms, ~40x an ONNX one: ten give a stable median


def _emit(progress, stage: str, percent: float, message: str, metrics: dict | None = None) -> None:
    if progress is not None:
        progress(
            {
                "stage": stage,
                "epoch": None,
                "epochs": None,
                "percent": percent,
                "metrics": metrics or {},
                "message": message,
            }
        )


def _sample_indices(n: int, count: int, seed: int) -> np.ndarray:
    """Return up to ``count`` sorted indices out of ``n``, picked with a fixed seed."""
    if n <= count:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, count, replace=False))


def _sample(x: np.ndarray, count: int, seed: int) -> np.ndarray:
    """Return up to ``count`` images picked with a fixed seed."""
    return x[_sample_indices(len(x), count, seed)]


def keras_latency_ms(model, image: np.ndarray, repeats: int = KERAS_LATENCY_REPEATS) -> dict:
    """Time single-image calls of a Keras model, the way a naive server would call it."""
    from ml.timing import time_calls

    batch = image[None].astype(np.float32)
    return time_calls(lambda _: model(batch, training=False), repeats)


def _accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    return float((np.argmax(probabilities, axis=-1) == np.asarray(labels)).mean())


def export_all(
    model,
    out_dir: str | Path,
    train: tuple[np.ndarray, np.ndarray],
    holdout: tuple[np.ndarray, np.ndarray],
    prune: float | None = None,
    quantize: tuple[str, ...] = (),
    prune_epochs: int = 2,
    prune_learning_rate: float | None = None,
    batch_size: int = 32,
    autoencoder_epochs: int | None = None,
    train_tags: list | None = None,
    val: tuple[np.ndarray, np.ndarray] | None = None,
    val_tags: list | None = None,
    input_scale: tuple[float, float] | None = None,
    seed: int = 0,
    progress=None,
    reference_model=None,
) -> dict:
    """Run pruning, export, quantization, parity, detector, autoencoder and tag stages; return card sections.

    ``train``/``holdout``/``val`` are (images, labels) as raw 0..255 pixels. A model
    that expects scaled pixels gets ``input_scale=(scale, offset)``: the scaling is
    then put inside every exported graph, so all of them take the same raw pixels.
    ``reference_model`` (the pretrained backbone before training, image -> ``embedding``) is
    exported as ``reference.onnx`` for the anomaly detector.
    """
    import tempfile
    import time

    from ml import anomaly, autoencoder, parity, quantization
    from ml import cam as cam_maps
    from ml import pruning as pruning_stage
    from ml import tags as tag_stage
    from ml.models import REFERENCE_INPUT, reference_branch_point

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict = {}
    files: dict = {}
    sections: dict = {}
    x_train, y_train = train
    x_hold, y_hold = holdout
    clock = time.perf_counter

    def path(key: str) -> Path:
        files[key] = SERVED_FILES[key]
        return out / SERVED_FILES[key]

    # Pruning: the unpruned network is exported too so the two can be compared.
    served = flatten(with_input_scaling(model, *input_scale) if input_scale else model)
    if prune:
        start = clock()
        _emit(progress, "prune", 0.0, f"pruning to {prune:.0%} sparsity")
        to_onnx(serving_model(served), path("onnx_unpruned"))
        served, report = pruning_stage.prune(
            served,
            (x_train, y_train),
            target=prune,
            epochs=prune_epochs,
            learning_rate=prune_learning_rate or pruning_stage.DEFAULT_LEARNING_RATE,
            batch_size=batch_size,
            holdout=(x_hold, y_hold),
            progress=progress,
        )
        sections["pruning"] = report
        timings["prune"] = round(clock() - start, 3)
    else:
        sections["pruning"] = {"enabled": False}

    # Export: the served graph, the activations graph and the head for CAMs. Where the anomaly
    # reference can continue from the served network's early layers, model.onnx also outputs them.
    start = clock()
    _emit(progress, "export", 0.0, "exporting ONNX and TFLite")
    serving = serving_model(served)
    branch = reference_branch_point(reference_model) if reference_model is not None else None
    if branch is not None and branch not in {layer.name for layer in served.layers}:
        branch = None
    to_onnx(serving_model(served, {REFERENCE_INPUT: branch}) if branch else serving, path("onnx"))
    to_onnx(activations_model(served), path("activations"))
    cam_maps.save_head(path("head"), *head_weights(served))
    # Every TFLite variant converts from one saved copy of the serving function.
    tflite_source = tempfile.TemporaryDirectory(prefix="tflite-")
    source = quantization.save_for_tflite(serving, tflite_source.name)
    quantization.to_tflite(source, path("tflite"), "fp32")
    if prune:
        unpruned_gz = quantization.gzip_size(out / SERVED_FILES["onnx_unpruned"])
        pruned_gz = quantization.gzip_size(out / SERVED_FILES["onnx"])
        sections["pruning"]["gzip_bytes"] = {
            "before": unpruned_gz,
            "after": pruned_gz,
            "ratio": pruned_gz / unpruned_gz,
        }
    timings["export"] = round(clock() - start, 3)

    # Quantization: ONNX int8 and the TFLite variants, calibrated on training images.
    start = clock()
    calibration = _sample(x_train, CALIBRATION_IMAGES, seed)
    variants = {"onnx_fp32": ("onnx", SERVED_FILES["onnx"]), "tflite_fp32": ("tflite", SERVED_FILES["tflite"])}
    quant_report: dict = {"requested": list(quantize)}
    if "int8" in quantize:
        _emit(progress, "quantize", 0.0, "quantizing to int8")
        quantization.quantize_onnx_int8(out / SERVED_FILES["onnx"], path("onnx_int8"), calibration)
        quant_report["onnx_int8"] = {
            "method": "static QDQ, per-channel int8 weights, uint8 activations",
            "calibration_images": int(len(calibration)),
            "weights": quantization.count_quantized_weights(out / SERVED_FILES["onnx_int8"]),
        }
        quantization.to_tflite(source, path("tflite_dynamic"), "dynamic")
        quantization.to_tflite(source, path("tflite_int8"), "int8", calibration)
        variants.update(
            {
                "onnx_int8": ("onnx", SERVED_FILES["onnx_int8"]),
                "tflite_dynamic": ("tflite", SERVED_FILES["tflite_dynamic"]),
                "tflite_int8": ("tflite", SERVED_FILES["tflite_int8"]),
            }
        )
    if "float16" in quantize:
        _emit(progress, "quantize", 50.0, "converting to float16")
        quantization.to_tflite(source, path("tflite_float16"), "float16")
        variants["tflite_float16"] = ("tflite", SERVED_FILES["tflite_float16"])
    for key, (kind, name) in variants.items():
        if kind == "tflite":
            quant_report.setdefault("tflite_tensor_types", {})[key] = quantization.tflite_tensor_types(out / name)
    tflite_source.cleanup()
    sections["quantization"] = quant_report
    timings["quantize"] = round(clock() - start, 3)

    # Parity and per-variant accuracy, size and latency on the same holdout pixels.
    start = clock()
    _emit(progress, "parity", 0.0, "comparing Keras, ONNX and TFLite")
    # Each file runs once over the holdout: accuracy uses every image, parity a seeded sample of them.
    picked = _sample_indices(len(x_hold), PARITY_IMAGES, seed)
    holdout_outputs = {
        key: (parity.run_onnx if kind == "onnx" else parity.run_tflite)(out / name, x_hold, outputs=SERVING_OUTPUTS)
        for key, (kind, name) in variants.items()
    }
    keras_holdout = predict_named(serving, x_hold)
    keras_outputs = {name: value[picked] for name, value in keras_holdout.items()}
    outputs = {key: {name: value[picked] for name, value in values.items()} for key, values in holdout_outputs.items()}
    sections["parity"] = {
        "images": int(len(picked)),
        "reference": "keras",
        "fp32": {key: parity.compare(keras_outputs, outputs[key]) for key in ("onnx_fp32", "tflite_fp32")},
        "quantized": {
            key: parity.compare(keras_outputs, value) for key, value in outputs.items() if not key.endswith("fp32")
        },
    }
    image = x_hold[0]
    keras_probs = keras_holdout["probabilities"]
    table = {
        "keras": {
            "file": None,
            "bytes": None,
            "accuracy": _accuracy(keras_probs, y_hold),
            "latency_ms": keras_latency_ms(served, image),
        }
    }
    for key, (kind, name) in variants.items():
        probs = holdout_outputs[key]["probabilities"]
        timer = onnx_latency_ms if kind == "onnx" else tflite_latency_ms
        table[key] = {
            "file": name,
            "bytes": (out / name).stat().st_size,
            "gzip_bytes": quantization.gzip_size(out / name),
            "accuracy": _accuracy(probs, y_hold),
            "latency_ms": timer(out / name, image),
        }
    if prune:
        probs = parity.run_onnx(out / SERVED_FILES["onnx_unpruned"], x_hold, outputs=("probabilities",))[
            "probabilities"
        ]
        table["onnx_unpruned"] = {
            "file": SERVED_FILES["onnx_unpruned"],
            "bytes": (out / SERVED_FILES["onnx_unpruned"]).stat().st_size,
            "gzip_bytes": quantization.gzip_size(out / SERVED_FILES["onnx_unpruned"]),
            "accuracy": _accuracy(probs, y_hold),
            "latency_ms": onnx_latency_ms(out / SERVED_FILES["onnx_unpruned"], image),
        }
    sections["sizes"] = {
        key: {"bytes": row["bytes"], "gzip_bytes": row.get("gzip_bytes")} for key, row in table.items() if row["bytes"]
    }
    sections["latency"] = {key: row["latency_ms"] for key, row in table.items()}
    sections["variants"] = {key: {"file": row["file"], "accuracy": row["accuracy"]} for key, row in table.items()}
    sections["variants_holdout_images"] = int(len(x_hold))
    timings["parity"] = round(clock() - start, 3)

    # Anomaly detector: one per ONNX file, fitted on the embeddings that file computes.
    # Training keeps what separates the classes and loses some of what tells class photos
    # from other photos, so the server adds a second opinion: the pretrained backbone's
    # own ImageNet features (reference.onnx: the backbone's layers after the branch point, as
    # loaded, on the served network's early features) or, without one, the unpruned file's. On
    # cats/dogs vs other photos: AUROC 0.972 served alone, 0.983 reference alone, 0.984 both.
    start = clock()
    _emit(progress, "anomaly", 0.0, "fitting the anomaly detector")
    if reference_model is not None:
        export_reference(reference_model, path("onnx_reference"), branch, input_scale)
    # Detector variant -> embeddings of the training images (the tag head reuses fp32's).
    detectors = {}
    train_embeddings = anomaly.detector_embeddings(out, x_train)
    for variant, embeddings in train_embeddings.items():
        detectors[variant] = anomaly.fit_detector(embeddings, y_train, seed=seed)
    anomaly.save_detectors(out / anomaly.ANOMALY_FILE, detectors)
    files["anomaly"] = anomaly.ANOMALY_FILE
    sections["anomaly"] = {
        "file": anomaly.ANOMALY_FILE,
        "scored_with": anomaly.scored_with(detectors),
        "variants": {v: {**d.summary(), "model": anomaly.VARIANT_MODELS[v],
                         **({"input_from": anomaly.REFERENCE_FEEDS[v]} if branch and v in anomaly.REFERENCE_FEEDS else {})}
                     for v, d in detectors.items()},
    }
    if branch is not None:
        sections["anomaly"]["reference_branch"] = {"layer": branch, "output": REFERENCE_INPUT}
    timings["anomaly"] = round(clock() - start, 3)

    # Autoencoder: where in the image the unusual pixels are.
    start = clock()
    _emit(progress, "autoencoder", 0.0, "training the autoencoder")
    size = min(autoencoder.DEFAULT_SIZE, int(x_train.shape[1]))
    ae_model, ae_report = autoencoder.train_autoencoder(
        x_train,
        size=size,
        epochs=autoencoder_epochs or autoencoder.DEFAULT_EPOCHS,
        batch_size=batch_size,
        seed=seed,
        progress=progress,
    )
    autoencoder.export_autoencoder(ae_model, out / autoencoder.AUTOENCODER_FILE)
    files["autoencoder"] = autoencoder.AUTOENCODER_FILE
    sections["autoencoder"] = ae_report
    timings["autoencoder"] = round(clock() - start, 3)

    # Tags: a sigmoid head on the fp32 embedding when the data carries enough tags.
    start = clock()
    head = None
    if train_tags and val is not None and val_tags is not None:
        _emit(progress, "tags", 0.0, "fitting the tag head")
        train_emb = train_embeddings["fp32"]
        val_emb = parity.run_onnx(out / SERVED_FILES["onnx"], val[0], outputs=("embedding",))["embedding"]
        head = tag_stage.fit_tag_head(train_emb, train_tags, val_emb, val_tags)
    if head is not None:
        tag_stage.export_tag_head(head, out / tag_stage.TAGS_FILE)
        files["tags"] = tag_stage.TAGS_FILE
        sections["tags"] = head.summary()
    else:
        support = tag_stage.tag_support(train_tags or [])
        sections["tags"] = {
            "trained": False,
            "support": support,
            "reason": "no tag has enough positive and negative training examples"
            if support
            else "the data has no tags",
        }
    sections["tags"]["imagenet"] = {"enabled": False}
    timings["tags"] = round(clock() - start, 3)

    sections["files"] = files
    sections["timings"] = timings
    return {"sections": sections, "served_model": served, "serving_model": serving}

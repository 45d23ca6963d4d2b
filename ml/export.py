"""The export pipeline of a training run, one function per stage.

    prune -> export (ONNX, TFLite, head) -> quantize -> parity -> TF.js -> anomaly detector -> autoencoder -> tags

``export_all`` calls the selected stages (``ml.stages``: all by default) in that order; each returns
its card sections. The graph tools they use (flattening, the named serving graph, ONNX writing)
live in ``ml.graphs``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ml import anomaly, autoencoder, parity, quantization, tfjs
from ml import cam as cam_maps
from ml import pruning as pruning_stage
from ml import tags as tag_stage
from ml.browser_anomaly import write_browser_detectors
from ml.evaluation import latency_ms
from ml.events import ProgressFn, emit
from ml.graphs import (
    activations_model,
    export_reference,
    flatten,
    head_weights,
    predict_named,
    serving_model,
    to_onnx,
    with_input_scaling,
)
from ml.models import REFERENCE_INPUT, reference_branch_point
from ml.runtime import ANOMALY_BROWSER_FILE, ANOMALY_FILE, FILES, SERVING_OUTPUTS
from ml.stages import EXPORT_STAGES, select
from ml.timing import timed

PARITY_IMAGES = 64  # enough images to expose a wrong layer, few enough to stay fast
CALIBRATION_IMAGES = 100  # int8 activation ranges settle after about a hundred images; each costs conversion time
KERAS_LATENCY_REPEATS = 10  # a Keras call takes tens of ms, ~40x an ONNX one: ten give a stable median


@dataclass
class ExportRun:
    """What every stage shares: the output folder, the data, the files written and each stage's seconds."""

    out: Path
    train: tuple[np.ndarray, np.ndarray]
    holdout: tuple[np.ndarray, np.ndarray]
    batch_size: int = 32
    seed: int = 0
    progress: ProgressFn | None = None
    files: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)

    def path(self, key: str) -> Path:
        """Return where the file ``key`` goes, recording it among the written files."""
        self.files[key] = FILES[key]
        return self.out / FILES[key]

    def timed(self, stage: str):
        """Time the ``with`` block as ``stage``."""
        return timed(self.timings, stage)

    def emit(self, stage: str, key: str, fraction: float = 0.0, **params) -> None:
        emit(self.progress, stage, key, fraction, **params)


def _sample_indices(n: int, count: int, seed: int) -> np.ndarray:
    """Return up to ``count`` sorted indices out of ``n``, picked with a fixed seed."""
    if n <= count:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, count, replace=False))


def _accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    return float((np.argmax(probabilities, axis=-1) == np.asarray(labels)).mean())


def prune_stage(run: ExportRun, served, target: float | None, epochs: int, learning_rate: float | None):
    """Prune the flat classifier to ``target`` sparsity (the unpruned one is exported first, to compare).

    Return the model to serve and the card's ``pruning`` section.
    """
    if not target:
        return served, {"enabled": False}
    with run.timed("prune"):
        run.emit("prune", "prune.start", percent=round(100 * target))
        to_onnx(serving_model(served), run.path("onnx_unpruned"))
        served, report = pruning_stage.prune(
            served,
            run.train,
            target=target,
            epochs=epochs,
            learning_rate=learning_rate or pruning_stage.DEFAULT_LEARNING_RATE,
            batch_size=run.batch_size,
            holdout=run.holdout,
            progress=run.progress,
        )
    return served, report


def export_stage(run: ExportRun, served, reference_model, tflite_dir: str) -> tuple:
    """Write the served graph, the activations graph, the head for CAMs and the float TFLite file.

    Where the anomaly reference can continue from the served network's early layers, model.onnx
    also outputs them. Return (the serving Keras model, the branch layer or None, the TFLite source).
    """
    with run.timed("export"):
        run.emit("export", "export.start")
        serving = serving_model(served)
        branch = reference_branch_point(reference_model) if reference_model is not None else None
        if branch is not None and branch not in {layer.name for layer in served.layers}:
            branch = None
        to_onnx(serving_model(served, {REFERENCE_INPUT: branch}) if branch else serving, run.path("onnx"))
        to_onnx(activations_model(served), run.path("activations"))
        cam_maps.save_head(run.path("head"), *head_weights(served))
        # Every TFLite variant converts from one saved copy of the serving function.
        source = quantization.save_for_tflite(serving, tflite_dir)
        quantization.to_tflite(source, run.path("tflite"), "fp32")
    return serving, branch, source


def pruned_gzip_sizes(run: ExportRun) -> dict:
    """Return the gzip sizes of the unpruned and pruned ONNX files (pruning's zeros compress away)."""
    before = quantization.gzip_size(run.out / FILES["onnx_unpruned"])
    after = quantization.gzip_size(run.out / FILES["onnx"])
    return {"before": before, "after": after, "ratio": after / before}


def quantize_stage(run: ExportRun, source, quantize: tuple[str, ...]) -> tuple[dict, dict]:
    """Write the ONNX int8 and TFLite variants, calibrated on training images.

    Return the card's ``quantization`` section and every variant to compare: key -> (kind, file name).
    """
    with run.timed("quantize"):
        calibration = run.train[0][_sample_indices(len(run.train[0]), CALIBRATION_IMAGES, run.seed)]
        variants = {"onnx_fp32": ("onnx", FILES["onnx"]), "tflite_fp32": ("tflite", FILES["tflite"])}
        report: dict = {"requested": list(quantize)}
        if "int8" in quantize:
            run.emit("quantize", "quantize.int8")
            quantization.quantize_onnx_int8(run.out / FILES["onnx"], run.path("onnx_int8"), calibration)
            report["onnx_int8"] = {
                "method": "static QDQ, per-channel int8 weights, uint8 activations",
                "calibration_images": int(len(calibration)),
                "weights": quantization.count_quantized_weights(run.out / FILES["onnx_int8"]),
            }
            quantization.to_tflite(source, run.path("tflite_dynamic"), "dynamic")
            quantization.to_tflite(source, run.path("tflite_int8"), "int8", calibration)
            variants.update({key: (key.split("_")[0], FILES[key]) for key in ("onnx_int8", "tflite_dynamic", "tflite_int8")})
        if "float16" in quantize:
            run.emit("quantize", "quantize.float16", 0.5)
            quantization.to_tflite(source, run.path("tflite_float16"), "float16")
            variants["tflite_float16"] = ("tflite", FILES["tflite_float16"])
        for key, (kind, name) in variants.items():
            if kind == "tflite":
                report.setdefault("tflite_tensor_types", {})[key] = quantization.tflite_tensor_types(run.out / name)
    return report, variants


def _file_row(run: ExportRun, name: str, probabilities: np.ndarray, timer, image: np.ndarray) -> dict:
    path = run.out / name
    return {
        "file": name,
        "bytes": path.stat().st_size,
        "gzip_bytes": quantization.gzip_size(path),
        "accuracy": _accuracy(probabilities, run.holdout[1]),
        "latency_ms": timer(path, image),
    }


def parity_stage(run: ExportRun, served, serving, variants: dict, pruned: bool) -> dict:
    """Compare every file with Keras on the same holdout pixels; measure each one's accuracy, size and latency.

    Return the card's ``parity``, ``sizes``, ``latency``, ``variants`` and ``variants_holdout_images`` sections.
    """
    with run.timed("parity"):
        run.emit("parity", "parity.start")
        x_hold, y_hold = run.holdout
        # Each file runs once over the holdout: accuracy uses every image, parity a seeded sample of them.
        picked = _sample_indices(len(x_hold), PARITY_IMAGES, run.seed)
        holdout_outputs = {
            key: (parity.run_onnx if kind == "onnx" else parity.run_tflite)(run.out / name, x_hold, outputs=SERVING_OUTPUTS)
            for key, (kind, name) in variants.items()
        }
        keras_holdout = predict_named(serving, x_hold)
        keras_outputs = {name: value[picked] for name, value in keras_holdout.items()}
        outputs = {key: {name: value[picked] for name, value in values.items()} for key, values in holdout_outputs.items()}
        sections: dict = {"parity": {
            "images": int(len(picked)),
            "reference": "keras",
            "fp32": {key: parity.compare(keras_outputs, outputs[key]) for key in ("onnx_fp32", "tflite_fp32")},
            "quantized": {
                key: parity.compare(keras_outputs, value) for key, value in outputs.items() if not key.endswith("fp32")
            },
        }}
        image = x_hold[0]
        table = {
            "keras": {
                "file": None,
                "bytes": None,
                "accuracy": _accuracy(keras_holdout["probabilities"], y_hold),
                "latency_ms": latency_ms(served, x_hold[:1], repeats=KERAS_LATENCY_REPEATS),
            }
        }
        for key, (kind, name) in variants.items():
            timer = parity.onnx_latency_ms if kind == "onnx" else parity.tflite_latency_ms
            table[key] = _file_row(run, name, holdout_outputs[key]["probabilities"], timer, image)
        if pruned:
            name = FILES["onnx_unpruned"]
            probabilities = parity.run_onnx(run.out / name, x_hold, outputs=("probabilities",))["probabilities"]
            table["onnx_unpruned"] = _file_row(run, name, probabilities, parity.onnx_latency_ms, image)
        sections["sizes"] = {
            key: {"bytes": row["bytes"], "gzip_bytes": row.get("gzip_bytes")} for key, row in table.items() if row["bytes"]
        }
        sections["latency"] = {key: row["latency_ms"] for key, row in table.items()}
        sections["variants"] = {key: {"file": row["file"], "accuracy": row["accuracy"]} for key, row in table.items()}
        sections["variants_holdout_images"] = int(len(x_hold))
    return sections


def tfjs_stage(run: ExportRun, served, classes: list[str] | None) -> dict:
    """Write the TF.js layers model that Teachable Machine's library loads, and check it against Keras.

    The check feeds the same holdout pixels to the served classifier (raw pixels) and to the
    TF.js graph's Keras twin (pixels as the library scales them). Return the card's ``tfjs`` section;
    a model the library's TF.js cannot load gets a section saying why instead of failing the run.
    """
    if not classes:
        return {"enabled": False, "reason": "no class names were given to the export"}
    with run.timed("tfjs"):
        run.emit("tfjs", "tfjs.start")
        try:
            section = tfjs.export_tfjs(served, run.out, classes)
        except tfjs.UnsupportedModel as error:
            return {"enabled": False, "reason": str(error)}
        for key in tfjs.TFJS_FILES:
            run.files[key] = tfjs.TFJS_FILES[key]
        x_hold = run.holdout[0][_sample_indices(len(run.holdout[0]), PARITY_IMAGES, run.seed)]
        if len(x_hold):
            expected = np.asarray(served.predict(x_hold, verbose=0))
            got = tfjs.predict_tm(tfjs.tm_model(served), x_hold)
            section["parity"] = {"images": int(len(x_hold)), "reference": "keras",
                                 "max_abs_diff": float(np.abs(expected - got).max())}
    return section


def anomaly_stage(run: ExportRun, reference_model, branch: str | None,
                  input_scale: tuple[float, float] | None) -> tuple[dict, dict]:
    """Fit one anomaly detector per ONNX file on the embeddings that file computes.

    Training keeps what separates the classes and loses some of what tells class photos
    from other photos, so the server adds a second opinion: the pretrained backbone's
    own ImageNet features (reference.onnx: the backbone's layers after the branch point, as
    loaded, on the served network's early features) or, without one, the unpruned file's. On
    cats/dogs vs other photos: AUROC 0.972 served alone, 0.983 reference alone, 0.984 both.
    Return the card's ``anomaly`` section and the training embeddings by detector variant.
    """
    with run.timed("anomaly"):
        run.emit("anomaly", "anomaly.start")
        if reference_model is not None:
            export_reference(reference_model, run.path("onnx_reference"), branch, input_scale)
        x_train, y_train = run.train
        train_embeddings = anomaly.detector_embeddings(run.out, x_train)
        detectors = {variant: anomaly.fit_detector(embeddings, y_train, seed=run.seed)
                     for variant, embeddings in train_embeddings.items()}
        anomaly.save_detectors(run.path("anomaly"), detectors)
        section = {
            "file": ANOMALY_FILE,
            "scored_with": anomaly.scored_with(detectors),
            "variants": {v: {**d.summary(), "model": anomaly.VARIANT_MODELS[v],
                             **({"input_from": anomaly.REFERENCE_FEEDS[v]} if branch and v in anomaly.REFERENCE_FEEDS else {})}
                         for v, d in detectors.items()},
        }
        if branch is not None:
            section["reference_branch"] = {"layer": branch, "output": REFERENCE_INPUT}
        browser = write_browser_detectors(run.out, detectors)  # the live and browser pages score photos with it
        if browser is not None:
            run.files["anomaly_browser"] = ANOMALY_BROWSER_FILE
            section["browser"] = browser
    return section, train_embeddings


def autoencoder_stage(run: ExportRun, epochs: int | None) -> dict:
    """Train and export the autoencoder that shows where in an image the unusual pixels are."""
    with run.timed("autoencoder"):
        run.emit("autoencoder", "autoencoder.start")
        x_train = run.train[0]
        model, report = autoencoder.train_autoencoder(
            x_train,
            size=min(autoencoder.DEFAULT_SIZE, int(x_train.shape[1])),
            epochs=epochs or autoencoder.DEFAULT_EPOCHS,
            batch_size=run.batch_size,
            seed=run.seed,
            progress=run.progress,
        )
        autoencoder.export_autoencoder(model, run.path("autoencoder"))
    return report


def tags_stage(run: ExportRun, train_embeddings: np.ndarray, train_tags: list | None,
               val: tuple[np.ndarray, np.ndarray] | None, val_tags: list | None) -> dict:
    """Fit a sigmoid tag head on the fp32 embedding when the data carries enough tags; return the ``tags`` section."""
    with run.timed("tags"):
        head = None
        if train_tags and val is not None and val_tags is not None:
            run.emit("tags", "tags.start")
            val_embeddings = parity.run_onnx(run.out / FILES["onnx"], val[0], outputs=("embedding",))["embedding"]
            head = tag_stage.fit_tag_head(train_embeddings, train_tags, val_embeddings, val_tags)
        if head is not None:
            tag_stage.export_tag_head(head, run.path("tags"))
            section = head.summary()
        else:
            support = tag_stage.tag_support(train_tags or [])
            section = {
                "trained": False,
                "support": support,
                "reason": "no tag has enough positive and negative training examples" if support else "the data has no tags",
            }
        section["imagenet"] = {"enabled": False}
    return section


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
    progress: ProgressFn | None = None,
    reference_model=None,
    classes: list[str] | None = None,
    stages: Iterable[str] | None = None,
) -> dict:
    """Run the selected export stages (all by default, see ``ml.stages``); return card sections.

    ``train``/``holdout``/``val`` are (images, labels) as raw 0..255 pixels. A model
    that expects scaled pixels gets ``input_scale=(scale, offset)``: the scaling is
    then put inside every exported graph, so all of them take the same raw pixels.
    ``reference_model`` (the pretrained backbone before training, image -> ``embedding``) is
    exported as ``reference.onnx`` for the anomaly detector. ``classes`` (in output order) label
    the TF.js export's Teachable Machine metadata; without them there is no TF.js export.
    ``stages`` names the stages wanted; those they need and ``export`` are added. The result's
    ``stages`` lists the ones that ran.
    """
    ran = select(stages, EXPORT_STAGES)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    run = ExportRun(out, train, holdout, batch_size, seed, progress)
    sections: dict = {}
    served = flatten(with_input_scaling(model, *input_scale) if input_scale else model)
    prune = prune if "prune" in ran else None

    served, sections["pruning"] = prune_stage(run, served, prune, prune_epochs, prune_learning_rate)
    with tempfile.TemporaryDirectory(prefix="tflite-") as tflite_dir:
        serving, branch, source = export_stage(run, served, reference_model, tflite_dir)
        if prune:
            sections["pruning"]["gzip_bytes"] = pruned_gzip_sizes(run)
        if "quantize" in ran:
            sections["quantization"], variants = quantize_stage(run, source, quantize)
        else:
            variants = {"onnx_fp32": ("onnx", FILES["onnx"]), "tflite_fp32": ("tflite", FILES["tflite"])}
    if "parity" in ran:
        sections.update(parity_stage(run, served, serving, variants, bool(prune)))
    if "tfjs" in ran:
        sections["tfjs"] = tfjs_stage(run, served, classes)
    if "anomaly" in ran:
        sections["anomaly"], train_embeddings = anomaly_stage(run, reference_model, branch, input_scale)
    if "autoencoder" in ran:
        sections["autoencoder"] = autoencoder_stage(run, autoencoder_epochs)
    if "tags" in ran:
        sections["tags"] = tags_stage(run, train_embeddings["fp32"], train_tags, val, val_tags)

    sections["files"] = run.files
    sections["timings"] = run.timings
    return {"sections": sections, "served_model": served, "serving_model": serving, "stages": ran,
            "holdout_images": int(len(holdout[0]))}

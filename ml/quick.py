"""The quick model: a logistic-regression head on cached frozen-backbone embeddings, published in seconds.

    embeddings (photo + mirror) -> C by stratified k-fold -> fit -> temperature -> served graph
        -> int8 graph -> CAM head -> anomaly detector -> card

On the frozen ImageNet MobileNet features a well-regularised linear head is as accurate as the
fine-tuned network (issue measurements: 96.0 % at 224 px on catsdogs against 92.8 % for the
engine's default run), and it trains in well under a second. Nothing here needs TensorFlow: the
served graph is the backbone's cached ONNX file (``ml.embeddings``) with the head written into it
with the ``onnx`` package, so it keeps the served contract (``image`` in; ``probabilities``,
``logits``, ``embedding``, ``feature_maps`` out). Every prediction averages the photo and its
mirror image, inside the graph, exactly as the head was trained and chosen.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ml import shared_autoencoder
from ml.backbones import display_name, spec
from ml.card import CARD_FILE, build_card, timings_section, write_card
from ml.config import QUICK
from ml.embeddings import BACKBONE_ACTIVATIONS_FILE, Backbone
from ml.evaluation import classification_metrics
from ml.preprocess import unscale
from ml.runtime import ANOMALY_BROWSER_FILE, ANOMALY_FILE, FILES, INPUT_NAME, serving_section
from ml.stages import QUICK_STAGES, select
from ml.timing import timed

# Inverse regularisation strengths tried by cross-validation: C = 0.03 measured best on the cats and
# dogs photos, far below scikit-learn's default 1.0, so the grid is centred low.
QUICK_CS = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
QUICK_DEFAULT_C = 0.03  # when a class has too few photos to cross-validate
QUICK_FOLDS = 5
MAX_ITER = 500  # lbfgs converges in a few dozen iterations on these features
HEAD_KERNEL, HEAD_BIAS = "quick_head_kernel", "quick_head_bias"


@dataclass
class QuickHead:
    """A fitted linear head: logits = embedding @ kernel + bias (temperature already folded in)."""

    kernel: np.ndarray  # (d, classes) float32
    bias: np.ndarray  # (classes,) float32
    c: float
    temperature: float
    cv: dict | None = None  # the card's ``kfold`` section
    # Out-of-fold probabilities of the training rows at the chosen C and temperature (each row from a
    # fit that never saw it), in the rows' order; None without cross-validation.
    oof_probabilities: np.ndarray | None = None
    extra: dict = field(default_factory=dict)

    def logits(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, np.float32) @ self.kernel + self.bias

    def predict_proba(self, x: np.ndarray, x_mirror: np.ndarray) -> np.ndarray:
        """Return the mean of the photo's and the mirror's probabilities (what the served graph gives)."""
        return (_softmax(self.logits(x)) + _softmax(self.logits(x_mirror))) / 2

    def served_logits(self, x: np.ndarray, x_mirror: np.ndarray) -> np.ndarray:
        """Return the served graph's ``logits``: the log of the served (mirror-averaged) probabilities."""
        return np.log(np.maximum(self.predict_proba(x, x_mirror), np.finfo(np.float32).tiny))


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _logistic(c: float, seed: int):
    from sklearn.linear_model import LogisticRegression

    # balanced: a class with fewer photos weighs as much in the loss as a crowded one
    # warm_start: along the C grid each fit starts from the previous C's weights (a few iterations each)
    return LogisticRegression(C=c, class_weight="balanced", max_iter=MAX_ITER, random_state=seed, warm_start=True)


def _kernel(fit, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Return a (d, classes) kernel and bias from a fitted LogisticRegression (binary gets two columns)."""
    coef, intercept = fit.coef_, fit.intercept_
    if num_classes == 2 and coef.shape[0] == 1:  # one score split across two softmax logits
        coef = np.concatenate([-coef / 2, coef / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    return coef.T.astype(np.float32), intercept.astype(np.float32)


def _fit(x, x_mirror, y, c: float, seed: int, num_classes: int, model=None):
    """Fit on the photos and their mirrors; pass the previous ``model`` to warm-start from its weights."""
    model = model or _logistic(c, seed)
    model.set_params(C=c)
    # Each photo counts twice, as itself and as its mirror image: a free, label-preserving augmentation.
    model.fit(np.concatenate([x, x_mirror]), np.concatenate([y, y]))
    return _kernel(model, num_classes)


def _nll(probabilities: np.ndarray, y: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(probabilities[np.arange(len(y)), y], 1e-12, 1.0))))


def _temperature(logit_pairs: list, y: np.ndarray) -> float:
    """Return the temperature that makes the out-of-fold probabilities honest (lowest log loss)."""
    from scipy.optimize import minimize_scalar

    photo = np.concatenate([p for p, _ in logit_pairs])
    mirrored = np.concatenate([m for _, m in logit_pairs])

    def loss(log_t):
        t = np.exp(log_t)
        return _nll((_softmax(photo / t) + _softmax(mirrored / t)) / 2, y)

    return float(np.exp(minimize_scalar(loss, bounds=(-3.0, 3.0), method="bounded").x))


def fit_quick_head(x: np.ndarray, x_mirror: np.ndarray, y: np.ndarray, num_classes: int, *, seed: int = 0,
                   folds: int = QUICK_FOLDS, cs=QUICK_CS) -> QuickHead:
    """Fit the quick head on training embeddings only: C and the temperature by stratified k-fold, then all rows.

    The test photos never reach this function, so their score stays an honest estimate.
    """
    from threadpoolctl import threadpool_limits

    # One BLAS thread: on a busy classroom CPU, OpenBLAS threads waiting on each other made one fit
    # 40x slower (11 s against 0.28 s for 4,000 rows); these matrices are far too small to share.
    with threadpool_limits(1):
        return _fit_quick_head(x, x_mirror, y, num_classes, seed, folds, cs)


def _fit_quick_head(x, x_mirror, y, num_classes, seed, folds, cs) -> QuickHead:
    x, x_mirror, y = np.asarray(x, np.float32), np.asarray(x_mirror, np.float32), np.asarray(y, np.int64)
    present = np.bincount(y, minlength=num_classes)
    if (present == 0).any():
        raise ValueError("every class needs at least one training embedding")
    cs = tuple(sorted(cs))  # strongest regularisation first: each warm start is then a small step
    k = int(min(folds, present.min()))
    if k < 2:  # too few photos to cross-validate: the given C (or the default), no temperature
        kernel, bias = _fit(x, x_mirror, y, cs[0] if len(cs) == 1 else QUICK_DEFAULT_C, seed, num_classes)
        return QuickHead(kernel, bias, cs[0] if len(cs) == 1 else QUICK_DEFAULT_C, 1.0, None)
    scores, oof = _cross_validate(x, x_mirror, y, num_classes, seed, k, cs)
    # Highest mean accuracy of the served rule (mirror average at the C's own temperature); lower log loss breaks ties.
    best_c = max(cs, key=lambda c: (scores[c]["accuracy"], -scores[c]["loss"]))
    best = scores[best_c]
    temperature = best["temperature"]
    cv = {
        "k": k,
        "k_requested": int(folds),
        "method": "logistic regression on frozen-backbone embeddings (photo + mirror); C and the temperature "
                  "chosen by stratified k-fold on the training labels, scored as served (mirror-averaged "
                  "probabilities at the fitted temperature)",
        "per_fold": best["rows"],
        "accuracy": {"mean": best["accuracy"], "std": float(np.std([r["accuracy"] for r in best["rows"]]))},
        "loss": {"mean": best["loss"], "std": float(np.std([r["loss"] for r in best["rows"]]))},
        "c_grid": {str(c): round(scores[c]["accuracy"], 4) for c in cs},
        "c": best_c,
        "temperature": round(temperature, 4),
    }
    kernel, bias = _fit(x, x_mirror, y, best_c, seed, num_classes)
    return QuickHead(kernel / temperature, bias / temperature, best_c, temperature, cv, oof_probabilities=oof[best_c])


def _cross_validate(x, x_mirror, y, num_classes, seed, k, cs) -> tuple[dict, dict]:
    """Score every C of the grid out of fold, exactly as it would be served; return per-C scores and probabilities."""
    from sklearn.model_selection import StratifiedKFold

    splits = list(StratifiedKFold(k, shuffle=True, random_state=seed).split(x, y))
    logits = {c: (np.zeros((len(y), num_classes), np.float32), np.zeros((len(y), num_classes), np.float32)) for c in cs}
    for train, val in splits:
        model = _logistic(cs[0], seed)
        for c in cs:
            kernel, bias = _fit(x[train], x_mirror[train], y[train], c, seed, num_classes, model)
            logits[c][0][val] = x[val] @ kernel + bias
            logits[c][1][val] = x_mirror[val] @ kernel + bias
    scores, oof = {}, {}
    for c in cs:
        photo, mirrored = logits[c]
        temperature = _temperature([(photo, mirrored)], y)
        proba = (_softmax(photo / temperature) + _softmax(mirrored / temperature)) / 2
        rows = [{"fold": fold, "accuracy": float((proba[val].argmax(1) == y[val]).mean()),
                 "loss": _nll(proba[val], y[val]), "n": int(len(val))}
                for fold, (_train, val) in enumerate(splits, start=1)]
        scores[c] = {"accuracy": float(np.mean([r["accuracy"] for r in rows])),
                     "loss": float(np.mean([r["loss"] for r in rows])), "rows": rows, "temperature": temperature}
        oof[c] = proba
    return scores, oof


# --- the served graph ---------------------------------------------------------


def served_graph(backbone_path: str | Path, kernel: np.ndarray, bias: np.ndarray):
    """Return the backbone's ONNX graph turned into the served classifier, with mirror averaging inside.

    image -> [image; mirror] -> backbone -> split -> logits of each -> mean probabilities -> log. ``embedding``
    and ``feature_maps`` are the photo's own (the anomaly detector and the CAMs read them).
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(backbone_path))
    graph = model.graph
    renames = {INPUT_NAME: "quick_image_pair", "embedding": "quick_embedding_pair",
               "feature_maps": "quick_feature_maps_pair"}
    for node in graph.node:
        node.input[:] = [renames.get(name, name) for name in node.input]
        node.output[:] = [renames.get(name, name) for name in node.output]
    int_max = np.iinfo(np.int64).max
    constants = {
        "quick_flip_starts": np.array([-1], np.int64), "quick_flip_ends": np.array([-int_max], np.int64),
        "quick_flip_axes": np.array([2], np.int64), "quick_flip_steps": np.array([-1], np.int64),
        "quick_half": np.array(0.5, np.float32), "quick_tiny": np.array(np.finfo(np.float32).tiny, np.float32),
        HEAD_KERNEL: np.asarray(kernel, np.float32), HEAD_BIAS: np.asarray(bias, np.float32),
    }
    graph.initializer.extend(numpy_helper.from_array(value, name) for name, value in constants.items())
    make = helper.make_node
    head = [
        # NHWC: axis 2 is the width, so a reversed slice along it is the mirror image.
        make("Slice", [INPUT_NAME, "quick_flip_starts", "quick_flip_ends", "quick_flip_axes", "quick_flip_steps"],
             ["quick_image_mirror"], name="quick_mirror"),
        make("Concat", [INPUT_NAME, "quick_image_mirror"], ["quick_image_pair"], axis=0, name="quick_pair"),
        make("Shape", [INPUT_NAME], ["quick_batch"], start=0, end=1, name="quick_batch_size"),
        make("Concat", ["quick_batch", "quick_batch"], ["quick_halves"], axis=0, name="quick_halves"),
    ]
    tail = [
        make("Split", ["quick_embedding_pair", "quick_halves"], ["embedding", "quick_embedding_mirror"], axis=0,
             name="quick_split_embedding"),
        make("Split", ["quick_feature_maps_pair", "quick_halves"], ["feature_maps", "quick_feature_maps_mirror"],
             axis=0, name="quick_split_maps"),
        make("Gemm", ["embedding", HEAD_KERNEL, HEAD_BIAS], ["quick_logits_photo"], name="quick_head_photo"),
        make("Gemm", ["quick_embedding_mirror", HEAD_KERNEL, HEAD_BIAS], ["quick_logits_mirror"],
             name="quick_head_mirror"),
        make("Softmax", ["quick_logits_photo"], ["quick_probabilities_photo"], axis=-1, name="quick_softmax_photo"),
        make("Softmax", ["quick_logits_mirror"], ["quick_probabilities_mirror"], axis=-1, name="quick_softmax_mirror"),
        make("Add", ["quick_probabilities_photo", "quick_probabilities_mirror"], ["quick_probabilities_sum"],
             name="quick_probabilities_sum"),
        make("Mul", ["quick_probabilities_sum", "quick_half"], ["probabilities"], name="probabilities"),
        # logits = log of the served probabilities, so softmax(logits) is exactly what is served.
        make("Max", ["probabilities", "quick_tiny"], ["quick_probabilities_floor"], name="quick_floor"),
        make("Log", ["quick_probabilities_floor"], ["logits"], name="logits"),
    ]
    # Nodes stay topologically sorted: the mirror pair before the backbone, the head after it.
    body = list(graph.node)
    del graph.node[:]
    graph.node.extend([*head, *body, *tail])
    maps_shape = [d.dim_value or d.dim_param for d in _value_info(graph.output, "feature_maps").type.tensor_type.shape.dim]
    maps_shape[0] = "batch"
    del graph.output[:]
    del graph.value_info[:]  # shapes inferred by the converter no longer hold for the doubled batch
    graph.output.extend([
        helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", int(kernel.shape[1])]),
        helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", int(kernel.shape[1])]),
        helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", int(kernel.shape[0])]),
        helper.make_tensor_value_info("feature_maps", TensorProto.FLOAT, maps_shape),
    ])
    return model


def _value_info(values, name: str):
    return next(v for v in values if v.name == name)


def write_served_graph(backbone_path: str | Path, kernel: np.ndarray, bias: np.ndarray, out: str | Path) -> Path:
    """Write ``served_graph`` to ``out`` (checked by the ONNX checker first)."""
    import onnx

    model = served_graph(backbone_path, kernel, bias)
    onnx.checker.check_model(model)
    onnx.save(model, str(out))
    return Path(out)


# --- the model folder -----------------------------------------------------------


@dataclass
class QuickData:
    """Embeddings (float32) of the photos and of their mirror images, with class indices."""

    x: np.ndarray
    x_mirror: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)


# What a quick run's config keeps: the choices its recipe uses (epochs, augmentation and dropout
# belong to full runs and would only mislead on a quick card).
QUICK_CONFIG_FIELDS = ("backbone", "alpha", "image_size", "weights", "quantize", "val_fraction", "test_fraction")


def publish_quick(out_dir: str | Path, *, backbone: Backbone, backbone_file: str | Path, classes: list,
                  train: QuickData, test: QuickData | None, config: dict, dataset_sha256: str,
                  backbone_int8_file: str | Path | None = None, seed: int = 0, counts: dict | None = None,
                  stages: Iterable[str] | None = None, autoencoder: str | Path | None = None) -> dict:
    """Fit the quick head and write a complete served model folder; return its card.

    ``test`` (the sealed test photos, never seen by the fit) gives the card's ``metrics``; without
    them the metrics are the cross-validation's out-of-fold estimate, labeled so. ``backbone_int8_file`` adds ``model.int8.onnx``.
    ``stages`` selects the optional stages of ``ml.stages.QUICK_STAGES`` (None: all of them).
    ``autoencoder`` is a shared autoencoder's folder (``ml.shared_autoencoder``): its file is copied in.
    """
    started = time.perf_counter()
    ran = select(stages, QUICK_STAGES)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict = {}
    files: dict = {}
    sections: dict = {}
    with timed(timings, "fit"):
        head = fit_quick_head(train.x, train.x_mirror, train.y, len(classes), seed=seed)
    with timed(timings, "export"):
        sections["quantization"] = _export_stage(out, head, backbone_file, backbone_int8_file, files)
    if "tfjs" in ran:
        with timed(timings, "tfjs"):
            sections["tfjs"] = _tfjs_stage(out, backbone, head.kernel, head.bias, list(classes), files,
                                           cache_dir=Path(backbone_file).parent)
    if "anomaly" in ran:
        with timed(timings, "anomaly"):
            sections["anomaly"] = _anomaly_stage(out, train, seed, files)
    imagenet = {"enabled": False, "reason": "the backbone ships no ImageNet classifier"}
    if "imagenet" in ran:
        with timed(timings, "imagenet"):
            imagenet = _imagenet_stage(out, backbone, Path(backbone_file).parent.parent, files) or imagenet
    if autoencoder is not None:  # built once from the photos, labels never read: a copy, not a training
        with timed(timings, "autoencoder"):
            sections["autoencoder"] = shared_autoencoder.attach(autoencoder, out)
            files["autoencoder"] = FILES["autoencoder"]
    metrics = _quick_metrics(head, train, test, classes)
    size = int(backbone.image_size)
    d, k = head.kernel.shape
    card = build_card(
        name=f"riim-quick-{backbone.network}", mode=QUICK, seed=seed, classes=classes, image_size=size,
        backbone={"requested": backbone.network, "used": backbone.network,
                  "alpha": spec(backbone.network).width(backbone.alpha),
                  "pretrained": True, "fallback": False, "fallback_reason": None,
                  "weights": {"requested": "imagenet", "source": backbone.weights_source,
                              "file": Path(backbone.weights_path).name,
                              "message": f"frozen {display_name(backbone.network, backbone.alpha)}, "
                                         f"fingerprint {backbone.fingerprint}"},
                  "fingerprint": backbone.fingerprint},
        config={**{key: config[key] for key in QUICK_CONFIG_FIELDS if key in config}, "mode": QUICK,
                "backbone": backbone.network, "image_size": size, "folds": QUICK_FOLDS, "seed": seed, "tta": True},
        dataset={"source": "cached embeddings", "sha256": dataset_sha256, "holdout_given": test is not None,
                 "counts": counts or {"train": {}, "val": {}, "test": {}}, "skipped": []},
        metrics=metrics, kfold=head.cv,
        history={"epochs": []},
        overfitting={"verdict": "unknown", "rule": "a convex fit has no epochs", "min_val_loss_epoch": None,
                     "final_gap": None},
        layers=[{"name": "backbone", "type": "ONNX (frozen)", "output_shape": f"(None, {d})", "params": 0},
                {"name": "quick_head", "type": "Dense", "output_shape": f"(None, {k})", "params": int(d * k + k)}],
        parameters={"total": int(d * k + k), "trainable": int(d * k + k), "non_trainable": 0},
        timings=timings_section(timings, timings["fit"], total_s=time.perf_counter() - started),
        files=files, stages_ran=ran, stage_table=QUICK_STAGES,
        serving=serving_section(size, tta="mirror averaging inside the graph"),
        sections={
            "quick": {"c": head.c, "temperature": round(head.temperature, 4), "train_rows": int(2 * len(train)),
                      "mirror": "trained on each photo and its mirror; prediction = mean of both",
                      "class_weight": "balanced"},
            "tags": {"trained": False, "reason": "the quick model trains no tag head", "imagenet": imagenet},
            **sections,
        },
    )
    write_card(card, out / CARD_FILE)
    return card


def _export_stage(out: Path, head: QuickHead, backbone_file, backbone_int8_file, files: dict) -> dict:
    """Write the served graph (and its int8 twin) and the CAM head; return the card's ``quantization`` section."""
    from ml import cam as cam_maps

    write_served_graph(backbone_file, head.kernel, head.bias, out / FILES["onnx"])
    files["onnx"] = FILES["onnx"]
    quantization = {"requested": []}
    if backbone_int8_file is not None:
        write_served_graph(backbone_int8_file, head.kernel, head.bias, out / FILES["onnx_int8"])
        files["onnx_int8"] = FILES["onnx_int8"]
        quantization = {"requested": ["int8"],
                        "method": "static QDQ backbone, calibrated once per backbone fingerprint; float head"}
    cam_maps.save_head(out / FILES["head"], head.kernel, head.bias)
    files["head"] = FILES["head"]
    activations = Path(backbone_file).parent / BACKBONE_ACTIVATIONS_FILE
    if activations.is_file():  # the frozen backbone's, shared by every quick version of the fingerprint
        shutil.copyfile(activations, out / FILES["activations"])
        files["activations"] = FILES["activations"]
    return quantization


def _anomaly_stage(out: Path, train: QuickData, seed: int, files: dict) -> dict:
    """Fit the anomaly detector on the cached training embeddings; return the card's ``anomaly`` section.

    The int8 backbone's embeddings differ from the float ones by quantisation noise only; one
    detector fitted on the cached float embeddings serves both files.
    """
    from threadpoolctl import threadpool_limits

    from ml import anomaly
    from ml.browser_anomaly import write_browser_detectors

    with threadpool_limits(1):  # small covariance matrices: BLAS threads only wait on a busy CPU
        detector = anomaly.fit_detector(train.x, train.y, seed=seed)
    detectors = {"fp32": detector, **({"int8": detector} if "onnx_int8" in files else {})}
    anomaly.save_detectors(out / ANOMALY_FILE, detectors)
    files["anomaly"] = ANOMALY_FILE
    section = {
        "file": ANOMALY_FILE,
        "scored_with": anomaly.scored_with(detectors),
        "variants": {v: {**d.summary(), "model": anomaly.VARIANT_MODELS[v]} for v, d in detectors.items()},
    }
    browser = write_browser_detectors(out, detectors)  # the live and browser pages score photos with it
    if browser is not None:
        files["anomaly_browser"] = ANOMALY_BROWSER_FILE
        section["browser"] = browser
    return section


def _imagenet_stage(out: Path, backbone: Backbone, cache_dir: Path, files: dict) -> dict | None:
    """Write the backbone's own ImageNet classifier beside the model (the served embedding is what it reads)."""
    from ml.embeddings import backbone_imagenet_head
    from ml.tags import write_imagenet_tags

    head = backbone_imagenet_head(backbone, cache_dir)
    if head is None:
        return None
    section = write_imagenet_tags(out, *head)
    files.update({"imagenet_head": FILES["imagenet_head"], "imagenet_labels": FILES["imagenet_labels"]})
    return section


def _quick_metrics(head: QuickHead, train: QuickData, test: QuickData | None, classes: list) -> dict:
    """Score the head on the test photos; without them, report the cross-validation's out-of-fold estimate.

    Out-of-fold: each training photo judged by a fit that never saw it (C and temperature were chosen
    on those same folds, so it leans slightly optimistic, and the card says so). Nothing at all when
    there were too few photos to cross-validate: never an in-sample score.
    """
    if test is not None and len(test):
        probabilities = head.predict_proba(test.x, test.x_mirror)
        metrics = classification_metrics(test.y, probabilities.argmax(1), classes)
        metrics.update({"split": "test", "tta": True})
        return metrics
    if head.oof_probabilities is not None:
        metrics = classification_metrics(train.y, head.oof_probabilities.argmax(1), classes)
        metrics.update({"split": "out_of_fold", "tta": True,
                        "note": "no test photos: out-of-fold estimate on the training photos (C and temperature "
                                "were chosen on the same folds)"})
        return metrics
    return {"split": "none", "n": 0, "tta": True,
            "note": "no test photos and too few training photos to cross-validate: no score"}


def _tfjs_stage(out: Path, backbone: Backbone, kernel, bias, classes: list, files: dict,
                cache_dir: Path | None = None) -> dict:
    """Write the TF.js export (Teachable Machine's format) of the quick model; a refusal is recorded, not raised.

    ``cache_dir`` (the backbone's cache folder) holds the backbone part of the export, built through
    TensorFlow on the first run of a fingerprint; every later run writes its head into it with numpy.
    """
    from ml import tfjs

    try:
        section = tfjs.export_quick_tfjs(out, network=backbone.network, alpha=backbone.alpha,
                                         image_size=backbone.image_size, weights_path=backbone.weights_path,
                                         kernel=kernel, bias=bias, classes=classes, cache_dir=cache_dir)
    except tfjs.UnsupportedModel as error:
        return {"enabled": False, "reason": str(error)}
    files.update(tfjs.TFJS_FILES)
    return section


def train_quick(config, data: str | Path, out_dir: str | Path, *, weights_dir: str | Path | None = None,
                cache_dir: str | Path | None = None) -> dict:
    """Train a quick model from images on disk (``python -m ml train --mode quick``); return a summary.

    The training pool (train + validation splits) fits the head; the test split (or the given
    test rows of a manifest) scores it. Raises ``ml.embeddings.BackboneUnavailable`` without pretrained weights.
    """
    import tempfile

    from ml.datasets import load_image_data, split_counts, split_indices
    from ml.embeddings import BATCH, Embedder, backbone_int8_onnx, backbone_onnx, embed_batches, resolve_backbone

    started = time.perf_counter()
    backbone = resolve_backbone(config.backbone, config.alpha, config.image_size, config.weights,
                                weights_dir=weights_dir)
    images = load_image_data(data, config.image_size)
    splits = split_indices(images, config.val_fraction, config.test_fraction, config.seed)
    pool = np.concatenate([splits["train"], splits["val"]])
    with tempfile.TemporaryDirectory() as scratch:
        cache = Path(cache_dir or scratch)
        source = backbone_onnx(backbone, cache)
        raw = unscale(images.x).astype(np.float32)  # the served graphs take raw pixels
        int8 = (backbone_int8_onnx(backbone, cache, raw[pool[:100]].astype(np.float32))
                if "int8" in (config.quantize or ()) else None)
        embed = Embedder(source)
        x, xm = embed_batches(embed, (raw[i : i + BATCH] for i in range(0, len(raw), BATCH)))
        test = splits["test"]
        card = publish_quick(out_dir, backbone=backbone, backbone_file=source, backbone_int8_file=int8,
                             classes=images.classes, train=QuickData(x[pool], xm[pool], images.y[pool]),
                             test=QuickData(x[test], xm[test], images.y[test]) if len(test) else None,
                             config=config.to_dict(), dataset_sha256=images.sha256, seed=config.seed,
                             counts=split_counts(images, splits))
    metrics = card["metrics"]
    return {"out": str(out_dir), "mode": QUICK, "backbone": backbone.network,
            "scored_on": metrics["split"], "n": metrics["n"],
            "accuracy": round(metrics["accuracy"], 4) if "accuracy" in metrics else None,
            "ci95": [round(v, 4) for v in metrics["ci95"]] if "ci95" in metrics else None, "c": card["quick"]["c"],
            "seconds": round(time.perf_counter() - started, 2)}

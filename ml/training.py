"""The training pipeline, top to bottom.

    data -> weights + model -> k-fold -> train head (or scratch) -> fine-tune -> evaluate
         -> prune -> export (ONNX, TFLite) -> quantize -> parity -> anomaly detector
         -> autoencoder -> tags -> report

Each stage is one small function called from ``train``; the stages themselves (what each needs and
writes, its share of the progress bar) are the table in ``ml.stages``, and ``train`` runs the ones
it is given. The stages after "evaluate" run in ``ml.export.export_all`` on the trained model.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ml.augmentation import augmentation_spec, make_augmentation
from ml.backend import keras, set_seed
from ml.card import CARD_FILE, build_card, timings_section, write_card
from ml.config import FULL, TrainConfig
from ml.datasets import ImageData, load_image_data, make_tf_dataset, split_counts, split_indices
from ml.evaluation import classification_metrics, predict_proba
from ml.events import Event, ProgressFn, backbone_event, epoch_metrics
from ml.export import export_all
from ml.history import merge_phases, overfitting_report, save_history
from ml.models import (
    HEAD_PREDICTIONS,
    build_classifier,
    build_pretrained_backbone,
    build_reference_extractor,
    build_scratch_backbone,
    compile_model,
    feature_model,
    freeze_backbone,
    layer_table,
    parameter_counts,
    unfreeze_top,
)
from ml.preprocess import SERVING_INPUT_SCALE, unscale
from ml.runtime import FILES, KERAS_FILE, serving_section
from ml.stages import EXPORT_STAGE_NAMES, STAGE_WEIGHTS, STAGES, select
from ml.timing import timed
from ml.validation import kfold_head_on_features, kfold_short_training
from ml.weights import WeightsResolution, resolve_weights

HISTORY_FILE, HISTORY_PLOT = FILES["history"], FILES["history_plot"]
MIN_STEPS_PER_EPOCH = 8  # small datasets: repeat the training batches up to this many steps per epoch
BN_POLICY = "batch-norm layers frozen and run in inference mode (base called with training=False)"


@dataclass
class TrainResult:
    """What one training run produced."""

    model: keras.Model
    card: dict
    out_dir: Path
    files: dict
    split_paths: dict  # split name -> image paths, to prove what was trained and tested on
    summary: dict = field(default_factory=dict)


class Progress:
    """Pass each stage's events on to the caller with the stage's fraction mapped onto the whole run."""

    def __init__(self, callback: ProgressFn | None, stages: list):
        self.callback = callback
        total = sum(STAGE_WEIGHTS[s] for s in stages)
        self.offsets, acc = {}, 0.0
        for stage in stages:
            self.offsets[stage] = (acc / total, STAGE_WEIGHTS[stage] / total)
            acc += STAGE_WEIGHTS[stage]

    def __call__(self, event: Event) -> None:
        if self.callback and event.stage in self.offsets:
            start, width = self.offsets[event.stage]
            self.callback(event.at(min(1.0, start + width * min(max(event.fraction or 0.0, 0.0), 1.0))))

    def emit(self, stage: str, key: str, fraction: float, metrics: dict | None = None, **params) -> None:
        """Report ``key`` with ``params`` at ``fraction`` of ``stage``."""
        self(Event(stage, key, fraction, params, metrics))


class BestWeights(keras.callbacks.Callback):
    """Keep the weights of the epoch with the lowest validation loss and restore them at the end."""

    def __init__(self):
        super().__init__()
        self.best_loss, self.best_weights, self.best_epoch = np.inf, None, None

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("val_loss")
        if loss is not None and loss < self.best_loss:
            self.best_loss, self.best_weights, self.best_epoch = loss, self.model.get_weights(), epoch

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


def run_stages(config: TrainConfig, requested: Iterable[str] | None, prune, quantize) -> tuple[str, ...]:
    """Return the stages a run executes: the requested ones (all by default) and what they need.

    A stage the config switches off (no folds, no fine-tuning epochs, no pruning or quantization
    target) is left out, so the card's list says what really ran.
    """
    switched_off = {"kfold": config.folds < 2, "fine_tune": config.fine_tune_epochs <= 0,
                    "prune": not prune, "quantize": not quantize}
    return tuple(name for name in select(requested) if not switched_off.get(name, False))


def train(config: TrainConfig, data: str | Path, out_dir: str | Path, progress: ProgressFn | None = None,
          data_label: str | None = None, prune: float | None = None,
          quantize: tuple | None = None, weights_dir: str | Path | None = None,
          stages: Iterable[str] | None = None) -> TrainResult:
    """Train, validate, evaluate, export and document one model; write it and its card to ``out_dir``.

    ``prune`` (target sparsity) and ``quantize`` (subset of int8, float16) default to the
    config's fields of the same name when it has them. ``weights_dir`` is the folder trusted to
    hold pretrained weight files (None: only the Keras cache or a download). ``stages`` selects
    the optional stages of ``ml.stages`` to run (None: all of them).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    set_seed(config.seed)
    timings: dict = {}
    prune = prune if prune is not None else getattr(config, "prune", None)
    quantize = tuple(quantize if quantize is not None else getattr(config, "quantize", ()) or ())
    ran = run_stages(config, stages, prune, quantize)
    report = Progress(progress, list(ran))

    with timed(timings, "data"):
        images = load_image_data(data, config.image_size,
                                 progress=lambda i, n: i % max(1, n // 20) == 0
                                 and report.emit("data", "data.decoded", i / n, done=i, total=n))
        splits = split_indices(images, config.val_fraction, config.test_fraction, config.seed)

    with timed(timings, "build"):
        resolution = resolve_weights(config.backbone, config.alpha, config.weights, config.image_size,
                                     weights_dir=weights_dir)
        model, backbone_info = build_model(config, len(images.classes), resolution)
        # A ``build.fallback_*`` key lets the platform warn while the run goes on, not only once the card is written.
        report.emit("build", backbone_info["event"]["key"], 1.0, **backbone_info["event"]["params"])

    kfold = None
    with timed(timings, "kfold" if "kfold" in ran else "train"):
        frozen = frozen_pool_features(model, images, splits) if backbone_info["pretrained"] else None
        if "kfold" in ran:
            kfold = cross_validate(config, model, images, splits, frozen,
                                   lambda f, k: report.emit("kfold", "kfold.fold", f / k, fold=f, folds=k))
            report.emit("kfold", "kfold.done", 1.0)

    phases = []
    augmentation = make_augmentation(config.augment, seed=config.seed)
    stage = "train"
    head_init = "random (Glorot)"
    candidates: dict = {}  # recipe name -> weights, compared on the validation split once training ends
    with timed(timings, stage, add=True):
        if backbone_info["pretrained"]:
            freeze_backbone(model)
            train_count = len(splits["train"])  # the pool starts with the training split
            flipped = images.x[splits["train"]][:, :, ::-1, :]  # each photo's mirror, as the quick model fits
            mirrored = feature_model(model).predict(flipped, batch_size=64, verbose=0)
            head_init = warm_start_head(model, frozen[:train_count], images.y[splits["train"]], config, mirrored)
            candidates["warm_start"] = model.get_weights()
        compile_model(model, config.learning_rate)
        phases.append(("head" if backbone_info["pretrained"] else "scratch",
                       fit_phase(model, config, images, splits, augmentation, config.epochs, report, stage)))
        if backbone_info["pretrained"]:
            candidates["head"] = model.get_weights()

    unfrozen: list = []
    if backbone_info["pretrained"] and "fine_tune" in ran:
        with timed(timings, "fine_tune"):
            unfrozen = unfreeze_top(model, config.fine_tune_layers)
            compile_model(model, config.fine_tune_learning_rate)
            phases.append(("fine_tune",
                           fit_phase(model, config, images, splits, augmentation, config.fine_tune_epochs,
                                     report, "fine_tune")))
            candidates["fine_tuned"] = model.get_weights()

    recipe = None
    if candidates and len(splits["val"]):
        recipe = select_recipe(model, candidates, images.x[splits["val"]], images.y[splits["val"]])

    with timed(timings, "evaluate"):
        test_idx = splits["test"]
        probs = predict_proba(model, images.x[test_idx], tta=config.tta)
        metrics = classification_metrics(images.y[test_idx], probs.argmax(axis=1), images.classes)
        metrics.update({"split": "holdout" if images.holdout_given else "test", "tta": config.tta})
        report.emit("evaluate", "evaluate.accuracy", 1.0, accuracy=round(metrics["accuracy"], 3))

    # The untouched pretrained backbone, exported beside the model for the anomaly detector.
    reference = (build_reference_extractor(config.backbone, config.alpha, config.image_size, resolution.path)
                 if backbone_info["pretrained"] else None)
    exported = export_stages(config, model, images, splits, out_dir, prune, quantize, report, reference,
                             [name for name in ran if name in EXPORT_STAGE_NAMES])
    timings.update(exported["timings"])

    with timed(timings, "report"):
        rows = merge_phases(phases)
        files = write_outputs(model, out_dir, rows)
    files.update(exported["files"])
    fine_tuning = fine_tuning_section(config, unfrozen, rows, head_init, recipe)
    card = full_card(config, images, splits, backbone_info, fine_tuning, metrics, kfold, rows, model, timings,
                     files, data_label or str(data), ran, exported)
    write_card(card, out_dir / CARD_FILE)
    files["card"] = CARD_FILE
    report.emit("report", "report.done", 1.0)
    split_paths = {name: [images.samples[i].path for i in idx] for name, idx in splits.items()}
    summary = {
        "out": str(out_dir),
        "backbone": backbone_info["used"],
        "fallback": backbone_info["fallback"],
        "accuracy": round(metrics["accuracy"], 4),
        "n": metrics["n"],
        "ci95": [round(v, 4) for v in metrics["ci95"]],
        "kfold_accuracy": None if kfold is None else round(kfold["accuracy"]["mean"], 4),
        "verdict": card["overfitting"]["verdict"],
        "seconds": card["timings"]["total_s"],
    }
    return TrainResult(model=model, card=card, out_dir=out_dir, files=files, split_paths=split_paths,
                       summary=summary)


def export_stages(config: TrainConfig, model, images: ImageData, splits: dict, out_dir: Path, prune, quantize,
                  report, reference=None, stages: Iterable[str] | None = None) -> dict:
    """Run the export stages on the trained model; return their card sections, files, timings and stages."""

    def raw(name):  # exported graphs take raw pixels: undo the training-time scaling
        idx = splits[name]
        return unscale(images.x[idx]).astype(np.float32), images.y[idx]

    def tags(name):
        return [list(images.samples[i].tags) for i in splits[name]]

    result = export_all(
        model, out_dir, train=raw("train"), holdout=raw("test"), val=raw("val"),
        prune=prune, quantize=quantize, batch_size=config.batch_size,
        train_tags=tags("train"), val_tags=tags("val"), input_scale=SERVING_INPUT_SCALE, seed=config.seed,
        reference_model=reference, classes=list(images.classes),
        progress=report, stages=stages,
    )
    sections = result["sections"]
    files, timings = sections.pop("files"), sections.pop("timings")
    sections.pop("variants_holdout_images", None)
    sections["serving"] = serving_section(config.image_size, pruned=bool(prune),
                                          holdout_images=result["holdout_images"])
    return {"card": sections, "files": files, "timings": timings, "stages": result["stages"]}


def build_model(config: TrainConfig, num_classes: int, resolution: WeightsResolution):
    """Build the classifier; fall back to scratch (and say why) when pretrained weights are missing."""
    wants_pretrained = config.backbone != "scratch" and config.weights != "none"
    fallback = wants_pretrained and not resolution.available
    base = None
    message = resolution.message
    load_error = None
    if wants_pretrained and resolution.available:
        try:
            base = build_pretrained_backbone(config.backbone, config.alpha, config.image_size, resolution.path)
        except (ValueError, OSError) as exc:  # a file of the wrong architecture or a damaged file
            load_error = f"{type(exc).__name__}: {exc}"[:300]
            fallback, message = True, f"weights file could not be loaded ({load_error})"
    elif config.backbone != "scratch" and config.weights == "none":
        # A MobileNet shape from random weights: trained end to end like a scratch network.
        base = build_pretrained_backbone(config.backbone, config.alpha, config.image_size, None)
    if fallback:
        message = f"No pretrained weights available: {message}. Falling back to the scratch CNN."
    pretrained = base is not None and config.weights != "none"
    if base is None:
        base = build_scratch_backbone(config.image_size, config.scratch_filters, config.l2)
    model = build_classifier(base, num_classes, config.dropout, config.l2, pretrained=pretrained)
    info = {
        "requested": config.backbone,
        "used": config.backbone if not fallback else "scratch",
        "alpha": config.alpha if config.backbone != "scratch" and not fallback else None,
        "pretrained": pretrained,
        "weights": resolution.to_dict(),
        "fallback": fallback,
        "fallback_reason": message if fallback else None,
        "message": message,
    }
    # The same, as the build event's key and parameters: the platform says it in the reader's language.
    key, params = backbone_event(config.backbone, config.alpha, resolution, pretrained=pretrained, fallback=fallback,
                                 load_error=load_error)
    info["event"] = {"key": key, "params": params}
    return model, info


def frozen_pool_features(model, images: ImageData, splits: dict) -> np.ndarray:
    """Return the frozen backbone's pooled features of the training pool (train, then validation rows).

    Computed once: k-fold cross-validates the head on them and the head's warm start fits on the
    training rows, so the backbone runs over these images a single time.
    """
    pool = np.concatenate([splits["train"], splits["val"]])
    return feature_model(model).predict(images.x[pool], batch_size=64, verbose=0)


def warm_start_head(model, features: np.ndarray, y: np.ndarray, config: TrainConfig,
                    mirror_features: np.ndarray | None = None) -> str:
    """Start the dense head from the quick model's fit on the frozen features of the training split.

    With a class's few dozen photos, gradient steps from random weights leave the head far from
    where the features already separate the classes; the convex fit gets there at once, and the
    head phase then refines it with augmentation and dropout. The fit is the quick model's
    (``ml.quick.fit_quick_head``: regularisation chosen by cross-validation on these rows, each photo
    and its mirror), so this candidate of ``select_recipe`` is the quick model of the same labels and
    the full recipe never starts below it.
    """
    from ml.quick import fit_quick_head

    num_classes = model.get_layer(HEAD_PREDICTIONS).get_weights()[0].shape[1]
    if len(np.unique(y)) < 2:
        return "random (Glorot): one class in the training split"
    if len(np.unique(y)) < num_classes:
        return "random (Glorot): some classes have no training images"
    mirrored = features if mirror_features is None else mirror_features
    head = fit_quick_head(features, mirrored, y, num_classes, seed=config.seed)
    model.get_layer(HEAD_PREDICTIONS).set_weights([head.kernel.astype(np.float32), head.bias.astype(np.float32)])
    return f"logistic regression on the frozen features of the training split (warm start, C = {head.c:g})"


def select_recipe(model, candidates: dict, x_val: np.ndarray, y_val: np.ndarray) -> dict:
    """Keep the candidate weights with the best validation accuracy (lower log loss breaks ties); return the table.

    The candidates are the stages of one run (the logistic warm start, the trained head, the fine-tuned
    network): fine-tuning is kept only when it beats what it started from, so the default recipe is
    never worse on validation than its own warm start. The mirror-averaged accuracy is reported beside.
    """
    table = {}
    for name, weights in candidates.items():
        model.set_weights(weights)
        plain = predict_proba(model, x_val)
        mirrored = predict_proba(model, x_val, tta=True)
        picked = np.clip(plain[np.arange(len(y_val)), y_val], 1e-12, 1.0)
        table[name] = {"val_accuracy": float((plain.argmax(1) == y_val).mean()),
                       "val_loss": float(-np.log(picked).mean()),
                       "val_accuracy_mirror_tta": float((mirrored.argmax(1) == y_val).mean())}
    chosen = max(table, key=lambda name: (table[name]["val_accuracy"], -table[name]["val_loss"]))
    model.set_weights(candidates[chosen])
    return {"chosen": chosen, "validation_images": int(len(y_val)), "candidates": table,
            "rule": "best validation accuracy, lower validation loss on ties"}


def cross_validate(config: TrainConfig, model, images: ImageData, splits: dict, frozen: np.ndarray | None, on_fold):
    """Run stratified k-fold on the training pool (train + validation, never the test split)."""
    if config.folds < 2:
        return None
    pool = np.concatenate([splits["train"], splits["val"]])
    x, y = images.x[pool], images.y[pool]
    if frozen is not None:  # pretrained: the head on the cached frozen features
        return kfold_head_on_features(frozen, y, len(images.classes), config.folds, config.seed,
                                      config.dropout, config.l2, config.learning_rate,
                                      epochs=config.kfold_epochs or max(config.epochs, 10))
    epochs = config.kfold_epochs or max(1, config.epochs // (2 * config.folds))

    def build():
        fresh, _ = build_model(config.replace(backbone="scratch") if config.weights != "none" else config,
                               len(images.classes), WeightsResolution("none", None, "none", "k-fold"))
        return compile_model(fresh, config.learning_rate)

    augmentation = make_augmentation(config.augment, seed=config.seed)
    return kfold_short_training(x, y, config.folds, config.seed, build, epochs, config.batch_size,
                                augmentation, on_fold)


def fit_phase(model, config: TrainConfig, images: ImageData, splits: dict, augmentation, epochs: int,
              report: Progress, stage: str) -> dict:
    """Fit with early stopping on validation loss; keep the best epoch's weights. Return the history."""
    train_idx, val_idx = splits["train"], splits["val"]
    train_ds = make_tf_dataset(images.x[train_idx], images.y[train_idx], config.batch_size,
                               shuffle=True, seed=config.seed, augmentation=augmentation)
    # A class's few dozen photos are one or two batches: an "epoch" then repeats the (augmented)
    # data until the optimizer has taken enough steps to move the weights.
    steps_per_epoch = None
    if math.ceil(len(train_idx) / config.batch_size) < MIN_STEPS_PER_EPOCH:
        train_ds, steps_per_epoch = train_ds.repeat(), MIN_STEPS_PER_EPOCH
    val_ds = make_tf_dataset(images.x[val_idx], images.y[val_idx], config.batch_size)
    callbacks = [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.patience),
        BestWeights(),
        keras.callbacks.LambdaCallback(
            on_epoch_end=lambda e, logs: report.emit(
                stage, "train.epoch", (e + 1) / epochs, epoch_metrics(logs), epoch=e + 1, epochs=epochs,
                loss=round(float(logs["loss"]), 3), val_accuracy=round(float(logs.get("val_accuracy", 0)), 3))),
    ]
    history = model.fit(train_ds, validation_data=val_ds, epochs=epochs, steps_per_epoch=steps_per_epoch,
                        callbacks=callbacks, verbose=0)
    return history.history


def write_outputs(model, out_dir: Path, rows: list) -> dict:
    """Save the model, the history JSON and its plot."""
    model.save(out_dir / KERAS_FILE)
    save_history(rows, out_dir / HISTORY_FILE, out_dir / HISTORY_PLOT)
    return {"model": KERAS_FILE, "history": HISTORY_FILE, "history_plot": HISTORY_PLOT}


def fine_tuning_section(config: TrainConfig, unfrozen: list, rows: list, head_init: str, recipe: dict | None) -> dict:
    """Describe how the network was trained: its phases, unfrozen layers, learning rates and chosen recipe."""
    section = {
        "enabled": bool(unfrozen),
        "phases": [phase for phase in dict.fromkeys(r["phase"] for r in rows)],
        "unfrozen_layers": unfrozen,
        "learning_rates": {"head": config.learning_rate, "fine_tune": config.fine_tune_learning_rate},
        "batch_norm": BN_POLICY,
        "head_init": head_init,
    }
    if recipe is not None:
        section["recipe"] = recipe
    return section


def full_card(config, images, splits, backbone_info, fine_tuning, metrics, kfold, rows, model, timings, files,
              source, ran, exported) -> dict:
    """Return a full run's model card (``ml.card.build_card`` with what only full runs have)."""
    final_training = timings.get("train", 0.0) + timings.get("fine_tune", 0.0)
    sections = {
        "augmentation": {"preset": config.augment, "spec": augmentation_spec(config.augment).to_dict(),
                         "applied_to": "training batches only"},
        "fine_tuning": fine_tuning,
        **exported["card"],
    }
    serving = sections.pop("serving")
    return build_card(
        name=f"riim-{backbone_info['used']}", mode=FULL, seed=config.seed, classes=images.classes,
        image_size=config.image_size, backbone={k: v for k, v in backbone_info.items() if k != "message"},
        config=config.to_dict(),
        dataset={"source": source, "sha256": images.sha256, "holdout_given": images.holdout_given,
                 "counts": split_counts(images, splits), "skipped": images.skipped},
        metrics=metrics, kfold=kfold,
        history={"epochs": rows, "file": files["history"], "plot": files["history_plot"]},
        overfitting=overfitting_report(rows, len(images.classes)),
        layers=layer_table(model), parameters=parameter_counts(model),
        timings=timings_section(timings, final_training), files=files, stages_ran=ran,
        stage_table=STAGES.values(), serving=serving, sections=sections,
    )

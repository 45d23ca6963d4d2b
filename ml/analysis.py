"""Analyse images with a trained model: the one path the server and the command line share.

``analyse`` turns one image's raw pixels into the ranked classes and, for a served model
folder (``ml.inference.Predictor``), the anomaly verdict, the tags and the class-activation
map. ``predict`` and ``evaluate`` (``python -m ml predict|evaluate``) run it on any model file
the engine writes: ``.onnx`` through the same ``Predictor`` the server uses, ``.tflite`` through
LiteRT, ``.keras``/``.h5`` through Keras. TensorFlow is imported only for a Keras file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ml import parity
from ml.card import CARD_FILE
from ml.datasets import HOLDOUT, read_samples
from ml.errors import CARD_NOT_FOUND, DATA_NO_IMAGES, MODEL_NOT_FOUND, MODEL_UNSUPPORTED, DataError, ModelError
from ml.evaluation import classification_metrics, latency_ms, load_model_and_card, predict_proba
from ml.inference import Predictor
from ml.preprocess import load_pixels, scale
from ml.runtime import model_card, read_model_card

LATENCY_REPEATS = 30
EVALUATION_BATCH = 32  # images per run while evaluating: bounded memory on any dataset size


@dataclass(frozen=True)
class ImageAnalysis:
    """What a model says about one image."""

    classes: list
    probabilities: np.ndarray  # one per class, float64
    order: np.ndarray  # class indices, most probable first
    outputs: dict  # every output the model gave for the image, by name (batch of one)
    anomaly: dict | None = None  # score, threshold, flagged, parts (each detector's distance / threshold)
    tags: tuple = ()  # the learned tag head's verdict on every tag: tag, probability, present
    imagenet: tuple = ()  # ImageNet names and probabilities, when the folder ships them
    cam: np.ndarray | None = None  # [0, 1] class-activation map of the top class
    # Coarse ImageNet categories ({"categories": [...], "unsure": bool}), when the folder ships them
    imagenet_categories: dict | None = None

    @property
    def top(self) -> int:
        return int(self.order[0])

    @property
    def label(self) -> str:
        return self.classes[self.top]

    def ranking(self, k: int | None = None) -> list[dict]:
        """Return the classes, most probable first (the first ``k``): label, index, probability."""
        return [{"label": self.classes[int(i)], "index": int(i), "probability": float(self.probabilities[i])}
                for i in self.order[:k]]


def analyse(predictor, pixels: np.ndarray, *, explain: bool = True, cam: bool = True, cam_size: int | None = None,
            imagenet_k: int | None = None) -> ImageAnalysis:
    """Return the analysis of one image given as raw 0..255 pixels (``predictor.load`` or ``load_picture``).

    With ``explain`` (a ``Predictor`` only) the anomaly score, the tags and, with ``cam``, the
    class-activation map (``cam_size`` pixels square, default the input's) come too. The outputs
    the network gave are reused: the reference detector continues from their ``early_features``.
    """
    outputs = predictor.run(np.asarray(pixels, np.float32)[None])
    probabilities = np.asarray(outputs["probabilities"][0], np.float64)
    order = np.argsort(-probabilities)
    if not explain:
        return ImageAnalysis(predictor.classes, probabilities, order, outputs)
    embedding = outputs.get("embedding")
    verdict, tags, imagenet, heatmap, categories = None, (), (), None, None
    if embedding is not None:
        if predictor.has_detector:
            verdict = predictor.anomaly(pixels, embedding, outputs)
        tags = tuple(predictor.tags(embedding))
        imagenet = tuple(predictor.imagenet(embedding, k=imagenet_k))
        categories = predictor.imagenet_categories(embedding) if imagenet else None
    if cam and predictor.head is not None and "feature_maps" in outputs:
        heatmap = predictor.cam(outputs["feature_maps"][0], int(order[0]), size=cam_size)
    return ImageAnalysis(predictor.classes, probabilities, order, outputs, verdict, tags, imagenet, heatmap, categories)


class LiteClassifier:
    """A ``.tflite`` classifier with the card beside it, run with LiteRT one image at a time."""

    def __init__(self, path: Path):
        card = read_model_card(path.parent)
        self.path, self.classes, self.image_size = path, card.classes, card.input_size

    def load(self, source) -> np.ndarray:
        return load_pixels(source, self.image_size)

    def run(self, images: np.ndarray, outputs: tuple[str, ...] | None = ("probabilities",)) -> dict:
        return parity.run_tflite(self.path, images, outputs=outputs)

    def latency_ms(self, images: np.ndarray, repeats: int) -> dict:
        return parity.tflite_latency_ms(self.path, images[0], repeats=repeats)


class OnnxClassifier(Predictor):
    """An ``.onnx`` classifier: the server's own ``Predictor`` on that file."""

    def latency_ms(self, images: np.ndarray, repeats: int) -> dict:
        return parity.onnx_latency_ms(self.model_path, images[0], repeats=repeats)


class KerasClassifier:
    """A saved Keras model (``.keras``/``.h5``): fed the same raw pixels, scaled as in training, with the card's TTA."""

    def __init__(self, path: Path):
        self.model, card = load_model_and_card(path)
        card = model_card(card)
        self.classes, self.image_size = card.classes, card.input_size
        self.tta = bool(card.raw.get("config", {}).get("tta", False))

    def load(self, source) -> np.ndarray:
        return load_pixels(source, self.image_size)

    def run(self, images: np.ndarray, outputs: tuple[str, ...] | None = None) -> dict:
        return {"probabilities": predict_proba(self.model, scale(images), tta=self.tta)}

    def latency_ms(self, images: np.ndarray, repeats: int) -> dict:
        return latency_ms(self.model, scale(images), repeats=repeats)


def open_classifier(model_path: str | Path):
    """Open any classifier file the engine writes, with the ``card.json`` beside it."""
    path = Path(model_path)
    if not path.is_file():
        raise ModelError(MODEL_NOT_FOUND.format(path=path))
    if path.suffix in (".keras", ".h5"):
        return KerasClassifier(path)
    if path.suffix not in (".onnx", ".tflite"):
        raise ModelError(MODEL_UNSUPPORTED.format(path=path))
    if not (path.parent / CARD_FILE).is_file():
        raise ModelError(CARD_NOT_FOUND.format(path=path.parent / CARD_FILE))
    return OnnxClassifier.from_model_file(path) if path.suffix == ".onnx" else LiteClassifier(path)


def predict(model_path: str | Path, paths: list, top_k: int = 3) -> list:
    """Classify images with a model file: the class, its probability and the top-k; errors are reported per file."""
    classifier = open_classifier(model_path)
    results = []
    for path in paths:
        try:
            pixels = classifier.load(path)
        except DataError as exc:
            results.append({"image": str(path), "error": str(exc)})
            continue
        result = analyse(classifier, pixels, explain=False)
        results.append({
            "image": str(path),
            "label": result.label,
            "probability": float(result.probabilities[result.top]),
            "top_k": [{"label": row["label"], "probability": row["probability"]} for row in result.ranking(top_k)],
        })
    return results


def evaluate(model_path: str | Path, data: str | Path, latency_repeats: int = LATENCY_REPEATS) -> dict:
    """Evaluate a model file on a folder or manifest (its holdout rows, if it has a split column)."""
    classifier = open_classifier(model_path)
    classes = classifier.classes
    samples = read_samples(data)
    if any(s.split is not None for s in samples):
        samples = [s for s in samples if s.split == HOLDOUT]
    pixels, labels, skipped = [], [], []
    for sample in samples:
        if sample.label not in classes:
            skipped.append({"path": sample.path, "reason": f"label {sample.label!r} unknown to the model"})
            continue
        try:
            pixels.append(classifier.load(sample.path))
            labels.append(classes.index(sample.label))
        except DataError as exc:
            skipped.append({"path": sample.path, "reason": str(exc)})
    if not pixels:
        raise DataError(DATA_NO_IMAGES.format(path=data))
    images = np.stack(pixels)
    probabilities = np.concatenate([
        classifier.run(images[i:i + EVALUATION_BATCH], outputs=("probabilities",))["probabilities"]
        for i in range(0, len(images), EVALUATION_BATCH)
    ])
    result = classification_metrics(np.array(labels), probabilities.argmax(axis=1), classes)
    result.update({"classes": classes, "skipped": skipped})
    if isinstance(classifier, KerasClassifier):
        result["tta"] = classifier.tta
    result.update({"latency_ms": classifier.latency_ms(images, latency_repeats), "model": str(model_path)})
    return result

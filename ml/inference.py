"""Serve a trained model folder with ONNX Runtime: no TensorFlow on the request path.

``Predictor`` loads ``model.onnx`` (or ``model.int8.onnx``) with pinned intra- and
inter-op thread counts and gives, for a batch of raw pixels, the named outputs of the
served graph; for one image, a class-activation map computed with numpy from
``head.npz``, the anomaly score of the detector fitted for that same model file, and
the project tags when ``tags.onnx`` exists. ``ml.analysis.analyse`` puts them together.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ml import cam as cam_maps
from ml.anomaly import VARIANT_MODELS, PairedDetector, can_feed, load_detectors, part_name, second_detector
from ml.preprocess import load_pixels, resize_batch, resize_upright
from ml.runtime import (
    ACTIVATIONS_FILE,
    ANOMALY_FILE,
    AUTOENCODER_FILE,
    HEAD_FILE,
    IMAGENET_HEAD_FILE,
    INPUT_NAME,
    TAGS_FILE,
    TAGS_INPUT_NAME,
    VARIANT_FILES,
    open_session,
    read_model_card,
    variant_of,
)
from ml.tags import (
    coarse_categories,
    decide,
    imagenet_probabilities,
    imagenet_top_k,
    load_imagenet_categories,
    load_imagenet_head,
    load_imagenet_labels,
    read_tag_metadata,
)


class Predictor:
    """Answer predictions for one model folder from its ONNX files."""

    def __init__(
        self,
        folder: str | Path,
        variant: str = "fp32",
        intra_op_threads: int = 1,
        inter_op_threads: int = 1,
        model_file: str | Path | None = None,
    ):
        self.folder = Path(folder)
        self.card = read_model_card(self.folder)
        self.model_path = Path(model_file) if model_file else self.folder / VARIANT_FILES[variant]
        self.variant = variant_of(self.model_path)
        self.threads = (intra_op_threads, inter_op_threads)
        self.session = open_session(self.model_path, *self.threads)
        self.classes = self.card.classes
        self.image_size = self.card.input_size
        self.output_names = [o.name for o in self.session.get_outputs()]
        head = self.folder / HEAD_FILE
        self.head = cam_maps.load_head(head) if head.exists() else None
        self._detector, self._paired = self._load_detectors()
        self._tags = self._load_tags()
        self._imagenet = self._load_imagenet()  # None unless ImageNet tags were written
        self._autoencoder = None
        self._activations = None

    @classmethod
    def from_model_file(cls, path: str | Path, **kwargs) -> "Predictor":
        """Open the folder of an ``.onnx`` file, serving that file."""
        path = Path(path)
        return cls(path.parent, model_file=path, **kwargs)

    def _load_detectors(self):
        """Return the detector fitted on this model file's embeddings and, when there is one, the pair it forms.

        The pair's second detector comes with its own session: ``reference.onnx`` (the pretrained
        backbone's later layers, usually fed with this file's ``early_features``) or, for folders
        without one, ``model.unpruned.onnx``.
        """
        path = self.folder / ANOMALY_FILE
        if not path.exists():
            return None, None
        detectors = load_detectors(path)
        # Embeddings differ between fp32 and int8 models: use the detectors fitted on this file's.
        own = detectors.get(self.variant)
        other = second_detector(self.folder, detectors, self.variant)
        if other is None:
            return own, None
        session = open_session(self.folder / VARIANT_MODELS[other], *self.threads)
        feed = session.get_inputs()[0].name
        if not can_feed(feed, self.output_names):
            return own, None  # a reference fed by an output this file lacks
        return own, (PairedDetector.calibrate(own, detectors[other]), session, part_name(other), feed)

    def _load_tags(self):
        path = self.folder / TAGS_FILE
        if not path.exists():
            return None
        names, thresholds = read_tag_metadata(path)
        return open_session(path, *self.threads), names, thresholds

    def _load_imagenet(self):
        """Return (label names, k, (kernel, bias)) when the folder ships ImageNet tags, else None."""
        labels = load_imagenet_labels(self.folder)
        if labels is None:
            return None
        names, k = labels
        return names, k, load_imagenet_head(self.folder / IMAGENET_HEAD_FILE)

    @property
    def has_detector(self) -> bool:
        """Whether an anomaly detector was fitted for the served file."""
        return self._detector is not None

    def load(self, source) -> np.ndarray:
        """Decode one image (path, bytes or file-like) into the model's raw 0..255 input."""
        return load_pixels(source, self.image_size)

    def load_picture(self, picture) -> np.ndarray:
        """Turn an already decoded, upright Pillow picture into the model's raw 0..255 input."""
        return resize_upright(picture, self.image_size).astype(np.float32)

    def tags(self, embedding: np.ndarray) -> list[dict]:
        """Return the learned tag head's verdict for one embedding (every tag, ``present`` or not)."""
        if self._tags is None:
            return []
        session, names, thresholds = self._tags
        values = session.run(["tag_probabilities"], {TAGS_INPUT_NAME: np.asarray(embedding, np.float32).reshape(1, -1)})
        return decide(values[0][0], names, thresholds)

    def imagenet(self, embedding: np.ndarray, k: int | None = None) -> list[dict]:
        """Return the top ImageNet names for one embedding, or [] when the folder has no ImageNet head."""
        if self._imagenet is None:
            return []
        names, default_k, head = self._imagenet
        return imagenet_top_k(np.asarray(embedding).reshape(-1), head, names, k or default_k)

    def imagenet_categories(self, embedding: np.ndarray) -> dict | None:
        """Return the coarse ImageNet categories of one embedding and whether none is confident, or None."""
        categories = load_imagenet_categories(self.folder) if self._imagenet is not None else None
        if categories is None:
            return None
        table, unsure_below = categories
        ranked = coarse_categories(imagenet_probabilities(embedding, self._imagenet[2]), table)
        return {"categories": ranked, "unsure": ranked[0]["probability"] < unsure_below, "unsure_below": unsure_below}

    def run(self, images: np.ndarray, outputs: tuple[str, ...] | None = None) -> dict:
        """Run the model on a batch of preprocessed images and return its outputs by name."""
        names = [n for n in self.output_names if outputs is None or n in outputs]
        values = self.session.run(names, {INPUT_NAME: np.asarray(images, np.float32)})
        return dict(zip(names, values, strict=True))

    def anomaly(self, pixels: np.ndarray, embedding: np.ndarray, outputs: dict | None = None) -> dict:
        """Score one image's novelty from its pixels and this model's embedding of them.

        With a second detector (see ``ml.anomaly.PairedDetector``) the score is the sum of both
        distance / threshold ratios and the threshold the paired one. ``parts`` gives each
        detector's own distance / threshold ratio (above 1: unusual to that detector alone).
        ``outputs`` (this image's ``run`` outputs, when at hand) spares running the model again
        for the ``early_features`` the reference continues from.
        """
        if self._paired is None:
            score, threshold = float(self._detector.score(embedding)[0]), self._detector.threshold
            return {"score": score, "threshold": threshold, "flagged": score > threshold,
                    "parts": {"served": score / threshold}}
        paired, session, name, feed = self._paired
        if feed == INPUT_NAME:
            value = np.asarray(pixels, np.float32)[None]
        elif outputs is not None and feed in outputs:
            value = outputs[feed]
        else:
            value = self.run(np.asarray(pixels, np.float32)[None], outputs=(feed,))[feed]
        other_embedding = session.run(["embedding"], {feed: value})[0]
        own, other = (float(r[0]) for r in paired.ratios(embedding, other_embedding))
        score = own + other
        return {"score": score, "threshold": paired.threshold, "flagged": score > paired.threshold,
                "parts": {"served": own, name: other}}

    def cam(self, feature_maps: np.ndarray, class_index: int, size: int | None = None) -> np.ndarray:
        """Return the [0, 1] class-activation map of one image, ``size`` pixels square (default: the input's)."""
        if self.head is None:
            raise FileNotFoundError(f"{HEAD_FILE} is missing from {self.folder}")
        raw = cam_maps.class_activation_map(feature_maps, self.head[0], class_index)
        return cam_maps.upsample(cam_maps.normalize(raw), size or self.image_size)

    def _activation_session(self):
        if self._activations is None:
            self._activations = open_session(self.folder / ACTIVATIONS_FILE, *self.threads)
        return self._activations

    def activation_names(self) -> list[str]:
        """Return the layers the network view can show, or [] when the folder has no activation graph."""
        if not (self.folder / ACTIVATIONS_FILE).is_file():
            return []
        return [o.name for o in self._activation_session().get_outputs()]

    def activations(self, pixels: np.ndarray) -> dict:
        """Return every block's activations for one preprocessed image (the network view)."""
        names = self.activation_names()
        values = self._activation_session().run(names, {INPUT_NAME: np.asarray(pixels, np.float32)[None]})
        return {name: value[0] for name, value in zip(names, values, strict=True)}

    def error_map(self, pixels: np.ndarray) -> np.ndarray:
        """Return the autoencoder's per-pixel error of one preprocessed image, at the input resolution."""
        if self._autoencoder is None:
            self._autoencoder = open_session(self.folder / AUTOENCODER_FILE, *self.threads)
        size = self._autoencoder.get_inputs()[0].shape[1]
        small = resize_batch(np.asarray(pixels)[None], size)  # as the autoencoder was trained
        error = self._autoencoder.run(["error_map"], {INPUT_NAME: small})[0][0]
        return cam_maps.upsample(error, self.image_size)

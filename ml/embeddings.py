"""Embeddings of photos under the frozen pretrained backbone, computed with ONNX Runtime.

One cache serves the quick model, the lab, active learning and label quality: the features of
the ImageNet backbone *as loaded* (never a fine-tuned copy) do not depend on any project's
labels, so an image's embedding is computed once. It is keyed by the backbone's fingerprint
(network, width, input size, weights file hash, pixel scaling, and a hash of the code that builds
and exports it): another backbone, weights file or builder is another key, and old rows simply
stop matching.

The backbone is exported once per fingerprint to ``backbone.onnx`` (input ``image``, raw 0..255
pixels; outputs ``embedding`` and ``feature_maps``) in a cache folder; TensorFlow is imported only
to build that file. Every later embedding, and every quick model's served graph (``ml.quick``),
starts from it. Each photo also gets the embedding of its mirror image (flipped left to right):
the quick model trains on both and averages both predictions.
"""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ml.backbones import spec
from ml.errors import WeightsError
from ml.runtime import INPUT_NAME, open_session
from ml.weights import resolve_weights

BACKBONE_FILE = "backbone.onnx"
BACKBONE_INT8_FILE = "backbone.int8.onnx"
BACKBONE_INFO_FILE = "backbone.json"
# Every block's activations of the frozen backbone: the network view of each quick version reads it.
BACKBONE_ACTIVATIONS_FILE = "activations.onnx"
EMBEDDING_DTYPE = np.float16  # half the bytes of float32; the head's accuracy does not move (< 1e-3 relative error)
BATCH = 32  # photos per ONNX call (64 rows with their mirrors): bounded memory, full use of the threads
_HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class Backbone:
    """The frozen feature extractor every cached embedding comes from."""

    network: str  # a pretrained entry of ml.backbones
    alpha: float
    image_size: int
    weights_path: str
    weights_sha256: str
    weights_source: str = "directory"  # where the weights were found (ml.weights.WeightsResolution.source)

    @property
    def fingerprint(self) -> str:
        """Return a short key that changes with the network, its width, input size, weights, scaling or code."""
        entry = spec(self.network)
        text = (f"{self.network}|{self.alpha}|{self.image_size}|{self.weights_sha256}|{entry.preprocessing}|"
                f"{builder_code_sha256(entry.builder)}")
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def describe(self) -> dict:
        """Return what the model card and the cache say about the backbone (no local path)."""
        data = asdict(self)
        data["weights_file"] = Path(data.pop("weights_path")).name
        data["fingerprint"] = self.fingerprint
        return data


class BackboneUnavailable(WeightsError):
    """No pretrained weights file for the requested backbone: the message says where it was looked for.

    ``resolution`` (``ml.weights.WeightsResolution``) says the same as a reason key and its parameters.
    """

    def __init__(self, resolution):
        super().__init__(resolution.message)
        self.resolution = resolution


# The engine's modules whose code shapes a backbone's exported files (beside its own builder module).
EXPORT_CODE = ("ml.models", "ml.graphs", "ml.embeddings", "ml.tfjs", "ml.preprocess", "ml.torch_pickle")


@functools.lru_cache(maxsize=8)
def builder_code_sha256(builder: str | None) -> str:
    """Return a hash of the source of the builder's module and of the export code (read, never imported)."""
    import importlib.util

    modules = sorted({*EXPORT_CODE, *([builder.split(":")[0]] if builder else [])})
    digest = hashlib.sha256()
    for module in modules:
        found = importlib.util.find_spec(module)
        if found is not None and found.origin:
            digest.update(module.encode() + b"\0" + Path(found.origin).read_bytes())
    return digest.hexdigest()[:16]


def file_sha256(path: str | Path) -> str:
    """Return a file's SHA-256, remembered per (path, size, modification time): every embedding task asks."""
    stat = Path(path).stat()
    return _file_sha256(str(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(_HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def resolve_backbone(network: str, alpha: float, image_size: int, weights: str = "imagenet", *,
                     weights_dir: str | Path | None = None) -> Backbone:
    """Find the pretrained weights of a backbone (never downloading) and return it; raise BackboneUnavailable."""
    resolution = resolve_weights(network, alpha, weights, image_size, weights_dir=weights_dir, download=False)
    if not resolution.available:
        raise BackboneUnavailable(resolution)
    width = spec(network).width(alpha) or 1.0  # a fixed-width network ignores the config's alpha
    return Backbone(network, float(width), int(image_size), resolution.path, file_sha256(resolution.path),
                    resolution.source)


def backbone_folder(backbone: Backbone, cache_dir: str | Path) -> Path:
    return Path(cache_dir) / f"backbone-{backbone.fingerprint}"


def _atomic_replace(written: Path, final: Path) -> Path:
    written.replace(final)  # a reader never sees half a file; two writers leave the same content
    return final


def backbone_onnx(backbone: Backbone, cache_dir: str | Path, *, isolated: bool = False) -> Path:
    """Return the frozen backbone's ONNX file for a fingerprint, exporting it the first time (TensorFlow).

    ``isolated``: export in a fresh Python process, so a long-lived caller (the web process, a Celery
    worker) never loads TensorFlow, which would stay resident (about 1 GB) for one export.
    """
    folder = backbone_folder(backbone, cache_dir)
    path = folder / BACKBONE_FILE
    if path.is_file():
        return path
    if isolated:
        return _export_in_child(backbone, cache_dir, path)
    from ml.backend import keras
    from ml.graphs import _named_model, to_onnx
    from ml.models import build_pretrained_backbone
    from ml.preprocess import SERVING_INPUT_SCALE

    folder.mkdir(parents=True, exist_ok=True)
    base = build_pretrained_backbone(backbone.network, backbone.alpha, backbone.image_size, backbone.weights_path)
    base.trainable = False
    inputs = keras.Input((backbone.image_size, backbone.image_size, 3), name=INPUT_NAME)
    scaled = keras.layers.Rescaling(*SERVING_INPUT_SCALE, name="input_scaling")(inputs)
    maps = base(scaled, training=False)
    pooled = keras.layers.GlobalAveragePooling2D(name="embedding")(maps)
    model = _named_model(inputs, {"embedding": pooled, "feature_maps": maps}, "backbone")
    partial = folder / f"{uuid.uuid4().hex[:8]}.onnx"
    to_onnx(model, partial)
    (folder / BACKBONE_INFO_FILE).write_text(json.dumps(backbone.describe(), indent=2))
    _prepare_quick_tfjs(backbone, folder, int(pooled.shape[-1]))
    _prepare_activations(backbone, folder, int(pooled.shape[-1]))
    return _atomic_replace(partial, path)


# The child's whole program: rebuild the backbone from its fields and export it.
EXPORT_CHILD = ("import json, sys\nfrom ml.embeddings import Backbone, backbone_onnx\n"
                "backbone_onnx(Backbone(**json.loads(sys.argv[1])), sys.argv[2])\n")
EXPORT_CHILD_TIMEOUT = 1800  # seconds: Lite2 at 260 px takes a few minutes on a busy 2-core machine


def _export_in_child(backbone: Backbone, cache_dir: str | Path, path: Path) -> Path:
    """Run the TensorFlow export in a child interpreter; raise with its error's last lines if it fails."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]  # the folder holding the ``ml`` package
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", EXPORT_CHILD, json.dumps(asdict(backbone)), str(cache_dir)],
                          capture_output=True, text=True, env=env, timeout=EXPORT_CHILD_TIMEOUT)
    if done.returncode != 0 or not path.is_file():
        raise RuntimeError(f"the backbone export failed: {done.stderr.strip()[-1500:]}")
    return path


def _prepare_activations(backbone: Backbone, folder: Path, embedding_size: int) -> None:
    """Write the frozen backbone's activations graph: the labels do not change it, so quick versions share it."""
    from ml import tfjs
    from ml.graphs import activations_model, to_onnx

    model = tfjs.quick_classifier(backbone.network, backbone.alpha, backbone.image_size, backbone.weights_path,
                                  np.zeros((embedding_size, 2), np.float32), np.zeros(2, np.float32))
    partial = folder / f"{uuid.uuid4().hex[:8]}.activations.onnx"
    to_onnx(activations_model(model), partial)
    _atomic_replace(partial, folder / BACKBONE_ACTIVATIONS_FILE)


def _prepare_quick_tfjs(backbone: Backbone, folder: Path, embedding_size: int) -> None:
    """Build the quick models' TF.js template while TensorFlow is loaded anyway: quick runs then never load it.

    The head's weights are not part of the template, so a placeholder two-class head builds it.
    """
    from ml import tfjs

    try:
        tfjs.quick_template(folder, network=backbone.network, alpha=backbone.alpha, image_size=backbone.image_size,
                            weights_path=backbone.weights_path, kernel=np.zeros((embedding_size, 2), np.float32),
                            bias=np.zeros(2, np.float32))
    except tfjs.UnsupportedModel:
        pass  # the refusal is cached with the template: quick runs record it without TensorFlow


IMAGENET_HEAD_CACHE = "imagenet_head.npz"


def backbone_imagenet_head(backbone: Backbone, cache_dir: str | Path) -> tuple[np.ndarray, np.ndarray] | None:
    """Return the backbone's own 1,000-class ImageNet classifier (kernel (d, 1000), bias), or None.

    Read once per fingerprint from the pinned weights file (no TensorFlow) and kept in its cache folder.
    """
    from ml.backbones import PackageWeights

    entry = spec(backbone.network)
    if not entry.imagenet_top or not isinstance(entry.weights, PackageWeights):
        return None
    folder = backbone_folder(backbone, cache_dir)
    cached = folder / IMAGENET_HEAD_CACHE
    if not cached.is_file():
        from ml.torch_pickle import read_state_dict

        state = read_state_dict(backbone.weights_path, entry.weights.sha256)
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f"{uuid.uuid4().hex[:8]}.npz"
        with partial.open("wb") as fh:
            np.savez(fh, kernel=np.ascontiguousarray(state["_fc.weight"].T), bias=state["_fc.bias"])
        _atomic_replace(partial, cached)
    with np.load(cached) as data:
        return np.asarray(data["kernel"], np.float32), np.asarray(data["bias"], np.float32)


def backbone_int8_onnx(backbone: Backbone, cache_dir: str | Path, calibration_images) -> Path:
    """Return the static int8 copy of the backbone, calibrated once per fingerprint on the given raw images.

    ``calibration_images`` is an array, or a callable returning one, called only when the file is built.
    """
    from ml.quantization import quantize_onnx_int8

    folder = backbone_folder(backbone, cache_dir)
    path = folder / BACKBONE_INT8_FILE
    if path.is_file():
        return path
    source = backbone_onnx(backbone, cache_dir)
    images = calibration_images() if callable(calibration_images) else calibration_images
    partial = folder / f"{uuid.uuid4().hex[:8]}.int8.onnx"
    quantize_onnx_int8(source, partial, np.asarray(images, np.float32))
    return _atomic_replace(partial, path)


def mirror(images: np.ndarray) -> np.ndarray:
    """Flip NHWC images left to right."""
    return np.ascontiguousarray(np.asarray(images)[:, :, ::-1, :])


class Embedder:
    """Compute (embedding, mirror embedding) pairs of raw 0..255 images with the backbone's ONNX file."""

    def __init__(self, path: str | Path, threads: int = 2):
        self.session = open_session(path, intra_op_threads=threads)

    def __call__(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        images = np.asarray(images, np.float32)
        n = len(images)
        if n == 0:
            return np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32)
        both = self.session.run(["embedding"], {INPUT_NAME: np.concatenate([images, mirror(images)])})[0]
        return both[:n], both[n:]


def embed_batches(embedder: Embedder, batches) -> tuple[np.ndarray, np.ndarray]:
    """Embed an iterable of image batches; return all photos' embeddings and their mirrors' (float32)."""
    photos, mirrors = [], []
    for batch in batches:
        photo, flipped = embedder(batch)
        photos.append(photo)
        mirrors.append(flipped)
    if not photos:
        return np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32)
    return np.concatenate(photos), np.concatenate(mirrors)


def to_bytes(vector: np.ndarray) -> bytes:
    """Store one embedding compactly (float16, little-endian)."""
    return np.asarray(vector, "<f2").tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    """Read back one embedding written by ``to_bytes`` as float32."""
    return np.frombuffer(bytes(data), "<f2").astype(np.float32)

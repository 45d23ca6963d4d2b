"""Quick runs: a head on the cached embeddings, published as a complete served version in seconds.

The run's dataset snapshot says which images train and which only report (the sealed test share;
validation photos are left to the activation rule, ``apps.training.activation``); their
embeddings come from the shared cache (``apps.embeddings``), gaps filled on demand, so the
backbone never runs twice over a photo. ``ml.quick`` fits and writes the model folder, with a copy of
the project's autoencoder when one is built (``apps.training.project_autoencoder``).
"""
import hashlib
import json
from pathlib import Path

import numpy as np

from apps.embeddings.backbones import backbone_cache_dir, embedding_backbone
from apps.embeddings.selectors import project_embeddings
from apps.embeddings.services import image_pixels
from apps.training.models import TrainingRun
from apps.training.project_autoencoder import project_autoencoder_local_dir
from apps.uploads.splits import TEST, TRAIN, split_canonical

CALIBRATION_IMAGES = 100  # the int8 backbone is calibrated once per fingerprint on this many training photos


def _calibration(images, size):
    def load():
        return np.stack([image_pixels(image, size) for image in images[:CALIBRATION_IMAGES]]).astype(np.float32)

    return load


def quick_model_build(*, run, out_dir: Path) -> dict:
    """Write the quick model of a run's snapshot into ``out_dir``; return its card.

    Raises ApplicationError (the run page's reason) when no pretrained weights are available.
    """
    from ml.embeddings import backbone_int8_onnx, backbone_onnx
    from ml.quick import QuickData, publish_quick

    project = run.project
    config = dict(run.config)
    backbone = embedding_backbone(image_size=config.get("image_size"), network=config.get("backbone"),
                                  alpha=config.get("alpha"))
    snapshot = run.dataset_snapshot
    cache = project_embeddings(project, image_ids=[row[0] for row in snapshot], backbone=backbone)
    rows = cache.rows([row[0] for row in snapshot])
    classes = list(project.classes)
    index = {name: i for i, name in enumerate(classes)}
    keep = [(row, r) for row, r in zip(snapshot, rows, strict=True) if r >= 0]
    train = [(r, index[row[1]]) for row, r in keep if split_canonical(row[2]) == TRAIN]
    hold = [(r, index[row[1]]) for row, r in keep if split_canonical(row[2]) == TEST]

    def data(pairs):
        ids = np.array([r for r, _ in pairs], np.int64)
        return QuickData(cache.x[ids], cache.x_mirror[ids], np.array([c for _, c in pairs], np.int64))

    source = backbone_onnx(backbone, backbone_cache_dir(), isolated=True)  # the quick worker never loads TensorFlow
    int8 = None
    if "int8" in (config.get("quantize") or ()):
        train_ids = [row[0] for row, _ in keep if split_canonical(row[2]) == TRAIN]
        images = list(project.images.filter(pk__in=train_ids).order_by("pk")[:CALIBRATION_IMAGES])
        int8 = backbone_int8_onnx(backbone, backbone_cache_dir(), _calibration(images, backbone.image_size))
    counts = {"train": _counts(train, classes), "val": {}, "test": _counts(hold, classes)}
    sha = hashlib.sha256(json.dumps([run.dataset_hash, cache.fingerprint]).encode()).hexdigest()
    return publish_quick(out_dir, backbone=backbone, backbone_file=source, backbone_int8_file=int8, classes=classes,
                         train=data(train), test=data(hold) if hold else None, config=config,
                         dataset_sha256=sha, seed=int(config.get("seed") or 0), counts=counts,
                         autoencoder=project_autoencoder_local_dir(project=project))


def _counts(pairs, classes) -> dict:
    found = np.bincount([c for _, c in pairs], minlength=len(classes)) if pairs else np.zeros(len(classes), int)
    return {name: int(found[i]) for i, name in enumerate(classes)}


def quick_version_predictions(version, images) -> list | None:
    """Return the class a quick version predicts for each image, from the embeddings cache (no decoding).

    The served graph computes exactly the head on the backbone's embeddings, so this gives its answers
    (the cache keeps float16 embeddings; on 2,000 photos the head fitted on them gives the same class on
    float32 ones for every photo, largest probability difference 4e-5: ``bench/results/honest_bench.md``).
    None when the cache cannot answer (another backbone, a photo not embedded).
    """
    from apps.training.artifacts import artifacts_local_dir
    from ml.cam import load_head
    from ml.quick import QuickHead
    from ml.runtime import HEAD_FILE

    card = version.metadata
    fingerprint = (card.get("backbone") or {}).get("fingerprint")
    if card.get("mode") != TrainingRun.Mode.QUICK or not fingerprint:
        return None
    try:
        backbone = embedding_backbone(image_size=int(card["input"]["size"][0]), network=card["backbone"]["used"],
                                      alpha=card["backbone"]["alpha"])
    except Exception:
        return None
    if backbone.fingerprint != fingerprint:
        return None
    cache = project_embeddings(version.project, image_ids=[image.pk for image in images], backbone=backbone)
    rows = cache.rows([image.pk for image in images])
    if (rows < 0).any():
        return None
    kernel, bias = load_head(Path(artifacts_local_dir(version)) / HEAD_FILE)
    predicted = QuickHead(kernel, bias, 0.0, 1.0).predict_proba(cache.x[rows], cache.x_mirror[rows]).argmax(axis=1)
    classes = list(card["classes"])
    return [classes[p] for p in predicted]

"""An autoencoder built once from a collection of photos and shared by every model folder trained on them.

The autoencoder never reads a label, so one trained on a project's photos serves each of its model
folders, whatever their classifier: a quick model gets a copy of the file in milliseconds instead of
training one. Its folder holds ``autoencoder.onnx`` (``ml.autoencoder``'s graph) and
``autoencoder.json`` (the card's ``autoencoder`` section). ``attach`` copies it into a model folder
and ``card_with_autoencoder`` adds it to a card. Only ``build`` needs TensorFlow, and imports it when
called, so the quick worker that attaches never loads it.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ml.events import ProgressFn
from ml.runtime import AUTOENCODER_FILE, FILES

SECTION_FILE = "autoencoder.json"
IMAGE_SIZE = 64  # a full run's side (ml.autoencoder.DEFAULT_SIZE): coarse, but enough to point at a region
MIN_IMAGES = 10  # fewer photos than this teach it nothing but their average colour
MAX_IMAGES = 1000  # a sample this large bounds the build's time (about 10 epochs of 32 steps)
MIN_STEPS = 80  # small collections get more epochs, so even 10 photos see enough gradient steps
MAX_EPOCHS = 40
BATCH_SIZE = 32


class TooFewImages(ValueError):
    """Fewer photos than ``MIN_IMAGES``: no autoencoder is built."""


def epochs_for(count: int, default: int) -> int:
    """Return the epochs for ``count`` photos: ``default``, more when an epoch is only a few batches."""
    steps_per_epoch = max(1, math.ceil(count / BATCH_SIZE))
    return int(min(MAX_EPOCHS, max(default, math.ceil(MIN_STEPS / steps_per_epoch))))


def build(images: np.ndarray, out_dir: str | Path, *, seed: int = 0, progress: ProgressFn | None = None) -> dict:
    """Train the autoencoder on 0..255 photos (NHWC, resized to ``IMAGE_SIZE``) and write its folder; return its card section.

    Raises ``TooFewImages`` below ``MIN_IMAGES`` photos.
    """
    from ml import autoencoder  # TensorFlow: only a process that builds pays for it

    images = np.asarray(images, np.float32)
    if len(images) < MIN_IMAGES:
        raise TooFewImages(f"{len(images)} photos; an autoencoder needs at least {MIN_IMAGES}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    epochs = epochs_for(len(images), autoencoder.DEFAULT_EPOCHS)
    model, report = autoencoder.train_autoencoder(images, size=IMAGE_SIZE, epochs=epochs, batch_size=BATCH_SIZE,
                                                  seed=seed, progress=progress)
    autoencoder.export_autoencoder(model, out / AUTOENCODER_FILE)
    section = {
        **report,
        "shared": {"built": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                   "seconds": round(time.perf_counter() - started, 2),
                   "trained_on": "the collection's photos, labels never read"},
    }
    (out / SECTION_FILE).write_text(json.dumps(section, indent=2))
    return section


def read_section(folder: str | Path) -> dict:
    """Return the card section of a shared autoencoder folder."""
    return json.loads((Path(folder) / SECTION_FILE).read_text(encoding="utf-8"))


def attach(folder: str | Path, model_dir: str | Path) -> dict:
    """Copy a shared autoencoder into a model folder; return its card section."""
    shutil.copyfile(Path(folder) / AUTOENCODER_FILE, Path(model_dir) / AUTOENCODER_FILE)
    return read_section(folder)


def card_with_autoencoder(card: dict, section: dict) -> dict:
    """Return a copy of a card that lists ``autoencoder.onnx`` and carries its section; nothing else changes."""
    return {**card, "autoencoder": section, "files": {**(card.get("files") or {}), "autoencoder": FILES["autoencoder"]}}

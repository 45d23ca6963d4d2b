"""Read an ImageFolder or a manifest, decode it once, split it, and feed ``tf.data``.

Sources:
- a directory with one sub-folder per class (ImageFolder);
- a CSV or JSON manifest with ``path``, ``label``, optional ``tags`` and optional
  ``split`` (``train`` or ``holdout``). With a split column the holdout is taken as given.

Unreadable files are skipped and reported, never fatal.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ml.errors import (
    DATA_MANIFEST_INVALID,
    DATA_NO_IMAGES,
    DATA_NOT_FOUND,
    DATA_TOO_FEW_CLASSES,
    DATA_TOO_FEW_IMAGES,
    DATA_UNKNOWN_LABELS,
    DATA_UNSUPPORTED,
    DataError,
)
from ml.preprocess import decode_resize, scale

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
TRAIN, HOLDOUT = "train", "holdout"
SPLIT_ALIASES = {"": None, "train": TRAIN, "holdout": HOLDOUT, "test": HOLDOUT}

ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True)
class Sample:
    """One labelled image as listed by the source."""

    path: str
    label: str
    tags: tuple = ()
    split: str | None = None  # None: the engine chooses; "train" or "holdout": given by the caller


@dataclass
class ImageData:
    """Decoded, scaled images with their labels, in source order (unreadable ones removed)."""

    x: np.ndarray  # float32 (N, size, size, 3) in [-1, 1]
    y: np.ndarray  # int32 (N,) indices into classes
    samples: list
    classes: list
    skipped: list = field(default_factory=list)  # [{"path", "reason"}]
    sha256: str = ""  # content hash of the readable images, their labels and splits

    @property
    def holdout_given(self) -> bool:
        return any(s.split is not None for s in self.samples)


def read_samples(source: str | Path) -> list:
    """List the samples of an ImageFolder directory or a CSV/JSON manifest."""
    path = Path(source)
    if not path.exists():
        raise DataError(DATA_NOT_FOUND.format(path=source))
    if path.is_dir():
        return _read_image_folder(path)
    if path.suffix.lower() == ".csv":
        return _read_manifest_rows(path, _csv_rows(path))
    if path.suffix.lower() == ".json":
        return _read_manifest_rows(path, _json_rows(path))
    raise DataError(DATA_UNSUPPORTED.format(path=source))


def _read_image_folder(root: Path) -> list:
    samples = []
    for class_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for file in sorted(class_dir.rglob("*")):
            if file.is_file() and file.suffix.lower() in IMAGE_EXTENSIONS:
                samples.append(Sample(path=str(file), label=class_dir.name))
    return samples


def _csv_rows(path: Path) -> list:
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            return list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(DATA_MANIFEST_INVALID.format(path=path, reason=exc)) from exc


def _json_rows(path: Path) -> list:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(DATA_MANIFEST_INVALID.format(path=path, reason=exc)) from exc
    rows = data.get("items", data.get("images")) if isinstance(data, dict) else data
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise DataError(DATA_MANIFEST_INVALID.format(path=path, reason="expected a list of objects"))
    return rows


def _parse_tags(value) -> tuple:
    if value is None or value == "":
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(str(v).strip() for v in value if str(v).strip())
    separator = ";" if ";" in str(value) else "|" if "|" in str(value) else ","
    return tuple(t.strip() for t in str(value).split(separator) if t.strip())


def _read_manifest_rows(manifest: Path, rows: list) -> list:
    samples = []
    for number, row in enumerate(rows, start=1):
        raw_path, label = row.get("path"), row.get("label")
        if not raw_path or label is None or str(label).strip() == "":
            reason = f"row {number} needs 'path' and 'label'"
            raise DataError(DATA_MANIFEST_INVALID.format(path=manifest, reason=reason))
        split_value = str(row.get("split") or "").strip().lower()
        if split_value not in SPLIT_ALIASES:
            reason = f"row {number}: split must be train or test (or holdout, its older name), not '{split_value}'"
            raise DataError(DATA_MANIFEST_INVALID.format(path=manifest, reason=reason))
        image_path = Path(str(raw_path))
        if not image_path.is_absolute():
            image_path = manifest.parent / image_path
        samples.append(
            Sample(
                path=str(image_path),
                label=str(label).strip(),
                tags=_parse_tags(row.get("tags")),
                split=SPLIT_ALIASES[split_value],
            )
        )
    return samples


# Decoded pixels per (file, mtime, size, image_size), so a process that trains several
# models on the same images (the benchmark, k-fold) decodes each file once. Least recently
# used entries go first beyond the budget, so a long-lived worker does not keep every
# picture it ever saw (512 MiB holds about 3,500 pictures at 224 px).
DECODE_CACHE_BYTES = 512 * 1024 * 1024
_DECODE_CACHE: OrderedDict = OrderedDict()
_decode_cache_bytes = 0


def _decode_cached(path: str, image_size: int) -> tuple:
    global _decode_cache_bytes
    stat = Path(path).stat()
    key = (path, stat.st_mtime_ns, stat.st_size, image_size)
    if key in _DECODE_CACHE:
        _DECODE_CACHE.move_to_end(key)
        return _DECODE_CACHE[key]
    content = Path(path).read_bytes()
    entry = (decode_resize(content, image_size), hashlib.sha256(content).hexdigest())
    _DECODE_CACHE[key] = entry
    _decode_cache_bytes += entry[0].nbytes
    while _decode_cache_bytes > DECODE_CACHE_BYTES and len(_DECODE_CACHE) > 1:
        _decode_cache_bytes -= _DECODE_CACHE.popitem(last=False)[1][0].nbytes
    return entry


def clear_decode_cache() -> None:
    """Forget decoded pixels kept by this process."""
    global _decode_cache_bytes
    _DECODE_CACHE.clear()
    _decode_cache_bytes = 0


def load_image_data(
    source: str | Path | list,
    image_size: int,
    classes: list | None = None,
    progress: ProgressFn | None = None,
) -> ImageData:
    """Decode every readable image of a source; skip and report the unreadable ones."""
    samples = read_samples(source) if not isinstance(source, list) else source
    if classes is None:
        classes = sorted({s.label for s in samples})
    else:
        unknown = sorted({s.label for s in samples} - set(classes))
        if unknown:
            raise DataError(DATA_UNKNOWN_LABELS.format(labels=", ".join(unknown)))
    index = {name: i for i, name in enumerate(classes)}
    pixels, labels, kept, skipped = [], [], [], []
    digest = hashlib.sha256()
    for number, sample in enumerate(samples):
        try:
            image, file_hash = _decode_cached(sample.path, image_size)
        except (DataError, OSError) as exc:
            skipped.append({"path": sample.path, "reason": str(exc)})
        else:
            pixels.append(image)
            labels.append(index[sample.label])
            kept.append(sample)
            digest.update(f"{file_hash}\t{sample.label}\t{sample.split or ''}\n".encode())
        if progress:
            progress(number + 1, len(samples))
    if not kept:
        raise DataError(DATA_NO_IMAGES.format(path=source if not isinstance(source, list) else "manifest"))
    x = scale(np.stack(pixels))
    return ImageData(
        x=x,
        y=np.asarray(labels, dtype=np.int32),
        samples=kept,
        classes=list(classes),
        skipped=skipped,
        sha256=digest.hexdigest(),
    )


def split_indices(data: ImageData, val_fraction: float, test_fraction: float, seed: int) -> dict:
    """Return stratified, seeded index arrays for ``train``, ``val`` and ``test``.

    With a given split the ``holdout`` rows are the test set, exactly; validation for early
    stopping is then carved out of the remaining rows only.
    """
    rng = np.random.default_rng(seed)
    present = sorted(set(data.y.tolist()))
    if len(present) < 2:
        raise DataError(DATA_TOO_FEW_CLASSES.format(count=len(present)))
    given = data.holdout_given
    is_holdout = np.array([s.split == HOLDOUT for s in data.samples])
    parts = {"train": [], "val": [], "test": []}
    for label in present:
        members = np.flatnonzero((data.y == label) & ~is_holdout) if given else np.flatnonzero(data.y == label)
        members = rng.permutation(members)
        n = len(members)
        n_test = 0 if given else max(1, int(round(n * test_fraction)))
        n_val = max(1, int(round(n * val_fraction)))
        minimum = 2 if given else 3
        if n < minimum:
            split = "train" if given else "all"
            raise DataError(
                DATA_TOO_FEW_IMAGES.format(label=data.classes[label], count=n, split=split, minimum=minimum)
            )
        parts["test"].extend(members[:n_test])
        parts["val"].extend(members[n_test : n_test + n_val])
        parts["train"].extend(members[n_test + n_val :])
    if given:
        parts["test"] = list(np.flatnonzero(is_holdout))
    return {name: np.sort(np.asarray(idx, dtype=np.int64)) for name, idx in parts.items()}


def split_counts(data: ImageData, splits: dict) -> dict:
    """Count images per class in each split (for the model card)."""
    counts = {}
    for name, idx in splits.items():
        tally = Counter(data.y[idx].tolist())
        counts[name] = {cls: int(tally.get(i, 0)) for i, cls in enumerate(data.classes)}
    return counts


def make_tf_dataset(x, y, batch_size: int, shuffle: bool = False, seed: int = 0, augmentation=None):
    """Build a batched ``tf.data`` pipeline; augmentation (if any) runs on training batches only."""
    from ml.backend import tf

    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if augmentation is not None:
        ds = ds.map(lambda images, labels: (augmentation(images, training=True), labels),
                    num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)

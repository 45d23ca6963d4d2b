"""Data sources, splits and the shared preprocessing."""

import json

import numpy as np
import pytest
from PIL import Image

from ml.datasets import load_image_data, read_samples, split_counts, split_indices
from ml.errors import DataError
from ml.preprocess import preprocess_image, scale


def test_image_folder_lists_one_class_per_subfolder(shapes_dir):
    """Every image of every class sub-folder is listed with its folder name as label."""
    samples = read_samples(shapes_dir)
    assert len(samples) == 72
    assert sorted({s.label for s in samples}) == ["circle", "square", "triangle"]


def test_manifest_reads_tags_split_and_skips_corrupt_files(holdout_manifest):
    """A CSV manifest keeps tags and splits; an unreadable file is reported, not fatal."""
    data = load_image_data(holdout_manifest, image_size=24)
    assert data.classes == ["circle", "square"]
    assert len(data.samples) == 32
    assert [s["path"].endswith("broken.jpg") for s in data.skipped] == [True]
    assert data.samples[0].tags == ("red", "shape")
    assert data.x.shape == (32, 24, 24, 3) and data.x.dtype == np.float32


def test_given_holdout_is_the_test_split_exactly(holdout_manifest):
    """With a split column the holdout rows are the test set and never in train or validation."""
    data = load_image_data(holdout_manifest, image_size=24)
    splits = split_indices(data, val_fraction=0.2, test_fraction=0.2, seed=3)
    holdout = {i for i, s in enumerate(data.samples) if s.split == "holdout"}
    assert set(splits["test"].tolist()) == holdout
    assert holdout.isdisjoint(splits["train"].tolist())
    assert holdout.isdisjoint(splits["val"].tolist())
    assert split_counts(data, splits)["test"] == {"circle": 5, "square": 5}


def test_seeded_splits_are_stratified_deterministic_and_disjoint(shapes_dir):
    """Without a split column the same seed gives the same stratified, disjoint splits."""
    data = load_image_data(shapes_dir, image_size=24)
    a = split_indices(data, 0.15, 0.2, seed=7)
    b = split_indices(data, 0.15, 0.2, seed=7)
    c = split_indices(data, 0.15, 0.2, seed=8)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["test"], c["test"])
    union = np.concatenate([a["train"], a["val"], a["test"]])
    assert len(union) == len(set(union.tolist())) == 72
    assert split_counts(data, a)["test"] == {"circle": 5, "square": 5, "triangle": 5}


def test_json_manifest_with_relative_paths(shapes_dir, tmp_path):
    """A JSON manifest resolves paths relative to itself."""
    rows = [{"path": str(p.relative_to(shapes_dir)), "label": p.parent.name, "tags": ["a", "b"]}
            for p in sorted(shapes_dir.glob("*/*"))[:6]]
    manifest = shapes_dir / "m.json"
    manifest.write_text(json.dumps(rows))
    try:
        samples = read_samples(manifest)
    finally:
        manifest.unlink()
    assert len(samples) == 6 and samples[0].tags == ("a", "b")


@pytest.mark.parametrize("content, message", [
    ("path,label\n,x\n", "needs 'path' and 'label'"),
    ("path,label,split\na.png,x,validation\n", "split must be train or test"),
])
def test_invalid_manifest_raises_data_error(tmp_path, content, message):
    """A malformed manifest is a DataError naming the problem."""
    manifest = tmp_path / "bad.csv"
    manifest.write_text(content)
    with pytest.raises(DataError, match=message):
        read_samples(manifest)


def test_missing_source_and_single_class_are_errors(tmp_path, shapes_dir):
    """A missing path or a single class cannot be trained on."""
    with pytest.raises(DataError, match="not found"):
        read_samples(tmp_path / "nope")
    data = load_image_data(read_samples(shapes_dir)[:10], image_size=16)
    with pytest.raises(DataError, match="two classes"):
        split_indices(data, 0.2, 0.2, seed=0)


def test_preprocess_is_rgb_resized_and_scaled(tmp_path):
    """Grey, RGBA and palette images all become RGB float32 in [-1, 1] at the requested size."""
    for mode in ("L", "RGBA", "P"):
        path = tmp_path / f"img_{mode}.png"
        Image.new(mode, (50, 30), color=200 if mode != "RGBA" else (255, 0, 0, 128)).save(path)
        array = preprocess_image(path, 20)
        assert array.shape == (20, 20, 3) and array.dtype == np.float32
        assert -1.0 <= array.min() and array.max() <= 1.0
    white = np.full((2, 2, 3), 255, np.uint8)
    assert np.allclose(scale(white), 1.0) and np.allclose(scale(white * 0), -1.0)
    assert np.array_equal(preprocess_image(path, 20), preprocess_image(path.read_bytes(), 20))


def test_decode_cache_keeps_within_its_byte_budget(shapes_dir, monkeypatch):
    """Decoded pixels are reused, and beyond the budget the least recently used pictures are dropped."""
    from ml import datasets

    datasets.clear_decode_cache()
    one_picture = 32 * 32 * 3
    monkeypatch.setattr(datasets, "DECODE_CACHE_BYTES", 3 * one_picture)
    paths = sorted(str(p) for p in (shapes_dir / "circle").iterdir())[:5]
    first = datasets._decode_cached(paths[0], 32)
    assert datasets._decode_cached(paths[0], 32) is first  # reused, not decoded again
    for path in paths[1:]:
        datasets._decode_cached(path, 32)
    kept = [key[0] for key in datasets._DECODE_CACHE]
    assert kept == paths[2:] and datasets._decode_cache_bytes == 3 * one_picture
    datasets.clear_decode_cache()
    assert not datasets._DECODE_CACHE and datasets._decode_cache_bytes == 0

"""The browser's resize (static/js/browser_preprocess.js) gives Pillow's bytes exactly, in Pillow's pass order."""

import base64
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[3]
RESIZE = """
const fs = require("fs");
global.window = {};
require(process.argv[1]);
const cases = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const out = cases.map(({ rgba, width, height, size }) => {
  const pixels = Uint8ClampedArray.from(Buffer.from(rgba, "base64"));
  return Buffer.from(window.riimPreprocess.resizeBilinear(pixels, width, height, size, size)).toString("base64");
});
process.stdout.write(JSON.stringify(out));
"""
# (width, height): tall ones that Pillow 13 resizes columns first, wide ones, a camera frame, an enlargement.
SHAPES = [(215, 323), (120, 700), (323, 215), (700, 120), (480, 360), (150, 260), (64, 64)]


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js (make setup installs it)")
def test_the_browser_resize_equals_pillows_for_tall_wide_and_small_pictures(tmp_path):
    rng = np.random.default_rng(7)
    cases, expected = [], []
    for width, height in SHAPES:
        for size in (224, 96):
            rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
            rgba = np.concatenate([rgb, np.full((height, width, 1), 255, np.uint8)], axis=-1)
            cases.append({"rgba": _b64(rgba), "width": width, "height": height, "size": size})
            expected.append(np.asarray(Image.fromarray(rgb).resize((size, size), Image.BILINEAR)))
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    run = subprocess.run(["node", "-e", RESIZE, str(ROOT / "static" / "js" / "browser_preprocess.js"),
                          str(tmp_path / "cases.json")], capture_output=True, text=True, timeout=120, check=True)
    for case, want, got in zip(cases, expected, json.loads(run.stdout), strict=True):
        pixels = np.frombuffer(base64.b64decode(got), np.uint8).reshape(want.shape)
        assert np.array_equal(pixels, want), (case["width"], case["height"], case["size"],
                                              int(np.abs(pixels.astype(int) - want).max()))


def _b64(array: np.ndarray) -> str:
    return base64.b64encode(array.tobytes()).decode()

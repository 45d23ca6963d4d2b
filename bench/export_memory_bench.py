"""Resident memory of a long-lived process that embeds photos, with the backbone exported in it or in a child.

    .venv/bin/python bench/export_memory_bench.py > bench/results/export_memory_bench.md

Each mode runs in a fresh interpreter with an empty backbone cache (so the export happens), then
embeds 64 photos of ``../shared/data/catsdogs`` through the classroom default backbone, as the
``default`` worker does after an upload; the RSS is read from /proc after each step.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, sys
from pathlib import Path

def rss():
    return int(next(line for line in open("/proc/self/status") if line.startswith("VmRSS")).split()[1]) / 1024

import numpy as np
from ml.config import defaults
from ml.embeddings import Embedder, backbone_onnx, resolve_backbone
from ml.preprocess import load_pixels

start = rss()
room = defaults("classroom")
backbone = resolve_backbone(room["backbone"], room["alpha"], room["image_size"], room["weights"])
path = backbone_onnx(backbone, sys.argv[1], isolated=sys.argv[2] == "isolated")
exported = rss()
embed = Embedder(path)
files = sorted(Path(sys.argv[3]).glob("*/*.jpg"))[:64]
for i in range(0, len(files), 16):
    embed(np.stack([load_pixels(f, backbone.image_size) for f in files[i:i + 16]]))
print(json.dumps({"start_mb": start, "after_export_mb": exported, "after_64_photos_mb": rss(),
                  "tensorflow_loaded": "tensorflow" in sys.modules, "backbone": backbone.network}))
"""


def run(mode: str, data: Path) -> dict:
    with tempfile.TemporaryDirectory() as cache:
        done = subprocess.run([sys.executable, "-c", CHILD, cache, mode, str(data)], capture_output=True, text=True,
                              cwd=ROOT, timeout=3600)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    data = ROOT.parent / "shared/data/catsdogs"
    rows = {mode: run(mode, data) for mode in ("in-process", "isolated")}
    print("| export | RSS at start (MB) | after the export (MB) | after 64 photos (MB) | TensorFlow loaded |")
    print("|---|---:|---:|---:|---|")
    for mode, row in rows.items():
        print(f"| {mode} | {row['start_mb']:.0f} | {row['after_export_mb']:.0f} | {row['after_64_photos_mb']:.0f} | "
              f"{'yes' if row['tensorflow_loaded'] else 'no'} |")
    print(f"\nbackbone: {rows['isolated']['backbone']}")


if __name__ == "__main__":
    main()

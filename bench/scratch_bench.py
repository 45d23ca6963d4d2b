"""How many camera frames a second RIIM's Scratch extension classifies, on the classroom default network.

The extension's per-frame work, in headless Chromium with the npm packages served locally: a 480 x 360
frame (what Scratch's video provider gives) resized to the model's input by the server's Pillow
bilinear resize in JavaScript (``static/js/browser_preprocess.js``), then one ONNX Runtime Web run
(WebAssembly, one thread) of a quick model's served graph, which classifies the photo and its mirror
image together, on one thread and on two (several threads need the page cross-origin isolated, which
this bench's server does). Measured for the fp32 graph (what the public link's ``model.onnx`` is) and its int8
twin, and for the photo-only graph (backbone and head without the mirror) for comparison. The quick
head's weights are random: speed does not depend on them.

    nice .venv/bin/python bench/scratch_bench.py [--runs 40] [--cache-dir /tmp/riim-scratch-bench]

Writes bench/results/scratch_bench.md.
"""
from __future__ import annotations

import argparse
import http.server
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
from datetime import datetime, timezone
from functools import partial
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

NODE_MODULES = ROOT / "node_modules"
ORT_FILES = ("ort.wasm.min.js", "ort-wasm-simd-threaded.wasm", "ort-wasm-simd-threaded.mjs")
FRAME = (480, 360)  # Scratch's video frame

PAGE = """<!doctype html><meta charset="utf-8">
<script src="ort.wasm.min.js"></script><script src="browser_preprocess.js"></script>
<script>ort.env.wasm.wasmPaths = "./";</script>"""

# Load one graph, warm it up, then time ``runs`` frames: resize and run, one after the other, as the extension does.
MEASURE = """
const done = arguments[arguments.length - 1];
const [file, size, runs, threads] = [arguments[0], arguments[1], arguments[2], arguments[3]];
(async () => {
  ort.env.wasm.numThreads = threads;
  const session = await ort.InferenceSession.create(file, {executionProviders: ["wasm"], graphOptimizationLevel: "all"});
  const [w, h] = [480, 360];
  const rgba = new Uint8ClampedArray(w * h * 4);
  for (let i = 0; i < rgba.length; i++) rgba[i] = (i * 2654435761) % 251;
  const frame = async () => {
    const t0 = performance.now();
    const data = Float32Array.from(window.riimPreprocess.resizeBilinear(rgba, w, h, size, size));
    const t1 = performance.now();
    await session.run({[session.inputNames[0]]: new ort.Tensor("float32", data, [1, size, size, 3])});
    return [t1 - t0, performance.now() - t1];
  };
  for (let i = 0; i < 3; i++) await frame();
  const resize = [], run = [];
  const started = performance.now();
  for (let i = 0; i < runs; i++) { const [a, b] = await frame(); resize.push(a); run.push(b); }
  done({seconds: (performance.now() - started) / 1000, resize, run});
})().catch((e) => done({error: String(e)}));
"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def end_headers(self):
        # Cross-origin isolation: what lets ONNX Runtime Web run on several threads (SharedArrayBuffer).
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        super().end_headers()


def build_graphs(cache_dir: Path, out: Path) -> tuple[dict[str, Path], int, str]:
    """Write the fp32, int8 and photo-only graphs of a 2-class quick model on the classroom default network."""
    import onnx

    from ml.backbones import display_name
    from ml.config import defaults
    from ml.embeddings import backbone_int8_onnx, backbone_onnx, resolve_backbone
    from ml.quick import write_served_graph

    chosen = defaults("classroom")
    backbone = resolve_backbone(chosen["backbone"], chosen["alpha"], chosen["image_size"])
    source = backbone_onnx(backbone, cache_dir)
    rng = np.random.default_rng(0)
    calibration = rng.integers(0, 256, (16, backbone.image_size, backbone.image_size, 3)).astype(np.float32)
    int8_source = backbone_int8_onnx(backbone, cache_dir, calibration)
    size = int(onnx.load(str(source)).graph.output[0].type.tensor_type.shape.dim[-1].dim_value)
    kernel = rng.normal(0, 0.05, (size, 2)).astype(np.float32)
    bias = np.zeros(2, np.float32)
    graphs = {"fp32": write_served_graph(source, kernel, bias, out / "model.onnx"),
              "int8": write_served_graph(int8_source, kernel, bias, out / "model.int8.onnx")}
    shutil.copyfile(source, out / "backbone.onnx")  # photo only: the backbone alone (the head is one matmul more)
    graphs["photo only (fp32 backbone, no mirror)"] = out / "backbone.onnx"
    return graphs, backbone.image_size, display_name(backbone.network, backbone.alpha)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                        help="ONNX Runtime Web threads to compare (more than 1 needs the page cross-origin isolated)")
    parser.add_argument("--cache-dir", default=str(Path(tempfile.gettempdir()) / "riim-scratch-bench"))
    args = parser.parse_args()

    from tests.browser import start_chromium

    site = Path(tempfile.mkdtemp(prefix="scratch-bench-"))
    graphs, size, network = build_graphs(Path(args.cache_dir), site)
    for name in ORT_FILES:
        shutil.copyfile(NODE_MODULES / "onnxruntime-web" / "dist" / name, site / name)
    shutil.copyfile(ROOT / "static" / "js" / "browser_preprocess.js", site / "browser_preprocess.js")
    (site / "index.html").write_text(PAGE)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    driver = start_chromium()
    rows = []
    try:
        driver.get(f"http://127.0.0.1:{server.server_address[1]}/index.html")
        assert driver.execute_script("return window.crossOriginIsolated"), "the page is not cross-origin isolated"
        for threads in args.threads:
            for label, path in graphs.items():
                driver.get(f"http://127.0.0.1:{server.server_address[1]}/index.html")  # a fresh runtime per setting
                result = driver.execute_async_script(MEASURE, path.name, size, args.runs, threads)
                if "error" in result:
                    raise SystemExit(f"{label}: {result['error']}")
                run, resize = np.asarray(result["run"]), np.asarray(result["resize"])
                rows.append((label, threads, path.stat().st_size / 1e6, args.runs / result["seconds"], np.median(run),
                             np.percentile(run, 90), np.median(resize)))
                print(rows[-1], flush=True)
    finally:
        driver.quit()
        server.shutdown()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    lines = [
        "# Scratch extension benchmark",
        "",
        f"Measured {datetime.now(timezone.utc).strftime('%Y-%m-%dT%H:%M:%S%z')} with `bench/scratch_bench.py` at commit "
        f"{commit}, headless Chromium ({platform.machine()}, {os.cpu_count()} CPU cores shared with other work), "
        f"{network} at {size} px (the classroom default), a 2-class quick model with a random head.",
        "",
        f"Per frame, as the extension classifies the camera: a {FRAME[0]} x {FRAME[1]} frame resized to {size} px by "
        "the server's Pillow bilinear resize in JavaScript, then one ONNX Runtime Web run (WebAssembly). "
        f"{args.runs} frames one after the other, after 3 to warm up.",
        "",
        "| graph | threads | MB | classifications/s | p50 ms per run | p90 ms per run | p50 ms per resize |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, threads, megabytes, rate, p50, p90, resize in rows:
        lines.append(f"| {label} | {threads} | {megabytes:.1f} | **{rate:.1f}** | {p50:.0f} | {p90:.0f} | {resize:.1f} |")
    lines.append("")
    out = ROOT / "bench" / "results" / "scratch_bench.md"
    out.write_text("\n".join(lines))
    print(out.read_text())


if __name__ == "__main__":
    main()

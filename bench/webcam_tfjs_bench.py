"""Webcam and TF.js benchmark in headless Chromium (Debian's chromium, npm packages served locally).

1. Trains MobileNet 0.25 at 224 px on ../shared/data/catsdogs (or takes --model-dir), which also writes
   the TF.js export.
2. Agreement: the docs example page (``tmImage.load(model.json, metadata.json)`` on TF.js 1.3.1) against
   the server's Predictor on held-out photos, cropped square beforehand (the library crops the centre
   square, the server resizes the whole photo) and uncropped; top-1 agreement and mean |Δp|.
3. Frames per second: the live page's loop (resize the frame on a canvas, ONNX Runtime Web, one thread)
   on Chromium's fake camera (a generated 640x480 video), probabilities every frame and the CAM outputs
   once a second; the same loop with TensorFlow.js on the TF.js export for comparison.

    .venv/bin/python bench/webcam_tfjs_bench.py [--model-dir DIR] [--photos 200] [--seconds 15]

Writes bench/results/webcam_tfjs_bench.md.
"""
from __future__ import annotations

import argparse
import http.server
import io
import os
import platform
import random
import sys
import tempfile
import threading
import time
from functools import partial
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# The tfjs browser test's served site: the npm packages, the docs example page and its script that classifies photos.
from tests.ml.test_tfjs_browser import CDN_TFJS, CDN_TM, EXAMPLE, NODE_MODULES, TM_PREDICT, QuietHandler  # noqa: E402

FPS_PAGE = """<!doctype html>
<script src="ort/ort.wasm.min.js"></script>
<script src="tfjs/tf.es2017.min.js"></script>
<video id="v" autoplay muted playsinline width="640" height="480"></video>
<script>
ort.env.wasm.wasmPaths = new URL("ort/", location.href).href;  // a URL, not a module specifier
ort.env.wasm.numThreads = 1;
const SIZE = %(size)d;
const canvas = document.createElement("canvas");
canvas.width = canvas.height = SIZE;
const context = canvas.getContext("2d", { willReadFrequently: true });
function frame(video) {
  context.drawImage(video, 0, 0, video.videoWidth, video.videoHeight, 0, 0, SIZE, SIZE);
  const rgba = context.getImageData(0, 0, SIZE, SIZE).data;
  const data = new Float32Array(SIZE * SIZE * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) { data[j] = rgba[i]; data[j + 1] = rgba[i + 1]; data[j + 2] = rgba[i + 2]; }
  return data;
}
async function camera() {
  const video = document.getElementById("v");
  video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
  while (video.readyState < 2 || !video.videoWidth) await new Promise((r) => setTimeout(r, 20));
  return video;
}
function summary(times, seconds) {
  const sorted = [...times].sort((a, b) => a - b);
  return { frames: times.length, fps: times.length / seconds, p50_ms: sorted[Math.floor(sorted.length / 2)],
           p90_ms: sorted[Math.floor(sorted.length * 0.9)] };
}
window.benchOnnx = async (seconds) => {
  const session = await ort.InferenceSession.create("model.onnx", { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
  const video = await camera();
  await session.run({ image: new ort.Tensor("float32", frame(video), [1, SIZE, SIZE, 3]) }, ["probabilities"]);
  const times = [];
  let lastCam = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    const t = performance.now();
    const withCam = t - lastCam >= 1000;  // the live page's heatmap rate
    if (withCam) lastCam = t;
    await session.run({ image: new ort.Tensor("float32", frame(video), [1, SIZE, SIZE, 3]) },
                      withCam ? ["probabilities", "feature_maps"] : ["probabilities"]);
    times.push(performance.now() - t);
    await new Promise((r) => requestAnimationFrame(r));
  }
  return summary(times, (performance.now() - start) / 1000);
};
window.benchTfjs = async (seconds) => {
  await tf.ready();
  const model = await tf.loadLayersModel("tfjs/model/model.json");
  const video = await camera();
  const run = () => { const out = tf.tidy(() => model.predict(tf.tensor4d(frame(video), [1, SIZE, SIZE, 3]).div(127).sub(1))); return out.data().then((v) => { out.dispose(); return v; }); };
  await run();
  const times = [];
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    const t = performance.now();
    await run();
    times.push(performance.now() - t);
    await new Promise((r) => requestAnimationFrame(r));
  }
  return { ...summary(times, (performance.now() - start) / 1000), backend: tf.getBackend() };
};
</script>
"""


def train_model(out: Path, data: Path, weights_dir: Path, seed: int) -> Path:
    from ml.config import TrainConfig
    from ml.training import train

    config = TrainConfig(backbone="mobilenet", alpha=0.25, image_size=224, weights="imagenet", epochs=6,
                         fine_tune_epochs=0, augment="none", folds=0, seed=seed)
    train(config, data, out, weights_dir=weights_dir)
    return out


def holdout_photos(data: Path, count: int, seed: int) -> list[tuple[str, Path]]:
    photos = [(d.name, p) for d in sorted(data.iterdir()) if d.is_dir() for p in sorted(d.iterdir())]
    random.Random(seed).shuffle(photos)
    return photos[:count]


def serve(folder: Path):
    handler = partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def agreement(predictor, browser, url: str, folder: Path, photos, crop: bool) -> dict:
    from PIL import Image, ImageOps

    names, raws = [], []
    for index, (_label, path) in enumerate(photos):
        picture = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
        if crop:
            side = min(picture.size)
            left, top = (picture.width - side) // 2, (picture.height - side) // 2
            picture = picture.crop((left, top, left + side, top + side))
        out = io.BytesIO()
        picture.save(out, format="PNG")  # lossless: browser and server read the same pixels
        name = f"{'crop' if crop else 'full'}{index}.png"
        (folder / name).write_bytes(out.getvalue())
        names.append(name)
        raws.append(out.getvalue())
    browser.get(f"{url}/index.html")
    got = []
    for start in range(0, len(names), 25):
        chunk = browser.execute_async_script(TM_PREDICT, names[start:start + 25])
        if isinstance(chunk, str):
            raise RuntimeError(chunk)
        got.extend(chunk)
    server = predictor.run(np.stack([predictor.load(raw) for raw in raws]), outputs=("probabilities",))["probabilities"]
    got = np.asarray(got)
    same = np.argmax(got, axis=1) == np.argmax(server, axis=1)
    return {"n": len(names), "top1_agreement": float(same.mean()), "mean_abs_dp": float(np.abs(got - server).mean()),
            "max_abs_dp": float(np.abs(got - server).max())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "catsdogs"))
    parser.add_argument("--weights-dir", default=str(ROOT.parent / "shared" / "data" / "keras" / "models"))
    parser.add_argument("--model-dir", default=None, help="a trained model folder (skips the training)")
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--seed", type=int, default=1234)
    args = parser.parse_args()

    from ml.card import read_card
    from ml.inference import Predictor
    from tests.browser import start_chromium
    from tests.webcam import start_chromium_with_camera, write_y4m

    work = Path(tempfile.mkdtemp(prefix="webcam-bench-"))
    started = time.perf_counter()
    model_dir = Path(args.model_dir) if args.model_dir else train_model(work / "model", Path(args.data),
                                                                         Path(args.weights_dir), args.seed)
    train_s = time.perf_counter() - started
    card = read_card(model_dir)
    size = int(card["input"]["size"] if isinstance(card["input"]["size"], int) else card["input"]["size"][0])
    predictor = Predictor(model_dir)

    site = work / "site"
    site.mkdir()
    (site / "my-model").symlink_to(model_dir / "tfjs")
    (site / "tf131.min.js").symlink_to(NODE_MODULES / "tfjs-tm" / "dist" / "tf.min.js")
    (site / "tm.min.js").symlink_to(NODE_MODULES / "@teachablemachine" / "image" / "dist" / "teachablemachine-image.min.js")
    (site / "ort").symlink_to(NODE_MODULES / "onnxruntime-web" / "dist")
    (site / "tfjs").mkdir()
    (site / "tfjs" / "tf.es2017.min.js").symlink_to(NODE_MODULES / "@tensorflow" / "tfjs" / "dist" / "tf.es2017.min.js")
    (site / "tfjs" / "model").symlink_to(model_dir / "tfjs")
    (site / "model.onnx").symlink_to(model_dir / "model.onnx")
    page = EXAMPLE.read_text()
    (site / "index.html").write_text(page.replace(CDN_TFJS, "tf131.min.js").replace(CDN_TM, "tm.min.js"))
    (site / "fps.html").write_text(FPS_PAGE % {"size": size})
    server, url = serve(site)

    photos = holdout_photos(Path(args.data), args.photos, args.seed)
    browser = start_chromium()
    try:
        cropped = agreement(predictor, browser, url, site, photos, crop=True)
        uncropped = agreement(predictor, browser, url, site, photos, crop=False)
    finally:
        browser.quit()
    camera = start_chromium_with_camera(write_y4m(work / "camera.y4m", frames=60, width=640, height=480))
    try:
        camera.get(f"{url}/fps.html")
        onnx = camera.execute_async_script(
            "const done = arguments[arguments.length - 1]; window.benchOnnx(arguments[0]).then(done, (e) => done('error: ' + e.message));",
            args.seconds)
        tfjs = camera.execute_async_script(
            "const done = arguments[arguments.length - 1]; window.benchTfjs(arguments[0]).then(done, (e) => done('error: ' + e.message));",
            args.seconds)
    finally:
        camera.quit()
        server.shutdown()

    import subprocess

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    lines = [
        "# Webcam and TF.js benchmark",
        "",
        f"Measured {time.strftime('%Y-%m-%dT%H:%M:%S%z')} with `bench/webcam_tfjs_bench.py` at commit {commit}, "
        f"headless Chromium ({platform.machine()}, {os.cpu_count()} CPU cores shared with other work), "
        f"model: MobileNet {card.get('config', {}).get('alpha', '?')} at {size} px "
        f"({'trained here in ' + str(round(train_s)) + ' s' if not args.model_dir else args.model_dir}), "
        f"holdout accuracy {card.get('metrics', {}).get('accuracy', '?')}.",
        "",
        "## Teachable Machine's library against the server",
        "",
        f"`tmImage.load(model.json, metadata.json)` then `predict(img)` (TF.js 1.3.1, the docs example page) "
        f"against `ml.inference.Predictor` on {cropped['n']} photos of `{args.data}` (seeded sample).",
        "",
        "| photos | n | same top-1 | mean abs Δp | max abs Δp |",
        "|---|---|---|---|---|",
        f"| cropped square beforehand | {cropped['n']} | **{100 * cropped['top1_agreement']:.1f} %** | "
        f"{cropped['mean_abs_dp']:.4f} | {cropped['max_abs_dp']:.4f} |",
        f"| uncropped (the library crops, the server does not) | {uncropped['n']} | "
        f"{100 * uncropped['top1_agreement']:.1f} % | {uncropped['mean_abs_dp']:.4f} | {uncropped['max_abs_dp']:.4f} |",
        "",
        "## Frames per second from a (fake) webcam",
        "",
        f"Chromium's fake camera playing a generated 640x480 video; each frame resized to {size} px on a canvas "
        f"and classified; {args.seconds:g} s per runtime.",
        "",
        "| runtime | frames | frames/s | p50 ms per frame | p90 ms per frame |",
        "|---|---|---|---|---|",
    ]
    for name, result in (("ONNX Runtime Web (WASM, 1 thread; CAM outputs once a second)", onnx),
                         (f"TensorFlow.js ({tfjs.get('backend', '?') if isinstance(tfjs, dict) else '?'})", tfjs)):
        if isinstance(result, str):
            lines.append(f"| {name} | {result} | | | |")
        else:
            lines.append(f"| {name} | {result['frames']} | **{result['fps']:.1f}** | {result['p50_ms']:.1f} | "
                         f"{result['p90_ms']:.1f} |")
    lines.append("")
    out = ROOT / "bench" / "results" / "webcam_tfjs_bench.md"
    out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""Check the EfficientNet-Lite port (``ml.efficientnet_lite``) on real photos, then its ONNX and TF.js copies.

    .venv/bin/python bench/efficientnet_lite_port.py --data ../shared/data/catsdogs --per-class 100

Three checks per variant, printed as Markdown (the figures are in ``bench/results/efficientnet_lite_port.md``):

- ImageNet top-5: the first ``--per-class`` cats and dogs by file number, resized by the platform's
  ``ml.preprocess.preprocess_image`` (squashed to the native size, ``x / 127.5 - 1``), through the
  feature extractor, global average pooling and the package's ``_fc``. A cat photo counts when a cat
  class (ImageNet 281-285) is in its top 5, a dog photo when a dog class (151-268) is.
- ONNX: the feature extractor through ``ml.graphs.to_onnx`` (tf2onnx, opset 17) and ONNX Runtime
  against Keras on the first 8 photos: max |delta| of the feature maps.
- TF.js 1.3.1: ``ml.tfjs.write_layers_model`` (which refuses layer types TF.js 1.3.1 does not know),
  then the files loaded by the ``tfjs-tm`` npm package (``@tensorflow/tfjs@1.3.1``) in Node and run on
  two photos: max |delta| against Keras.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ml import efficientnet_lite as lite  # noqa: E402
from ml.graphs import to_onnx  # noqa: E402
from ml.preprocess import preprocess_image  # noqa: E402
from ml.tfjs import write_layers_model  # noqa: E402

CATS, DOGS = range(281, 286), range(151, 269)
NODE_PREDICT = """
const fs = require("fs");
const tf = require("tfjs-tm/dist/tf.min.js");
const [dir, n, size] = [process.argv[1], +process.argv[2], +process.argv[3]];
const doc = JSON.parse(fs.readFileSync(dir + "/model.json"));
const bin = fs.readFileSync(dir + "/weights.bin");
const weights = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length);
const pixels = new Float32Array(fs.readFileSync(dir + "/input.bin").buffer.slice(0));
const io = tf.io.fromMemory(doc.modelTopology, doc.weightsManifest[0].weights, weights);
tf.loadLayersModel(io).then(async (model) => {
  const out = await model.predict(tf.tensor4d(pixels, [n, size, size, 3])).data();
  fs.writeFileSync(dir + "/output.bin", Buffer.from(out.buffer));
  console.log(JSON.stringify({tfjs: tf.version.tfjs, layers: model.layers.length}));
}).catch((e) => { console.error(e.message); process.exit(1); });
"""


def photos(data: Path, label: str, count: int) -> list[Path]:
    return sorted((data / label).glob("*.jpg"), key=lambda p: int(p.stem.split(".")[-1]))[:count]


def top5(variant: str, data: Path, per_class: int) -> dict:
    state = lite.read_weights(variant)
    size = lite.VARIANTS[variant].native_size
    model = lite.pretrained_efficientnet_lite(variant, size, state=state)
    kernel, bias = lite.imagenet_top(state)
    result = {}
    for label, wanted in (("cat", CATS), ("dog", DOGS)):
        files = photos(data, label, per_class)
        images = np.stack([preprocess_image(f, size) for f in files])
        logits = model.predict(images, batch_size=32, verbose=0).mean(axis=(1, 2)) @ kernel + bias
        order = np.argsort(-logits, axis=1)
        result[label] = {"n": len(files), "top5": int(np.isin(order[:, :5], wanted).any(axis=1).sum()),
                         "top1": int(np.isin(order[:, 0], wanted).sum())}
    return result


def onnx_parity(variant: str, images: np.ndarray, folder: Path) -> float:
    import onnxruntime

    model = lite.pretrained_efficientnet_lite(variant, images.shape[1])
    path = to_onnx(model, folder / f"{variant}.onnx")
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    onnx_out = session.run(None, {session.get_inputs()[0].name: images})[0]
    return float(np.abs(onnx_out - model.predict(images, verbose=0)).max())


def tfjs_parity(variant: str, images: np.ndarray, folder: Path) -> tuple[float, str]:
    model = lite.pretrained_efficientnet_lite(variant, images.shape[1])
    out = folder / f"{variant}-tfjs"
    write_layers_model(model, out)
    images.astype("<f4").tofile(out / "input.bin")
    run = subprocess.run(["node", "-e", NODE_PREDICT, str(out), str(len(images)), str(images.shape[1])],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    tfjs_out = np.fromfile(out / "output.bin", "<f4").reshape(-1, *model.output_shape[1:])
    return float(np.abs(tfjs_out - model.predict(images, verbose=0)).max()), run.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "catsdogs")
    parser.add_argument("--per-class", type=int, default=100)
    parser.add_argument("--variants", nargs="+", default=["efficientnet_lite0", "efficientnet_lite2"])
    args = parser.parse_args()
    print("| variant | px | params | cats: cat class in top 5 | dogs: dog class in top 5 | top 1 (cat / dog) "
          "| ONNX max abs delta | TF.js 1.3.1 max abs delta |")
    print("|---|---|---|---|---|---|---|---|")
    for variant in args.variants:
        started = time.perf_counter()
        size = lite.VARIANTS[variant].native_size
        scores = top5(variant, args.data, args.per_class)
        sample = np.stack([preprocess_image(f, size) for f in photos(args.data, "cat", 4) + photos(args.data, "dog", 4)])
        with tempfile.TemporaryDirectory() as tmp:
            onnx_delta = onnx_parity(variant, sample, Path(tmp))
            tfjs_delta, tfjs_info = tfjs_parity(variant, sample[[0, 4]], Path(tmp))
        cat, dog = scores["cat"], scores["dog"]
        print(f"| {variant} | {size} | {lite.VARIANTS[variant].params:,} | {cat['top5']}/{cat['n']} | "
              f"{dog['top5']}/{dog['n']} | {cat['top1']}/{cat['n']} / {dog['top1']}/{dog['n']} | {onnx_delta:.2e} | "
              f"{tfjs_delta:.2e} |", flush=True)
        print(json.dumps({"variant": variant, "seconds": round(time.perf_counter() - started, 1), "node": tfjs_info}),
              file=sys.stderr)


if __name__ == "__main__":
    main()

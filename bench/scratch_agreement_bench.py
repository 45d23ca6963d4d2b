"""Does RIIM's Scratch extension give the server's answer on real photos, with the classroom default network?

The contract: at least 97 % top-1 agreement on 100 costume photos between the labels the Scratch extension
gives and the server's, with a quick model on the classroom default network (EfficientNet-Lite0 at 224 px).

The model: a quick model folder trained on the first ``--train-per-class`` photos of each class of
``--data`` (by file name order: Python's ``sorted``, ``ls`` in the C locale), given with ``--model-dir`` or
trained here with ``python -m ml train --mode quick --backbone efficientnet_lite0``. The photos:
``--per-class`` others of each class, drawn with ``--seed`` from the ones not trained on.

Both answers go through the platform's own paths, as the costume test of the editor does
(tests/apps/scratch/test_scratch_editor_browser.py): a throwaway site (SQLite, its own media folder)
publishes the folder as a project's active version and makes its public model link, served by Django's live
server. The server's answer is the version's predictor (``apps.inference.loader.predictor_for``: ONNX
Runtime on ``model.onnx``, Pillow decoding and bilinear resize). The extension's answer is RIIM's Scratch
editor (/scratch/?model=<link>) in headless Chromium: the extension loads the link's ``model.onnx`` in ONNX
Runtime Web, and a project whose sprite wears the photos as costumes runs «classify [costume]; set
[resultado] to (label)» for each. Three ways a photo becomes a costume:

- ``sb3``: a Scratch 3 project file holding the photo's JPEG bytes at bitmap resolution 2 (what Scratch 3
  saves): the VM keeps the bytes;
- ``sb3-res1``: the same at bitmap resolution 1 (a Scratch 2 project's bitmaps, and what the editor test's
  project builder writes): the VM doubles the picture (nearest neighbour) and keeps the PNG of that;
- ``upload``: the editor's own «Upload Costume» (file chooser of the Costumes tab): Scratch doubles a photo
  of at most 480 x 360 (nearest neighbour, re-encoded as PNG) and keeps larger ones' bytes.

For each, besides the answers: whether the costume kept the photo's bytes, and how far the 224 px input the
extension feeds the network (``riimPreprocess.blobToTensorData`` on the costume) is from the server's.

    nice -n 15 .venv/bin/python bench/scratch_agreement_bench.py --model-dir /tmp/lb/model_efficientnet_lite0

Writes bench/results/scratch_agreement_bench.md (``--out`` to change).
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

CONTRACT = 0.97
PATHS = ("sb3", "sb3-res1", "upload")
PATH_TEXT = {
    "sb3": "Scratch 3 project, JPEG costume at bitmap resolution 2 (bytes kept)",
    "sb3-res1": "project with bitmap resolution 1 costumes (the VM doubles them, PNG)",
    "upload": "the editor's «Upload Costume» (Scratch doubles photos of at most 480 x 360, PNG)",
}

REENCODED = {
    "sb3": "Scratch keeps a resolution 2 bitmap as it is",
    "sb3-res1": "the VM doubled every one with nearest neighbour and keeps the PNG of that",
    "upload": "the editor keeps the PNG of the photo doubled with nearest neighbour when it is at most 480 x 360, "
              "or scaled down with nearest neighbour to fit 960 x 720 when larger",
}

# After RUN_COSTUME: the extension's probabilities, the costume it read, and the 224 px input it made of it.
INSPECT = """
const done = arguments[arguments.length - 1];
const riim = window.riimScratch.extension;
const sprite = window.riimScratch.vm.runtime.targets.find((t) => !t.isStage);
const costume = sprite.getCostumes()[sprite.currentCostume];
const blob = new Blob([costume.asset.data], {type: costume.asset.assetType.contentType});
// The costume decoded at its own size as blobToTensorData decodes it, before any resize: a SHA-256 of its RGB.
const decodedDigest = async () => {
  const bitmap = await createImageBitmap(blob, {imageOrientation: "from-image", premultiplyAlpha: "none",
                                                colorSpaceConversion: "none"});
  const canvas = document.createElement("canvas");
  [canvas.width, canvas.height] = [bitmap.width, bitmap.height];
  const context = canvas.getContext("2d", {willReadFrequently: true});
  context.drawImage(bitmap, 0, 0);
  const rgba = context.getImageData(0, 0, bitmap.width, bitmap.height).data;
  const rgb = new Uint8Array(bitmap.width * bitmap.height * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) { rgb[j] = rgba[i]; rgb[j + 1] = rgba[i + 1]; rgb[j + 2] = rgba[i + 2]; }
  bitmap.close();
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", rgb));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
};
(async () => {
  const bytes = Uint8Array.from(await window.riimPreprocess.blobToTensorData(blob, riim.size));
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  done({probabilities: Array.from(riim.probabilities), assetId: costume.assetId, dataFormat: costume.dataFormat,
        bitmapResolution: costume.bitmapResolution, pixels: btoa(text), decoded: await decodedDigest()});
})().catch((e) => done({error: String(e)}));
"""
COSTUME_INDEX = """
const sprite = window.riimScratch.vm.runtime.targets.find((t) => !t.isStage);
return sprite.getCostumes().map((c) => c.name);
"""
COSTUMES_TAB = """
const tabs = document.querySelectorAll("li[class*='react-tabs__tab_']");  // class names carry a hash
tabs[1].click();  // Code, Costumes, Sounds
"""


def photos(data: Path, train_per_class: int, per_class: int, seed: int) -> list[tuple[str, Path]]:
    """Return (class, path) for ``per_class`` photos of each class drawn with ``seed`` from those not trained on."""
    chosen = []
    rng = np.random.default_rng(seed)
    for folder in sorted(p for p in data.iterdir() if p.is_dir()):
        names = sorted(os.listdir(folder))[train_per_class:]
        for index in sorted(rng.choice(len(names), per_class, replace=False)):
            chosen.append((folder.name, folder / names[index]))
    return chosen


def train(data: Path, train_per_class: int, out: Path) -> Path:
    """Train a quick EfficientNet-Lite0 model on the first ``train_per_class`` photos of each class of ``data``."""
    subset = out / "data"
    for folder in sorted(p for p in data.iterdir() if p.is_dir()):
        (subset / folder.name).mkdir(parents=True)
        for name in sorted(os.listdir(folder))[:train_per_class]:
            (subset / folder.name / name).symlink_to(folder / name)
    model = out / "model"
    subprocess.run([sys.executable, "-m", "ml", "train", "--mode", "quick", "--backbone", "efficientnet_lite0",
                    "--data", str(subset), "--out", str(model), "--quiet"], cwd=ROOT, check=True)
    return model


def site(tmp: Path, model_dir: Path, classes: list[str], backbone: str):
    """Publish ``model_dir`` as a throwaway site's active version with a public link; return (version, link path)."""
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "riim_site.settings.local",
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "MEDIA_ROOT": str(tmp / "media"),
        "RIIM_VAR_DIR": str(tmp / "var"),
        "RIIM_MODEL_CACHE_DIR": str(tmp / "model-cache"),
        "CELERY_TASK_ALWAYS_EAGER": "1",
    })
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)  # the link's throttle counts in the cache
    from django.urls import reverse

    from apps.accounts import roles
    from apps.sharing.services import model_link_create
    from apps.training.services import model_version_publish
    from tests.factories import ProjectFactory, UserFactory

    teacher = UserFactory(username="profe", role=roles.TEACHER)
    project = ProjectFactory(owner=teacher, slug="gatos-y-perros", classes=classes, backbone=backbone)
    version = model_version_publish(project=project, local_dir=model_dir, user=teacher, source="trained")
    link = model_link_create(project=project, actor=teacher)
    return version, reverse("model_link_root", args=[link.token])


def live_server():
    """Start Django's live server (static files included, as the tests' ``live_server``); return its thread."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.test.testcases import LiveServerThread

    thread = LiveServerThread("127.0.0.1", StaticFilesHandler)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    return thread


def server_answers(version, chosen) -> tuple[np.ndarray, np.ndarray]:
    """Return the server's probabilities and its 224 px uint8 inputs, through the version's predictor."""
    from apps.inference.loader import predictor_for

    predictor = predictor_for(version)
    pixels = np.stack([predictor.load(path.read_bytes()) for _label, path in chosen])
    probabilities = np.concatenate([predictor.run(pixels[i:i + 10], outputs=("probabilities",))["probabilities"]
                                    for i in range(0, len(pixels), 10)])
    return probabilities, pixels.astype(np.uint8)


def open_editor(driver, url: str, link: str) -> None:
    from tests.apps.scratch.test_scratch_editor_browser import READY

    driver.get(f"{url}/scratch/?model={url}{link}")
    state = driver.execute_async_script(READY)
    if state != "ok":
        raise SystemExit(f"the editor or the extension did not get ready: {state}")


def load_project(driver, project: bytes) -> None:
    from tests.apps.scratch.test_scratch_editor_browser import LOAD

    state = driver.execute_async_script(LOAD, base64.b64encode(project).decode())
    if state != "ok":
        raise SystemExit(f"the project did not load: {state}")


def upload_costumes(driver, chosen, folder: Path, seconds: float = 600) -> list[int]:
    """Upload the photos through the Costumes tab's file chooser; return each one's costume index.

    Scratch names a costume after its file up to the first dot (cat.12.jpg becomes «cat», then «cat2»...), and
    reads several files at once in no fixed order: each photo is given as a link named «<n>-<class>-<number>.jpg».
    """
    from selenium.webdriver.common.by import By

    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for index, (_label, path) in enumerate(chosen):
        files.append(folder / f"{index:03d}-{path.name.rsplit('.', 1)[0].replace('.', '-')}{path.suffix}")
        files[-1].symlink_to(path.resolve())
    driver.execute_script(COSTUMES_TAB)
    time.sleep(1)
    field = driver.find_element(By.CSS_SELECTOR, "[class*='react-tabs__tab-panel--selected'] input[type=file]")
    field.send_keys("\n".join(str(path) for path in files))
    wanted = [path.stem for path in files]
    started = time.monotonic()
    while True:
        names = driver.execute_script(COSTUME_INDEX)
        if all(name in names for name in wanted):
            return [names.index(name) for name in wanted]
        if time.monotonic() - started > seconds:
            raise SystemExit(f"{sum(n in names for n in wanted)} of {len(wanted)} costumes uploaded in {seconds} s")
        time.sleep(1)


def scratch_answers(driver, indexes: list[int]) -> list[dict]:
    """Classify costume ``index`` of the sprite for each index, as the project does; return what INSPECT reads."""
    from tests.apps.scratch.test_scratch_editor_browser import RUN_COSTUME
    from tests.scratch_projects import RESULT_VARIABLE

    answers = []
    for index in indexes:
        label = driver.execute_async_script(RUN_COSTUME, index, RESULT_VARIABLE)
        if label == "timeout":
            raise SystemExit(f"costume {index}: the project did not finish")
        seen = driver.execute_async_script(INSPECT)
        if "error" in seen:
            raise SystemExit(f"costume {index}: {seen['error']}")
        seen["label"] = label
        seen["pixels"] = np.frombuffer(base64.b64decode(seen["pixels"]), np.uint8)
        answers.append(seen)
    return answers


def summary(name, chosen, classes, server, server_pixels, answers) -> dict:
    from ml.evaluation import wilson_ci

    n = len(chosen)
    truth = np.array([classes.index(label) for label, _path in chosen])
    scratch = np.array([a["probabilities"] for a in answers])
    labels = [a["label"] for a in answers]
    agree = sum(label == classes[i] for label, i in zip(labels, server.argmax(1), strict=True))
    delta = np.abs(scratch - server).max(axis=1)
    kept = [a["assetId"] == hashlib.md5(path.read_bytes()).hexdigest() for a, (_l, path) in zip(answers, chosen,
                                                                                                strict=True)]
    decoded_same = [a["decoded"] == _decoded_digest(path) for a, (_l, path), k in zip(answers, chosen, kept, strict=True)
                    if k]
    pixel_delta = np.array([np.abs(a["pixels"].astype(int) - p.reshape(-1).astype(int)).max()
                            for a, p in zip(answers, server_pixels, strict=True)])
    return {
        "path": name, "n": n, "agree": int(agree), "ci": wilson_ci(int(agree), n),
        "max_dp": float(delta.max()), "mean_dp": float(delta.mean()),
        "scratch_correct": int(sum(label == classes[t] for label, t in zip(labels, truth, strict=True))),
        "server_correct": int((server.argmax(1) == truth).sum()),
        "kept": int(sum(kept)), "same_input": int((pixel_delta == 0).sum()), "max_pixel": int(pixel_delta.max()),
        "label_consistent": all(label == classes[int(np.argmax(a["probabilities"]))] for label, a in
                                zip(labels, answers, strict=True)),
        "disagreements": [(path.name, label, float(server[i].max()), classes[int(server[i].argmax())],
                           float(scratch[i].max()), a["dataFormat"], int(pixel_delta[i]))
                          for i, ((_l, path), label, a) in enumerate(zip(chosen, labels, answers, strict=True))
                          if label != classes[int(server[i].argmax())]],
        "worst": max(((float(delta[i]), chosen[i][1].name) for i in range(n))),
        # Costumes that kept the photo's bytes yet gave another input, and whether Pillow runs its vertical pass first.
        "kept_but_different": [(chosen[i][1].name, *_size(chosen[i][1]), _pillow_vertical_first(*_size(chosen[i][1]), 224))
                               for i in range(n) if kept[i] and pixel_delta[i]],
        "decoded_same": int(sum(decoded_same)),
        "vertical_first": sum(_pillow_vertical_first(*_size(path), 224) for _l, path in chosen),
        "closest": min(((float(server[i].max()), chosen[i][1].name) for i in range(n))),
    }


def card_numbers(model_dir: Path) -> dict:
    import json

    card = json.loads((model_dir / "card.json").read_text())
    return {"name": card.get("name"), "backbone": card["backbone"]["used"], "size": card["input"]["size"][0],
            "classes": card["classes"], "accuracy": card["metrics"]["accuracy"], "n": card["metrics"]["n"],
            "ci95": card["metrics"]["ci95"], "counts": card["dataset"]["counts"], "kfold": card["kfold"]["accuracy"],
            "c": card["kfold"].get("c"), "temperature": card["kfold"].get("temperature"),
            "fingerprint": card["backbone"].get("fingerprint")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", help="a quick model folder (trained here from --data when absent)")
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "catsdogs"))
    parser.add_argument("--train-per-class", type=int, default=200,
                        help="the model was (or is) trained on the first N photos of each class by name order")
    parser.add_argument("--per-class", type=int, default=50, help="photos of each class to compare on")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--paths", nargs="+", choices=PATHS, default=list(PATHS))
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "scratch_agreement_bench.md"))
    args = parser.parse_args()

    load_before = Path("/proc/loadavg").read_text().split()[:3]
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="scratch-agreement-"))
    data = Path(args.data)
    model_dir = Path(args.model_dir) if args.model_dir else train(data, args.train_per_class, tmp / "trained")
    card = card_numbers(model_dir)
    chosen = photos(data, args.train_per_class, args.per_class, args.seed)
    version, link = site(tmp, model_dir, card["classes"], card["backbone"])
    server, server_pixels = server_answers(version, chosen)
    truth = [card["classes"].index(label) for label, _path in chosen]
    print(f"server: {len(chosen)} photos, accuracy {np.mean(server.argmax(1) == truth):.3f}", flush=True)

    from tests.browser import start_chromium
    from tests.scratch_projects import classify_costume_script, sb3

    thread = live_server()
    url = f"http://{thread.host}:{thread.port}"
    driver = start_chromium()
    driver.set_window_size(1280, 900)
    rows = []
    try:
        for name in args.paths:
            open_editor(driver, url, link)  # a fresh editor for each path
            pictures = [path.read_bytes() for _label, path in chosen]
            if name == "upload":
                load_project(driver, sb3([_placeholder_png()], classify_costume_script(), bitmap_resolution=2))
                indexes = upload_costumes(driver, chosen, tmp / "upload")
            else:
                load_project(driver, sb3(pictures, classify_costume_script(), bitmap_resolution=1 if name == "sb3-res1" else 2))
                indexes = list(range(len(chosen)))
            t0 = time.monotonic()
            answers = scratch_answers(driver, indexes)
            rows.append(summary(name, chosen, card["classes"], server, server_pixels, answers))
            print(name, {k: v for k, v in rows[-1].items() if k != "disagreements"},
                  f"{time.monotonic() - t0:.0f} s", flush=True)
    finally:
        driver.quit()
        thread.terminate()
    load_after = Path("/proc/loadavg").read_text().split()[:3]
    write(args, rows, card, chosen, model_dir, load_before, load_after, time.monotonic() - started)
    shutil.rmtree(tmp, ignore_errors=True)  # the throwaway site (and a model trained here)


def _placeholder_png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 4), (255, 255, 255)).save(out, format="PNG")
    return out.getvalue()


def write(args, rows, card, chosen, model_dir, load_before, load_after, seconds) -> None:
    import PIL

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "bench/scratch_agreement_bench.py",
                            "templates/scratch/riim.js", "static/js/browser_preprocess.js", "tests/scratch_projects.py"],
                           cwd=ROOT, capture_output=True, text=True).stdout.strip()
    chromium = subprocess.run(["/usr/bin/chromium", "--version"], capture_output=True, text=True).stdout.strip()
    n = len(chosen)
    lines = [
        "# Scratch extension agreement with the server",
        "",
        f"Measured {datetime.now(timezone.utc).strftime('%Y-%m-%dT%H:%M:%S%z')} with "
        f"`bench/scratch_agreement_bench.py` at commit {commit}{' (with uncommitted changes to the bench files)' if dirty else ''}, "
        f"{chromium or 'Chromium'} headless, {platform.machine()}, {os.cpu_count()} CPU cores shared with other work "
        f"(load average {' '.join(load_before)} at the start, {' '.join(load_after)} at the end; {seconds / 60:.0f} min in all).",
        "",
        f"Contract: at least {CONTRACT:.0%} top-1 agreement on 100 costume photos between the Scratch extension's "
        "labels and the server's, with the default network.",
        "",
        "## Model",
        "",
        f"`{card['name']}`: a quick model ({card['backbone']} at {card['size']} px, the classroom default, frozen "
        f"backbone fingerprint {card['fingerprint']}), classes {', '.join(card['classes'])}, "
        f"{'given with --model-dir' if args.model_dir else 'trained by the bench'}, trained on the first "
        f"{args.train_per_class} photos of each class of `{Path(args.data).name}` by name order "
        f"(split {card['counts']}). Its card: test accuracy {card['accuracy']:.3f} on {card['n']} photos "
        f"(95 % CI {card['ci95'][0]:.3f}-{card['ci95'][1]:.3f}, its own held-out share of those photos); k-fold "
        f"accuracy {card['kfold']['mean']:.3f} ± {card['kfold']['std']:.3f}; C {card['c']}, temperature {card['temperature']}.",
        "",
        "## Photos",
        "",
        f"{n} photos: {args.per_class} of each class drawn with numpy `default_rng({args.seed})` from the photos "
        f"of `{Path(args.data).name}` after the first {args.train_per_class} of each class by name order (none "
        "was trained on). Every photo is an RGB JPEG without EXIF orientation. The photos "
        f"({sum(_small(p) for _l, p in chosen)} of them at most 480 x 360):",
        "",
    ]
    for label in card["classes"]:
        numbers = [p.name.split(".")[1] for lab, p in chosen if lab == label]
        lines.append(f"- {label}: {', '.join(numbers)}")
    lines += [
        "",
        "## Results",
        "",
        "Server: the published version's predictor (ONNX Runtime on `model.onnx`, Pillow decode and bilinear "
        "resize). Scratch: RIIM's editor with the public link's `model.onnx` in ONNX Runtime Web, the project "
        "«classify [costume]; set [resultado] to (label)» run with the green flag for each costume. |Δp| is the "
        "largest difference between the two probability vectors of a photo. Input: the 224 px picture the extension "
        "makes of the costume against the server's (0..255).",
        "",
        "| costume made from the photo by | agreement | 95 % Wilson CI | max \\|Δp\\| | mean \\|Δp\\| | Scratch accuracy | "
        "server accuracy | costume kept the photo's bytes | same 224 px input | max \\|Δ input\\| |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {PATH_TEXT[r['path']]} | **{r['agree']}/{r['n']}** | {r['ci'][0]:.3f}-{r['ci'][1]:.3f} | "
            f"{r['max_dp']:.1e} ({r['worst'][1]}) | {r['mean_dp']:.1e} | {r['scratch_correct']}/{r['n']} | "
            f"{r['server_correct']}/{r['n']} | {r['kept']}/{r['n']} | {r['same_input']}/{r['n']} | {r['max_pixel']} |")
    lines.append("")
    closest = rows[0]["closest"] if rows else (0, "")
    lines.append(f"The server's closest call: {closest[1]} at {closest[0]:.3f} for its top class (a label flips only "
                 "where |Δp| reaches the distance of the top probability from 0.5).")
    lines.append("")
    for r in rows:
        verdict = "meets" if r["agree"] / r["n"] >= CONTRACT else "does NOT meet"
        lines.append(f"- {r['path']}: {r['agree']}/{r['n']} {verdict} the {CONTRACT:.0%} contract"
                     + ("" if r["label_consistent"] else "; the label block disagreed with the probabilities")
                     + (": " + "; ".join(f"{f} Scratch {lab} ({ps:.3f}), server {sl} ({pv:.3f}), costume {fmt}, "
                                          f"max |Δ input| {dp}" for f, lab, pv, sl, ps, fmt, dp in r["disagreements"])
                        if r["disagreements"] else "") + ".")
    lines.append("")
    lines.append("Where the 224 px inputs differ:")
    lines.append("")
    for r in rows:
        odd = r["kept_but_different"]
        lines.append(
            f"- {r['path']}: {r['n'] - r['kept']} costumes are not the photo's bytes ({REENCODED[r['path']]})"
            f"; of the {r['kept']} that kept them, {r['decoded_same']} decode in Chromium to Pillow's pixels exactly "
            f"(SHA-256 of the full-size RGB), and {len(odd)} differ after the resize"
            + (f" ({', '.join(f'{name} {w}x{h}' for name, w, h, _v in odd)}): each one a photo that Pillow "
               "resizes with its vertical pass first" if odd and all(v for *_x, v in odd) else
               f" ({', '.join(f'{name} {w}x{h} vertical first {v}' for name, w, h, v in odd)})" if odd else "")
            + ".")
    lines += [
        "",
        f"{rows[0]['vertical_first'] if rows else 0} of the {n} photos are ones that the server's Pillow {PIL.__version__} resizes "
        "with its vertical pass first (python-pillow/Pillow#9549: the height shrinks by more than twice as many "
        "pixels as the width), while `static/js/browser_preprocess.js` always runs the horizontal pass first, as "
        "Pillow did before 13; the two orders round differently (by 1 level on some pixels here).",
        "",
    ]
    out = Path(args.out)
    out.write_text("\n".join(lines))
    print(out.read_text())


def _size(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as image:
        return image.size


def _decoded_digest(path: Path) -> str:
    """SHA-256 of the photo's RGB pixels as Pillow decodes it (what the server resizes)."""
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        return hashlib.sha256(ImageOps.exif_transpose(image).convert("RGB").tobytes()).hexdigest()


def _small(path: Path) -> bool:
    width, height = _size(path)
    return width <= 480 and height <= 360


def _pillow_vertical_first(width: int, height: int, size: int) -> bool:
    """Whether Pillow 13 resizes width x height to size x size with its vertical pass first (python-pillow/Pillow#9549:
    when the height shrinks by more than twice as many pixels as the width); earlier Pillows always start horizontally.
    Found by comparing Image.resize with the two one-axis resizes chained, on 18,867 shapes."""
    return height > size and height - size > 2 * (width - size)


if __name__ == "__main__":
    main()

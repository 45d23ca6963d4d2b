"""Benchmark the quick model on real photos: accuracy on a seeded holdout, and seconds to an active version.

    nohup nice .venv/bin/python bench/quick_bench.py --data ../shared/data/catsdogs \
        --weights ../shared/data/keras/models/mobilenet_2_5_224_tf_no_top.h5 > /tmp/quick_bench.log 2>&1 &

Two parts, written to ``bench/results/quick_bench.md``:

- Engine (``ml.embeddings`` + ``ml.quick``): every photo and its mirror embedded once by the frozen
  ONNX backbone; per seed a stratified holdout of 400 photos is set aside and the head is fitted on
  the other 1,600 (C and temperature by 5-fold CV on those only). Accuracy with its Wilson 95 %
  interval, at 224 and 288 px (the 224 px weights used at 288).
- Platform (``--platform``): a throwaway Django site (SQLite, media and caches in a temporary
  folder, Celery eager). The photos are uploaded through ``image_upload_create`` (processing and
  embedding as on a worker), labeled, a seeded holdout assigned; then ``training_run_execute`` of
  a quick run is timed from its start to its version being active: per size a cold run (it builds
  the int8 backbone and the TF.js template once per fingerprint), a warm one, then ``--repeats``
  alternating pairs of warm runs: one whose TF.js stage builds the browser copy through TensorFlow
  as before the template existed ("before"), one that writes it from the cached template with
  numpy ("after"). Both kinds run in the same process on the same data, so their ratio holds even
  when the machine's load moves; the one-minute load average is recorded beside each run.
- Variants (``--variants``, 224 px): the head on standardised, square-root or L2-normalised
  embeddings and on a wider C grid, each with its own CV; the row "CV-chosen" picks raw or
  standardised per seed by CV on the training photos only (the holdout is never used to choose).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HOLDOUT = 400  # photos per seed kept out of the fit: 200 per class
WIDE_CS = (0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)


def load_average() -> float:
    return os.getloadavg()[0]
EXTENSIONS = {".jpg", ".jpeg", ".png"}


def photos(data: Path) -> tuple[list, np.ndarray, list]:
    classes = sorted(p.name for p in data.iterdir() if p.is_dir())
    files = [(f, i) for i, c in enumerate(classes) for f in sorted((data / c).iterdir()) if f.suffix.lower() in EXTENSIONS]
    return [f for f, _ in files], np.array([i for _, i in files], np.int64), classes


def wilson(correct: int, n: int) -> tuple[float, float]:
    from ml.evaluation import wilson_ci

    low, high = wilson_ci(correct, n)
    return float(low), float(high)


def holdout_split(y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    holdout = np.concatenate([rng.choice(np.flatnonzero(y == c), HOLDOUT // len(np.unique(y)), replace=False)
                              for c in np.unique(y)])
    return np.setdiff1d(np.arange(len(y)), holdout), np.sort(holdout)


def engine_part(files, y, weights_dir: Path, sizes, seeds, cache: Path) -> list[dict]:
    from ml.embeddings import BATCH, Embedder, backbone_onnx, embed_batches, resolve_backbone
    from ml.preprocess import load_pixels
    from ml.quick import fit_quick_head

    rows = []
    for size in sizes:
        backbone = resolve_backbone("mobilenet", 0.25, size, weights_dir=weights_dir)
        stored = cache / f"quick-embeddings-{backbone.fingerprint}.npz"
        embed_seconds = None
        if stored.exists():
            with np.load(stored) as data:
                x, xm = data["x"], data["xm"]
        else:
            start = time.perf_counter()
            embedder = Embedder(backbone_onnx(backbone, cache))
            batches = (np.stack([load_pixels(f, size) for f in files[i : i + BATCH]]) for i in range(0, len(files), BATCH))
            x, xm = embed_batches(embedder, batches)
            embed_seconds = time.perf_counter() - start
            np.savez(stored, x=x, xm=xm)
        for seed in seeds:
            train, hold = holdout_split(y, seed)
            start, cpu = time.perf_counter(), time.process_time()
            head = fit_quick_head(x[train], xm[train], y[train], 2, seed=seed)
            fit_seconds, fit_cpu = time.perf_counter() - start, time.process_time() - cpu
            predicted = head.predict_proba(x[hold], xm[hold]).argmax(1)
            single = (x[hold] @ head.kernel + head.bias).argmax(1)  # the photo alone, no mirror averaging
            correct = int((predicted == y[hold]).sum())
            rows.append({"size": size, "seed": seed, "train": len(train), "n": len(hold), "accuracy": correct / len(hold),
                         "ci95": wilson(correct, len(hold)), "no_mirror": float((single == y[hold]).mean()),
                         "c": head.c, "cv": head.cv["accuracy"]["mean"], "fit_s": fit_seconds, "fit_cpu_s": fit_cpu,
                         "embed_s": embed_seconds, "load": load_average()})
            print(f"engine {size}px seed {seed}: {rows[-1]['accuracy']:.4f} (C={head.c}, fit {fit_seconds:.2f} s)",
                  flush=True)
    return rows


def variants_part(y, weights_dir: Path, seeds, cache: Path, size: int = 224) -> list[dict]:
    """Fit the head on transformed embeddings (each with its own CV) and score every variant on the holdout."""
    from ml.embeddings import resolve_backbone
    from ml.quick import fit_quick_head

    backbone = resolve_backbone("mobilenet", 0.25, size, weights_dir=weights_dir)
    with np.load(cache / f"quick-embeddings-{backbone.fingerprint}.npz") as data:
        x, xm = data["x"].astype(np.float32), data["xm"].astype(np.float32)
    rows = []
    for seed in seeds:
        train, hold = holdout_split(y, seed)
        both = np.concatenate([x[train], xm[train]])  # statistics of the training photos only
        mean, std = both.mean(0), both.std(0) + 1e-6
        variants = [
            ("raw", "as served now", lambda a: a, None),
            ("raw, wide C grid", "C from 0.0003 to 3", lambda a: a, WIDE_CS),
            ("standardised", "(e - mean) / std: affine, foldable into the head", lambda a, m=mean, s=std: (a - m) / s, WIDE_CS),
            ("square root", "not affine: the served graphs would need a new node", lambda a: np.sqrt(np.maximum(a, 0)),
             WIDE_CS),
            ("L2-normalised", "not affine: the served graphs would need a new node",
             lambda a: a / np.linalg.norm(a, axis=1, keepdims=True), tuple(c * 30 for c in WIDE_CS)),
        ]
        found = {}
        for name, note, transform, cs in variants:
            start = time.perf_counter()
            head = fit_quick_head(transform(x[train]), transform(xm[train]), y[train], 2, seed=seed,
                                  **({"cs": cs} if cs else {}))
            predicted = head.predict_proba(transform(x[hold]), transform(xm[hold])).argmax(1)
            found[name] = {"size": size, "seed": seed, "variant": name, "note": note, "c": head.c,
                           "cv": head.cv["accuracy"]["mean"], "cv_loss": head.cv["loss"]["mean"],
                           "accuracy": float((predicted == y[hold]).mean()), "fit_s": time.perf_counter() - start}
            rows.append(found[name])
            print(f"variant {name} seed {seed}: cv {found[name]['cv']:.4f}, holdout {found[name]['accuracy']:.4f}",
                  flush=True)
        chosen = max(("raw", "standardised"), key=lambda n: (found[n]["cv"], -found[n]["cv_loss"]))
        rows.append({**found[chosen], "variant": "CV-chosen", "note": f"{chosen} (by CV accuracy, then CV loss)"})
    return rows


def _bulk_images(project, teacher, files, y, classes, holdout, media: Path) -> list:
    import hashlib
    import shutil

    from PIL import Image as Picture

    from apps.uploads.models import Image

    rows = []
    for i, (path, label) in enumerate(zip(files, y, strict=True)):
        name = f"bench/{classes[label]}_{path.name}"
        (media / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, media / name)
        with Picture.open(path) as picture:
            width, height = picture.size
        rows.append(Image(project=project, uploader=teacher, original_name=path.name, file=name,
                          sha256=hashlib.sha256(path.read_bytes()).hexdigest(), width=width, height=height,
                          format="JPEG", size_bytes=path.stat().st_size, label=classes[label], label_source="teacher",
                          split="test" if i in holdout else "train"))
    Image.objects.bulk_create(rows, batch_size=500)
    return list(Image.objects.filter(project=project).order_by("pk"))


def _copy_embeddings(images, weights_dir: Path, size: int, cache: Path) -> None:
    from apps.embeddings.models import ImageEmbedding
    from ml.embeddings import resolve_backbone, to_bytes

    backbone = resolve_backbone("mobilenet", 0.25, size, weights_dir=weights_dir)
    with np.load(cache / f"quick-embeddings-{backbone.fingerprint}.npz") as data:
        x, xm = data["x"], data["xm"]
    ImageEmbedding.objects.bulk_create(
        [ImageEmbedding(image=image, fingerprint=backbone.fingerprint, vector=to_bytes(p), mirror=to_bytes(m))
         for image, p, m in zip(images, x, xm, strict=True)], batch_size=500)


def _tfjs_through_tensorflow(before: bool):
    """Make quick runs build the TF.js copy through TensorFlow (``before``) or from the cached template (after)."""
    import ml.quick as quick

    original = getattr(quick._tfjs_stage, "original", quick._tfjs_stage)
    if not before:
        quick._tfjs_stage = original
        return

    def stage(*args, **kwargs):
        kwargs["cache_dir"] = None  # no template: the flat Keras twin is built and exported every run
        return original(*args, **kwargs)

    stage.original = original
    quick._tfjs_stage = stage


def platform_part(files, y, classes, weights_dir: Path, sizes, seed: int, upload: bool = False,
                  repeats: int = 3) -> list[dict]:
    """Time quick runs through the platform's services on a throwaway site."""
    tmp = Path(tempfile.mkdtemp(prefix="quick-bench-"))
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "riim_site.settings.local",
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "MEDIA_ROOT": str(tmp / "media"),
        "RIIM_VAR_DIR": str(tmp / "var"),
        "RIIM_MODEL_CACHE_DIR": str(tmp / "model-cache"),
        "RIIM_WEIGHTS_DIR": str(weights_dir),
        "CELERY_TASK_ALWAYS_EAGER": "1",
    })
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from apps.accounts import roles
    from apps.accounts.models import User
    from apps.embeddings.models import ImageEmbedding
    from apps.labeling.services import label_assign
    from apps.projects.models import Membership, Project
    from apps.training.models import ModelVersion
    from apps.training.services import training_run_execute, training_run_start
    from apps.uploads.models import Image
    from apps.uploads.services import image_upload_create

    teacher = User.objects.create_user("bench-teacher", password="x")
    roles.role_assign(teacher, roles.TEACHER)
    project = Project.objects.create(name="Bench", slug="bench", classes=classes, owner=teacher,
                                     auto_quick_retrain=False)
    Membership.objects.create(project=project, user=teacher, role="teacher")
    _, hold = holdout_split(y, seed)
    holdout = set(hold.tolist())
    start = time.perf_counter()
    if upload:  # the whole path: validation, storage, thumbnails, embeddings, labels (slow on a busy CPU)
        images = [image_upload_create(project=project, uploader=teacher, raw=f.read_bytes(), name=f.name) for f in files]
        for image, label in zip(images, y, strict=True):
            label_assign(image=image, author=teacher, label=classes[label])
        Image.objects.filter(project=project).update(split="train")
        Image.objects.filter(pk__in=[images[i].pk for i in hold]).update(split="test")
    else:  # rows and files only, embeddings copied from the engine part: "with embeddings cached"
        images = _bulk_images(project, teacher, files, y, classes, holdout, Path(os.environ["MEDIA_ROOT"]))
        for size in sizes:
            _copy_embeddings(images, weights_dir, size, ROOT / "bench" / "out")
    upload_seconds = time.perf_counter() - start
    print(f"{len(images)} photos stored in {upload_seconds:.1f} s "
          f"({ImageEmbedding.objects.filter(image__project=project).count()} embeddings)", flush=True)
    rows = []
    for size in sizes:
        attempts = [("first", False), ("second", False)] + [(kind, kind == "before") for _ in range(repeats)
                                                           for kind in ("before", "after")]
        for attempt, before in attempts:
            _tfjs_through_tensorflow(before)
            load = load_average()
            # Celery is eager here: the run executes inside training_run_start, as soon as it is queued.
            start, cpu = time.perf_counter(), time.process_time()
            run = training_run_start(project=project, user=teacher, config={"mode": "quick", "image_size": size})
            run = training_run_execute(run_id=run.pk)  # returns at once: the run already finished
            seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
            version = ModelVersion.objects.filter(run=run).first()
            rows.append({"size": size, "attempt": attempt, "status": run.status, "seconds": seconds, "cpu": cpu_seconds,
                         "active": bool(version and version.status == "active"),
                         "holdout": version.test_accuracy if version else None,
                         "n": version.test_n if version else 0,
                         "stages": (version.metadata.get("timings") or {}).get("stages") if version else None,
                         "error": run.error_message, "load": (load, load_average()),
                         "tfjs": (version.metadata.get("tfjs") or {}).get("enabled") if version else None})
            print(f"platform {size}px {attempt} run: {seconds:.2f} s, {run.status}, holdout "
                  f"{rows[-1]['holdout']}, stages {rows[-1]['stages']}", flush=True)
    _tfjs_through_tensorflow(False)
    return rows, upload_seconds


def _load_range(engine: list, runs: list) -> str:
    loads = [r["load"] for r in engine] + [v for r in runs for v in r["load"]]
    return f"{min(loads):.1f}-{max(loads):.1f}" if loads else "not measured"


def write_report(path: Path, engine: list, runs: list, upload_seconds, args, variants: list | None = None) -> None:
    lines = [
        "# Quick model benchmark",
        "",
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC · {platform.processor() or platform.machine()} · "
        f"{os.cpu_count()} CPUs · `python bench/quick_bench.py{' --platform' * args.platform}"
        f"{' --variants' * args.variants}` · data `{args.data}` (2,000 photos, cat/dog)",
        "",
        f"**Timings were taken while other engineers ran tests and benchmarks on the same {os.cpu_count()} cores** "
        f"(one-minute load average {_load_range(engine, runs)} while this ran, sampled before and after each run): "
        "wall-clock seconds are upper bounds, not the figures of an idle machine; the CPU seconds of the benchmark's "
        "own process are given beside them.",
        "",
        "## Accuracy (engine: `ml.quick.fit_quick_head` on `ml.embeddings` features)",
        "",
        f"Per seed, a stratified holdout of {HOLDOUT} photos; the head is fitted on the other photos only, C and the "
        "temperature chosen by 5-fold CV on them. Prediction = mean of the photo's and its mirror's probabilities.",
        "",
        "| px | seed | train | holdout n | accuracy | 95 % CI | without mirror averaging | C | CV accuracy | fit s (wall / CPU) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in engine:
        lines.append(f"| {r['size']} | {r['seed']} | {r['train']} | {r['n']} | {r['accuracy']:.4f} | "
                     f"[{r['ci95'][0]:.3f}, {r['ci95'][1]:.3f}] | {r['no_mirror']:.4f} | {r['c']} | {r['cv']:.4f} | "
                     f"{r['fit_s']:.2f} / {r['fit_cpu_s']:.2f} |")
    for size in sorted({r["size"] for r in engine}):
        accs = [r["accuracy"] for r in engine if r["size"] == size]
        embed = [r["embed_s"] for r in engine if r["size"] == size and r["embed_s"]]
        lines.append("")
        lines.append(f"- {size} px: mean {np.mean(accs):.4f} over {len(accs)} seeds (min {min(accs):.4f})"
                     + (f"; embedding 2,000 photos + mirrors took {embed[0]:.1f} s, once" if embed else ""))
    if variants:
        size = variants[0]["size"]
        lines += [
            "",
            f"## Variants of the head at {size} px (each with its own 5-fold CV on the training photos)",
            "",
            "| variant | note | seed | C | CV accuracy | CV log loss | holdout accuracy |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for r in variants:
            lines.append(f"| {r['variant']} | {r['note']} | {r['seed']} | {r['c']:g} | {r['cv']:.4f} | "
                         f"{r['cv_loss']:.4f} | {r['accuracy']:.4f} |")
        lines.append("")
        for name in dict.fromkeys(r["variant"] for r in variants):
            chosen = [r for r in variants if r["variant"] == name]
            lines.append(f"- {name}: mean CV accuracy {np.mean([r['cv'] for r in chosen]):.4f}, mean holdout accuracy "
                         f"{np.mean([r['accuracy'] for r in chosen]):.4f} over {len(chosen)} seeds")
        raw = {r["seed"]: r for r in variants if r["variant"] == "raw"}
        std = {r["seed"]: r for r in variants if r["variant"] == "standardised"}
        gaps = [std[seed]["cv"] - raw[seed]["cv"] for seed in raw]
        verdict = ("CV prefers it in every seed" if all(g > 0 for g in gaps) else
                   "no variant is chosen consistently, so the served head stays on the raw embeddings")
        lines += ["", f"CV on the training photos prefers standardised embeddings in "
                  f"{sum(g > 0 for g in gaps)} of {len(gaps)} seeds, by {min(gaps):+.4f} to {max(gaps):+.4f} CV "
                  f"accuracy (one photo of a 320-photo fold is 0.0031): {verdict}."]
    if runs:
        lines += [
            "",
            "## Seconds from start to active version (platform: `training_run_execute` of a quick run)",
            "",
            f"2,000 photos stored ({'through `image_upload_create`' if args.upload else 'as rows and files, their embeddings copied from the engine part: embeddings cached'}) "
            f"in {upload_seconds:.0f} s; {HOLDOUT} of them in the holdout. Each run: read the cached embeddings, fit, "
            "write model.onnx + model.int8.onnx + head + detector + TF.js files + card, store the version, score it "
            "and the active one on the holdout from the cache, activate. `first` is cold (it builds what the next "
            "runs reuse), `second` warm; then `before` (TF.js copy built through TensorFlow every run, as before "
            "the template) and `after` (TF.js copy written from the cached template with numpy) alternate.",
            "",
            "| px | run | status | seconds (wall / CPU of this process) | load avg (before / after) | active | "
            "holdout accuracy (n) | stages (s) |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for r in runs:
            holdout = "—" if r["holdout"] is None else f"{r['holdout']:.4f} ({r['n']})"
            stages = ", ".join(f"{k} {v:.2f}" for k, v in (r["stages"] or {}).items())
            lines.append(f"| {r['size']} | {r['attempt']} | {r['status']} | {r['seconds']:.2f} / {r['cpu']:.2f} | "
                         f"{r['load'][0]:.1f} / {r['load'][1]:.1f} | {r['active']} | {holdout} | {stages} |")
        lines += ["", "Warm runs, TF.js copy through TensorFlow (before) against the cached template (after), "
                  "medians of the alternating runs:", "",
                  "| px | runs each | before: wall / CPU s | after: wall / CPU s | after / before (wall) | "
                  "after / before (CPU) | tfjs stage before / after (s) |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        for size in sorted({r["size"] for r in runs}):
            pair = {kind: [r for r in runs if r["size"] == size and r["attempt"] == kind] for kind in ("before", "after")}
            if not (pair["before"] and pair["after"]):
                continue
            wall = {k: float(np.median([r["seconds"] for r in v])) for k, v in pair.items()}
            cpu = {k: float(np.median([r["cpu"] for r in v])) for k, v in pair.items()}
            tfjs = {k: float(np.median([(r["stages"] or {}).get("tfjs", np.nan) for r in v])) for k, v in pair.items()}
            lines.append(f"| {size} | {len(pair['after'])} | {wall['before']:.2f} / {cpu['before']:.2f} | "
                         f"{wall['after']:.2f} / {cpu['after']:.2f} | {wall['after'] / wall['before']:.2f} | "
                         f"{cpu['after'] / cpu['before']:.2f} | {tfjs['before']:.2f} / {tfjs['after']:.3f} |")
        lines += ["", "The first run at a size builds what the next ones reuse, once per backbone fingerprint (the "
                  "backbone's ONNX export through TensorFlow in the throwaway site's model cache, its int8 copy "
                  "calibrated on 100 training photos, and the TF.js template through TensorFlow), and imports "
                  "scikit-learn and SciPy; the warm runs are the ones a class waits for after "
                  "labeling. The platform runs use seed 0's holdout. In this one process TensorFlow is already "
                  "imported by the first run, so `before` does not pay its import; a worker whose first TF.js copy "
                  "comes from the template never imports it (`tests/ml/test_quick.py` checks that in a fresh process).",
                  "", "Not measured yet: the full-recipe candidates table (accuracy against training time)."]
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--weights", required=True, type=Path, help="mobilenet_2_5_224_tf_no_top.h5")
    parser.add_argument("--sizes", default="224,288")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--platform", action="store_true", help="also time runs through the Django services")
    parser.add_argument("--upload", action="store_true", help="store the photos through image_upload_create (slow)")
    parser.add_argument("--repeats", type=int, default=3, help="before/after pairs of warm runs per size")
    parser.add_argument("--variants", action="store_true", help="also fit the head on transformed embeddings")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "quick_bench.md")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    files, y, classes = photos(args.data)
    cache = ROOT / "bench" / "out"
    cache.mkdir(parents=True, exist_ok=True)
    weights_dir = args.weights.resolve().parent
    engine = engine_part(files, y, weights_dir, sizes, seeds, cache)
    variants = variants_part(y, weights_dir, seeds, cache, min(sizes)) if args.variants else None
    runs, upload_seconds = (platform_part(files, y, classes, weights_dir, sizes, seeds[0], args.upload, args.repeats)
                            if args.platform else ([], None))
    write_report(args.out, engine, runs, upload_seconds, args, variants)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

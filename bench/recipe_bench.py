"""Benchmark the full training recipes against the quick model on the real photos (not a test).

    nohup .venv/bin/python bench/recipe_bench.py --data ../shared/data/catsdogs \
        --weights ../shared/data/keras/models/mobilenet_2_5_224_tf_no_top.h5 > /tmp/recipe_bench.log 2>&1 &

Per seed, the holdout of ``bench/quick_bench.py`` (400 photos, 200 per class, seeded and
stratified) is written as the ``split`` column of a manifest, exactly as the platform hands its
fixed holdout to the engine, and every recipe is scored on those same 400 photos at 224 px:

- ``quick``: ``ml.quick.fit_quick_head`` on the cached frozen embeddings of each photo and its mirror
  (``bench/quick_bench.engine_part``: the quick benchmark's own code and cache).
- ``default``: ``ml.training.train`` with the ``classroom`` default set (mode full), through the real
  engine function; its result is the weights ``select_recipe`` keeps on the validation split.
- The candidates that ``select_recipe`` compares (the logistic warm start, the trained head, the
  fine-tuned network): the engine cannot be told to keep one, so ``select_recipe`` is wrapped to
  record the candidate weights of the same run (it still chooses as always); each is then scored on
  the holdout with and without mirror TTA (``ml.evaluation.predict_proba``).
- Variants (``VARIANTS``): the classroom set with a few options changed, again through ``train``.

Timing: every run is timed from the call of ``train`` to the end of its ``evaluate`` stage (data,
build, k-fold on frozen features, head, fine-tune, the recipe choice, evaluate). Pruning and
quantization are switched off through ``train``'s own arguments, and the run is stopped from its
progress callback once ``evaluate`` has reported (the way the platform cancels a run): the export
stages act on the evaluated model and cost every recipe the same. The photos are decoded once
before the first run (the engine's per-process decode cache), so no run pays the decode alone.

Every finished row is kept in ``bench/out/recipe_bench/rows.json`` (a rerun skips it) and the
report is rewritten after each one.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.quick_bench import engine_part, holdout_split, photos, wilson  # noqa: E402

SIZE = 224  # the classroom default size
WORK = ROOT / "bench" / "out" / "recipe_bench"
BOOTSTRAP = 10_000
# Changes to the classroom default set. "head2_ft8_deep": the logistic warm start already places the
# head, so most of the time goes to fine-tuning deeper at a lower rate (bench/results/ml_bench.md's
# tuned recipe, shorter, at about the default's number of epochs).
VARIANTS = {
    "head2_ft8_deep": dict(epochs=2, fine_tune_epochs=8, fine_tune_layers=60, fine_tune_learning_rate=5e-5,
                           patience=5, tta=True),
}
LABELS = {
    "quick": "quick model (logistic regression on frozen embeddings + mirrors, mirror averaging)",
    "default": "today's default: classroom set, mode full (the weights `select_recipe` keeps)",
    "default:warm_start": "candidate: logistic warm start of the head (frozen backbone)",
    "default:warm_start+tta": "candidate: logistic warm start + mirror TTA",
    "default:head": "candidate: head only (8 epochs, frozen backbone)",
    "default:head+tta": "candidate: head only + mirror TTA",
    "default:fine_tuned": "candidate: fine-tuned (top 20 layers, 3 epochs)",
    "default:fine_tuned+tta": "candidate: fine-tuned + mirror TTA",
    "head2_ft8_deep": "variant: head 2 epochs, fine-tune top 60 layers 8 epochs at 5e-5, mirror TTA (chosen weights)",
    "head2_ft8_deep:fine_tuned": "variant head2_ft8_deep: its fine-tuned candidate, no TTA",
    "head2_ft8_deep:fine_tuned+tta": "variant head2_ft8_deep: its fine-tuned candidate + mirror TTA",
}


def load_rows() -> dict:
    path = WORK / "rows.json"
    return json.loads(path.read_text()) if path.exists() else {}


def save_rows(rows: dict) -> None:
    (WORK / "rows.json").write_text(json.dumps(rows, indent=1))


def write_manifest(files, y, classes, holdout: np.ndarray, path: Path) -> Path:
    marked = set(holdout.tolist())
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "split"])
        for i, (file, label) in enumerate(zip(files, y, strict=True)):
            writer.writerow([str(Path(file).resolve()), classes[label], "holdout" if i in marked else "train"])
    return path


def quick_rows(files, y, weights_dir: Path, seeds, rows: dict) -> None:
    """Score the quick model per seed (the quick benchmark's code), keeping each photo's verdict."""
    from ml.embeddings import resolve_backbone
    from ml.quick import fit_quick_head

    if all(f"quick/{seed}" in rows for seed in seeds):
        return
    bench_cache = ROOT / "bench" / "out"
    bench_cache.mkdir(parents=True, exist_ok=True)
    summary = {r["seed"]: r for r in engine_part(files, y, weights_dir, [SIZE], seeds, bench_cache)}
    backbone = resolve_backbone("mobilenet", 0.25, SIZE, weights_dir=weights_dir)
    with np.load(bench_cache / f"quick-embeddings-{backbone.fingerprint}.npz") as data:
        x, xm = data["x"], data["xm"]
    for seed in seeds:
        train, hold = holdout_split(y, seed)
        start, cpu = time.perf_counter(), time.process_time()
        head = fit_quick_head(x[train], xm[train], y[train], 2, seed=seed)
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
        correct = head.predict_proba(x[hold], xm[hold]).argmax(1) == y[hold]
        assert abs(correct.mean() - summary[seed]["accuracy"]) < 1e-9, "the quick fit is not deterministic"
        rows[f"quick/{seed}"] = {"recipe": "quick", "seed": seed, "correct": correct.astype(int).tolist(),
                                 "train_s": seconds, "cpu_s": cpu_seconds,
                                 "embed_s": summary[seed]["embed_s"], "c": head.c}
        print(f"quick seed {seed}: {correct.mean():.4f} ({seconds:.1f} s)", flush=True)
    save_rows(rows)


class Recorder:
    """Wrap ``ml.training.select_recipe``: note the candidates' weights and the time of the choice."""

    def __init__(self):
        import ml.training

        self.module, self.original = ml.training, ml.training.select_recipe
        self.candidates, self.seconds, self.model, self.table = {}, 0.0, None, {}

    def __enter__(self):
        def recording(model, candidates, x_val, y_val):
            self.candidates, self.model = dict(candidates), model
            start = time.perf_counter()
            self.table = self.original(model, candidates, x_val, y_val)
            self.seconds = time.perf_counter() - start
            return self.table

        self.module.select_recipe = recording
        return self

    def __exit__(self, *exc):
        self.module.select_recipe = self.original


class Evaluated(Exception):
    """Raised from the progress callback once ``evaluate`` has reported: the run stops before the export stages."""


def full_run(name: str, changes: dict, manifest: Path, holdout_x, holdout_y, seed: int, weights_dir: Path,
             rows: dict) -> None:
    """Train one recipe through ``ml.training.train``; record the chosen model and every candidate on the holdout.

    The run is stopped from its progress callback (as the platform cancels a run) when ``evaluate``
    reports its accuracy: the export stages come after and do not change the evaluated model.
    """
    from ml.config import TrainConfig, defaults
    from ml.evaluation import predict_proba
    from ml.training import train

    config = TrainConfig.from_dict({**defaults("classroom"), **changes, "seed": seed})
    out = WORK / "runs" / f"{name}-{seed}"
    shutil.rmtree(out, ignore_errors=True)
    start, cpu = time.perf_counter(), time.process_time()
    marks, evaluated = {}, {}

    def progress(event):
        marks.setdefault(event.stage, time.perf_counter() - start)
        if event.stage == "evaluate" and event.key == "evaluate.accuracy":
            evaluated.update(at=time.perf_counter(), cpu=time.process_time(), accuracy=event.params["accuracy"])
            raise Evaluated

    with Recorder() as recorder:
        try:
            train(config, manifest, out, progress=progress, prune=0, quantize=(), weights_dir=weights_dir)
        except Evaluated:
            pass
    seconds = evaluated["at"] - start
    ordered = sorted(marks.items(), key=lambda item: item[1])
    stages = {stage: (ordered[i + 1][1] if i + 1 < len(ordered) else seconds) - began
              for i, (stage, began) in enumerate(ordered)}  # from a stage's first report to the next stage's
    model = recorder.model  # after select_recipe: the chosen weights, the model evaluate scored
    chosen = recorder.table["chosen"]
    base = {"seed": seed, "config": config.to_dict(), "stages": stages, "train_s": seconds,
            "cpu_s": evaluated["cpu"] - cpu, "select_s": recorder.seconds, "chosen": chosen,
            "val_table": recorder.table["candidates"]}
    chosen_weights = model.get_weights()
    correct = predict_proba(model, holdout_x, tta=config.tta).argmax(1) == holdout_y
    # The engine's own holdout score (rounded to 3 places): the same photos and the same model.
    assert abs(correct.mean() - evaluated["accuracy"]) <= 0.0006, (correct.mean(), evaluated["accuracy"])
    rows[f"{name}/{seed}"] = {**base, "recipe": name, "correct": correct.astype(int).tolist(),
                              "engine_accuracy": evaluated["accuracy"]}
    for candidate, weights in recorder.candidates.items():
        model.set_weights(weights)
        for tta in (False, True):
            key = f"{name}:{candidate}{'+tta' if tta else ''}"
            if key not in LABELS:
                continue  # the variants' other candidates add nothing to the question
            hit = predict_proba(model, holdout_x, tta=tta).argmax(1) == holdout_y
            rows[f"{key}/{seed}"] = {**base, "recipe": key, "correct": hit.astype(int).tolist()}
    model.set_weights(chosen_weights)
    save_rows(rows)
    shutil.rmtree(out, ignore_errors=True)
    print(f"{name} seed {seed}: {correct.mean():.4f} chosen={chosen} train {seconds:.0f} s "
          f"(cpu {base['cpu_s']:.0f} s), stages {({k: round(v) for k, v in stages.items()})}", flush=True)


def _summary(rows: dict, recipe: str, seeds, rng) -> dict | None:
    found = [rows[f"{recipe}/{s}"] for s in seeds if f"{recipe}/{s}" in rows]
    if not found:
        return None
    hits = np.concatenate([np.asarray(r["correct"]) for r in found])
    low, high = wilson(int(hits.sum()), len(hits))
    per_seed = {r["seed"]: float(np.mean(r["correct"])) for r in found}
    quick = [rows.get(f"quick/{r['seed']}") for r in found]
    diff = None
    if recipe != "quick" and all(quick):
        q = np.concatenate([np.asarray(r["correct"]) for r in quick])
        delta = hits - q  # paired: the same photos
        boot = rng.integers(0, len(delta), (BOOTSTRAP, len(delta)))
        means = delta[boot].mean(axis=1)
        diff = (float(delta.mean()), float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975)))
    return {"per_seed": per_seed, "mean": float(np.mean(list(per_seed.values()))), "n": len(hits),
            "ci": (low, high), "diff": diff, "train_s": float(np.mean([r["train_s"] for r in found])),
            "cpu_s": float(np.mean([r["cpu_s"] for r in found])),
            "runs": found}


def write_report(path: Path, rows: dict, seeds, args, load: list, started: str, decode_s) -> None:
    rng = np.random.default_rng(0)
    order = [k for k in LABELS if any(f"{k}/{s}" in rows for s in seeds)]
    table = {k: _summary(rows, k, seeds, rng) for k in order}
    default = table.get("default")
    quick = table.get("quick")
    lines = [
        "# Full training recipes against the quick model",
        "",
        f"Started {started} UTC, written {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC · "
        f"{platform.machine()} · {os.cpu_count()} CPUs (shared) · TensorFlow CPU · data `{args.data}` "
        f"(2,000 photos, cat/dog) · {SIZE} px · MobileNet 0.25 ImageNet weights `{args.weights.name}`.",
        "",
        "```",
        "nohup .venv/bin/python bench/recipe_bench.py --data ../shared/data/catsdogs \\",
        "    --weights ../shared/data/keras/models/mobilenet_2_5_224_tf_no_top.h5 > /tmp/recipe_bench.log 2>&1 &",
        "```",
        "",
        f"Machine load (1-minute load average on 2 cores, sampled before each run): "
        f"{', '.join(f'{v:.1f}' for v in load)}. Other engineers ran tests and benchmarks on the same two cores "
        "meanwhile: wall seconds are upper bounds; the benchmark process's CPU seconds are given beside them.",
        "",
        f"Per seed ({', '.join(map(str, seeds))}): the quick benchmark's stratified holdout of 400 photos (200 per "
        "class) is the manifest's `holdout` split; every recipe trains on the other 1,600 (the full recipes keep "
        "15 % of them for validation: early stopping and `select_recipe`) and is scored on the same 400. "
        "Mean = mean of the seeds; 95 % CI = Wilson on the pooled 1,200 verdicts; Δ quick = paired difference on "
        f"the same 1,200 photos with a bootstrap 95 % interval ({BOOTSTRAP:,} resamples).",
        "",
        "Time = wall seconds from calling `ml.training.train` to the end of its `evaluate` stage (data, build, "
        "5-fold on frozen features, head, fine-tune, recipe choice, evaluate), mean of the seeds, with the CPU "
        "seconds of the benchmark process beside it; × default is the ratio of wall (and CPU) means. Pruning and "
        "quantization are switched off through `train`'s arguments; the run is then stopped from its progress "
        "callback when `evaluate` reports (as the platform cancels a run), so the export stages (ONNX, parity, "
        "TF.js, detector, autoencoder, tags), which act on the evaluated model and cost every recipe the same, are "
        "not in the time. Candidates are scored on weights recorded from their own run: they have that run's time."
        + (f" The photos were decoded once before the runs ({decode_s:.0f} s), not inside any timed part." if decode_s
           else "")
        + " For the quick model: the fit on cached embeddings (embedding the photos and mirrors once is the "
        "platform's upload work; "
        + (f"{rows['quick/' + str(seeds[0])]['embed_s']:.0f} s here" if quick and rows.get(f"quick/{seeds[0]}", {}).get("embed_s")
           else "cached from an earlier run")
        + ").",
        "",
        "| recipe | " + " | ".join(f"seed {s}" for s in seeds)
        + " | mean | 95 % CI (n) | Δ quick [95 % CI] | time s (CPU s) | × default (CPU) |",
        "| --- | " + " | ".join("---" for _ in seeds) + " | --- | --- | --- | --- | --- |",
    ]
    for key in order:
        s = table[key]
        cells = [f"{s['per_seed'][seed]:.4f}" if seed in s["per_seed"] else "—" for seed in seeds]
        diff = "—" if s["diff"] is None else f"{100 * s['diff'][0]:+.2f} pt [{100 * s['diff'][1]:+.2f}, {100 * s['diff'][2]:+.2f}]"
        shared = ":" in key  # candidates come out of their run: its time
        ratio = ("—" if not default or key == "quick" else
                 f"{s['train_s'] / default['train_s']:.2f} ({s['cpu_s'] / default['cpu_s']:.2f})")
        timing = f"{s['train_s']:.1f} ({s['cpu_s']:.1f})" if not shared else "same run"
        lines.append(f"| {LABELS[key]} | " + " | ".join(cells) + f" | **{s['mean']:.4f}** | "
                     f"[{s['ci'][0]:.3f}, {s['ci'][1]:.3f}] ({s['n']}) | {diff} | {timing} | "
                     f"{ratio if not shared else '(its run)'} |")
    missing = [k for k in list(LABELS) if k not in order or len(table[k]["per_seed"]) < len(seeds)]
    if missing:
        lines += ["", f"Not finished before the deadline (— in the table, or absent): {', '.join(missing)}."]
    if default:
        lines += ["", "Recipe kept by `select_recipe` in the default runs: "
                  + ", ".join(f"seed {r['seed']}: {r['chosen']}" for r in default["runs"]) + "."]
        for key in VARIANTS:
            if table.get(key):
                lines.append(f"`{key}` kept: " + ", ".join(f"seed {r['seed']}: {r['chosen']}" for r in table[key]["runs"])
                             + f"; options changed from the classroom set: `{json.dumps(VARIANTS[key])}`.")
        lines += ["", "Stage seconds per default run: "
                  + "; ".join(f"seed {r['seed']}: " + ", ".join(f"{k} {v:.0f}" for k, v in r["stages"].items())
                              for r in default["runs"]) + "."]
    if quick:
        # On the seeds each recipe finished: its mean against the quick model's on the same photos.
        paired = {k: table[k]["diff"][0] for k in order if k != "quick" and table[k]["diff"]}
        reach = [k for k, d in paired.items() if d >= 0.01]
        lines += ["", f"Goal: quick + 1 point (quick's mean over the 3 seeds: {quick['mean']:.4f}, so "
                  f"{quick['mean'] + 0.01:.4f}; each recipe compared on the seeds it finished). "
                  + (f"Reached by: {', '.join(reach)}." if reach else "**No recipe reaches quick + 1 point.**")]
        below = [k for k, d in paired.items() if d < 0]
        if below:
            lines.append(f"Below the quick model on the same photos: {', '.join(below)}.")
    lines += ["", "## Conclusion", "", "(written by hand below after the runs)", ""]
    conclusion = WORK / "conclusion.md"
    if conclusion.exists():
        lines[-2:] = [conclusion.read_text().strip(), ""]
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--weights", required=True, type=Path, help="mobilenet_2_5_224_tf_no_top.h5")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--recipes", default="default," + ",".join(VARIANTS),
                        help="full recipes to run, in order (default first: the others are timed against it)")
    parser.add_argument("--report-only", action="store_true", help="rewrite the report from the kept rows")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "recipe_bench.md")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    WORK.mkdir(parents=True, exist_ok=True)
    rows = load_rows()
    state = json.loads((WORK / "state.json").read_text()) if (WORK / "state.json").exists() else {}
    started = state.setdefault("started", f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M}")
    load = state.setdefault("load", [])

    def report():
        (WORK / "state.json").write_text(json.dumps(state))
        write_report(args.out, rows, seeds, args, load, started, state.get("decode_s"))

    if args.report_only:
        report()
        return
    files, y, classes = photos(args.data)
    weights_dir = args.weights.resolve().parent
    load.append(os.getloadavg()[0])
    quick_rows(files, y, weights_dir, seeds, rows)
    report()

    from ml.datasets import load_image_data, read_samples

    jobs = [(name, seed) for name in args.recipes.split(",") for seed in seeds if f"{name}/{seed}" not in rows]
    if not jobs:
        return
    manifests, holdouts = {}, {}
    for seed in seeds:
        _, hold = holdout_split(y, seed)
        manifests[seed] = write_manifest(files, y, classes, hold, WORK / f"manifest-{seed}.csv")
        holdouts[seed] = [s for s in read_samples(manifests[seed]) if s.split == "holdout"]
    start = time.perf_counter()
    load_image_data(manifests[seeds[0]], SIZE)  # fills the engine's decode cache once
    state.setdefault("decode_s", time.perf_counter() - start)
    for name, seed in jobs:
        load.append(os.getloadavg()[0])
        data = load_image_data(holdouts[seed], SIZE, classes=classes)
        changes = {} if name == "default" else VARIANTS[name]
        full_run(name, changes, manifests[seed], data.x, data.y, seed, weights_dir, rows)
        report()
    print(f"wrote {args.out}", flush=True)


if __name__ == "__main__":
    main()

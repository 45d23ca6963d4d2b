"""gunicorn settings for `bench/load_bench.py --tracemalloc`: where each web worker's memory grows.

Each worker traces its Python allocations from its fork; after the warm-up it takes a baseline snapshot,
and when it exits it compares a final snapshot with it and writes the sites that grew most (grouped by
the allocating line, each with the call path that reached it from RIIM's own code) to
RIIM_LOAD_TRACEMALLOC_DIR/<pid>.json. Tracing slows every allocation: latencies of such a run are not
comparable with an untraced one; only its memory figures are read.
"""

import json
import os
import threading
import tracemalloc
from pathlib import Path

OUT_DIR = Path(os.environ.get("RIIM_LOAD_TRACEMALLOC_DIR", "."))
WARMUP_SECONDS = float(os.environ.get("RIIM_LOAD_TRACEMALLOC_WARMUP", "30"))
FRAMES = 12  # deep enough to reach RIIM's code from a library's allocation
TOP = 12
OWN_CODE = ("/apps/", "/ml/", "/riim_site/")


def post_fork(server, worker):
    tracemalloc.start(FRAMES)
    worker.riim_baseline = None

    def take_baseline():
        worker.riim_baseline = tracemalloc.take_snapshot()
        worker.riim_baseline_traced = tracemalloc.get_traced_memory()[0]

    timer = threading.Timer(WARMUP_SECONDS, take_baseline)
    timer.daemon = True
    timer.start()


def worker_exit(server, worker):
    baseline = getattr(worker, "riim_baseline", None)
    if baseline is None:
        return
    final = tracemalloc.take_snapshot()
    traced_now, traced_peak = tracemalloc.get_traced_memory()
    growth = final.compare_to(baseline, "traceback")
    report = {
        "pid": os.getpid(),
        "traced_after_warmup_mb": round(worker.riim_baseline_traced / 2**20, 2),
        "traced_at_exit_mb": round(traced_now / 2**20, 2),
        "traced_peak_mb": round(traced_peak / 2**20, 2),
        "top_growth": [_site(stat) for stat in growth[:TOP]],
    }
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / f"{os.getpid()}.json").write_text(json.dumps(report, indent=2))


def _site(stat) -> dict:
    """One growing allocation site: where the bytes were allocated, and the innermost RIIM frame above it."""
    frames = list(stat.traceback)  # most recent call first
    own = next((frame for frame in frames if any(part in frame.filename for part in OWN_CODE)), None)
    return {
        "size_diff_kb": round(stat.size_diff / 1024, 1),
        "count_diff": stat.count_diff,
        "allocated_at": _where(frames[0]) if frames else "?",
        "riim_caller": _where(own) if own else None,
    }


def _where(frame) -> str:
    parts = Path(frame.filename).parts
    tail = "/".join(parts[-3:])
    return f"{tail}:{frame.lineno}"

"""gunicorn settings for `bench/load_bench.py --tracemalloc`: where each web worker's memory grows.

Each worker traces its Python allocations from its fork. When the bench creates the file `baseline` in
RIIM_LOAD_TRACEMALLOC_DIR (after the warm-up) a worker takes a baseline snapshot; when it creates `final`
(the load is over) the worker compares a new snapshot with the baseline and writes the sites that grew
most (grouped by call path: the allocating line and the innermost RIIM frame above it) to
RIIM_LOAD_TRACEMALLOC_DIR/<pid>.json. The comparison runs while the worker is still alive, however long
it takes, rather than in an exit hook that a graceful-shutdown timeout can cut short. Tracing slows every
allocation: latencies of such a run are not comparable with an untraced one; only its memory figures are.
"""

import json
import os
import threading
import time
import tracemalloc
from pathlib import Path

OUT_DIR = Path(os.environ.get("RIIM_LOAD_TRACEMALLOC_DIR", "."))
FRAMES = 10  # deep enough to reach RIIM's code from a library's allocation
TOP = 12
OWN_CODE = ("/apps/", "/ml/", "/riim_site/")


def post_fork(server, worker):
    tracemalloc.start(FRAMES)
    threading.Thread(target=_trace, daemon=True).start()


def _trace():
    _wait_for(OUT_DIR / "baseline")
    baseline, traced_then = tracemalloc.take_snapshot(), tracemalloc.get_traced_memory()[0]
    _wait_for(OUT_DIR / "final")
    final = tracemalloc.take_snapshot()
    traced_now, traced_peak = tracemalloc.get_traced_memory()
    growth = final.compare_to(baseline, "traceback")
    report = {
        "pid": os.getpid(),
        "traced_after_warmup_mb": round(traced_then / 2**20, 2),
        "traced_at_end_mb": round(traced_now / 2**20, 2),
        "traced_peak_mb": round(traced_peak / 2**20, 2),
        "top_growth": [_site(stat) for stat in growth[:TOP]],
    }
    partial = OUT_DIR / f"{os.getpid()}.partial"
    partial.write_text(json.dumps(report, indent=2))
    partial.replace(OUT_DIR / f"{os.getpid()}.json")


def _wait_for(path: Path) -> None:
    while not path.exists():
        time.sleep(1)


def _site(stat) -> dict:
    """One growing allocation site: where the bytes were allocated, and the innermost RIIM frame above it."""
    frames = list(stat.traceback)  # oldest call first
    own = next((frame for frame in reversed(frames) if any(part in frame.filename for part in OWN_CODE)), None)
    return {
        "size_diff_kb": round(stat.size_diff / 1024, 1),
        "count_diff": stat.count_diff,
        "allocated_at": _where(frames[-1]) if frames else "?",
        "riim_caller": _where(own) if own else None,
    }


def _where(frame) -> str:
    parts = Path(frame.filename).parts
    return f"{'/'.join(parts[-3:])}:{frame.lineno}"

"""Single-image latency, timed the same way for every runtime the engine compares."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np


def time_calls(call: Callable[[int], object], repeats: int, warmup: int = 3) -> dict:
    """Call ``call(i)`` ``warmup`` times untimed, then ``repeats`` times; return p50/p95 in milliseconds."""
    for i in range(warmup):
        call(i)
    times = []
    for i in range(warmup, warmup + repeats):
        start = time.perf_counter()
        call(i)
        times.append((time.perf_counter() - start) * 1000)
    return {"p50": float(np.percentile(times, 50)), "p95": float(np.percentile(times, 95)), "n": repeats}

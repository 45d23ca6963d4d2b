"""Timing, one way for the whole engine: a stage's wall-clock seconds, and single-image latency."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np


@contextmanager
def timed(timings: dict, stage: str, add: bool = False) -> Iterator[None]:
    """Record the wall-clock seconds of the ``with`` block as ``timings[stage]`` (rounded to ms).

    ``add`` adds them to what the stage has already recorded (a stage timed in two parts).
    """
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = round((timings.get(stage, 0.0) if add else 0.0) + time.perf_counter() - start, 3)


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

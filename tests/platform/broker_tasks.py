"""Tasks that only the broker tests' workers import (`--include tests.platform.broker_tasks`).

Each writes what happened to a file named by the test, one line per event, so the test sees every
delivery without a database.
"""

import os
import time

from celery import shared_task


def _append(path: str, line: str) -> None:
    with open(path, "a") as fh:  # one short write in append mode: lines never interleave
        fh.write(line + "\n")


@shared_task(name="tests.broker.record")
def broker_record(path: str, key: str) -> None:
    """Record one delivery of key."""
    _append(path, key)


@shared_task(name="tests.broker.hang_once")
def broker_hang_once(path: str, key: str) -> None:
    """Record a start; the first delivery then hangs (for the test to kill it), a later one finishes."""
    first = not os.path.exists(path) or f"start {key} " not in open(path).read()
    _append(path, f"start {key} {os.getpid()}")
    if first:
        time.sleep(120)
    _append(path, f"done {key} {os.getpid()}")

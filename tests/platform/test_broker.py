"""The embedded broker loses nothing: concurrent producers, one worker, killed workers (SQLite broker)."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from riim_site.celery import app
from tests.platform.worker import REPO_ROOT, app_broker, celery_worker, embedded_broker_url, wait_for

pytestmark = [pytest.mark.worker]

QUEUE = "broker-tests"
PRODUCERS, PER_PRODUCER = 4, 200


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _rows_left(broker_file: Path) -> int:
    with sqlite3.connect(broker_file) as db:
        return db.execute("SELECT count(*) FROM kombu_message").fetchone()[0]


def test_concurrent_producers_deliver_every_message_exactly_once(tmp_path):
    """4 producer processes × 200 messages and a real worker: each message runs once, the worker lives on."""
    record = tmp_path / "deliveries.txt"
    expected = {f"p{p}-{i}" for p in range(PRODUCERS) for i in range(PER_PRODUCER)}
    with app_broker(embedded_broker_url(tmp_path)) as url, celery_worker(QUEUE, include="tests.platform.broker_tasks") as worker:
        producers = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.platform.broker_producer", url, QUEUE, str(record), f"p{p}", str(PER_PRODUCER)],
                cwd=REPO_ROOT,
                stderr=subprocess.PIPE,
            )
            for p in range(PRODUCERS)
        ]
        for producer in producers:
            _, err = producer.communicate(timeout=90)
            assert producer.returncode == 0, err.decode(errors="replace")
        wait_for(lambda: len(_lines(record)) >= len(expected), timeout=60, message="every message delivered")
        time.sleep(1.5)  # room for a duplicate to show up
        assert worker.process.poll() is None, worker.log()
        log = worker.log()
    counts = Counter(_lines(record))
    assert set(counts) == expected
    assert [key for key, n in counts.items() if n > 1] == []
    assert "Traceback" not in log and "JSONDecodeError" not in log
    assert _rows_left(tmp_path / "broker.sqlite3") == 0  # acknowledged messages leave the broker


def _started(record: Path, key: str) -> list[int]:
    return [int(line.split()[2]) for line in _lines(record) if line.startswith(f"start {key} ")]


def test_task_whose_pool_process_is_killed_runs_again(tmp_path):
    """A pool process killed by SIGKILL mid-task hands the task back: the worker runs it again."""
    record = tmp_path / "events.txt"
    with app_broker(embedded_broker_url(tmp_path)), celery_worker(
        QUEUE, pool="prefork", concurrency=1, include="tests.platform.broker_tasks"
    ) as worker:
        app.send_task("tests.broker.hang_once", args=[str(record), "k"], queue=QUEUE)
        first_pid = wait_for(lambda: _started(record, "k"), timeout=30, message="the task to start")[0]
        assert first_pid != worker.process.pid  # the pool process, not the worker's main process
        os.kill(first_pid, signal.SIGKILL)
        wait_for(lambda: any(line.startswith("done k ") for line in _lines(record)), timeout=30, message="the rerun")
        assert worker.process.poll() is None
    pids = _started(record, "k")
    assert len(pids) == 2 and pids[1] != first_pid
    assert _rows_left(tmp_path / "broker.sqlite3") == 0  # handed back in place, not copied


def test_task_whose_worker_is_killed_runs_on_the_next_worker(tmp_path):
    """A worker killed by SIGKILL mid-task leaves its message hidden; the next worker restores and runs it."""
    record = tmp_path / "events.txt"
    with app_broker(embedded_broker_url(tmp_path)):
        with celery_worker(QUEUE, include="tests.platform.broker_tasks") as worker:
            app.send_task("tests.broker.hang_once", args=[str(record), "k"], queue=QUEUE)
            wait_for(lambda: _started(record, "k"), timeout=30, message="the task to start")
            os.killpg(worker.process.pid, signal.SIGKILL)  # no warm shutdown: nothing gets restored
            worker.process.wait(timeout=10)
        assert _rows_left(tmp_path / "broker.sqlite3") == 1
        # A visibility timeout shorter than the next worker's start: its first fetch restores the message.
        with celery_worker(QUEUE, include="tests.platform.broker_tasks", extra_env={"RIIM_BROKER_VISIBILITY_TIMEOUT": "1"}):
            wait_for(lambda: any(line.startswith("done k ") for line in _lines(record)), timeout=30, message="the rerun")
    assert len(_started(record, "k")) == 2
    assert _rows_left(tmp_path / "broker.sqlite3") == 0

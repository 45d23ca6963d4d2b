"""Start a real Celery worker process that shares the test database, broker and media folder."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connections

from riim_site.celery import app

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 90  # seconds; a cold start imports Django, Celery and every app's tasks


@dataclass
class WorkerHandle:
    """A running worker: its node name, process and log file."""

    nodename: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        """Return what the worker has logged so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def worker_env(*, settings_overrides: dict | None = None, **extra: str) -> dict:
    """Return the environment that points a worker at this test run's database, broker, media and model cache.

    settings_overrides (JSON-serialisable) are applied by riim_site.settings.test in the worker,
    for settings a test changed with pytest-django's `settings` fixture.
    """
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="riim_site.settings.test",
        RIIM_TEST_DATABASE_NAME=str(connections["default"].settings_dict["NAME"]),
        MEDIA_ROOT=str(settings.MEDIA_ROOT),
        RIIM_MODEL_CACHE_DIR=str(settings.RIIM_MODEL_CACHE_DIR),
        PYTHONUNBUFFERED="1",
    )
    # The broker this process publishes to (a test may have pointed the app at another one).
    env["CELERY_BROKER_URL"] = str(app.conf.broker_write_url)
    # And the key prefix its queues have on Redis (parallel test workers each have one; none otherwise).
    env["RIIM_TEST_REDIS_PREFIX"] = str((app.conf.broker_transport_options or {}).get("global_keyprefix", ""))
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {}
    if str(settings.CELERY_BROKER_URL).startswith("filesystem://") and "data_folder_in" in options:
        env["RIIM_TEST_BROKER_DIR"] = str(Path(options["data_folder_in"]).parent)
    if settings_overrides:
        env["RIIM_TEST_SETTINGS_JSON"] = json.dumps(settings_overrides)
    env.update(extra)
    return env


def _stop(process: subprocess.Popen, timeout: float = 15) -> None:
    """Warm-shut the worker's process group, then kill whatever is left."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)


@contextlib.contextmanager
def celery_worker(
    queues: str = "default",
    *,
    pool: str = "solo",
    concurrency: int = 1,
    max_tasks_per_child: int | None = None,
    include: str | None = None,
    settings_overrides: dict | None = None,
    extra_env: dict | None = None,
    ready_timeout: float = READY_TIMEOUT,
):
    """Run `celery worker` in a subprocess until the block ends; yield a WorkerHandle once it is ready.

    Eager mode is switched off for the block so that tasks really travel through the broker.
    The worker uses riim_site.settings.test with this run's database, broker and MEDIA_ROOT; pass
    settings the test changed as settings_overrides, and any other variables as extra_env;
    include names extra task modules (comma-separated) the worker imports.
    Use it from tests marked `@pytest.mark.django_db(transaction=True)`: the worker only sees
    committed rows.
    """
    nodename = f"test-{uuid.uuid4().hex[:8]}@%h"
    command = [
        sys.executable, "-m", "celery", "-A", "riim_site", "worker",
        "-Q", queues, "--pool", pool, "-c", str(concurrency), "-n", nodename,
        "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    if max_tasks_per_child:
        command += ["--max-tasks-per-child", str(max_tasks_per_child)]
    if include:
        command += ["--include", include]
    log_file = tempfile.NamedTemporaryFile(prefix="riim-worker-", suffix=".log", delete=False)
    log_path = Path(log_file.name)
    process = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=worker_env(settings_overrides=settings_overrides, **(extra_env or {})),
        stdout=log_file,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, so prefork children stop with it
    )
    log_file.close()
    handle = WorkerHandle(nodename=nodename, process=process, log_path=log_path)
    was_eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        deadline = time.monotonic() + ready_timeout
        while " ready." not in handle.log():
            if process.poll() is not None:
                raise RuntimeError(f"celery worker exited with {process.returncode}:\n{handle.log()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"celery worker not ready after {ready_timeout}s:\n{handle.log()}")
            time.sleep(0.2)
        handle.nodename = handle.log().split(" ready.")[0].split()[-1]
        yield handle
    finally:
        app.conf.task_always_eager = was_eager
        _stop(process)
        log_path.unlink(missing_ok=True)


@contextlib.contextmanager
def app_broker(url: str):
    """Point this process's Celery app (and so the workers celery_worker starts) at another broker.

    Eager mode is off for the block: tasks really go to that broker.
    """
    # Celery prefers a CELERY_BROKER_URL environment variable to broker_url: set the read and write URLs.
    names = ("broker_read_url", "broker_write_url", "task_always_eager")
    saved = {name: app.conf.get(name) for name in names}
    app.conf.update(broker_read_url=url, broker_write_url=url, task_always_eager=False)
    app._after_fork()  # drop the pooled connections to the previous broker
    try:
        yield url
    finally:
        app.conf.update(saved)
        app._after_fork()


def embedded_broker_url(folder: Path) -> str:
    """Return the URL of a fresh embedded (SQLite) broker in folder, whatever broker CI configured."""
    return f"riim-sqla+sqlite:///{Path(folder) / 'broker.sqlite3'}"


def wait_for(predicate, *, timeout: float = 60, interval: float = 0.25, message: str = "condition"):
    """Poll predicate() until it returns a truthy value and return it; raise TimeoutError after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)

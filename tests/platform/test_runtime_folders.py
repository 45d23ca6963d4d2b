"""The embedded defaults make their own runtime folders, or refuse to start in one line that names the folder."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.platform.worker import REPO_ROOT, wait_for

pytestmark = pytest.mark.worker

READY_TIMEOUT = 90  # seconds; a cold worker imports Django, Celery and every app's tasks


def _embedded_env(var_dir: Path, media_root: Path) -> dict:
    """The environment of `make run` on a fresh machine: no database, broker or cache configured."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("CELERY_BROKER_URL", "REDIS_URL", "CACHE_URL", "DATABASE_URL", "RIIM_MODEL_CACHE_DIR")}
    env.update(DJANGO_SETTINGS_MODULE="riim_site.settings.local", RIIM_VAR_DIR=str(var_dir), MEDIA_ROOT=str(media_root),
               PYTHONUNBUFFERED="1")
    return env


def _worker_command(name: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "riim_site", "worker", "-Q", "default", "--pool", "solo",
            "-n", f"{name}@%h", "--include", "tests.platform.broker_tasks", "--loglevel", "INFO",
            "--without-gossip", "--without-mingle", "--without-heartbeat"]


def test_a_worker_starts_from_a_var_folder_that_does_not_exist(tmp_path):
    """RIIM_VAR_DIR and MEDIA_ROOT name folders not made yet: the worker makes them and takes tasks from its broker."""
    var_dir, media_root = tmp_path / "fresh" / "var", tmp_path / "fresh" / "media"
    log_path, recorded = tmp_path / "worker.log", tmp_path / "recorded.txt"
    with open(log_path, "w") as log:
        worker = subprocess.Popen(_worker_command("fresh"), cwd=REPO_ROOT, env=_embedded_env(var_dir, media_root),
                                  stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while " ready." not in log_path.read_text(errors="replace"):
            assert worker.poll() is None, log_path.read_text(errors="replace")
            assert "unable to open database file" not in log_path.read_text(errors="replace")
            assert time.monotonic() < deadline, log_path.read_text(errors="replace")
            time.sleep(0.2)
        # The embedded broker's file is in the folder that did not exist: a message sent there is delivered.
        broker_url = f"riim-sqla+sqlite:///{var_dir / 'broker.sqlite3'}"
        subprocess.run([sys.executable, "-m", "tests.platform.broker_producer", broker_url, "default", str(recorded),
                        "fresh", "1"], cwd=REPO_ROOT, env=_embedded_env(var_dir, media_root), check=True, timeout=120)
        wait_for(lambda: recorded.exists() and recorded.read_text().split() == ["fresh-0"], timeout=60,
                 message="the task sent to the embedded broker")
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert (var_dir / "broker.sqlite3").is_file()
    assert (var_dir / "model-cache").is_dir() and media_root.is_dir()
    assert "unable to open database file" not in log_path.read_text(errors="replace")


@pytest.mark.parametrize("command", [["manage.py", "check"], ["-m", "celery", "-A", "riim_site", "beat"],
                                     ["-m", "celery", "-A", "riim_site", "worker", "-Q", "default", "--pool", "solo"]],
                         ids=["manage", "beat", "worker"])
def test_a_folder_that_cannot_be_made_is_refused_in_one_line(tmp_path, command):
    """A runtime folder under a file cannot exist: each process exits at once with one line naming it, no traceback."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    var_dir = blocker / "var"
    done = subprocess.run([sys.executable, *command], cwd=REPO_ROOT, env=_embedded_env(var_dir, tmp_path / "media"),
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "unable to open database file" not in done.stderr + done.stdout
    assert done.stderr.strip().splitlines()[-1] == (
        f"riim: cannot create the runtime folder {var_dir} (Not a directory): "
        "create it, or set RIIM_VAR_DIR to a folder this user may write"
    )

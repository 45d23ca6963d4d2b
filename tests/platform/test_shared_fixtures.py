"""Expensive fixtures are built once per run, whichever parallel test worker asks for them first."""

import os
import subprocess
import sys

from tests.fixtures.shared import COMPLETE
from tests.platform.worker import REPO_ROOT

# One parallel worker: its own temporary folder under the run's, and a build that takes a while and logs who built.
WORKER = """
import os, sys, time
from pathlib import Path
from types import SimpleNamespace
from tests.fixtures.shared import shared_folder

run = Path(sys.argv[1])
own = run / f"popen-{os.environ['PYTEST_XDIST_WORKER']}"
own.mkdir(parents=True, exist_ok=True)

def build(folder):
    with open(run / "builds.log", "a") as log:
        log.write(os.environ["PYTEST_XDIST_WORKER"] + "\\n")
    time.sleep(1)
    (folder / "model.bin").write_text("weights")

folder = shared_folder(SimpleNamespace(getbasetemp=lambda: own), "model", build)
print(folder, (folder / "model.bin").read_text())
"""


def _workers(run, names):
    return [subprocess.Popen([sys.executable, "-c", WORKER, str(run)], cwd=REPO_ROOT, text=True,
                             stdout=subprocess.PIPE, env={**os.environ, "PYTEST_XDIST_WORKER": name})
            for name in names]


def test_two_workers_share_one_build_in_the_runs_folder(tmp_path):
    """Two workers ask at once: one builds while the other waits, and both get the same finished folder."""
    outputs = [process.communicate(timeout=60)[0].split() for process in _workers(tmp_path, ("gw0", "gw1"))]
    assert outputs == [[str(tmp_path / "model"), "weights"]] * 2
    assert len((tmp_path / "builds.log").read_text().split()) == 1
    assert (tmp_path / "model" / COMPLETE).is_file()


def test_an_interrupted_build_is_made_again(tmp_path):
    """A folder left without its completion mark (a worker killed while building) is built again from scratch."""
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "half-written.tmp").write_text("")
    (process,) = _workers(tmp_path, ("gw0",))
    assert process.communicate(timeout=60)[0].split() == [str(tmp_path / "model"), "weights"]
    assert not (tmp_path / "model" / "half-written.tmp").exists()

"""Expensive fixtures are built once per run, whichever parallel test worker asks for them first, on one thread."""

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


def test_a_fixture_model_is_not_trained_on_several_threads():
    """Where TensorFlow already runs several threads, building a fixture model stops and says why, instead of
    training a model (and thresholds) that differ from one machine to the next."""
    code = ("from ml.backend import tf\ntf.constant(1.0) + 1  # the runtime starts with the environment's threads\n"
            "from tests.fixtures.models import pin_tensorflow\npin_tensorflow(0)\n")
    env = {**os.environ, "TF_NUM_INTRAOP_THREADS": "2", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 1 and "TensorFlow must run one thread here" in done.stderr

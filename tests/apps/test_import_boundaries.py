"""Django apps leave numeric work to ml/: ruff refuses ONNX Runtime, TensorFlow and tf_keras imports under apps/."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUFF = Path(sys.executable).with_name("ruff")


def _banned(module: str, where: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(RUFF), "check", "--no-cache", "--select", "TID251", "--stdin-filename", where, "-"],
        input=f"import {module}\n", capture_output=True, text=True, cwd=ROOT, timeout=60,
    )


@pytest.mark.parametrize("module", ["onnxruntime", "tensorflow", "tf_keras"])
def test_apps_may_not_import_the_ml_runtimes(module):
    """The same import is an error in an app and allowed in the engine (tf_keras only in ml/backend.py)."""
    in_app = _banned(module, "apps/lab/probe.py")
    assert in_app.returncode == 1 and f"`{module}` is banned" in in_app.stdout
    in_engine = _banned(module, "ml/backend.py" if module == "tf_keras" else "ml/probe.py")
    assert in_engine.returncode == 0, in_engine.stdout

import os

import pytest

# TensorFlow's sums come out in an order that depends on its thread count: one thread each makes the
# fixture models, and every threshold a test checks on them, the same on any machine (set before
# TensorFlow is first imported; subprocesses inherit it).
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Every test writes uploads and models to its own temporary media folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from riim_site.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False

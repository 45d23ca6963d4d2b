import os

import pytest

# TensorFlow's sums come out in an order that depends on its thread count: one thread in each test worker
# makes the fixture models, and every threshold a test checks on them, the same on any machine (set before
# TensorFlow is first imported, whatever the shell says; subprocesses inherit it). make test runs one
# worker per core instead.
os.environ["TF_NUM_INTRAOP_THREADS"] = "1"
os.environ["TF_NUM_INTEROP_THREADS"] = "1"

# Groups of tests that one parallel worker runs one after another (pytest-xdist's --dist loadgroup):
# headless Chromium is slow to start and hungry, and a real Celery worker process competes for the
# same cores, so two of either never run at once.
BROWSER_GROUP = "browser"
WORKER_GROUP = "worker"


def _drives_chromium(item) -> bool:
    return item.path.name.endswith("_browser.py") or "chromium" in getattr(item, "fixturenames", ())


def _group(item) -> str:
    """Return the worker group of a test: browsers together, real Celery workers together, else its module."""
    if item.get_closest_marker("browser"):
        return BROWSER_GROUP
    if item.get_closest_marker("worker"):
        return WORKER_GROUP
    # A module stays whole, so its module-scoped fixtures are built once, on one worker.
    return item.nodeid.split("::")[0]


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config, items):
    for item in items:
        if _drives_chromium(item) and not item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.browser)
        if not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(_group(item)))


def _commits(request) -> bool:
    marker = request.node.get_closest_marker("django_db")
    return bool(marker and marker.kwargs.get("transaction")) or bool(
        {"transactional_db", "live_server"} & set(request.fixturenames))


@pytest.fixture(autouse=True)
def _empty_cache(request):
    """A test whose writes are committed starts with an empty cache: the cache is a table of the test database
    that no rollback or flush empties, and a worker process an earlier test started left its queues' heartbeats
    there (tests that run one after another on the same parallel worker would see them)."""
    if _commits(request):
        request.getfixturevalue("django_db_setup")
        from django.core.cache import cache

        with request.getfixturevalue("django_db_blocker").unblock():
            cache.clear()


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Every test writes uploads, models and the model cache to its own temporary folders."""
    settings.MEDIA_ROOT = tmp_path / "media"
    # Cached copies are keyed by row ids, which a later test's rows may reuse.
    settings.RIIM_MODEL_CACHE_DIR = tmp_path / "model-cache"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from riim_site.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False

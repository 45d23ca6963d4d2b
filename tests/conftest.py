import pytest


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Every test writes uploads and models to its own temporary media folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from riim_site.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False

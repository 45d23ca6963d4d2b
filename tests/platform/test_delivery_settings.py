"""Delivery settings: which broker each environment gets and which options reach its transport."""

import json
import os
import subprocess
import sys

from apps.training.tasks import training_run_execute_task
from apps.uploads.tasks import image_process_task
from riim_site.celery import app
from tests.platform.worker import REPO_ROOT

PRINT_SETTINGS = (
    "import json; from django.conf import settings as s; print(json.dumps({"
    "'url': s.CELERY_BROKER_URL, 'options': s.CELERY_BROKER_TRANSPORT_OPTIONS, "
    "'disable_prefetch': s.CELERY_WORKER_DISABLE_PREFETCH}))"
)


def _settings_with(tmp_path, module="riim_site.settings.local", **env):
    clean = {k: v for k, v in os.environ.items()
             if k not in ("CELERY_BROKER_URL", "REDIS_URL", "PYTEST_XDIST_WORKER", "RIIM_TEST_REDIS_PREFIX")}
    clean.update(DJANGO_SETTINGS_MODULE=module, RIIM_VAR_DIR=str(tmp_path), **env)
    out = subprocess.run([sys.executable, "-c", PRINT_SETTINGS], cwd=REPO_ROOT, env=clean, capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_embedded_default_is_the_sqlite_broker_with_a_visibility_timeout(tmp_path):
    """Without a broker URL, make run's broker is var/broker.sqlite3 and abandoned tasks come back after 600 s."""
    conf = _settings_with(tmp_path)
    assert conf["url"] == f"riim-sqla+sqlite:///{tmp_path / 'broker.sqlite3'}"
    assert conf["options"] == {"visibility_timeout": 600}
    assert conf["disable_prefetch"] is False


def test_redis_gets_the_visibility_timeout_and_no_prefetch(tmp_path):
    """On Redis a killed short task comes back after the timeout; a busy worker fetches nothing ahead."""
    conf = _settings_with(tmp_path, CELERY_BROKER_URL="redis://127.0.0.1:6379/0", RIIM_BROKER_VISIBILITY_TIMEOUT="300")
    assert conf["options"] == {"visibility_timeout": 300}
    assert conf["disable_prefetch"] is True


def test_explicit_filesystem_and_plain_sqlalchemy_brokers_still_work(tmp_path):
    """filesystem:// keeps its folders and kombu's own sqla+ gets no option it would pass to create_engine."""
    assert _settings_with(tmp_path, CELERY_BROKER_URL="filesystem://")["options"]["data_folder_in"].startswith(str(tmp_path))
    assert _settings_with(tmp_path, CELERY_BROKER_URL=f"sqla+sqlite:///{tmp_path}/k.sqlite3")["options"] == {}


def test_parallel_test_workers_on_one_redis_keep_their_queues_apart(tmp_path):
    """Each parallel test worker (and the Celery workers it starts) puts its queues under a Redis key prefix of
    its own, so one never takes the other's tasks; a run without parallel workers keeps the plain keys."""
    redis = {"module": "riim_site.settings.test", "CELERY_BROKER_URL": "redis://127.0.0.1:6379/5"}
    prefixes = [_settings_with(tmp_path, **redis, PYTEST_XDIST_WORKER=name)["options"].get("global_keyprefix")
                for name in ("gw0", "gw1")]
    assert all(prefixes) and prefixes[0] != prefixes[1]
    assert "global_keyprefix" not in _settings_with(tmp_path, **redis)["options"]


def test_a_celery_worker_started_by_a_test_uses_its_publishers_prefix(tmp_path):
    """The worker a test starts reads its publisher's prefix (none when the publisher had none, as when a test
    points the app at a Redis of its own while the run's broker is another), whatever worker it runs under."""
    redis = {"module": "riim_site.settings.test", "CELERY_BROKER_URL": "redis://127.0.0.1:6390/0", "PYTEST_XDIST_WORKER": "gw1"}
    assert "global_keyprefix" not in _settings_with(tmp_path, **redis, RIIM_TEST_REDIS_PREFIX="")["options"]
    assert _settings_with(tmp_path, **redis, RIIM_TEST_REDIS_PREFIX="riim-test-gw0:")["options"]["global_keyprefix"] == (
        "riim-test-gw0:")


def test_short_tasks_ack_late_and_training_acks_on_receipt():
    """Short tasks run again when their worker dies; a training run is never delivered twice."""
    assert app.conf.task_acks_late is True and app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert image_process_task.acks_late is True
    assert training_run_execute_task.acks_late is False

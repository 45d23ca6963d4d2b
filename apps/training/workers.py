"""Whether a worker listens on a run's queue, so that a run nobody can pick up says so instead of waiting forever.

Celery's remote control (`control.inspect().active_queues()`) travels on a broadcast exchange, which the
embedded SQLite broker does not have. So every worker writes the queues it consumes into the shared cache
(`QueueHeartbeat`, a consumer step riim_site.celery adds), every RIIM_QUEUE_HEARTBEAT_SECONDS, with
entries that expire after a few missed beats; a reader's check is one cache read, on any broker.
"""

import logging
import time
from dataclasses import dataclass

from celery import bootsteps
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)

NO_WORKER = _(
    "No worker has picked this run up: no worker is listening on the `%(queue)s` queue. The run stays queued "
    "until one starts: `celery -A riim_site worker -Q %(queue)s` (`make run` starts it)."
)
CACHE_KEY = "riim:queue-listened:{broker}:{queue}"
# A queue counts as listened to until this many beats in a row are missing (a busy machine may delay one).
MISSED_BEATS = 3


@dataclass(frozen=True)
class WorkerNotice:
    """Why a queued run has not started: nobody listens on its queue (and for how long it has waited)."""

    queue: str
    waited_seconds: int
    message: str


def queues_heartbeat(queues: list[str]) -> None:
    """Record in the shared cache that a worker consumes these queues now."""
    from django.core.cache import cache
    from django.db import close_old_connections

    timeout = settings.RIIM_QUEUE_HEARTBEAT_SECONDS * MISSED_BEATS
    try:
        close_old_connections()  # the timer's thread keeps its own connection to a database cache
        cache.set_many({_key(queue): time.time() for queue in queues}, timeout=timeout)
    except Exception:  # a cache or database hiccup must not stop the worker; the next beat tries again
        logger.warning("could not record the queues %s in the shared cache", ", ".join(queues), exc_info=True)


def queue_listened(queue: str) -> bool:
    """Return whether a worker consuming `queue` gave a sign of life within the last few heartbeats."""
    from django.core.cache import cache

    return cache.get(_key(queue)) is not None


def _key(queue: str) -> str:
    """The cache key of a queue on this process's broker: a worker on another broker serves none of our runs.

    The broker is named by a hash of its URL and key prefix (no password stored), the same in the web
    process and in the workers that share its configuration.
    """
    import hashlib

    from riim_site.celery import app

    url = str(app.conf.broker_write_url or app.conf.broker_url)  # where this process sends its tasks
    # Only Redis honours a key prefix; a process pointed at another broker may still carry its Redis options.
    prefix = (app.conf.broker_transport_options or {}).get("global_keyprefix", "") if _is_redis(url) else ""
    broker = f"{url}|{prefix}"
    return CACHE_KEY.format(broker=hashlib.sha256(broker.encode()).hexdigest()[:12], queue=queue)


def _is_redis(url: str) -> bool:
    return url.startswith(("redis://", "rediss://"))


def training_run_queue(*, run) -> str:
    """Return the queue the run's task is routed to (`quick` for a quick run, `training` for a full one)."""
    from apps.training.models import TrainingRun
    from apps.training.tasks import quick_run_execute_task, training_run_execute_task
    from riim_site.celery import app

    task = quick_run_execute_task if run.mode == TrainingRun.Mode.QUICK else training_run_execute_task
    return app.amqp.router.route({}, task.name)["queue"].name


def training_run_worker_notice(*, run) -> WorkerNotice | None:
    """Return a notice when the run is still queued past RIIM_WORKER_PICKUP_SECONDS and no worker listens on its queue.

    A queue some worker listens on gets no notice: the run waits behind other work, and starts.
    """
    from apps.training.models import TrainingRun
    from riim_site.celery import app

    if run.status != TrainingRun.Status.QUEUED or app.conf.task_always_eager:
        return None
    waited = (timezone.now() - run.created_at).total_seconds()
    if waited < settings.RIIM_WORKER_PICKUP_SECONDS:
        return None
    queue = training_run_queue(run=run)
    if queue_listened(queue):
        return None
    return WorkerNotice(queue=queue, waited_seconds=int(waited), message=str(NO_WORKER % {"queue": queue}))


class QueueHeartbeat(bootsteps.StartStopStep):
    """A worker's consumer step: write the queues it consumes to the shared cache now and every few seconds."""

    requires = {"celery.worker.consumer.tasks:Tasks"}

    def __init__(self, parent, **kwargs):
        super().__init__(parent, **kwargs)
        self.timer_entry = None

    def start(self, consumer):
        queues = sorted(queue.name for queue in consumer.task_consumer.queues)
        queues_heartbeat(queues)
        self.timer_entry = consumer.timer.call_repeatedly(settings.RIIM_QUEUE_HEARTBEAT_SECONDS, queues_heartbeat,
                                                          (queues,))

    def stop(self, consumer):
        if self.timer_entry is not None:
            self.timer_entry.cancel()
            self.timer_entry = None

"""Publish COUNT messages to the broker tests' record task: `python -m tests.platform.broker_producer URL QUEUE PATH PREFIX COUNT`.

A bare Celery app (no Django) so that several producer processes start quickly; it speaks the same
protocol and transport as the platform's own.
"""

import sys

from celery import Celery

from riim_site import broker


def main(url: str, queue: str, path: str, prefix: str, count: int) -> None:
    broker.register()
    app = Celery("riim-broker-producer", set_as_current=False)
    app.conf.broker_write_url = url  # wins over a CELERY_BROKER_URL in the environment (CI's Redis)
    with app.producer_or_acquire() as producer:
        for i in range(count):
            app.send_task("tests.broker.record", args=[path, f"{prefix}-{i}"], queue=queue, producer=producer)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))

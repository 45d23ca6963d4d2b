"""With DATABASE_URL and CELERY_BROKER_URL set (as in CI), the suite really talks to PostgreSQL and Redis."""

import os

import pytest
from django.db import connection

from riim_site.celery import app

pytestmark = [
    pytest.mark.services,
    pytest.mark.skipif(
        not (os.environ.get("DATABASE_URL") and os.environ.get("CELERY_BROKER_URL")),
        reason="needs DATABASE_URL and CELERY_BROKER_URL (set by .ci/run and the CI workflow)",
    ),
]


@pytest.mark.django_db
def test_database_is_postgresql():
    """The configured database is PostgreSQL and answers a query."""
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        assert "PostgreSQL" in cursor.fetchone()[0]


def test_broker_is_redis_and_answers_ping():
    """The Celery broker is Redis and answers PING through kombu's own connection."""
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=3)
        assert conn.transport.driver_type == "redis"
        assert conn.default_channel.client.ping() is True

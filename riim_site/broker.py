"""The embedded broker: kombu's SQLAlchemy transport, changed so that no message is lost.

kombu's own SQLAlchemy channel hides a fetched row (visible=False) and keeps it forever, so an
acknowledged message and one whose worker died before acknowledging look alike: the second is
never delivered again. This channel

* deletes a row when its message is acknowledged (or rejected without requeue),
* makes the same row visible again when its message is rejected with requeue or restored at a
  clean shutdown (kombu would insert a copy and keep the hidden original),
* makes rows hidden for longer than ``visibility_timeout`` seconds visible again (the option of
  the same name and meaning as Redis's), when a consumer starts and then every
  ``visibility_check_interval`` seconds, except the rows this process itself still holds;
* gives every process its own engine (a forked worker child must not share its parent's SQLite
  connections) and puts SQLite in WAL mode with a long busy timeout, so producers in several
  processes and the consumers wait for the write lock instead of failing.

Each publish and each fetch is one database transaction, unlike the filesystem transport, whose
half-written message files a consumer can read.

URL: ``riim-sqla+<SQLAlchemy URL>``, e.g. ``riim-sqla+sqlite:////srv/riim/var/broker.sqlite3``;
riim_site.celery registers the name.
"""

import datetime
import logging
import os
import threading
import time
from json import loads
from queue import Empty

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import sqlalchemy as kombu_sqla
from kombu.utils.encoding import bytes_to_str
from sqlalchemy import create_engine, delete, event, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import sessionmaker

logger = logging.getLogger(__name__)

TRANSPORT_NAME = "riim-sqla"
_ENGINES: dict = {}  # (pid, url) -> (engine, Session)
_ENGINES_LOCK = threading.Lock()


def register() -> None:
    """Make `riim-sqla+<url>` broker URLs resolve to this transport."""
    TRANSPORT_ALIASES.setdefault(TRANSPORT_NAME, f"{__name__}:Transport")


def _sqlite_connect(dbapi_connection, _record):
    # WAL lets producers append while a consumer reads; NORMAL sync is still safe against a
    # killed process (only a power cut can lose the last commits).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _utcnow() -> datetime.datetime:
    # Naive, like kombu's column; UTC so that a daylight-saving change does not age hidden rows.
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


class Channel(kombu_sqla.Channel):
    """A SQLAlchemy channel that deletes acknowledged rows and restores abandoned ones."""

    from_transport_options = (
        *kombu_sqla.Channel.from_transport_options,
        "visibility_timeout",
        "visibility_check_interval",
    )
    visibility_timeout = 300.0  # seconds a fetched, unacknowledged row stays hidden
    visibility_check_interval = 30.0  # seconds between two looks for abandoned rows

    def __init__(self, connection, **kwargs):
        self._row_ids = {}  # delivery tag -> message row id, for messages this channel holds
        self._next_visibility_check = 0.0  # 0: look at the first fetch, i.e. when a worker starts
        super().__init__(connection, **kwargs)

    def _engine_from_config(self):
        conninfo = self.connection.client
        # Only `engine_options` go to create_engine: the other options belong to kombu and Celery.
        options = dict(conninfo.transport_options.get("engine_options") or {})
        url = conninfo.hostname
        if url.startswith("sqlite"):
            # Wait up to 60 s for the write lock instead of failing at once.
            options.setdefault("connect_args", {}).setdefault("timeout", 60)
        engine = create_engine(url, **options)
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_connect)
        return engine

    def _open(self):
        key = (os.getpid(), self.connection.client.hostname)
        with _ENGINES_LOCK:
            if key not in _ENGINES:
                engine = self._engine_from_config()
                try:
                    kombu_sqla.metadata.create_all(engine)
                except OperationalError:  # another process created the tables between check and create
                    kombu_sqla.metadata.create_all(engine)
                _ENGINES[key] = engine, sessionmaker(bind=engine)
        return _ENGINES[key]

    def _get_or_create(self, queue):
        try:
            return super()._get_or_create(queue)
        except IntegrityError:  # another process inserted the same queue name first: use its row
            self.session.rollback()
            return self.session.query(self.queue_cls).filter(self.queue_cls.name == queue).one()

    @property
    def engine(self):
        return self._open()[0]

    def _get(self, queue):
        self._maybe_restore_visible()
        queue_obj = self._get_or_create(queue)
        session = self.session
        if session.bind.name == "sqlite":
            session.execute(text("BEGIN IMMEDIATE TRANSACTION"))
        try:
            row = (
                session.query(self.message_cls)
                .with_for_update()
                .filter(self.message_cls.queue_id == queue_obj.id)
                .filter(self.message_cls.visible.is_(True))
                .order_by(self.message_cls.sent_at, self.message_cls.id)
                .limit(1)
                .first()
            )
            if row is None:
                raise Empty()
            row.visible = False
            row.sent_at = _utcnow()  # the moment it was hidden (kombu's onupdate would use local time)
            row_id, payload = row.id, row.payload
        finally:
            session.commit()
        message = loads(bytes_to_str(payload))
        self._row_ids[message["properties"]["delivery_tag"]] = row_id
        return message

    def basic_ack(self, delivery_tag, multiple=False):
        self._row_delete(delivery_tag)
        super().basic_ack(delivery_tag, multiple=multiple)

    def basic_reject(self, delivery_tag, requeue=False):
        if not requeue:
            self._row_delete(delivery_tag)
        super().basic_reject(delivery_tag, requeue=requeue)  # with requeue: calls _restore

    def _restore(self, message):
        row_id = self._row_ids.pop(message.delivery_tag, None)
        if row_id is not None:
            table = self.message_cls.__table__
            with self.engine.begin() as conn:
                shown = conn.execute(update(table).where(table.c.id == row_id).values(visible=True)).rowcount
            if shown:
                return
        super()._restore(message)  # not a row of ours (or already gone): publish it again

    def _row_delete(self, delivery_tag):
        row_id = self._row_ids.pop(delivery_tag, None)
        if row_id is None:
            return
        table = self.message_cls.__table__
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(table).where(table.c.id == row_id))
        except OperationalError:
            # The message was handled: at worst it is delivered again after the visibility timeout.
            logger.warning("broker: could not delete acknowledged message row %s", row_id, exc_info=True)

    def _maybe_restore_visible(self):
        now = time.monotonic()
        if now < self._next_visibility_check:
            return
        self._next_visibility_check = now + float(self.visibility_check_interval)
        restored = self.restore_visible()
        if restored:
            logger.warning("broker: %d unacknowledged message(s) hidden for over %ss made visible again",
                           restored, self.visibility_timeout)

    def restore_visible(self, *, older_than: float | None = None) -> int:
        """Make rows hidden for longer than the visibility timeout visible again; return how many."""
        timeout = self.visibility_timeout if older_than is None else older_than
        cutoff = _utcnow() - datetime.timedelta(seconds=float(timeout))
        table = self.message_cls.__table__
        held = list(self._row_ids.values())  # rows this live process still works on
        statement = update(table).where(table.c.visible.is_(False), table.c.timestamp < cutoff)
        if held:
            statement = statement.where(table.c.id.not_in(held))
        with self.engine.begin() as conn:
            return conn.execute(statement.values(visible=True)).rowcount


class Transport(kombu_sqla.Transport):
    """kombu's SQLAlchemy transport with the channel above."""

    Channel = Channel

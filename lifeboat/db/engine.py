"""Engine and sessions. One engine per process, created lazily from config.

SQLite (embedded) runs in WAL mode with synchronous=NORMAL and a busy timeout so
API threads and compute threads can write concurrently without 'database is
locked'. Every unit of work is a short transaction (`transaction()`).
"""
import contextlib
import os
import threading
import time

import sqlalchemy as sa
from sqlalchemy import event, exc as sa_exc
from sqlalchemy.orm import sessionmaker

from lifeboat import exception
from lifeboat.conf import CONF

# A pooled server connection is pinged at checkout only if it sat unused this
# long (seconds). Pinging at every checkout (SQLAlchemy's pool_pre_ping) was a
# sixth of a busy all-in-one's time at 1,000 hosts; a connection checked in a
# moment ago was alive a moment ago, and should the server go away in that
# moment the statement fails, the pool is invalidated and the caller gets the
# same 503 a failed ping would have led to.
PING_AFTER_IDLE = 1.0

# Largest integer every supported database stores (signed 64 bit); ids and
# numbers beyond it cannot exist and must not reach a driver.
MAX_INT = 2 ** 63 - 1

_lock = threading.Lock()
_engine = None
_sessionmaker = None


def database_url():
    if CONF.database.connection:
        return CONF.database.connection
    os.makedirs(CONF.state_path, exist_ok=True)
    return "sqlite:///" + os.path.join(CONF.state_path, "lifeboat.sqlite")


def _configure_sqlite(dbapi_connection, _record):
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _sqlite_begin(conn):
    # Writers take the lock at BEGIN so a compare-and-swap never fails on lock
    # upgrade; readers begin deferred and run alongside (WAL).
    if conn.get_execution_options().get("lifeboat_read"):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def get_engine():
    global _engine, _sessionmaker
    if _engine is None:
        with _lock:
            if _engine is None:
                url = database_url()
                if url.startswith("sqlite"):
                    engine = sa.create_engine(
                        url, connect_args={"check_same_thread": False,
                                           "timeout": 30},
                        pool_size=20, max_overflow=20)
                    event.listen(engine, "connect", _configure_sqlite)
                    # pysqlite's own BEGIN handling defers locks; take the write
                    # lock at BEGIN so compare-and-swap never deadlocks.
                    event.listen(engine, "begin", _sqlite_begin)

                    @event.listens_for(engine, "connect")
                    def _no_autobegin(dbapi_connection, _record):
                        dbapi_connection.isolation_level = None
                else:
                    # pool_timeout bounds both the wait for a pooled connection
                    # and a new connection's handshake, so a request fails with
                    # 503 within it when the server is away (never a hang).
                    timeout = CONF.database.pool_timeout
                    engine = sa.create_engine(
                        url, pool_size=CONF.database.max_pool_size,
                        pool_timeout=timeout, max_overflow=20,
                        connect_args=_connect_args(url, timeout))
                    event.listen(engine, "checkin", _note_checkin)
                    event.listen(engine, "checkout", _ping_if_idle(engine.dialect))
                _sessionmaker = sessionmaker(engine, expire_on_commit=False)
                _engine = engine
    return _engine


def _note_checkin(_dbapi_connection, record):
    if record is not None:
        record.info["lifeboat_checkin"] = time.monotonic()


def _ping_if_idle(dialect):
    """A checkout listener: SQLAlchemy's pre-ping, only for a connection idle
    longer than PING_AFTER_IDLE. Raising DisconnectionError makes the pool
    drop the connection and check out (or open) another."""
    def listener(dbapi_connection, record, _proxy):
        last = record.info.get("lifeboat_checkin")
        if last is not None and time.monotonic() - last < PING_AFTER_IDLE:
            return
        try:
            alive = dialect.do_ping(dbapi_connection)
        except Exception as e:
            if not dialect.is_disconnect(e, dbapi_connection, None):
                raise
            alive = False
        if not alive:
            raise sa_exc.DisconnectionError("connection lost while idle in the pool")
    return listener


def _connect_args(url, timeout):
    driver = sa.engine.make_url(url).get_driver_name()
    if driver in ("psycopg", "psycopg2", "pymysql", "mysqldb"):
        return {"connect_timeout": max(1, int(timeout))}
    return {}


# Values named in one `col IN (...)`: well under the bind-parameter limits of
# SQLite (32,766) and PostgreSQL (65,535), so one statement per page of any
# realistic size.
IN_CHUNK = 5000


def in_chunks(values):
    """The distinct, non-empty `values`, sorted, in lists of at most IN_CHUNK:
    one `IN (...)` each."""
    values = sorted({v for v in values if v})
    return [values[i:i + IN_CHUNK] for i in range(0, len(values), IN_CHUNK)]


def changed_between(query, model, filters):
    """Nova's changes-since / changes-before filters on a model's update time
    (its creation time if it was never updated)."""
    changed = sa.func.coalesce(model.updated_at, model.created_at)
    if filters.get("changes_since"):
        query = query.where(changed >= filters["changes_since"])
    if filters.get("changes_before"):
        query = query.where(changed <= filters["changes_before"])
    return query


def dispose():
    """Forget the engine (tests, and after fork in API workers)."""
    global _engine, _sessionmaker
    with _lock:
        if _engine is not None:
            _engine.dispose()
        _engine = None
        _sessionmaker = None


@contextlib.contextmanager
def _unavailable_on_lost_connection():
    """A lost database connection surfaces as ServiceUnavailable (503), never 500."""
    try:
        yield
    except (sa_exc.OperationalError, sa_exc.InterfaceError) as e:
        if _is_connection_error(e):
            raise exception.ServiceUnavailable(
                reason="The database is unavailable; try again later.") from e
        raise
    except (sa_exc.TimeoutError, sa_exc.DisconnectionError) as e:
        # every pooled connection busy for pool_timeout, or a dead one found
        raise exception.ServiceUnavailable(
            reason="The database is unavailable; try again later.") from e


_READ_OPTIONS = {"default": {"lifeboat_read": True},
                 "postgresql": {"lifeboat_read": True, "isolation_level": "AUTOCOMMIT"}}


@contextlib.contextmanager
def transaction(read_only=False):
    """A session in one transaction: committed on success, rolled back on error.

    read_only: the caller only reads. On SQLite the transaction then begins
    deferred (see _sqlite_begin). On PostgreSQL each statement runs on its own
    (autocommit): at READ COMMITTED, PostgreSQL's default, a statement in a
    transaction takes a fresh snapshot anyway, so it sees what it would have,
    without the BEGIN and COMMIT round trips (two of the three of a one-query
    read). Not on MariaDB: its driver would spend a round trip switching
    autocommit on and more switching it back.

    A lost database connection surfaces as ServiceUnavailable (503), never 500.
    """
    engine = get_engine()
    session = _sessionmaker()
    try:
        with _unavailable_on_lost_connection(), session.begin():
            if read_only:
                session.connection(execution_options=_READ_OPTIONS.get(
                    engine.name, _READ_OPTIONS["default"]))
            yield session
    finally:
        session.close()


@contextlib.contextmanager
def core_transaction():
    """A Core connection in one transaction, for hot single statements (the
    heartbeat) where an ORM session's set-up costs more than the statement:
    about 0.3 ms of CPU instead of 0.75 ms on PostgreSQL. Same error mapping
    as transaction()."""
    with _unavailable_on_lost_connection(), get_engine().begin() as conn:
        yield conn


def _is_connection_error(error):
    if getattr(error, "connection_invalidated", False):
        return True
    text = str(error.orig if hasattr(error, "orig") else error).lower()
    return any(s in text for s in ("connect", "server closed", "gone away",
                                   "lost connection", "terminating connection",
                                   "timeout", "shutting down", "starting up",
                                   "in recovery mode", "broken pipe"))

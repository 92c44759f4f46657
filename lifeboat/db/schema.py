"""Database schema management through Alembic, without an alembic.ini.

Every service may call `sync()` at start-up, so it must be safe when several
processes start together against one database: PostgreSQL and MySQL/MariaDB
serialize upgraders with a named lock, SQLite with its write lock (the engine
begins transactions IMMEDIATE), and a lost race that still surfaces ("table
already exists", duplicate version row) is retried once after a short sleep.
"""
import contextlib
import os
import random
import time

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import exc as sa_exc

from lifeboat.db import engine as db_engine
from lifeboat.db.models import Base

SCRIPT_LOCATION = os.path.join(os.path.dirname(os.path.abspath(__file__)), "alembic")
_LOCK_NAME = "lifeboat-schema"
_PG_LOCK_KEY = 0x11FEB0A7  # arbitrary, constant across processes
_LOCK_TIMEOUT = 300  # seconds a MySQL upgrader waits for another one
_RACE_MARKERS = ("already exists", "duplicate", "unique constraint",
                 "database is locked")


def alembic_config(connection=None):
    """An Alembic Config pointing at the packaged scripts (works when installed)."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head():
    """The revision the code expects (the newest migration script)."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current():
    """The revision the database is at, or None if it was never migrated."""
    with db_engine.get_engine().connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def sync():
    """Upgrade the database to head, creating the schema if it is empty.

    Returns the revision the database is at afterwards.
    """
    try:
        return _upgrade()
    except (sa_exc.IntegrityError, sa_exc.OperationalError,
            sa_exc.ProgrammingError) as e:
        if not any(m in str(e).lower() for m in _RACE_MARKERS):
            raise
        # Another process won the race; by now it has (nearly) finished.
        time.sleep(0.5 + random.random())
        return _upgrade()


def _upgrade():
    with db_engine.get_engine().connect() as conn:
        with _migration_lock(conn):
            # One transaction for the whole upgrade: atomic on PostgreSQL and
            # SQLite (whose BEGIN is IMMEDIATE, i.e. it takes the write lock).
            with conn.begin():
                command.upgrade(alembic_config(conn), "head")
        return MigrationContext.configure(conn).get_current_revision()


@contextlib.contextmanager
def _migration_lock(conn):
    """Hold a server-side named lock for the session (no-op on SQLite)."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        acquire = sa.text("SELECT pg_advisory_lock(:k)").bindparams(k=_PG_LOCK_KEY)
        release = sa.text("SELECT pg_advisory_unlock(:k)").bindparams(k=_PG_LOCK_KEY)
    elif dialect in ("mysql", "mariadb"):
        acquire = sa.text("SELECT GET_LOCK(:n, :t)").bindparams(n=_LOCK_NAME,
                                                               t=_LOCK_TIMEOUT)
        release = sa.text("SELECT RELEASE_LOCK(:n)").bindparams(n=_LOCK_NAME)
    else:
        yield
        return
    got = conn.execute(acquire).scalar()
    conn.commit()  # session-level locks outlive the transaction
    if dialect != "postgresql" and got != 1:
        raise RuntimeError("timed out waiting for another schema upgrade "
                           f"(lock {_LOCK_NAME!r})")
    try:
        yield
    finally:
        if conn.in_transaction():
            conn.rollback()
        conn.execute(release)
        conn.commit()


def check_models_match():
    """Differences between models.py and the migrated schema (empty = in sync).

    A test calls this so a model change without a migration fails CI. Alembic
    leaves its own alembic_version table out of the comparison.
    """
    with db_engine.get_engine().connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

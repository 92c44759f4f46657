"""Alembic environment for Lifeboat.

Configured programmatically by `lifeboat.db.schema` (no alembic.ini needed), so it
works from an installed package. The caller may hand over an open connection in
`config.attributes["connection"]`: schema.sync() does, so the migration runs inside
the lock/transaction it holds. Otherwise the service's own engine is used.
"""
from alembic import context

from lifeboat.db import engine as db_engine
from lifeboat.db.models import Base

config = context.config
target_metadata = Base.metadata


def _options(dialect_name):
    # SQLite cannot ALTER most things in place; batch mode rebuilds tables.
    return dict(target_metadata=target_metadata, compare_type=True,
                render_as_batch=dialect_name == "sqlite")


def run_migrations_offline():
    """Emit SQL to stdout (`alembic upgrade --sql`) for DBAs who apply it by hand."""
    url = config.get_main_option("sqlalchemy.url") or db_engine.database_url()
    context.configure(url=url, literal_binds=True,
                      dialect_opts={"paramstyle": "named"},
                      **_options(url.split(":", 1)[0].split("+", 1)[0]))
    with context.begin_transaction():
        context.run_migrations()


def _run(connection):
    context.configure(connection=connection, **_options(connection.dialect.name))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    with db_engine.get_engine().connect() as connection:
        _run(connection)
        connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

"""lifeboat-manage: schema sync/version on every backend, and the sample config.

main() runs in-process; oslo.config's CONF is global, so every test leaves it
cleared and the engine disposed for whoever runs next.
"""
import re
import subprocess
import sys
import uuid

import pytest
import sqlalchemy as sa

import lifeboat.conf
from lifeboat.cmd import manage
from lifeboat.conf import CONF, opts
from lifeboat.db import engine as db_engine
from lifeboat.db import models, schema


@pytest.fixture(autouse=True)
def _clean_conf():
    CONF.clear()
    db_engine.dispose()
    yield
    CONF.clear()
    db_engine.dispose()


def write_conf(tmp_path, url):
    path = tmp_path / "lifeboat.conf"
    path.write_text(f"[DEFAULT]\nstate_path = {tmp_path / 'state'}\n"
                    f"[database]\nconnection = {url}\n")
    return str(path)


@pytest.fixture
def sqlite_conf(tmp_path):
    return write_conf(tmp_path, f"sqlite:///{tmp_path / 'lifeboat.sqlite'}")


def run(capsys, *argv):
    rc = manage.main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def table_names(conf_file):
    lifeboat.conf.parse_args(["--config-file", conf_file])
    db_engine.dispose()
    try:
        return set(sa.inspect(db_engine.get_engine()).get_table_names())
    finally:
        db_engine.dispose()


def models_diff(conf_file):
    lifeboat.conf.parse_args(["--config-file", conf_file])
    db_engine.dispose()
    try:
        return schema.check_models_match()
    finally:
        db_engine.dispose()


def check_backend(capsys, conf_file):
    """Sync twice, then the version is head and the schema matches the models."""
    for _ in range(2):
        rc, out, err = run(capsys, "--config-file", conf_file, "db", "sync")
        assert rc == 0, err
        assert schema.head() in out
    assert set(models.Base.metadata.tables) | {"alembic_version"} == \
        table_names(conf_file)
    rc, out, err = run(capsys, "--config-file", conf_file, "db", "version")
    assert (rc, out.strip()) == (0, schema.head()), err
    assert models_diff(conf_file) == []


def test_db_sync_creates_schema_and_is_idempotent(capsys, sqlite_conf):
    check_backend(capsys, sqlite_conf)


def test_db_version_before_sync_is_none(capsys, sqlite_conf):
    rc, out, _ = run(capsys, "--config-file", sqlite_conf, "db", "version")
    assert (rc, out.strip()) == (0, "None")


def test_concurrent_sync(tmp_path, sqlite_conf):
    sync_concurrently(sqlite_conf)
    assert "instances" in table_names(sqlite_conf)


def sync_concurrently(conf_file, n=4):
    """Services started together each run sync(); none may fail."""
    procs = [subprocess.Popen(
        [sys.executable, "-m", "lifeboat.cmd.manage", "--config-file", conf_file,
         "db", "sync"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(n)]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert schema.head() in out


def test_unreachable_database_fails_cleanly(capsys, tmp_path):
    conf = write_conf(tmp_path, f"sqlite:///{tmp_path / 'missing' / 'dir' / 'x.sqlite'}")
    rc, out, err = run(capsys, "--config-file", conf, "db", "sync")
    assert rc == 1
    assert "ERROR: cannot use the database" in err
    assert "Traceback" not in err


def test_missing_config_file_fails_cleanly(capsys, tmp_path):
    rc, _, err = run(capsys, "--config-file", str(tmp_path / "nope.conf"),
                     "db", "version")
    assert rc == 1 and "nope.conf" in err


def test_main_leaves_conf_usable(capsys, sqlite_conf):
    """The sub-command opt is unregistered again: plain parse_args still works."""
    assert run(capsys, "config", "sample")[0] == 0
    lifeboat.conf.parse_args(["--config-file", sqlite_conf])
    assert CONF.database.connection.startswith("sqlite:///")


def test_config_sample_documents_every_option(capsys):
    rc, out, err = run(capsys, "config", "sample")
    assert rc == 0, err
    sections = dict(re.findall(r"^\[(\w+)\]\n(.*?)(?=^\[|\Z)", out, re.M | re.S))
    for group, group_opts in opts.list_opts():
        name = "DEFAULT" if group is None else getattr(group, "name", group)
        assert name in sections, name
        body = sections[name]
        comments = "".join(line.lstrip("#") for line in body.splitlines()
                           if line.startswith("# "))
        comments = "".join(comments.split())
        for opt in group_opts:
            assert re.search(rf"^#{re.escape(opt.dest)} =", body, re.M), \
                f"[{name}] {opt.dest} missing"
            assert "".join(opt.help.split()) in comments, \
                f"[{name}] {opt.dest} help missing"


# -- real database servers -------------------------------------------------

@pytest.fixture
def postgres_url():
    psycopg = pytest.importorskip("psycopg")
    name = "lifeboat_test_" + uuid.uuid4().hex[:10]
    try:
        admin = psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres",
                                autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as e:
        pytest.skip(f"PostgreSQL not reachable: {e}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        finally:
            db_engine.dispose()
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def mariadb_url():
    pymysql = pytest.importorskip("pymysql")
    name = "lifeboat_test_" + uuid.uuid4().hex[:10]
    try:
        admin = pymysql.connect(host="127.0.0.1", port=3306, user="root",
                                autocommit=True, connect_timeout=5)
    except pymysql.err.OperationalError as e:
        pytest.skip(f"MariaDB not reachable: {e}")
    with admin, admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        try:
            yield f"mysql+pymysql://root@127.0.0.1:3306/{name}?charset=utf8mb4"
        finally:
            db_engine.dispose()
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")


@pytest.mark.distributed
def test_db_sync_postgresql(capsys, tmp_path, postgres_url):
    conf = write_conf(tmp_path, postgres_url)
    sync_concurrently(conf)
    check_backend(capsys, conf)


@pytest.mark.distributed
def test_db_sync_mariadb(capsys, tmp_path, mariadb_url):
    conf = write_conf(tmp_path, mariadb_url)
    sync_concurrently(conf)
    check_backend(capsys, conf)

"""Fixtures for the distributed suite: real processes over RabbitMQ and
PostgreSQL/MariaDB (scripts/ensure-services.sh starts them for `make test`).

Every test module gets its own database (created and dropped around the module)
and its own RabbitMQ virtual host, so leftovers never cross modules.
"""
import tempfile

import pytest

from tests.distributed import harness

SERVICES = {5432: "PostgreSQL", 3306: "MariaDB", 5672: "RabbitMQ"}


def require(*ports):
    missing = [SERVICES[p] for p in ports if not harness.port_open(p)]
    if missing:
        pytest.fail("%s not reachable on 127.0.0.1: run scripts/ensure-services.sh"
                    % ", ".join(missing), pytrace=False)


@pytest.fixture(scope="module")
def workdir():
    path = tempfile.mkdtemp(prefix="lifeboat-dist-")
    yield path


def make_deployment(workdir, engine="postgresql", **kwargs):
    """Context-free helper: database + vhost + Deployment (caller starts it)."""
    require(5432 if engine == "postgresql" else 3306, 5672)
    db = harness.TempDatabase(engine).create()
    vhost = harness.TempVhost().create()
    return harness.Deployment(workdir, db, vhost.url, **kwargs), db, vhost


def teardown(deployment, db, vhost, module=None):
    """Stop every process (SIGINT), print their logs if a test of `module`
    failed, drop the database and the vhost."""
    codes = deployment.stop_all()
    print("\nexit codes and seconds to stop: %s" % codes)
    if module is not None and getattr(module, "_any_failed", False):
        print("\n===== service logs (tails) =====\n" + deployment.logs(80))
    try:
        db.drop()
    finally:
        vhost.drop()
    return codes


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        # module fixtures print the service logs at teardown
        item.module._any_failed = True

"""Shared pytest fixtures (see tests/fixtures.py)."""
import pytest

from tests.fixtures import CloudFixture


@pytest.fixture
def make_cloud(tmp_path):
    """Factory: make_cloud(hosts=..., fake__live_migration_seconds=0.5, ...)."""
    started = []

    def factory(hosts=("host1", "host2", "host3"), **overrides):
        fixture = CloudFixture(tmp_path / ("state%d" % len(started)), hosts,
                               **overrides).start()
        started.append(fixture)
        return fixture
    yield factory
    for fixture in reversed(started):
        fixture.stop()


@pytest.fixture
def cloud(make_cloud):
    return make_cloud()


@pytest.fixture
def admin(cloud):
    return cloud.client("admin")


@pytest.fixture
def user(cloud):
    return cloud.client("alice", "projecta")

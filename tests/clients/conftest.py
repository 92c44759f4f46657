"""Session fixtures of the clients/Tempest suite (marker `clients`).

One real Keystone and three Lifeboat all-in-one processes serve the whole suite:

- `lifeboat_ks`: auth_strategy = keystone, hosts host1 and host2, registered in
  Keystone's catalog (compute /v2.1, image /image); [fake] live migrations take
  LIVE_MIGRATION_SECONDS so a test can act while one runs.
- `lifeboat_noauth`: noauth2; migrations take NOAUTH_LIVE_MIGRATION_SECONDS.
- `bulk` (cloud `bulk`): noauth2, 2,100 servers booted in the background from the
  start, for the pagination test.

They all start in parallel (Keystone's start-up dominates: ~10 s, plus about a
minute once to build .venv-keystone).
"""
import os
import sys
from pathlib import Path

import pytest

from tests.clients import services

LIVE_MIGRATION_SECONDS = 1.5
# Long enough for a CLI command to list, abort or force-complete a migration.
NOAUTH_LIVE_MIGRATION_SECONDS = 3
# Servers the pagination test lists (booted in the background from the start).
BULK_SERVERS, BULK_BATCH = 2100, 300


class Stack:
    def __init__(self, work, keystone, lifeboat_ks, lifeboat_noauth, stub, bulk):
        self.work = work
        self.bulk = bulk
        self.keystone = keystone
        self.lifeboat_ks = lifeboat_ks
        self.lifeboat_noauth = lifeboat_noauth
        self.stub = stub
        self.clouds_yaml = work / "clouds.yaml"
        self.clouds_yaml.write_text(services.clouds_yaml(
            keystone, lifeboat_noauth, identity_url=stub.url + "/identity/v3",
            extra={"bulk": bulk.lifeboat}))
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        self.env.update(OS_CLIENT_CONFIG_FILE=str(self.clouds_yaml), COLUMNS="250",
                        NO_COLOR="1", PYTHONWARNINGS="ignore")
        self._tokens = {}

    def sdk(self, cloud="admin"):
        """An openstacksdk Connection to `cloud` of the suite's clouds.yaml."""
        from openstack import connection
        from openstack.config import loader
        config = loader.OpenStackConfig(config_files=[str(self.clouds_yaml)])
        return connection.Connection(config=config.get_one(cloud))

    def token(self, user="admin"):
        """A Keystone token for one of the suite's users (cached)."""
        if user not in self._tokens:
            project = "admin" if user == "admin" else services.USERS[user][0]
            self._tokens[user] = self.keystone.token(user, project)
        return self._tokens[user]


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    work = tmp_path_factory.mktemp("clients")
    keystone = services.Keystone(work / "keystone")
    lb_ks = services.Lifeboat(
        work / "lifeboat-keystone", hosts=("host1", "host2"), keystone=keystone,
        fake={"live_migration_seconds": LIVE_MIGRATION_SECONDS})
    # A third cloud only for listing thousands of servers, so their boots
    # overlap the other tests and the other clouds' lists stay short.
    lb_bulk = services.Lifeboat(
        work / "lifeboat-bulk", hosts=("host1", "host2"),
        fake={"memory_mb": 16777216, "vcpus": 4096, "local_gb": 1048576})
    lb_noauth = services.Lifeboat(
        work / "lifeboat-noauth", hosts=("host1", "host2"),
        fake={"memory_mb": 16777216, "vcpus": 4096, "local_gb": 1048576,
              "live_migration_seconds": NOAUTH_LIVE_MIGRATION_SECONDS})
    started = []
    try:
        # Both Lifeboats boot while Keystone starts; neither needs Keystone
        # before its first authenticated request.
        for lb in (lb_ks, lb_noauth, lb_bulk):
            lb.launch()
            started.append(lb)
        keystone.start()
        started.append(keystone)
        network = services.NetworkStub().start()
        started.append(network)
        keystone.setup_identity(lb_ks.base, network.url)
        for lb in (lb_ks, lb_noauth, lb_bulk):
            lb.wait()
        bulk = BulkBoot(lb_bulk, BULK_SERVERS, BULK_BATCH)
        result = Stack(work, keystone, lb_ks, lb_noauth, network, bulk)
        lb_ks.wait_computes(result.token("admin"))
        lb_noauth.wait_computes("admin:admin")
        yield result
    finally:
        for svc in reversed(started):
            svc.stop()


class BulkBoot:
    """Boot `total` servers on `lifeboat` in max_count batches, in a thread."""

    def __init__(self, lifeboat, total, batch):
        import threading
        self.lifeboat, self.total, self.batch = lifeboat, total, batch
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            lb = self.lifeboat
            lb.wait_computes("admin:admin")
            image = lb.request("GET", "/image/v2/images?name=cirros",
                               "admin:admin")[2]["images"][0]["id"]
            for start in range(0, self.total, self.batch):
                status, _, body = lb.request(
                    "POST", "/v2.1/servers", "admin:admin", version="2.37",
                    body={"server": {"name": "page-%04d" % start, "imageRef": image,
                                     "flavorRef": "1", "networks": "none",
                                     "min_count": self.batch,
                                     "max_count": self.batch}})
                assert status == 202, body
        except Exception as e:  # reported by the test that needs them
            self.error = e

    def join(self, timeout):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "bulk boot still running"
        assert self.error is None, self.error


def bin_path(name):
    return str(Path(sys.prefix) / "bin" / name)


def pytest_collection_modifyitems(items):
    """The first clients test also starts the stack (and, once, installs
    .venv-keystone): give every clients test more than the default 120 s."""
    for item in items:
        if item.get_closest_marker("clients") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(300))

"""Session fixtures of the clients/Tempest suite (marker `clients`).

One real Keystone and two Lifeboat all-in-one processes serve the whole suite:

- `lifeboat_ks`: auth_strategy = keystone, hosts host1 and host2, registered in
  Keystone's catalog (compute /v2.1, image /image); [fake] live migrations take
  LIVE_MIGRATION_SECONDS so a test can act while one runs.
- `lifeboat_noauth`: noauth2, hosts big enough for thousands of fake servers.

They start in parallel (Keystone's start-up dominates: ~10 s, plus about a
minute once to build .venv-keystone).
"""
import os
import sys
from pathlib import Path

import pytest

from tests.clients import services

LIVE_MIGRATION_SECONDS = 1.5
# Long enough for a CLI process to list, abort or force-complete a migration.
NOAUTH_LIVE_MIGRATION_SECONDS = 8


class Stack:
    def __init__(self, work, keystone, lifeboat_ks, lifeboat_noauth, stub):
        self.work = work
        self.keystone = keystone
        self.lifeboat_ks = lifeboat_ks
        self.lifeboat_noauth = lifeboat_noauth
        self.stub = stub
        self.clouds_yaml = work / "clouds.yaml"
        self.clouds_yaml.write_text(services.clouds_yaml(
            keystone, lifeboat_noauth, identity_url=stub.url + "/identity/v3"))
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
    lb_noauth = services.Lifeboat(
        work / "lifeboat-noauth", hosts=("host1", "host2"),
        fake={"memory_mb": 16777216, "vcpus": 4096, "local_gb": 1048576,
              "live_migration_seconds": NOAUTH_LIVE_MIGRATION_SECONDS},
        api={"max_request_body_size": 114688})
    started = []
    try:
        # Both Lifeboats boot while Keystone starts; neither needs Keystone
        # before its first authenticated request.
        for lb in (lb_ks, lb_noauth):
            lb.launch()
            started.append(lb)
        keystone.start()
        started.append(keystone)
        network = services.NetworkStub().start()
        started.append(network)
        keystone.setup_identity(lb_ks.base, network.url)
        for lb in (lb_ks, lb_noauth):
            lb.wait()
        result = Stack(work, keystone, lb_ks, lb_noauth, network)
        lb_ks.wait_computes(result.token("admin"))
        lb_noauth.wait_computes("admin:admin")
        yield result
    finally:
        for svc in reversed(started):
            svc.stop()


def bin_path(name):
    return str(Path(sys.prefix) / "bin" / name)

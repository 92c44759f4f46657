"""Live migration of rescued servers (blueprint live-migrate-rescued-instances).

At microversion 2.105 a rescued server live-migrates (202) and is RESCUE again
on another host; unrescue then brings it back to ACTIVE there. Below 2.105 the
request gets Nova's 409, and while the migration runs unrescue gets 409.
"""
import time

from tempest.api.compute import base
from tempest.common import waiters
from tempest import config
from tempest.lib import decorators
from tempest.lib import exceptions as lib_exc

CONF = config.CONF


class _RescuedLiveMigrationBase(base.BaseV2ComputeAdminTest):

    @classmethod
    def skip_checks(cls):
        super().skip_checks()
        if not CONF.compute_feature_enabled.live_migration:
            raise cls.skipException("Live migration is not enabled")
        if not CONF.compute_feature_enabled.rescue:
            raise cls.skipException("Rescue is not enabled")
        if CONF.compute.min_compute_nodes < 2:
            raise cls.skipException("Less than 2 compute nodes")
        if not CONF.lifeboat.rescued_live_migration:
            raise cls.skipException("[lifeboat] rescued_live_migration is False")

    def _rescued_server(self):
        server = self.create_test_server(wait_until="ACTIVE")
        self.servers_client.rescue_server(server["id"], adminPass="Rescue-Pass1")
        waiters.wait_for_server_status(self.servers_client, server["id"], "RESCUE")
        return server["id"], self.get_host_for_server(server["id"])

    def _live_migrate(self, server_id, host=None):
        self.admin_servers_client.live_migrate_server(
            server_id, host=host, block_migration="auto")

    def _wait_moved(self, server_id, source, status):
        """Wait until the server is `status` on a host other than `source`."""
        deadline = time.time() + CONF.lifeboat.migration_wait_timeout
        while True:
            server = self.admin_servers_client.show_server(server_id)["server"]
            host = server["OS-EXT-SRV-ATTR:host"]
            if server["status"] == status and server["OS-EXT-STS:task_state"] is None \
                    and host != source:
                return host
            if server["status"] == "ERROR" or time.time() > deadline:
                raise lib_exc.TimeoutException(
                    "Server %s did not reach %s on another host than %s: %s" % (
                        server_id, status, source,
                        {k: server.get(k) for k in ("status", "OS-EXT-STS:task_state",
                                                   "OS-EXT-SRV-ATTR:host")}))
            time.sleep(CONF.compute.build_interval)


class RescuedLiveMigrationTest(_RescuedLiveMigrationBase):
    """The blueprint's flow at 2.105."""

    min_microversion = "2.105"
    max_microversion = "latest"

    @decorators.attr(type="multinode")
    @decorators.idempotent_id("4d6c3c1e-0a85-4d0e-9f39-2f1b7b3f0a01")
    def test_live_migrate_rescued_server(self):
        server_id, source = self._rescued_server()
        self._live_migrate(server_id)
        dest = self._wait_moved(server_id, source, "RESCUE")
        self.assertNotEqual(source, dest)
        migrations = self.os_admin.migrations_client.list_migrations(
            instance_uuid=server_id)["migrations"]
        self.assertEqual(["completed"], [m["status"] for m in migrations])
        self.servers_client.unrescue_server(server_id)
        waiters.wait_for_server_status(self.servers_client, server_id, "ACTIVE")
        self.assertEqual(dest, self.get_host_for_server(server_id))

    @decorators.attr(type="multinode")
    @decorators.idempotent_id("4d6c3c1e-0a85-4d0e-9f39-2f1b7b3f0a02")
    def test_live_migrate_rescued_server_to_named_host(self):
        server_id, source = self._rescued_server()
        dest = self.get_host_other_than(server_id)
        self._live_migrate(server_id, host=dest)
        self.assertEqual(dest, self._wait_moved(server_id, source, "RESCUE"))
        self.servers_client.unrescue_server(server_id)
        waiters.wait_for_server_status(self.servers_client, server_id, "ACTIVE")


class RescuedLiveMigrationNegativeTest(_RescuedLiveMigrationBase):
    """409s: unrescue while the rescued server migrates (2.105)."""

    min_microversion = "2.105"
    max_microversion = "latest"

    @decorators.attr(type=["negative", "multinode"])
    @decorators.idempotent_id("4d6c3c1e-0a85-4d0e-9f39-2f1b7b3f0a03")
    def test_unrescue_during_live_migration_conflicts(self):
        server_id, source = self._rescued_server()
        self._live_migrate(server_id)
        # The API sets task_state migrating before it answers 202, so this
        # unrescue meets the migration however fast it runs.
        error = self.assertRaises(lib_exc.Conflict,
                                  self.servers_client.unrescue_server, server_id)
        self.assertIn("task_state migrating", str(error))
        self._wait_moved(server_id, source, "RESCUE")
        self.servers_client.unrescue_server(server_id)
        waiters.wait_for_server_status(self.servers_client, server_id, "ACTIVE")


class RescuedLiveMigrationBelow2105NegativeTest(_RescuedLiveMigrationBase):
    """409 below 2.105, as Nova answers; the server stays RESCUE where it is."""

    min_microversion = "2.104"
    max_microversion = "2.104"

    @decorators.attr(type=["negative"])
    @decorators.idempotent_id("4d6c3c1e-0a85-4d0e-9f39-2f1b7b3f0a04")
    def test_live_migrate_rescued_server_at_2_104_conflicts(self):
        server_id, source = self._rescued_server()
        error = self.assertRaises(lib_exc.Conflict, self._live_migrate, server_id)
        self.assertIn("vm_state rescued", str(error))
        server = self.admin_servers_client.show_server(server_id)["server"]
        self.assertEqual("RESCUE", server["status"])
        self.assertEqual(source, server["OS-EXT-SRV-ATTR:host"])
        migrations = self.os_admin.migrations_client.list_migrations(
            instance_uuid=server_id)["migrations"]
        self.assertEqual([], migrations)

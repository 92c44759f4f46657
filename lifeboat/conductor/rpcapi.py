"""Client side of the conductor RPC API.

1.0 - build_instance, live_migrate_instance
"""
from lifeboat import rpc
from lifeboat.conf import CONF

VERSION = "1.0"


class ConductorAPI:
    def __init__(self):
        self.client = rpc.get_client("conductor", version_cap=CONF.upgrade_levels.conductor)

    def build_instance(self, context, instance_uuid, requested_host=None,
                       admin_password=None):
        self.client.prepare(version="1.0").cast(
            context, "build_instance", instance_uuid=instance_uuid,
            requested_host=requested_host, admin_password=admin_password)

    def live_migrate_instance(self, context, instance_uuid, migration_id, host,
                              block_migration, force, synchronous):
        """Cast (2.34+), or call so pre-check errors reach the API (< 2.34)."""
        client = self.client.prepare(version="1.0")
        kwargs = dict(instance_uuid=instance_uuid, migration_id=migration_id, host=host,
                      block_migration=block_migration, force=force,
                      synchronous=synchronous)
        if synchronous:
            return client.call(context, "live_migrate_instance", **kwargs)
        client.cast(context, "live_migrate_instance", **kwargs)

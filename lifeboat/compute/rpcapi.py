"""Client side of the compute RPC API (topic 'compute', server = host).

Instances travel as uuids; each side reads the row it needs.

1.0 - lifecycle: build_and_run_instance, terminate_instance, reboot_instance,
      stop_instance, start_instance, pause/unpause/suspend/resume_instance,
      rescue_instance, unrescue_instance
1.1 - live migration: check_can_live_migrate_destination/_source,
      pre_live_migration, live_migration, post_live_migration_at_destination,
      rollback_live_migration_at_destination, live_migration_abort,
      live_migration_force_complete, remove_volume_connection (reserved)
"""
from lifeboat import rpc
from lifeboat.conf import CONF

VERSION = "1.1"


class ComputeAPI:
    def __init__(self):
        self.client = rpc.get_client("compute", version_cap=CONF.upgrade_levels.compute)

    def _cast(self, ctxt, host, method, version="1.0", **kwargs):
        self.client.prepare(server=host, version=version).cast(ctxt, method, **kwargs)

    def _call(self, ctxt, host, method, version="1.0", **kwargs):
        return self.client.prepare(server=host, version=version).call(
            ctxt, method, **kwargs)

    # lifecycle
    def build_and_run_instance(self, ctxt, host, instance_uuid, admin_password=None):
        self._cast(ctxt, host, "build_and_run_instance", instance_uuid=instance_uuid,
                   admin_password=admin_password)

    def terminate_instance(self, ctxt, host, instance_uuid):
        self._cast(ctxt, host, "terminate_instance", instance_uuid=instance_uuid)

    def reboot_instance(self, ctxt, host, instance_uuid, reboot_type):
        self._cast(ctxt, host, "reboot_instance", instance_uuid=instance_uuid,
                   reboot_type=reboot_type)

    def simple_action(self, ctxt, host, method, instance_uuid):
        """stop/start/pause/unpause/suspend/resume_instance and unrescue_instance."""
        self._cast(ctxt, host, method, instance_uuid=instance_uuid)

    def rescue_instance(self, ctxt, host, instance_uuid, admin_password):
        self._cast(ctxt, host, "rescue_instance", instance_uuid=instance_uuid,
                   admin_password=admin_password)

    # live migration
    def check_can_live_migrate_destination(self, ctxt, dest, instance_uuid,
                                           block_migration):
        return self._call(ctxt, dest, "check_can_live_migrate_destination", "1.1",
                          instance_uuid=instance_uuid, block_migration=block_migration)

    def check_can_live_migrate_source(self, ctxt, source, instance_uuid, migrate_data):
        return self._call(ctxt, source, "check_can_live_migrate_source", "1.1",
                          instance_uuid=instance_uuid, migrate_data=migrate_data)

    def live_migration(self, ctxt, source, instance_uuid, migration_id, migrate_data):
        self._cast(ctxt, source, "live_migration", "1.1", instance_uuid=instance_uuid,
                   migration_id=migration_id, migrate_data=migrate_data)

    def pre_live_migration(self, ctxt, dest, instance_uuid, migrate_data):
        return self._call(ctxt, dest, "pre_live_migration", "1.1",
                          instance_uuid=instance_uuid, migrate_data=migrate_data)

    def post_live_migration_at_destination(self, ctxt, dest, instance_uuid,
                                           migrate_data):
        return self._call(ctxt, dest, "post_live_migration_at_destination", "1.1",
                          instance_uuid=instance_uuid, migrate_data=migrate_data)

    def rollback_live_migration_at_destination(self, ctxt, dest, instance_uuid,
                                               migrate_data):
        return self._call(ctxt, dest, "rollback_live_migration_at_destination", "1.1",
                          instance_uuid=instance_uuid, migrate_data=migrate_data)

    def live_migration_abort(self, ctxt, source, instance_uuid, migration_id):
        self._cast(ctxt, source, "live_migration_abort", "1.1",
                   instance_uuid=instance_uuid, migration_id=migration_id)

    def live_migration_force_complete(self, ctxt, source, instance_uuid, migration_id):
        self._cast(ctxt, source, "live_migration_force_complete", "1.1",
                   instance_uuid=instance_uuid, migration_id=migration_id)

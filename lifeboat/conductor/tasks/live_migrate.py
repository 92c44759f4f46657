"""One live migration, from the conductor's point of view.

Pre-checks (source up, guest running or paused; for a named destination: not
the source, up, enough memory, same hypervisor type, capable of rescued
migration), or scheduling when no destination is named, then the destination's
and source's driver checks, then the hand-off to the source compute, which
drives the rest (compute/live_migration.py).

Any failure here leaves the instance exactly as it was (task_state cleared,
vm_state and host untouched), marks the migration `error`, and records an
instance fault and action event. Below microversion 2.34 the API waits for this
task and turns the failure into a 400 (409 for a state problem).
"""
import logging

from lifeboat import exception
from lifeboat.compute import capabilities as caps
from lifeboat.compute import states
from lifeboat.conf import CONF
from lifeboat.db import actions as db_actions
from lifeboat.db import instances as db_instances
from lifeboat.db import migrations as db_migrations
from lifeboat.db import services as db_services

LOG = logging.getLogger(__name__)

EVENT = "conductor_live_migrate_instance"
MAX_SCHEDULE_ATTEMPTS = 5


class LiveMigrationTask:
    """Pre-check, choose a destination, and hand the migration to the source."""

    def __init__(self, context, instance_uuid, migration_id, destination,
                 block_migration, force, synchronous, scheduler, compute):
        self.context = context
        self.instance_uuid = instance_uuid
        self.migration_id = migration_id
        self.destination = destination
        self.block_migration = block_migration
        self.force = force
        self.synchronous = synchronous
        self.scheduler = scheduler
        self.compute = compute
        self.instance = None

    def execute(self):
        db_actions.event_start(self.context, self.instance_uuid, EVENT, host=CONF.host)
        try:
            self.instance = db_instances.get(self.instance_uuid)
            self.source = self.instance.host
            self._check_instance_is_running()
            self._check_host_is_up(self.source)
            if self.destination:
                migrate_data = self._check_requested_destination()
            else:
                self.destination, migrate_data = self._find_destination()
            db_migrations.update(
                self.migration_id, status="queued", dest_compute=self.destination,
                dest_node=self.destination, dest_host=self._host_ip(self.destination),
                block_migration=bool(migrate_data.get("block_migration")),
                shared_storage=bool(migrate_data.get("is_shared_instance_path")))
        except Exception as error:
            self._fail(error)
            if self.synchronous:
                raise
            return
        db_actions.event_finish(self.context, self.instance_uuid, EVENT, host=CONF.host)
        self.compute.live_migration(self.context, self.source, self.instance_uuid,
                                    self.migration_id, migrate_data)

    # --- checks ---------------------------------------------------------
    def _check_instance_is_running(self):
        if self.instance.power_state not in (states.RUNNING, states.PAUSED_POWER):
            raise exception.InstanceInvalidState(
                method="live migrate", instance_uuid=self.instance_uuid,
                attr="power_state",
                state=states.POWER_STATE_NAMES.get(self.instance.power_state,
                                                   self.instance.power_state))

    @staticmethod
    def _service(host):
        service = db_services.get_by_host_binary(host, "nova-compute")
        if service is None:
            raise exception.ComputeHostNotFound(host=host)
        return service

    def _check_host_is_up(self, host):
        if not db_services.is_up(self._service(host)):
            raise exception.ComputeServiceUnavailable(host=host)

    def _node(self, host):
        nodes = db_services.compute_nodes(host)
        if not nodes:
            raise exception.ComputeHostNotFound(host=host)
        return nodes[0]

    def _host_ip(self, host):
        try:
            return self._node(host).host_ip
        except exception.ComputeHostNotFound:
            return None

    def _check_requested_destination(self):
        dest = self.destination
        if dest == self.source:
            raise exception.UnableToMigrateToSelf(instance_id=self.instance_uuid,
                                                  host=dest)
        self._check_host_is_up(dest)
        source_node, dest_node = self._node(self.source), self._node(dest)
        if self.instance.rescue_image_ref:
            self._check_rescued_support(dest_node, "destination")
        if not self.force:
            self._check_enough_memory(dest_node)
            if source_node.hypervisor_type != dest_node.hypervisor_type:
                raise exception.InvalidHypervisorType()
            # As Nova: a named destination still passes the scheduler's filters
            # (enabled, capacity, ...) unless the request forces it.
            self.scheduler.select_destinations(self.context, self._spec(
                source_node, force_hosts=[dest]))
        return self.compute.check_can_live_migrate_destination(
            self.context, dest, self.instance_uuid, self.block_migration)

    def _check_rescued_support(self, node, role):
        if not caps.host_supports_rescued_live_migration(node.capabilities,
                                                         node.service.version):
            raise exception.RescuedLiveMigrationNotSupported(role=role, host=node.host)

    def _check_enough_memory(self, node):
        usage = db_instances.usage_by_host(node.host).get(
            node.host, db_instances.NO_USAGE)
        avail = int(node.memory_mb * CONF.compute.ram_allocation_ratio) - usage[2]
        need = self.instance.memory_mb
        if avail <= need:
            raise exception.MigrationPreCheckError(
                reason="Unable to migrate %s to %s: Lack of memory(host:%d <= "
                       "instance:%d)" % (self.instance_uuid, node.host, avail, need))

    def _find_destination(self):
        """Ask the scheduler, then the hosts' own checks, until one accepts."""
        ignore = [self.source]
        source_node = self._node(self.source)
        for _attempt in range(MAX_SCHEDULE_ATTEMPTS):
            spec = self._spec(source_node, ignore_hosts=ignore)
            host = self.scheduler.select_destinations(self.context, spec)[0]["host"]
            try:
                data = self.compute.check_can_live_migrate_destination(
                    self.context, host, self.instance_uuid, self.block_migration)
                return host, data
            except exception.Invalid as e:
                LOG.info("Destination %s refused %s: %s", host, self.instance_uuid, e)
                ignore.append(host)
        raise exception.NoValidHost(reason="Exceeded max scheduling attempts %d for "
                                           "instance %s." % (MAX_SCHEDULE_ATTEMPTS,
                                                             self.instance_uuid))

    def _spec(self, source_node, **extra):
        """What the scheduler must find room for: this instance, like its source."""
        return dict({"flavor": self.instance.flavor,
                     "hypervisor_type": source_node.hypervisor_type,
                     "rescued_live_migration": bool(self.instance.rescue_image_ref)},
                    **extra)

    # --- failure --------------------------------------------------------
    def _fail(self, error):
        LOG.info("Live migration of %s refused: %s", self.instance_uuid, error)
        db_migrations.update(self.migration_id, status="error")
        db_instances.add_fault(self.instance_uuid, getattr(error, "code", 500),
                               str(error), details=repr(error))
        db_actions.event_finish(self.context, self.instance_uuid, EVENT, error=error,
                                host=CONF.host)
        try:
            db_instances.transition(self.instance_uuid,
                                    expected_task_state=states.MIGRATING,
                                    task_state=None)
        except exception.LifeboatException:
            pass

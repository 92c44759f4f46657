"""Live migration on the compute side, mixed into ComputeManager.

The source host drives: preparing (the destination's pre_live_migration),
running (the driver's transfer, with progress into the migration record),
post-migrating (source cleanup, the destination takes the guest), completed.
Any failure before the point of no return rolls back: the destination is
cleaned (never shared disks) and the instance stays on the source in its
vm_state. vm_state never changes on the way: RESCUED stays RESCUED.
"""
import logging
import threading
import time

from lifeboat import exception
from lifeboat.compute import rpcapi as compute_rpcapi
from lifeboat.compute import states
from lifeboat.compute.usage import changes_usage
from lifeboat.db import actions as db_actions
from lifeboat.db import instances as db_instances
from lifeboat.db import migrations as db_migrations
from lifeboat.virt import driver as virt_driver

LOG = logging.getLogger(__name__)

# Seconds between progress writes to the migration record: Nova's libvirt
# monitor's period. At 0.2 s, 16 migrations in flight wrote 80 times a second.
PROGRESS_INTERVAL = 0.5
DELETE_ABORT_WAIT = 120  # seconds a delete waits for a migration to unwind


class _Control:
    """Operator requests for one migration, shared by RPC and the transfer."""

    def __init__(self):
        self.abort = threading.Event()
        self.force_complete = threading.Event()
        self.done = threading.Event()
        self.started = False


class _Monitor(virt_driver.LiveMigrationMonitor):
    """Writes progress to the migration record, throttled; relays requests."""

    def __init__(self, migration_id, control):
        self.migration_id = migration_id
        self.control = control
        self.past_point_of_no_return = False
        self._last = 0.0

    def progress(self, p):
        now = time.monotonic()
        final = p.memory_remaining == 0 and p.disk_remaining == 0
        if not final and now - self._last < PROGRESS_INTERVAL:
            return
        self._last = now
        db_migrations.update(self.migration_id, memory_total=p.memory_total,
                             memory_processed=p.memory_processed,
                             memory_remaining=p.memory_remaining,
                             disk_total=p.disk_total, disk_processed=p.disk_processed,
                             disk_remaining=p.disk_remaining)

    def abort_requested(self):
        return self.control.abort.is_set()

    def force_complete_requested(self):
        return self.control.force_complete.is_set()

    def point_of_no_return(self):
        self.past_point_of_no_return = True


class LiveMigrationManagerMixin:
    """The compute manager's live-migration RPC methods."""

    def __init__(self):
        self._controls = {}
        self._controls_lock = threading.Lock()
        self.compute_rpcapi = compute_rpcapi.ComputeAPI()

    def _control(self, migration_id):
        with self._controls_lock:
            return self._controls.setdefault(int(migration_id), _Control())

    # --- checks (called by the conductor) -------------------------------
    @changes_usage
    def check_can_live_migrate_destination(self, context, instance_uuid, block_migration):
        """On the destination: our checks, then the source's, combined."""
        instance = db_instances.get(instance_uuid)
        if instance.rescue_image_ref and not self.supports_rescued_live_migration():
            raise exception.RescuedLiveMigrationNotSupported(role="destination",
                                                             host=self.host)
        data = self.driver.check_can_live_migrate_destination(context, instance,
                                                              block_migration)
        data["dest_host"] = self.host
        try:
            return self.compute_rpcapi.check_can_live_migrate_source(
                context, instance.host, instance_uuid, data)
        finally:
            # Whatever the source said, what the destination's check left
            # here (the shared-storage marker) is no longer needed.
            self.driver.cleanup_live_migration_destination_check(context, data)

    def check_can_live_migrate_source(self, context, instance_uuid, migrate_data):
        instance = db_instances.get(instance_uuid)
        if instance.rescue_image_ref and not self.supports_rescued_live_migration():
            raise exception.RescuedLiveMigrationNotSupported(role="source", host=self.host)
        return self.driver.check_can_live_migrate_source(context, instance, migrate_data)

    # --- the migration, on the source -----------------------------------
    @changes_usage
    def live_migration(self, context, instance_uuid, migration_id, migrate_data):
        control = self._control(migration_id)
        control.started = True
        migration = db_migrations.get(migration_id)
        dest = migration.dest_compute
        event = "compute_live_migration"
        db_actions.event_start(context, instance_uuid, event, host=self.host)
        monitor = _Monitor(migration_id, control)
        stage = "preparing"
        try:
            self._check_not_aborted(control)
            db_migrations.update(migration_id, status="preparing")
            migrate_data = self.compute_rpcapi.pre_live_migration(
                context, dest, instance_uuid, migrate_data)
            stage = "running"
            self._check_not_aborted(control)
            db_migrations.update(migration_id, status="running")
            instance = db_instances.get(instance_uuid)
            self.driver.live_migration(context, instance, dest, migrate_data, monitor)
            transferred = True
        except Exception as error:
            transferred = False
            self._live_migration_failed(context, instance_uuid, migration_id, dest,
                                        migrate_data, error, monitor, stage)
        try:
            if transferred:
                self._post_live_migration(context, instance_uuid, migration_id, dest,
                                          migrate_data)
        except Exception as error:
            # Past the transfer the guest lives on the destination: no way back.
            monitor.point_of_no_return()
            self._live_migration_failed(context, instance_uuid, migration_id, dest,
                                        migrate_data, error, monitor, "post-migrating")
        finally:
            control.done.set()
            with self._controls_lock:
                self._controls.pop(int(migration_id), None)

    @staticmethod
    def _check_not_aborted(control):
        if control.abort.is_set():
            raise virt_driver.LiveMigrationAborted()

    def _post_live_migration(self, context, instance_uuid, migration_id, dest,
                             migrate_data):
        db_migrations.update(migration_id, status="post-migrating")
        instance = db_instances.get(instance_uuid)
        self.driver.post_live_migration(context, instance, migrate_data)
        self.compute_rpcapi.post_live_migration_at_destination(
            context, dest, instance_uuid, migrate_data)
        db_migrations.update(migration_id, status="completed")
        db_actions.event_finish(context, instance_uuid, "compute_live_migration",
                                host=self.host)
        LOG.info("Live migration of %s to %s completed", instance_uuid, dest)

    def _live_migration_failed(self, context, instance_uuid, migration_id, dest,
                               migrate_data, error, monitor, stage):
        aborted = isinstance(error, virt_driver.LiveMigrationAborted)
        if aborted:
            error = exception.MigrationError(reason="Migration %s was aborted by "
                                                    "request" % migration_id)
        else:
            LOG.error("Live migration of %s to %s failed at %s: %s", instance_uuid,
                      dest, stage, error)
        db_instances.add_fault(instance_uuid, getattr(error, "code", 500), str(error),
                               details=repr(error), host=self.host)
        db_actions.event_finish(context, instance_uuid, "compute_live_migration",
                                error=error, host=self.host)
        if monitor.past_point_of_no_return:
            # The guest's memory is on the destination: it lives there, in ERROR.
            db_migrations.update(migration_id, status="failed")
            self._finish_instance(instance_uuid, host=dest, node=dest,
                                  vm_state=states.ERROR)
            return
        if stage != "preparing" or not aborted:
            try:
                self.compute_rpcapi.rollback_live_migration_at_destination(
                    context, dest, instance_uuid, migrate_data)
            except Exception:
                LOG.exception("Rollback at %s failed for %s", dest, instance_uuid)
        db_migrations.update(migration_id, status="cancelled" if aborted else "failed")
        self._finish_instance(instance_uuid)

    @staticmethod
    def _finish_instance(instance_uuid, **values):
        """task_state migrating -> None, on whichever host `values` says."""
        try:
            db_instances.transition(instance_uuid, expected_task_state=states.MIGRATING,
                                    task_state=None, **values)
        except exception.LifeboatException as e:
            LOG.warning("Could not settle %s after migration: %s", instance_uuid, e)

    # --- on the destination ---------------------------------------------
    @changes_usage
    def pre_live_migration(self, context, instance_uuid, migrate_data):
        db_actions.event_start(context, instance_uuid, "compute_pre_live_migration",
                               host=self.host)
        try:
            instance = db_instances.get(instance_uuid)
            data = self.driver.pre_live_migration(context, instance, migrate_data)
        except Exception as e:
            db_actions.event_finish(context, instance_uuid, "compute_pre_live_migration",
                                    error=e, host=self.host)
            raise
        db_actions.event_finish(context, instance_uuid, "compute_pre_live_migration",
                                host=self.host)
        return data

    @changes_usage
    def post_live_migration_at_destination(self, context, instance_uuid, migrate_data):
        instance = db_instances.get(instance_uuid)
        self.driver.post_live_migration_at_destination(context, instance, migrate_data)
        power = self._guest_info(instance)
        db_instances.transition(instance_uuid, expected_task_state=states.MIGRATING,
                                task_state=None, host=self.host, node=self.host,
                                power_state=power)

    @changes_usage
    def rollback_live_migration_at_destination(self, context, instance_uuid,
                                               migrate_data):
        instance = db_instances.get(instance_uuid, read_deleted=True)
        self.driver.rollback_live_migration_at_destination(context, instance,
                                                           migrate_data)

    # --- operator requests ----------------------------------------------
    def live_migration_abort(self, context, instance_uuid, migration_id):
        self._control(migration_id).abort.set()

    def live_migration_force_complete(self, context, instance_uuid, migration_id):
        self._control(migration_id).force_complete.set()

    @changes_usage
    def abort_live_migration_for_delete(self, context, instance):
        """Delete during a migration: abort it and wait until it has unwound.

        Returns True if there was a migration (the caller re-reads the instance)."""
        migration = db_migrations.in_progress_for_instance(instance.uuid)
        if migration is None:
            return False
        control = self._control(migration.id)
        control.abort.set()
        deadline = time.monotonic() + DELETE_ABORT_WAIT
        while time.monotonic() < deadline and not control.done.wait(0.05):
            current = db_instances.get(instance.uuid)
            if current.task_state != states.MIGRATING:
                break  # settled (it may never have reached this host's queue)
        return True

    # --- start-up reconciliation ----------------------------------------
    def recover_live_migrations(self):
        """Migrations this host was driving when it stopped are completed or
        rolled back (compute/reconcile.py)."""
        from lifeboat.compute import reconcile
        reconcile.recover_at_startup(self)

"""The compute manager: one per hypervisor host, driving its virt driver.

Every action follows one pattern (`_run_action`): mark the task as started with a
compare-and-swap, call the driver, record the outcome (vm_state, power_state,
task_state None), and on failure record an instance fault and action event and
put the instance back in a consistent state. Live migration lives in
compute/live_migration.py (mixed in below).
"""
import logging
import time

from lifeboat import exception
from lifeboat.compute import capabilities as caps
from lifeboat.compute import states
from lifeboat.compute.live_migration import LiveMigrationManagerMixin
from lifeboat.compute.usage import changes_usage
from lifeboat.conf import CONF
from lifeboat.db import actions as db_actions
from lifeboat.db import instances as db_instances
from lifeboat.db import models
from lifeboat.db import services as db_services
from lifeboat.image import api as image_api

LOG = logging.getLogger(__name__)

# method -> (started task_state, task_states the API may have set, driver call,
#            vm_state after, power_state after, event name)
_SIMPLE = {
    "stop_instance": (states.POWERING_OFF, "power_off", states.STOPPED, states.SHUTDOWN),
    "start_instance": (states.POWERING_ON, "power_on", states.ACTIVE, states.RUNNING),
    "pause_instance": (states.PAUSING, "pause", states.PAUSED, states.PAUSED_POWER),
    "unpause_instance": (states.UNPAUSING, "unpause", states.ACTIVE, states.RUNNING),
    "suspend_instance": (states.SUSPENDING, "suspend", states.SUSPENDED,
                         states.SUSPENDED_POWER),
    "resume_instance": (states.RESUMING, "resume", states.ACTIVE, states.RUNNING),
}
_WITH_CONTEXT = {"power_on", "suspend", "resume"}


def load_driver(host):
    if CONF.compute_driver == "libvirt":
        from lifeboat.virt.libvirt.driver import LibvirtDriver
        return LibvirtDriver(host)
    from lifeboat.virt.fake import FakeDriver
    return FakeDriver(host)


class ComputeManager(LiveMigrationManagerMixin):
    """RPC endpoint of one compute host (topic 'compute', server = host)."""

    RPC_API_VERSION = "1.1"

    def __init__(self, host, driver=None):
        self.host = host
        self.driver = driver or load_driver(host)
        self.service_ref = None
        self._reported = None   # what the compute node row holds, as we wrote it
        self.usage_changed = True   # see report()
        self._power_synced_at = None   # monotonic time of the last power-state sync
        super().__init__()

    # --- service hooks --------------------------------------------------
    def init_host(self):
        self.driver.init_host()
        self.recover_interrupted_work()

    def report(self, only_if_changed=False, usage=None):
        """Audit this host's resources and usage into its compute node row.

        Run in full at start-up and with the periodic tasks (Nova's
        update_available_resource); the heartbeat asks with
        `only_if_changed`, which audits only after an RPC method that can move
        an instance on or off this host (`changes_usage`) ran since the last
        audit. At 1,000 hosts summing every host's usage at every heartbeat
        was most of an idle cloud's work, for a figure that changes only with
        those methods (or a local delete, caught by the periodic audit).

        The row is written only when what it holds changed since our last
        write, as Nova's resource tracker does: only this service writes it.
        `usage`: the host's, summed by the caller before this call; a change
        marked meanwhile is then left for the next heartbeat's audit."""
        if only_if_changed and not self.usage_changed:
            return
        resources = self.driver.get_available_resource()
        if usage is None:
            self.usage_changed = False
            usage = db_instances.usage_by_host(self.host).get(
                self.host, db_instances.NO_USAGE)
        capabilities = dict(self.driver.capabilities)
        values = dict(resources, running_vms=usage[0], vcpus_used=usage[1],
                      memory_mb_used=usage[2], local_gb_used=usage[3],
                      capabilities=capabilities)
        if values == self._reported:
            return
        if db_services.update_compute_node(self.service_ref.id, self.host, self.host,
                                           values) is not None:
            self._reported = values

    def periodic_tasks(self, usage=None):
        """`usage`: this host's, when the caller summed it (host_jobs.py)."""
        self._poll_rescued_instances()
        now = time.monotonic()
        if self._power_synced_at is None or \
                now - self._power_synced_at >= CONF.sync_power_state_interval:
            self._power_synced_at = now
            self._sync_power_states()
        self.report(usage=usage)

    def recover_interrupted_work(self):
        """At start-up, settle instances whose task this host was doing when it
        stopped (live migrations are reconciled by the mixin)."""
        from lifeboat.compute import reconcile
        self.recover_live_migrations()
        for inst in db_instances.list_(filters={"host": self.host}):
            if inst.task_state in (None, states.MIGRATING):
                continue
            if inst.task_state != states.DELETING and \
                    reconcile.request_still_queued(inst.uuid, self.host):
                LOG.info("Instance %s in task_state %s: its request is still queued "
                         "for this host", inst.uuid, inst.task_state)
                continue
            LOG.warning("Instance %s was in task_state %s at start-up; clearing",
                        inst.uuid, inst.task_state)
            try:
                if inst.task_state == states.DELETING:
                    self._destroy_and_delete(None, inst)
                    continue
                info = self._guest_info(inst)
                values = {}
                if inst.task_state == states.SPAWNING:
                    # A half-built guest: ERROR with a fault, as a failed build.
                    values["vm_state"] = states.ERROR
                    db_instances.add_fault(inst.uuid, 500, "Build interrupted by a "
                                           "restart of %s" % self.host, host=self.host)
                db_instances.transition(inst.uuid, expected_task_state=inst.task_state,
                                        task_state=None, power_state=info, **values)
            except exception.LifeboatException:
                LOG.exception("Could not settle instance %s", inst.uuid)

    # --- the action pattern ---------------------------------------------
    def _run_action(self, context, instance_uuid, event, task_state, work,
                    vm_state_on_error=None):
        """Run `work(instance)` as `event`; `work` returns the values to write.

        The instance must be in `task_state` (set by the API); on success the
        task_state is cleared with the values, on failure a fault is recorded and
        the instance keeps its vm_state (or takes `vm_state_on_error`).
        """
        db_actions.event_start(context, instance_uuid, event, host=self.host)
        try:
            instance = db_instances.get(instance_uuid)
            if instance.task_state != task_state:
                raise exception.UnexpectedTaskState(expected=task_state,
                                                    actual=instance.task_state)
            values = work(instance) or {}
            db_instances.transition(instance_uuid, expected_task_state=task_state,
                                    task_state=None, load=False, **values)
        except exception.InstanceNotFound as e:
            if _instance_exists(instance_uuid):
                # The hypervisor lost the guest: a failure, not a deletion.
                self._record_failure(context, instance_uuid, event, e, task_state,
                                     vm_state_on_error)
                return
            db_actions.event_finish(context, instance_uuid, event, host=self.host)
            return
        except exception.UnexpectedTaskState as e:
            # Another action (delete) took over: nothing of ours to undo.
            LOG.info("%s on %s superseded: %s", event, instance_uuid, e)
            db_actions.event_finish(context, instance_uuid, event, error=e, host=self.host)
            return
        except Exception as e:
            LOG.exception("%s failed for %s", event, instance_uuid)
            self._record_failure(context, instance_uuid, event, e, task_state,
                                 vm_state_on_error)
            return
        db_actions.event_finish(context, instance_uuid, event, host=self.host)

    def _record_failure(self, context, instance_uuid, event, error, task_state,
                        vm_state_on_error=None, **values):
        code = getattr(error, "code", 500)
        db_instances.add_fault(instance_uuid, code, str(error) or type(error).__name__,
                               details=repr(error), host=self.host)
        db_actions.event_finish(context, instance_uuid, event, error=error, host=self.host)
        if vm_state_on_error:
            values["vm_state"] = vm_state_on_error
        try:
            db_instances.transition(instance_uuid, expected_task_state=task_state,
                                    task_state=None, **values)
        except exception.LifeboatException:
            pass

    def _guest_info(self, instance):
        try:
            return self.driver.get_info(instance).state
        except exception.InstanceNotFound:
            return states.NOSTATE

    # --- lifecycle ------------------------------------------------------
    @changes_usage
    def build_and_run_instance(self, context, instance_uuid, admin_password=None):
        def work(instance):
            image = _image(context, instance.image_ref)
            self.driver.spawn(context, instance, image, admin_password)
            return {"vm_state": states.ACTIVE, "power_state": states.RUNNING,
                    "launched_at": models.utcnow()}
        self._run_action(context, instance_uuid, "compute__do_build_and_run_instance",
                         states.SPAWNING, work, vm_state_on_error=states.ERROR)

    def reboot_instance(self, context, instance_uuid, reboot_type):
        task = states.REBOOTING_HARD if reboot_type == "HARD" else states.REBOOTING

        def work(instance):
            self.driver.reboot(context, instance, reboot_type)
            # A hard reboot rebuilds what the database describes: the rescue
            # guest if a rescue record is still there (e.g. after an error).
            rescued = reboot_type == "HARD" and instance.rescue_image_ref
            return {"vm_state": states.RESCUED if rescued else states.ACTIVE,
                    "power_state": states.RUNNING}
        self._run_action(context, instance_uuid, "compute_reboot_instance", task, work)

    def _simple(self, context, instance_uuid, method):
        task_state, driver_call, vm_state, power_state = _SIMPLE[method]

        def work(instance):
            call = getattr(self.driver, driver_call)
            if driver_call in _WITH_CONTEXT:
                call(context, instance)
            else:
                call(instance)
            return {"vm_state": vm_state, "power_state": power_state}
        self._run_action(context, instance_uuid, "compute_" + method, task_state, work)

    def stop_instance(self, context, instance_uuid):
        self._simple(context, instance_uuid, "stop_instance")

    def start_instance(self, context, instance_uuid):
        self._simple(context, instance_uuid, "start_instance")

    def pause_instance(self, context, instance_uuid):
        self._simple(context, instance_uuid, "pause_instance")

    def unpause_instance(self, context, instance_uuid):
        self._simple(context, instance_uuid, "unpause_instance")

    def suspend_instance(self, context, instance_uuid):
        self._simple(context, instance_uuid, "suspend_instance")

    def resume_instance(self, context, instance_uuid):
        self._simple(context, instance_uuid, "resume_instance")

    def rescue_instance(self, context, instance_uuid, admin_password=None):
        def work(instance):
            image = _image(context, instance.rescue_image_ref)
            self.driver.rescue(context, instance, image, admin_password)
            return {"vm_state": states.RESCUED, "power_state": states.RUNNING}
        db_actions.event_start(context, instance_uuid, "compute_rescue_instance",
                               host=self.host)
        try:
            instance = db_instances.get(instance_uuid)
            values = work(instance)
            db_instances.transition(instance_uuid, expected_task_state=states.RESCUING,
                                    task_state=None, load=False, **values)
        except exception.InstanceNotFound:
            return
        except Exception as e:
            LOG.exception("rescue failed for %s", instance_uuid)
            # A failed rescue leaves an unknown guest: ERROR, and forget the
            # rescue record so a hard reboot rebuilds the normal guest.
            self._record_failure(context, instance_uuid, "compute_rescue_instance", e,
                                 states.RESCUING, states.ERROR, **_NO_RESCUE)
            return
        db_actions.event_finish(context, instance_uuid, "compute_rescue_instance",
                                host=self.host)

    def unrescue_instance(self, context, instance_uuid):
        def work(instance):
            # Clear the record first: the driver rebuilds from the database.
            instance = db_instances.transition(
                instance_uuid, expected_task_state=states.UNRESCUING, **_NO_RESCUE)
            self.driver.unrescue(context, instance)
            return {"vm_state": states.ACTIVE, "power_state": states.RUNNING}
        self._run_action(context, instance_uuid, "compute_unrescue_instance",
                         states.UNRESCUING, work, vm_state_on_error=states.ERROR)

    def rebuild_instance(self, context, instance_uuid):
        """Destroy the guest and spawn it again from the instance's (new)
        image_ref, which the API recorded with the task; a stopped server
        stays stopped, as in Nova."""
        def work(instance):
            image = _image(context, instance.image_ref)
            was_stopped = instance.vm_state == states.STOPPED
            self.driver.destroy(context, instance, destroy_disks=True)
            self.driver.spawn(context, instance, image, None)
            if was_stopped:
                self.driver.power_off(instance)
                return {"vm_state": states.STOPPED, "power_state": states.SHUTDOWN,
                        "launched_at": models.utcnow()}
            return {"vm_state": states.ACTIVE, "power_state": states.RUNNING,
                    "launched_at": models.utcnow()}
        self._run_action(context, instance_uuid, "compute_rebuild_instance",
                         states.REBUILDING, work, vm_state_on_error=states.ERROR)

    @changes_usage
    def terminate_instance(self, context, instance_uuid):
        db_actions.event_start(context, instance_uuid, "compute_terminate_instance",
                               host=self.host)
        try:
            instance = db_instances.get(instance_uuid)
            if self.abort_live_migration_for_delete(context, instance):
                instance = db_instances.get(instance_uuid)
                if instance.host != self.host:
                    # It completed before the abort landed: delete it there.
                    db_instances.transition(instance_uuid, expected_task_state=None,
                                            task_state=states.DELETING)
                    self.compute_rpcapi.terminate_instance(context, instance.host,
                                                           instance_uuid)
                    return
            self._destroy_and_delete(context, instance)
        except exception.InstanceNotFound:
            pass
        except Exception as e:
            LOG.exception("delete failed for %s", instance_uuid)
            self._record_failure(context, instance_uuid, "compute_terminate_instance",
                                 e, states.DELETING, states.ERROR)
            return
        db_actions.event_finish(context, instance_uuid, "compute_terminate_instance",
                                host=self.host)

    def _destroy_and_delete(self, context, instance):
        self.driver.destroy(context, instance, destroy_disks=True)
        db_instances.soft_delete(instance.uuid)

    # --- periodic tasks -------------------------------------------------
    def _poll_rescued_instances(self):
        if not CONF.rescue_timeout:
            return
        from lifeboat import context as lb_context
        for inst in db_instances.rescued_longer_than(self.host, CONF.rescue_timeout):
            ctxt = lb_context.get_admin_context()
            try:
                db_instances.transition(inst.uuid, expected_task_state=None,
                                        expected_vm_state=states.RESCUED,
                                        task_state=states.UNRESCUING)
            except exception.LifeboatException:
                continue  # busy or gone: next time
            db_actions.start(ctxt, inst.uuid, "unrescue")
            LOG.info("Unrescuing %s after rescue_timeout", inst.uuid)
            self.unrescue_instance(ctxt, inst.uuid)

    def _sync_power_states(self):
        """Record the power state the driver reports for every idle instance
        on this host. Plain rows of what a driver reads to find (or, for the
        simulated one, adopt) a guest: at 100 instances a host this ran 1,000
        ORM loads a second in an idle 1,000-host cloud."""
        for inst in db_instances.list_(filters={"host": self.host},
                                       columns=_SYNC_COLUMNS):
            if inst.task_state is not None:
                continue
            power = self._guest_info(inst)
            if power != inst.power_state:
                try:
                    db_instances.transition(inst.uuid, expected_task_state=None,
                                            power_state=power)
                except exception.LifeboatException:
                    pass

    def supports_rescued_live_migration(self):
        return caps.host_supports_rescued_live_migration(
            self.driver.capabilities, self.service_ref.version if self.service_ref else 0)


def _instance_exists(instance_uuid):
    try:
        db_instances.get(instance_uuid)
        return True
    except exception.InstanceNotFound:
        return False


def _image(context, image_id):
    """The image record a guest is built from, or None if it is gone (a driver
    that needs the bits then fails with a clear error)."""
    if not image_id:
        return None
    try:
        return image_api.get(context.elevated(), image_id)
    except exception.ImageNotFound:
        return None


_SYNC_COLUMNS = ("uuid", "host", "deleted", "vm_state", "task_state", "power_state",
                 "flavor", "image_ref", "rescue_image_ref")

_NO_RESCUE = {"rescue_image_ref": None, "rescue_kernel_id": None,
              "rescue_ramdisk_id": None, "rescue_layout": None, "rescued_at": None}

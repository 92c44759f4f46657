"""The compute API: what the HTTP layer may ask of the cloud.

Each state-changing method checks the lock and Nova's allowed states, then
starts its task with one compare-and-swap (`_start_task`), records an instance
action, and hands the work to the conductor or the instance's compute host.
Of two racing requests exactly one passes the compare-and-swap; the other gets
Nova's 409.
"""
import logging
import secrets
import string
import uuid as uuidlib

from lifeboat import exception
from lifeboat.compute import capabilities as caps
from lifeboat.compute import rpcapi as compute_rpcapi
from lifeboat.compute import states
from lifeboat.conductor import rpcapi as conductor_rpcapi
from lifeboat.conf import CONF
from lifeboat.db import actions as db_actions
from lifeboat.db import catalog as db_catalog
from lifeboat.db import instances as db_instances
from lifeboat.db import migrations as db_migrations
from lifeboat.db import models
from lifeboat.db import services as db_services
from lifeboat.image import api as image_api

LOG = logging.getLogger(__name__)

RESCUED_LIVE_MIGRATION_VERSION = "2.105"
ASYNC_LIVE_MIGRATION_VERSION = "2.34"

_REBOOT_SOFT_STATES = [states.ACTIVE]
_REBOOT_HARD_STATES = [states.ACTIVE, states.STOPPED, states.PAUSED,
                       states.SUSPENDED, states.ERROR]
_REBOOT_HARD_TASKS = [None, states.REBOOTING, states.REBOOT_PENDING,
                      states.REBOOT_STARTED, states.REBOOTING_HARD,
                      states.RESUMING, states.UNPAUSING, states.PAUSING,
                      states.SUSPENDING]

# action -> (method name in 409s, allowed vm_states, new task_state, rpc method)
_SIMPLE_ACTIONS = {
    "stop": ("stop", [states.ACTIVE, states.ERROR], states.POWERING_OFF,
             "stop_instance"),
    "start": ("start", [states.STOPPED], states.POWERING_ON, "start_instance"),
    "pause": ("pause", [states.ACTIVE], states.PAUSING, "pause_instance"),
    "unpause": ("unpause", [states.PAUSED], states.UNPAUSING, "unpause_instance"),
    "suspend": ("suspend", [states.ACTIVE], states.SUSPENDING, "suspend_instance"),
    "resume": ("resume", [states.SUSPENDED], states.RESUMING, "resume_instance"),
}


def generate_password(length=12):
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


class API:
    """Compute API used by the HTTP handlers."""

    def __init__(self):
        self.compute = compute_rpcapi.ComputeAPI()
        self.conductor = conductor_rpcapi.ConductorAPI()

    # --- lookups ---------------------------------------------------------
    def get(self, context, instance_uuid):
        """The instance, or 404 if missing or another project's (non-admin)."""
        project = None if context.is_admin else context.project_id
        return db_instances.get(instance_uuid, project_id=project)

    # --- the state machine entry ----------------------------------------
    @staticmethod
    def _check_lock(context, instance):
        if instance.locked and not context.is_admin:
            raise exception.InstanceLocked(instance_uuid=instance.uuid)

    @staticmethod
    def _check_state(instance, method, vm_states, task_states=(None,)):
        if vm_states is not None and instance.vm_state not in vm_states:
            raise exception.InstanceInvalidState(
                method=method, instance_uuid=instance.uuid, attr="vm_state",
                state=instance.vm_state)
        if task_states is not None and instance.task_state not in task_states:
            raise exception.InstanceInvalidState(
                method=method, instance_uuid=instance.uuid, attr="task_state",
                state=instance.task_state)

    def _start_task(self, context, instance, method, action, task_state,
                    vm_states, task_states=(None,), check_lock=True, **values):
        """Check, compare-and-swap to `task_state`, and record `action`.

        Returns the updated instance. A request that loses a race gets the same
        409 it would have got had it come second.
        """
        if check_lock:
            self._check_lock(context, instance)
        self._check_state(instance, method, vm_states, task_states)
        expected_vm = vm_states if vm_states is not None else \
            db_instances._UNSET  # noqa: SLF001 - "any vm_state"
        try:
            updated = db_instances.transition(
                instance.uuid, expected_task_state=list(task_states),
                expected_vm_state=expected_vm, task_state=task_state, **values)
        except (exception.UnexpectedTaskState, exception.UnexpectedVMState):
            current = db_instances.get(instance.uuid)
            self._check_state(current, method, vm_states, task_states)
            raise exception.InstanceInvalidState(
                method=method, instance_uuid=instance.uuid, attr="task_state",
                state=current.task_state)
        if action:
            db_actions.start(context, instance.uuid, action)
        return updated

    # --- create / delete ------------------------------------------------
    def create(self, context, name, image_ref, flavor_ref, admin_password=None,
               metadata=None, requested_host=None, description=None, tags=None,
               min_count=1, max_count=1, key_name=None, user_data=None,
               availability_zone=None, access_ip_v4=None, access_ip_v6=None,
               config_drive=None, hostname=None):
        """Record the instances and cast their builds; returns the instances."""
        try:
            flavor = db_catalog.flavor_get(flavor_ref)
        except exception.FlavorNotFound:
            raise exception.Invalid("Flavor %s could not be found." % flavor_ref)
        try:
            image = image_api.get(context, image_ref)
        except exception.ImageNotFound:
            raise exception.Invalid("Can not find requested image")
        if image.status != "active":
            raise exception.Invalid("Image %s is not active." % image_ref)
        if (image.min_ram or 0) > flavor.memory_mb:
            raise exception.Invalid("Flavor's memory is too small for requested image.")
        if flavor.root_gb and (image.min_disk or 0) > flavor.root_gb:
            raise exception.Invalid("Flavor's disk is too small for requested image.")
        if key_name:
            raise exception.Invalid("Invalid key_name provided.")
        if requested_host and db_services.get_by_host_binary(
                requested_host, "nova-compute") is None:
            raise exception.Invalid("Compute host %s could not be found." % requested_host)
        if availability_zone and availability_zone.split(":")[0] not in ("nova", ""):
            raise exception.Invalid("The requested availability zone is not available")
        snapshot = db_catalog.flavor_snapshot(flavor)
        reservation_id = "r-" + secrets.token_hex(4)
        created = []
        for index in range(max_count):
            display = name if max_count == 1 else "%s-%d" % (name, index + 1)
            inst = db_instances.create(dict(
                uuid=str(uuidlib.uuid4()), display_name=display,
                display_description=description, hostname=hostname or _hostname(display),
                project_id=context.project_id, user_id=context.user_id,
                image_ref=image.id, kernel_id=image.properties.get("kernel_id"),
                ramdisk_id=image.properties.get("ramdisk_id"), flavor_id=flavor.id,
                flavor=snapshot, vcpus=flavor.vcpus, memory_mb=flavor.memory_mb,
                root_gb=flavor.root_gb, ephemeral_gb=flavor.ephemeral_gb,
                vm_state=states.BUILDING, task_state=states.SCHEDULING,
                power_state=states.NOSTATE, metadata_=dict(metadata or {}),
                tags=list(tags or []), key_name=key_name, user_data=user_data,
                availability_zone=availability_zone or "nova",
                access_ip_v4=access_ip_v4, access_ip_v6=access_ip_v6,
                config_drive="True" if config_drive else "", launch_index=index,
                reservation_id=reservation_id, root_device_name="/dev/vda"))
            db_actions.start(context, inst.uuid, "create")
            created.append(inst)
        for inst in created:
            self.conductor.build_instance(context, inst.uuid, requested_host,
                                          admin_password)
        return created

    def delete(self, context, instance):
        """Delete, aborting a live migration first (as Nova does)."""
        self._check_lock(context, instance)
        if instance.task_state == states.MIGRATING:
            # Keep task_state: the source host aborts, unwinds, then deletes.
            db_actions.start(context, instance.uuid, "delete")
            self.compute.terminate_instance(context, instance.host, instance.uuid)
            return
        try:
            instance = db_instances.transition(instance.uuid, task_state=states.DELETING)
        except exception.InstanceNotFound:
            return
        db_actions.start(context, instance.uuid, "delete")
        if instance.host:
            self.compute.terminate_instance(context, instance.host, instance.uuid)
        else:
            db_instances.soft_delete(instance.uuid)

    # --- power and lifecycle actions ------------------------------------
    def reboot(self, context, instance, reboot_type):
        if reboot_type == "SOFT":
            vm_states, task_states, task = _REBOOT_SOFT_STATES, [None], states.REBOOTING
        else:
            vm_states, task_states, task = (_REBOOT_HARD_STATES, _REBOOT_HARD_TASKS,
                                            states.REBOOTING_HARD)
        self._check_lock(context, instance)
        self._check_state(instance, "reboot", _REBOOT_HARD_STATES, _REBOOT_HARD_TASKS)
        self._start_task(context, instance, "reboot", "reboot", task, vm_states,
                         task_states)
        self.compute.reboot_instance(context, instance.host, instance.uuid, reboot_type)

    def simple_action(self, context, instance, action):
        """stop, start, pause, unpause, suspend, resume."""
        method, vm_states, task_state, rpc_method = _SIMPLE_ACTIONS[action]
        self._start_task(context, instance, method, action, task_state, vm_states)
        self.compute.simple_action(context, instance.host, rpc_method, instance.uuid)

    def rescue(self, context, instance, rescue_image_ref=None, admin_password=None):
        """Record what the rescue guest is made of, then rescue; returns adminPass."""
        self._check_lock(context, instance)
        self._check_state(instance, "rescue", [states.ACTIVE, states.STOPPED,
                                               states.ERROR])
        image_id = (rescue_image_ref or instance.image_ref
                    or CONF.libvirt.rescue_image_id)
        image = _active_image(context, image_id, "Rescue image")
        password = admin_password or generate_password()
        self._start_task(
            context, instance, "rescue", "rescue", states.RESCUING,
            [states.ACTIVE, states.STOPPED, states.ERROR],
            rescue_image_ref=image.id,
            rescue_kernel_id=image.properties.get("kernel_id"),
            rescue_ramdisk_id=image.properties.get("ramdisk_id"),
            rescue_layout={"boot": "disk.rescue", "disks": ["disk.rescue", "disk"],
                           "bus": "virtio"},
            rescued_at=models.utcnow())
        self.compute.rescue_instance(context, instance.host, instance.uuid, password)
        return password

    def unrescue(self, context, instance):
        self._start_task(context, instance, "unrescue", "unrescue", states.UNRESCUING,
                         [states.RESCUED])
        self.compute.simple_action(context, instance.host, "unrescue_instance",
                                   instance.uuid)

    def rebuild(self, context, instance, image_ref, admin_password=None, **values):
        """Rebuild the guest from `image_ref` (Nova's allowed states); returns
        the admin password. A rescued or migrating server gets Nova's 409.
        `values` are instance fields to set with the task (name, metadata...)."""
        vm_states = [states.ACTIVE, states.STOPPED, states.ERROR]
        self._check_lock(context, instance)
        self._check_state(instance, "rebuild", vm_states)
        image = _active_image(context, image_ref, "Image")
        if (image.min_ram or 0) > instance.memory_mb:
            raise exception.Invalid("Flavor's memory is too small for requested image.")
        if (image.min_disk or 0) > instance.root_gb and instance.root_gb:
            raise exception.Invalid("Flavor's disk is too small for requested image.")
        password = admin_password or generate_password()
        self._start_task(context, instance, "rebuild", "rebuild", states.REBUILDING,
                         vm_states, image_ref=image.id,
                         kernel_id=image.properties.get("kernel_id"),
                         ramdisk_id=image.properties.get("ramdisk_id"), **values)
        self.compute.simple_action(context, instance.host, "rebuild_instance",
                                   instance.uuid)
        return password

    def lock(self, context, instance, reason=None):
        by = "owner" if context.project_id == instance.project_id else "admin"
        db_instances.transition(instance.uuid, locked=True, locked_by=by,
                                locked_reason=reason)
        db_actions.start(context, instance.uuid, "lock")

    def unlock(self, context, instance, may_override):
        if instance.locked and instance.locked_by == "admin" \
                and context.project_id == instance.project_id and not may_override:
            raise exception.PolicyNotAuthorized(
                action="os_compute_api:os-lock-server:unlock:unlock_override")
        db_instances.transition(instance.uuid, locked=False, locked_by=None,
                                locked_reason=None)
        db_actions.start(context, instance.uuid, "unlock")

    # --- live migration -------------------------------------------------
    def live_migrate(self, context, instance, host, block_migration, force, version):
        """Start a live migration; the blueprint's rules come first.

        Rescued instances may move only at 2.105+ (409 below), and only between
        hosts whose drivers and service versions support it (400 naming the
        source or destination compute node, checked here synchronously at every
        microversion). Below 2.34 the pre-checks are synchronous too (400).
        """
        allowed = [states.ACTIVE, states.PAUSED]
        if version >= RESCUED_LIVE_MIGRATION_VERSION:
            allowed.append(states.RESCUED)
        self._check_lock(context, instance)
        self._check_state(instance, "os-migrateLive", allowed)
        if host:
            dest_service = db_services.get_by_host_binary(host, "nova-compute")
            if dest_service is None or not db_services.compute_nodes(host):
                raise exception.ComputeHostNotFound(host=host)
        if instance.vm_state == states.RESCUED:
            self.check_rescued_live_migration_support(instance.host, "source")
            if host:
                self.check_rescued_live_migration_support(host, "destination")
        instance = self._start_task(context, instance, "os-migrateLive",
                                    "live-migration", states.MIGRATING, allowed)
        migration = db_migrations.create(
            instance_uuid=instance.uuid, migration_type="live-migration",
            status="accepted", source_compute=instance.host, source_node=instance.node,
            dest_compute=host, dest_node=host, old_instance_type_id=instance.flavor_id,
            new_instance_type_id=instance.flavor_id, user_id=context.user_id,
            project_id=context.project_id)
        synchronous = version < ASYNC_LIVE_MIGRATION_VERSION
        self.conductor.live_migrate_instance(
            context, instance.uuid, migration.id, host, block_migration, force,
            synchronous)
        return migration

    @staticmethod
    def check_rescued_live_migration_support(host, role):
        """400 naming `host` as source or destination if it cannot do it."""
        nodes = db_services.compute_nodes(host)
        node = nodes[0] if nodes else None
        if node is None or not caps.host_supports_rescued_live_migration(
                node.capabilities, node.service.version):
            raise exception.RescuedLiveMigrationNotSupported(role=role, host=host)

    def _migration_for(self, instance, migration_id):
        try:
            migration = db_migrations.get(migration_id)
        except exception.MigrationNotFound:
            migration = None
        if migration is None or migration.instance_uuid != instance.uuid:
            raise exception.MigrationNotFoundForInstance(migration_id=migration_id,
                                                         instance_id=instance.uuid)
        return migration

    def live_migration_abort(self, context, instance, migration_id, version):
        self._check_lock(context, instance)
        self._check_state(instance, "abort live migration", None, [states.MIGRATING])
        migration = self._migration_for(instance, migration_id)
        allowed = ("queued", "preparing", "running") if version >= "2.65" else ("running",)
        if migration.migration_type != "live-migration" or migration.status not in allowed:
            raise exception.InvalidMigrationState(
                migration_id=migration_id, instance_uuid=instance.uuid,
                state=migration.status, method="abort live migration")
        db_actions.start(context, instance.uuid, "live_migration_cancel")
        self.compute.live_migration_abort(context, instance.host, instance.uuid,
                                          migration.id)

    def live_migration_force_complete(self, context, instance, migration_id):
        """Nova allows ACTIVE only; Lifeboat also PAUSED and RESCUED (documented)."""
        self._check_lock(context, instance)
        self._check_state(instance, "force_complete",
                          [states.ACTIVE, states.PAUSED, states.RESCUED],
                          [states.MIGRATING])
        migration = self._migration_for(instance, migration_id)
        if migration.status != "running":
            raise exception.InvalidMigrationState(
                migration_id=migration_id, instance_uuid=instance.uuid,
                state=migration.status, method="force complete")
        db_actions.start(context, instance.uuid, "live_migration_force_complete")
        self.compute.live_migration_force_complete(context, instance.host,
                                                   instance.uuid, migration.id)


def _hostname(display_name):
    """Nova's sanitised hostname: lowercase, [a-z0-9-], at most 63 chars."""
    out = []
    for ch in display_name.lower():
        if ch.isalnum() and ch.isascii():
            out.append(ch)
        elif ch in " -_.":
            out.append("-")
    name = "".join(out).strip("-.")[:63]
    return name or "server"


def _active_image(context, image_id, label):
    """The image a rescue or rebuild uses; 400 (Nova's wording, `label` first)
    when it is missing or not active."""
    try:
        image = image_api.get(context, image_id)
    except exception.ImageNotFound:
        raise exception.Invalid("%s %s could not be found." % (label, image_id))
    if image.status != "active":
        raise exception.Invalid("%s %s is not active." % (label, image_id))
    return image

"""The virt driver boundary: what a compute manager may ask of a hypervisor.

The rest of Lifeboat never asks "which driver is this?"; it reads `capabilities`
(reported to the database by each compute service) and calls these methods.
Instances are passed as database rows (lifeboat.db.models.Instance); a driver
builds its guest from them alone, so any host can rebuild any guest.
"""
import abc
import dataclasses


@dataclasses.dataclass
class InstanceInfo:
    """What a driver knows of a guest right now."""
    state: int                # lifeboat.compute.states power_state
    rescued: bool = False


@dataclasses.dataclass
class MigrationProgress:
    """Progress of a live migration's transfer, in bytes."""
    memory_total: int = 0
    memory_processed: int = 0
    memory_remaining: int = 0
    disk_total: int = 0
    disk_processed: int = 0
    disk_remaining: int = 0


class LiveMigrationMonitor(abc.ABC):
    """Handed to `live_migration`: the driver reports progress and learns of
    operator requests (abort, force-complete) through it."""

    @abc.abstractmethod
    def progress(self, progress: MigrationProgress):
        """Record progress (called periodically while the transfer runs)."""

    @abc.abstractmethod
    def abort_requested(self) -> bool:
        """True once an operator asked to abort."""

    @abc.abstractmethod
    def force_complete_requested(self) -> bool:
        """True once an operator asked to force completion."""

    @abc.abstractmethod
    def point_of_no_return(self):
        """Called when the guest can no longer go back to the source (post-copy)."""


class LiveMigrationAborted(Exception):
    """The transfer was cancelled by request; the guest is still on the source."""


class ComputeDriver(abc.ABC):
    """Abstract hypervisor driver (one instance per compute host)."""

    capabilities = {
        "supports_live_migrate_rescued": False,
        "supports_rescue": True,
        "supports_pause": True,
        "supports_suspend": True,
        "supports_block_migration": False,
        "supports_post_copy": False,
        "supports_force_complete": False,
    }

    def __init__(self, host):
        self.host = host

    def init_host(self):
        """Prepare the hypervisor connection; called once at service start."""

    @abc.abstractmethod
    def get_available_resource(self):
        """Dict for the compute node row: vcpus, memory_mb, local_gb,
        hypervisor_type, hypervisor_version, cpu_info, host_ip."""

    @abc.abstractmethod
    def list_instances(self):
        """uuids of the guests this hypervisor currently runs or defines."""

    @abc.abstractmethod
    def get_info(self, instance) -> InstanceInfo:
        """Current state of `instance`'s guest; raises InstanceNotFound if none."""

    @abc.abstractmethod
    def spawn(self, context, instance, image, admin_password=None):
        """Create and start the guest from the database record and `image`."""

    @abc.abstractmethod
    def destroy(self, context, instance, destroy_disks=True):
        """Stop and remove the guest; remove its files when destroy_disks."""

    @abc.abstractmethod
    def reboot(self, context, instance, reboot_type):
        """SOFT: ask the guest; HARD: destroy and rebuild the guest definition
        from the database (rescue record included) and start it."""

    @abc.abstractmethod
    def power_off(self, instance):
        """Stop the guest, keeping its disks."""

    @abc.abstractmethod
    def power_on(self, context, instance):
        """Start a stopped guest (rebuilt from the database)."""

    @abc.abstractmethod
    def pause(self, instance):
        """Freeze vCPUs; memory stays resident."""

    @abc.abstractmethod
    def unpause(self, instance):
        """Resume a paused guest."""

    @abc.abstractmethod
    def suspend(self, context, instance):
        """Save the guest's memory to disk and stop it."""

    @abc.abstractmethod
    def resume(self, context, instance):
        """Restore a suspended guest."""

    @abc.abstractmethod
    def rescue(self, context, instance, rescue_image, admin_password=None):
        """Boot the rescue image with the original disk attached second.

        `instance` already carries the rescue record (rescue_image_ref, kernel,
        ramdisk, layout); the driver must write nothing else that describes the
        pre-rescue guest."""

    @abc.abstractmethod
    def unrescue(self, context, instance):
        """Return to the normal guest: a hard reboot built from the database
        (the instance's rescue record is already cleared by the caller)."""

    # --- live migration -------------------------------------------------
    def check_can_live_migrate_destination(self, context, instance, block_migration):
        """On the destination: can this host take the guest? Returns migrate
        data (a JSON-able dict) for the source check; raises
        MigrationPreCheckError if not."""
        return {"block_migration": bool(block_migration)}

    def check_can_live_migrate_source(self, context, instance, migrate_data):
        """On the source: with the destination's data, decide shared storage and
        block migration. Returns the updated migrate data."""
        return migrate_data

    def cleanup_live_migration_destination_check(self, context, migrate_data):
        """On the destination, once the source's check has answered (or
        failed): remove what check_can_live_migrate_destination left for the
        source to see (as Nova's check_can_live_migrate_destination_cleanup)."""

    @abc.abstractmethod
    def pre_live_migration(self, context, instance, migrate_data):
        """On the destination: prepare every file and disk the guest uses there
        (rescue disk and rescue kernel/ramdisk included). Returns migrate data."""

    @abc.abstractmethod
    def live_migration(self, context, instance, dest, migrate_data, monitor):
        """On the source: move the running guest to `dest`. Returns normally on
        success; raises LiveMigrationAborted if aborted, any other error if it
        failed (guest still on the source unless monitor.point_of_no_return was
        called)."""

    @abc.abstractmethod
    def post_live_migration(self, context, instance, migrate_data):
        """On the source after success: remove what is left of the guest here
        (never disks on shared storage)."""

    @abc.abstractmethod
    def post_live_migration_at_destination(self, context, instance, migrate_data):
        """On the destination after success: make the guest this host's own."""

    @abc.abstractmethod
    def rollback_live_migration_at_destination(self, context, instance, migrate_data):
        """On the destination after failure: remove what pre_live_migration
        made (never disks on shared storage)."""

"""The simulated hypervisor: real state, simulated time.

Each compute host gets its own in-memory set of guests with power state, rescue
layout and disks; operation latencies and capacity come from [fake] options.
Hosts named in [fake] hosts_without_rescued_live_migration report
supports_live_migrate_rescued = False; migrations into hosts named in
[fake] hosts_failing_live_migration fail during the transfer.
"""
import threading
import time

from lifeboat import exception
from lifeboat.compute import states
from lifeboat.conf import CONF
from lifeboat.virt import driver

# Shared "storage" for [fake] shared_storage: instance uuid -> disks.
_SHARED_DISKS = {}
_SHARED_LOCK = threading.Lock()


class FakeGuest:
    """One simulated guest."""

    def __init__(self, uuid, memory_mb, disks):
        self.uuid = uuid
        self.memory_mb = memory_mb
        self.disks = disks        # name -> image id (or None for blank)
        self.power_state = states.RUNNING
        self.rescued = False
        self.boots = 1


class FakeDriver(driver.ComputeDriver):
    """A simulated hypervisor for tests, demos and scale runs."""

    def __init__(self, host):
        super().__init__(host)
        self.guests = {}
        self._lock = threading.Lock()
        self.capabilities = dict(driver.ComputeDriver.capabilities)
        self.capabilities.update({
            "supports_live_migrate_rescued":
                host not in CONF.fake.hosts_without_rescued_live_migration,
            "supports_block_migration": True,
            "supports_force_complete": True,
            "supports_post_copy": True,
        })

    # --- helpers --------------------------------------------------------
    @staticmethod
    def _wait(seconds):
        if seconds:
            time.sleep(seconds)

    def _guest(self, instance):
        guest = self.guests.get(instance.uuid)
        if guest is None and instance.host == self.host and not instance.deleted \
                and instance.vm_state not in (states.BUILDING, states.DELETED):
            guest = self._adopt(instance)
        if guest is None:
            raise exception.InstanceNotFound(instance_id=instance.uuid)
        return guest

    def _adopt(self, instance):
        """A guest the database says runs here but this process has not seen:
        the simulated hypervisor outlived a restart of its compute service."""
        guest = FakeGuest(instance.uuid, instance.flavor["memory_mb"],
                          self._disks_for(instance))
        guest.power_state = instance.power_state or states.RUNNING
        guest.rescued = bool(instance.rescue_image_ref)
        guest.boots = 0
        with self._lock:
            return self.guests.setdefault(instance.uuid, guest)

    def _disks_for(self, instance):
        disks = {"disk": instance.image_ref}
        if instance.rescue_image_ref:
            disks = {"disk.rescue": instance.rescue_image_ref, **disks}
        return disks

    # --- inventory ------------------------------------------------------
    def get_available_resource(self):
        return {"vcpus": CONF.fake.vcpus, "memory_mb": CONF.fake.memory_mb,
                "local_gb": CONF.fake.local_gb, "hypervisor_type": "fake",
                "hypervisor_version": 1000, "host_ip": "127.0.0.1",
                "cpu_info": {"arch": "x86_64", "model": "fake", "vendor": "Lifeboat",
                             "topology": {"cores": 1, "threads": 1, "sockets": 1},
                             "features": []}}

    def list_instances(self):
        return list(self.guests)

    def get_info(self, instance):
        guest = self._guest(instance)
        return driver.InstanceInfo(state=guest.power_state, rescued=guest.rescued)

    # --- lifecycle ------------------------------------------------------
    def spawn(self, context, instance, image, admin_password=None):
        self._wait(CONF.fake.boot_seconds)
        guest = FakeGuest(instance.uuid, instance.flavor["memory_mb"],
                          self._disks_for(instance))
        with self._lock:
            self.guests[instance.uuid] = guest
        if CONF.fake.shared_storage:
            with _SHARED_LOCK:
                _SHARED_DISKS[instance.uuid] = dict(guest.disks)

    def destroy(self, context, instance, destroy_disks=True):
        with self._lock:
            self.guests.pop(instance.uuid, None)
        if destroy_disks and CONF.fake.shared_storage:
            with _SHARED_LOCK:
                _SHARED_DISKS.pop(instance.uuid, None)

    def reboot(self, context, instance, reboot_type):
        self._wait(CONF.fake.reboot_seconds)
        guest = self._guest(instance)
        if reboot_type == "HARD":
            # rebuilt from the database record: rescue layout iff rescued there
            guest.disks = self._disks_for(instance)
            guest.rescued = bool(instance.rescue_image_ref)
        guest.power_state = states.RUNNING
        guest.boots += 1

    def _set_power(self, instance, power_state):
        self._wait(CONF.fake.power_seconds)
        self._guest(instance).power_state = power_state

    def power_off(self, instance):
        self._set_power(instance, states.SHUTDOWN)

    def power_on(self, context, instance):
        guest = self._guest(instance)
        guest.disks = self._disks_for(instance)
        self._set_power(instance, states.RUNNING)
        guest.boots += 1

    def pause(self, instance):
        self._set_power(instance, states.PAUSED_POWER)

    def unpause(self, instance):
        self._set_power(instance, states.RUNNING)

    def suspend(self, context, instance):
        self._set_power(instance, states.SUSPENDED_POWER)

    def resume(self, context, instance):
        self._set_power(instance, states.RUNNING)

    def rescue(self, context, instance, rescue_image, admin_password=None):
        self._wait(CONF.fake.rescue_seconds)
        guest = self._guest(instance)
        guest.disks = self._disks_for(instance)
        guest.rescued = True
        guest.power_state = states.RUNNING
        guest.boots += 1

    def unrescue(self, context, instance):
        # The hard-reboot path: the definition comes from the database only.
        self._wait(CONF.fake.rescue_seconds)
        guest = self._guest(instance)
        guest.disks = self._disks_for(instance)
        guest.rescued = False
        guest.power_state = states.RUNNING
        guest.boots += 1

    # --- live migration -------------------------------------------------
    def check_can_live_migrate_destination(self, context, instance, block_migration):
        shared = CONF.fake.shared_storage
        if block_migration is True and shared:
            raise exception.MigrationPreCheckError(
                reason="Cannot block migrate instance %s with mapped volumes or "
                       "shared storage" % instance.uuid)
        return {"block_migration": (not shared) if block_migration in (None, "auto")
                else bool(block_migration), "is_shared_instance_path": shared,
                "is_shared_block_storage": False}

    def pre_live_migration(self, context, instance, migrate_data):
        # Every disk the guest uses must exist here first, the rescue disk too.
        guest = FakeGuest(instance.uuid, instance.flavor["memory_mb"],
                          self._disks_for(instance))
        guest.power_state = states.NOSTATE
        guest.rescued = bool(instance.rescue_image_ref)
        guest.boots = 0
        with self._lock:
            self.guests[instance.uuid] = guest
        return migrate_data

    def live_migration(self, context, instance, dest, migrate_data, monitor):
        guest = self._guest(instance)
        total = guest.memory_mb * 1024 * 1024
        disk_total = 0 if migrate_data.get("is_shared_instance_path") else (
            instance.flavor["root_gb"] * 1024 ** 3 if migrate_data.get("block_migration")
            else 0)
        duration = CONF.fake.live_migration_seconds
        fail = dest in CONF.fake.hosts_failing_live_migration
        steps = max(1, int(duration / 0.05)) if duration else 1
        # Steps on an absolute schedule: the simulated transfer takes
        # `duration` however late a busy process wakes this thread for each
        # step (a relative sleep per step added every wake-up's delay, up to
        # 0.1 s per migration with 16 in flight).
        started = time.monotonic()
        for step in range(1, steps + 1):
            if monitor.abort_requested():
                raise driver.LiveMigrationAborted()
            if monitor.force_complete_requested():
                if CONF.fake.live_migration_post_copy:
                    monitor.point_of_no_return()  # memory now lives on dest
                step = steps
            if fail and step * 2 > steps:
                raise exception.HypervisorError(
                    reason="Live migration to %s failed: destination refused the "
                           "incoming guest" % dest)
            done = total * step // steps
            disk_done = disk_total * step // steps
            monitor.progress(driver.MigrationProgress(
                memory_total=total, memory_processed=done, memory_remaining=total - done,
                disk_total=disk_total, disk_processed=disk_done,
                disk_remaining=disk_total - disk_done))
            if step == steps:
                break
            time.sleep(max(0.0, started + duration * step / steps - time.monotonic()))
        if fail:
            raise exception.HypervisorError(
                reason="Live migration to %s failed: destination refused the "
                       "incoming guest" % dest)

    def post_live_migration(self, context, instance, migrate_data):
        with self._lock:
            self.guests.pop(instance.uuid, None)

    def post_live_migration_at_destination(self, context, instance, migrate_data):
        guest = self.guests.get(instance.uuid)
        if guest is None:
            guest = FakeGuest(instance.uuid, instance.flavor["memory_mb"],
                              self._disks_for(instance))
            self.guests[instance.uuid] = guest
        guest.power_state = (states.PAUSED_POWER if instance.vm_state == states.PAUSED
                             else states.RUNNING)
        guest.rescued = bool(instance.rescue_image_ref)

    def rollback_live_migration_at_destination(self, context, instance, migrate_data):
        with self._lock:
            self.guests.pop(instance.uuid, None)
        # Shared disks belong to the source guest too: never removed here.

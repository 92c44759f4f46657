"""The libvirt driver: real QEMU guests (KVM, or TCG where /dev/kvm does not work).

Every guest definition is generated from the database row (flavor, images,
rescue record) by `_guest_config`; nothing else describing a guest is kept on
the host. Rescue boots the rescue image first with the original disk second;
unrescue, hard reboot and power-on are one path (`_hard_reboot`): destroy,
drop rescue files when not rescued, regenerate, start. So a rescued guest that
moved to another host unrescues there like anywhere else.

Live migration is peer-to-peer `migrateToURI3` (migration.py); the destination
prepares every file the guest definition names beforehand (pre_live_migration),
and shared instance storage is detected with a marker file as Nova does.
"""
import contextlib
import errno
import fcntl
import logging
import os
import shutil
import time
import uuid as uuidlib

import libvirt

from lifeboat import exception
from lifeboat.conf import CONF
from lifeboat.virt import driver
from lifeboat.virt.libvirt import config as vconfig
from lifeboat.virt.libvirt import guest as vguest
from lifeboat.virt.libvirt import imagecache
from lifeboat.virt.libvirt import migration

LOG = logging.getLogger(__name__)

DEFAULT_CMDLINE = "root=/dev/vda console=tty0 console=ttyS0"
SHARED_CHECK_PREFIX = ".lifeboat-shared-check-"
SHARED_CHECK_MAX_AGE = 600          # seconds before a leftover marker is removed
MIGRATION_TARGET_MARK = ".migration-target"   # files made here by pre_live_migration
MiB = 1024 * 1024
KVM_CREATE_VM = 0xAE01


def default_virt_type():
    """kvm when /dev/kvm accepts a new VM, else qemu (TCG).

    Some nested setups pass this and still cannot run a real guest (QEMU hangs
    on MSR setup): there [libvirt] virt_type = qemu must be set."""
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return "qemu"
    try:
        os.close(fcntl.ioctl(fd, KVM_CREATE_VM, 0))
        return "kvm"
    except OSError:
        return "qemu"
    finally:
        os.close(fd)


class LibvirtDriver(driver.ComputeDriver):
    """ComputeDriver for libvirt/QEMU on one host."""

    capabilities = dict(
        driver.ComputeDriver.capabilities,
        supports_live_migrate_rescued=True,
        supports_rescue=True,
        supports_pause=True,
        supports_suspend=True,
        supports_block_migration=True,
        supports_post_copy=True,
        supports_force_complete=True,
        has_imagecache=True,
        supports_migrate_to_same_host=False,
        supports_image_type_qcow2=True,
        supports_image_type_raw=True,
        supports_image_type_aki=True,
        supports_image_type_ari=True,
        supports_image_type_ami=True,
    )

    def __init__(self, host):
        super().__init__(host)
        self.virt_type = CONF.libvirt.virt_type or default_virt_type()
        self.instances_path = CONF.instances_path
        self.cache = imagecache.ImageCache(self.instances_path, host)
        self._host = vguest.Host(CONF.libvirt.connection_uri)
        self.disk_cachemode = CONF.libvirt.disk_cachemode

    # --- host -------------------------------------------------------------
    def init_host(self):
        os.makedirs(self.instances_path, exist_ok=True)
        if self.disk_cachemode is None:
            self.disk_cachemode = "none" if _supports_direct_io(self.instances_path) \
                else "writeback"
        conn = self._host.get_connection()
        LOG.info("libvirt driver on %s: %s (libvirt %s), virt_type %s, instances in %s",
                 self.host, self._host.uri, conn.getLibVersion(), self.virt_type,
                 self.instances_path)

    def cleanup_host(self):
        self._host.close()

    def get_available_resource(self):
        conn = self._host.get_connection()
        arch, memory_mb, cpus, _mhz, nodes, sockets, cores, threads = conn.getInfo()
        st = os.statvfs(self.instances_path)
        return {"vcpus": cpus, "memory_mb": memory_mb,
                "local_gb": st.f_blocks * st.f_frsize // imagecache.GiB,
                "hypervisor_type": "QEMU", "hypervisor_version": conn.getVersion(),
                "host_ip": CONF.libvirt.live_migration_inbound_addr or "127.0.0.1",
                "cpu_info": {"arch": arch, "model": "qemu64", "vendor": "QEMU",
                             "topology": {"cells": nodes, "sockets": sockets,
                                          "cores": cores, "threads": threads},
                             "features": []}}

    def list_instances(self):
        return self._host.uuids()

    def get_info(self, instance):
        guest = self._host.get(instance.uuid)
        rescue_disk = os.path.join(self._instance_dir(instance),
                                   "disk" + imagecache.RESCUE_SUFFIX)
        rescued = ("'%s'" % rescue_disk) in guest.xml()
        return driver.InstanceInfo(state=guest.power_state(), rescued=rescued)

    # --- files and definitions -----------------------------------------
    def _instance_dir(self, instance):
        return os.path.join(self.instances_path, instance.uuid)

    def _create_files(self, instance, files, sizes=None, full_copy=False,
                      standby=False):
        """Make every file of `files` that the instance directory lacks
        (`standby`: also a rescued guest's original kernel and ramdisk)."""
        inst_dir = self._instance_dir(instance)
        os.makedirs(inst_dir, exist_ok=True)
        sizes = sizes or {}
        for disk in files.disks:
            path = os.path.join(inst_dir, disk.name)
            if os.path.exists(path):
                continue
            if full_copy:
                imagecache.create_standalone(path, sizes[disk.name])
            else:
                base = self.cache.fetch(disk.image_id, disk.name)
                imagecache.create_overlay(path, base, sizes.get(disk.name, disk.min_size))
        for boot_file in files.boot_files() + (files.standby_boot_files if standby else []):
            path = os.path.join(inst_dir, boot_file.name)
            if not os.path.exists(path):
                imagecache.link_or_copy(
                    self.cache.fetch(boot_file.image_id, boot_file.name), path)

    def _remove_rescue_files(self, instance):
        for name in ("disk", "kernel", "ramdisk"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(self._instance_dir(instance),
                                       name + imagecache.RESCUE_SUFFIX))

    def _guest_config(self, instance, files):
        inst_dir = self._instance_dir(instance)
        conf = vconfig.Guest(self.virt_type, instance.uuid, "instance-%08x" % instance.id,
                             instance.memory_mb, instance.vcpus)
        if files.kernel:
            conf.kernel = os.path.join(inst_dir, files.kernel.name)
            if files.ramdisk:
                conf.initrd = os.path.join(inst_dir, files.ramdisk.name)
            image = imagecache.image_record(files.cmdline_image_id) \
                if files.cmdline_image_id else None
            conf.cmdline = ((image.properties or {}).get("os_command_line")
                            if image else None) or DEFAULT_CMDLINE
        for disk in files.disks:
            conf.disks.append(vconfig.GuestDisk(os.path.join(inst_dir, disk.name),
                                                disk.target_dev, cache=self.disk_cachemode))
        conf.serials.append(vconfig.GuestSerialFile(os.path.join(inst_dir, "console.log")))
        created = instance.created_at.isoformat() if instance.created_at else None
        conf.metadata = vconfig.GuestMetadata(
            instance.display_name, instance.flavor, instance.user_id, instance.project_id,
            instance.image_ref, created, instance.metadata_, instance.rescue_image_ref)
        return conf

    def _define_and_start(self, instance, files):
        guest = self._host.define(self._guest_config(instance, files).to_xml())
        guest.launch()
        return guest

    # --- lifecycle -------------------------------------------------------
    def spawn(self, context, instance, image, admin_password=None):
        files = imagecache.guest_files(instance)
        self._create_files(instance, files)
        self._define_and_start(instance, files)

    def destroy(self, context, instance, destroy_disks=True):
        guest = self._host.find(instance.uuid)
        if guest is not None:
            guest.poweroff()
            guest.undefine()
        if destroy_disks:
            shutil.rmtree(self._instance_dir(instance), ignore_errors=True)

    def _hard_reboot(self, instance, new_rescue=False):
        """Destroy, regenerate the definition from the database, start.

        Rescue files go when the database says the instance is not rescued,
        and are made afresh for a new rescue (`new_rescue`)."""
        guest = self._host.find(instance.uuid)
        if guest is not None:
            guest.poweroff()
            guest.remove_managed_save()
        files = imagecache.guest_files(instance)
        if new_rescue or not files.rescued:
            self._remove_rescue_files(instance)
        self._create_files(instance, files)
        self._define_and_start(instance, files)

    def reboot(self, context, instance, reboot_type):
        if reboot_type == "SOFT":
            guest = self._host.get(instance.uuid)
            if guest.shutdown_and_wait(CONF.libvirt.wait_soft_reboot_seconds):
                guest.launch()
                return
            LOG.warning("Instance %s did not shut down within %ds: hard rebooting",
                        instance.uuid, CONF.libvirt.wait_soft_reboot_seconds)
        self._hard_reboot(instance)

    def power_off(self, instance):
        guest = self._host.get(instance.uuid)
        if CONF.libvirt.shutdown_timeout:
            guest.shutdown_and_wait(CONF.libvirt.shutdown_timeout)
        guest.poweroff()

    def power_on(self, context, instance):
        self._hard_reboot(instance)

    def pause(self, instance):
        self._host.get(instance.uuid).pause()

    def unpause(self, instance):
        self._host.get(instance.uuid).resume()

    def suspend(self, context, instance):
        self._host.get(instance.uuid).managed_save()

    def resume(self, context, instance):
        guest = self._host.get(instance.uuid)
        if guest.has_managed_save():
            guest.launch()
        else:
            self._hard_reboot(instance)

    def rescue(self, context, instance, rescue_image, admin_password=None):
        # The rescue record is already on the row: the same path as a hard
        # reboot builds the rescue guest (rescue disk first, original second).
        self._hard_reboot(instance, new_rescue=True)

    def unrescue(self, context, instance):
        self._hard_reboot(instance)

    # --- live migration: checks -------------------------------------------
    def check_can_live_migrate_destination(self, context, instance, block_migration):
        self._remove_stale_shared_checks()
        marker = SHARED_CHECK_PREFIX + uuidlib.uuid4().hex
        open(os.path.join(self.instances_path, marker), "w").close()
        inst_dir = self._instance_dir(instance)
        files = imagecache.guest_files(instance)
        full_copy = False
        for boot_file in files.boot_files() + files.standby_boot_files:
            if not os.path.exists(os.path.join(inst_dir, boot_file.name)) \
                    and not self.cache.available(boot_file.image_id):
                _unlink(os.path.join(self.instances_path, marker))
                raise exception.MigrationPreCheckError(
                    reason="image %s (%s of instance %s) is no longer in the image "
                           "service and host %s has no copy of it; a kernel or "
                           "ramdisk cannot be copied by the migration" % (
                               boot_file.image_id, boot_file.name, instance.uuid,
                               self.host))
        for disk in files.disks:
            if not os.path.exists(os.path.join(inst_dir, disk.name)) \
                    and not self.cache.available(disk.image_id):
                LOG.info("Image %s of %s is gone: its disk %s will be copied in full",
                         disk.image_id, instance.uuid, disk.name)
                full_copy = True
        return {"block_migration": block_migration, "shared_check_file": marker,
                "target_connect_addr": CONF.libvirt.live_migration_inbound_addr,
                "full_copy": full_copy}

    def cleanup_live_migration_destination_check(self, context, migrate_data):
        _unlink(os.path.join(self.instances_path,
                             (migrate_data or {}).get("shared_check_file") or "-"))

    def _remove_stale_shared_checks(self):
        now = time.time()
        with contextlib.suppress(OSError):
            for name in os.listdir(self.instances_path):
                path = os.path.join(self.instances_path, name)
                if name.startswith(SHARED_CHECK_PREFIX) and \
                        now - os.path.getmtime(path) > SHARED_CHECK_MAX_AGE:
                    _unlink(path)

    def check_can_live_migrate_source(self, context, instance, migrate_data):
        data = dict(migrate_data)
        marker = os.path.join(self.instances_path, data.get("shared_check_file") or "-")
        shared = os.path.exists(marker)
        if shared:
            _unlink(marker)   # the destination's own file: seen, done with
        block = data.get("block_migration")
        if block in (None, "auto"):
            block = not shared
        elif block and shared:
            raise exception.MigrationPreCheckError(
                reason="Block migration can not be used with shared storage.")
        elif not block and not shared:
            raise exception.MigrationPreCheckError(
                reason="%s is not on shared storage: Live migration without block "
                       "migration requires shared instance storage." % instance.uuid)
        guest = self._host.get(instance.uuid)
        sizes = {}
        for disk in imagecache.guest_files(instance).disks:
            path = os.path.join(self._instance_dir(instance), disk.name)
            try:    # capacity as the running QEMU sees it; no subprocess
                sizes[disk.name] = guest.domain.blockInfo(path, 0)[0]
            except libvirt.libvirtError:
                sizes[disk.name] = imagecache.disk_info(path)["virtual-size"]
        data.update(block_migration=bool(block), is_shared_instance_path=shared,
                    is_shared_block_storage=False, disk_sizes=sizes,
                    full_copy=bool(data.get("full_copy")) and not shared)
        return data

    # --- live migration: destination ------------------------------------
    def pre_live_migration(self, context, instance, migrate_data):
        if migrate_data.get("is_shared_instance_path"):
            return migrate_data
        inst_dir = self._instance_dir(instance)
        os.makedirs(inst_dir, exist_ok=True)
        with open(os.path.join(inst_dir, MIGRATION_TARGET_MARK), "w") as f:
            f.write(self.host)
        self._create_files(instance, imagecache.guest_files(instance),
                           sizes=migrate_data.get("disk_sizes"),
                           full_copy=migrate_data.get("full_copy", False), standby=True)
        return migrate_data

    def post_live_migration_at_destination(self, context, instance, migrate_data):
        guest = self._host.get(instance.uuid)
        # A migration forced to complete paused the guest; a paused instance
        # stays paused.
        if guest.state() == libvirt.VIR_DOMAIN_PAUSED and instance.vm_state != "paused":
            guest.resume()
        _unlink(os.path.join(self._instance_dir(instance), MIGRATION_TARGET_MARK))

    def rollback_live_migration_at_destination(self, context, instance, migrate_data):
        guest = self._host.find(instance.uuid)
        if guest is not None:
            LOG.warning("Removing the incoming guest of %s left by a failed migration",
                        instance.uuid)
            guest.poweroff()
            guest.undefine()
        # Only what pre_live_migration made here: never files on shared storage.
        inst_dir = self._instance_dir(instance)
        try:
            made_here = open(os.path.join(inst_dir, MIGRATION_TARGET_MARK)).read() \
                == self.host
        except OSError:
            made_here = False
        if made_here:
            shutil.rmtree(inst_dir, ignore_errors=True)

    # --- live migration: source -----------------------------------------
    def live_migration(self, context, instance, dest, migrate_data, monitor):
        guest = self._host.get(instance.uuid)
        files = imagecache.guest_files(instance)
        flags = migration.flags_for(migrate_data)
        params = migration.params_for(migrate_data, [d.target_dev for d in files.disks])
        disk_bytes = 0
        if flags & (libvirt.VIR_MIGRATE_NON_SHARED_INC | libvirt.VIR_MIGRATE_NON_SHARED_DISK):
            disk_bytes = sum((migrate_data.get("disk_sizes") or {}).values())
        uri = migration.destination_uri(dest, migrate_data)
        LOG.info("Live-migrating %s to %s (%s), flags %#x", instance.uuid, dest, uri, flags)
        started = time.monotonic()
        migration.Transfer(guest, uri, params, flags, instance.memory_mb * MiB, disk_bytes,
                           monitor).run()
        LOG.info("Transfer of %s to %s took %.3f s", instance.uuid, dest,
                 time.monotonic() - started)

    def post_live_migration(self, context, instance, migrate_data):
        guest = self._host.find(instance.uuid)
        if guest is not None and not guest.is_active():
            guest.undefine()
        shared = (migrate_data or {}).get("is_shared_instance_path")
        if shared is None:
            # Called without the migration's data (start-up reconciliation):
            # the files may be the destination's too. Leave them.
            LOG.warning("Not removing the files of %s here: whether they are on "
                        "shared storage is unknown", instance.uuid)
        elif not shared:
            shutil.rmtree(self._instance_dir(instance), ignore_errors=True)


def _unlink(path):
    with contextlib.suppress(FileNotFoundError, IsADirectoryError):
        os.unlink(path)


def _supports_direct_io(directory):
    path = os.path.join(directory, ".directio.test")
    try:
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_DIRECT)
        os.close(fd)
        return True
    except OSError as e:
        if e.errno == errno.EINVAL:
            return False
        raise
    finally:
        _unlink(path)

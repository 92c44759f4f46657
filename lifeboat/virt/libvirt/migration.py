"""Running one peer-to-peer live migration and watching it (as Nova's
virt/libvirt/migration.py and the driver's _live_migration_monitor).

`migrateToURI3` blocks until the migration ends, so it runs in a thread while
this one polls `jobStats()` for progress, raises the allowed downtime in
steps, and acts on operator requests and the completion timeout: abort via
`abortJob()`, force-complete by pausing the guest (or switching to post-copy
when permitted; past that switch the guest cannot go back).
"""
import logging
import threading
import time

import libvirt

from lifeboat.conf import CONF
from lifeboat.virt import driver as virt_driver

LOG = logging.getLogger(__name__)

MiB = 1024 * 1024
GiB = 1024 * MiB
# Bandwidth set when a migration is forced to complete: "as fast as it goes".
UNLIMITED_BANDWIDTH_MIB = 1 << 20


def flags_for(migrate_data):
    """migrateToURI3 flags for this migration's storage situation."""
    flags = (libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_PEER2PEER
             | libvirt.VIR_MIGRATE_PERSIST_DEST | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE)
    if migrate_data.get("block_migration") and not migrate_data.get(
            "is_shared_instance_path"):
        flags |= (libvirt.VIR_MIGRATE_NON_SHARED_DISK if migrate_data.get("full_copy")
                  else libvirt.VIR_MIGRATE_NON_SHARED_INC)
    elif migrate_data.get("is_shared_instance_path"):
        # Shared storage on a local (or unknown) filesystem: libvirt cannot tell
        # it is shared, and refuses a cache mode it does not trust otherwise.
        flags |= libvirt.VIR_MIGRATE_UNSAFE
    if CONF.libvirt.live_migration_permit_post_copy and not (
            flags & (libvirt.VIR_MIGRATE_NON_SHARED_INC | libvirt.VIR_MIGRATE_NON_SHARED_DISK)):
        # As Nova: post-copy only without a block copy (a disk still being
        # mirrored cannot follow the guest past the switch).
        flags |= libvirt.VIR_MIGRATE_POSTCOPY
    return flags


def params_for(migrate_data, disk_devs):
    params = {}
    addr = migrate_data.get("target_connect_addr")
    if addr:
        params[libvirt.VIR_MIGRATE_PARAM_URI] = "tcp://%s" % addr
    if migrate_data.get("block_migration") and not migrate_data.get(
            "is_shared_instance_path"):
        params[libvirt.VIR_MIGRATE_PARAM_MIGRATE_DISKS] = list(disk_devs)
    if CONF.libvirt.live_migration_bandwidth:
        params[libvirt.VIR_MIGRATE_PARAM_BANDWIDTH] = CONF.libvirt.live_migration_bandwidth
    return params


def destination_uri(dest, migrate_data):
    return CONF.libvirt.live_migration_uri % (migrate_data.get("target_connect_addr")
                                              or dest)


def downtime_steps(data_gb):
    """(seconds after start, max downtime ms) pairs, as Nova's downtime_steps."""
    downtime = CONF.libvirt.live_migration_downtime
    steps = CONF.libvirt.live_migration_downtime_steps
    delay = max(int(CONF.libvirt.live_migration_downtime_delay * data_gb), 1)
    base = downtime / steps
    offset = (downtime - base) / steps
    for i in range(steps + 1):
        yield int(delay * i), int(base + offset * i)


def progress_of(stats):
    """A MigrationProgress from a jobStats() dict."""
    disk_total = stats.get("disk_total", 0)
    disk_processed = stats.get("disk_processed", 0)
    return virt_driver.MigrationProgress(
        memory_total=stats.get("memory_total", 0),
        memory_processed=stats.get("memory_processed", 0),
        memory_remaining=stats.get("memory_remaining", 0),
        disk_total=disk_total, disk_processed=disk_processed,
        disk_remaining=stats.get("disk_remaining", max(disk_total - disk_processed, 0)))


class Transfer:
    """One migrateToURI3 call in a thread, driven to its end by `run()`."""

    def __init__(self, guest, dest_uri, params, flags, memory_bytes, disk_bytes, monitor):
        self.guest = guest
        self.dest_uri = dest_uri
        self.params = params
        self.flags = flags
        self.memory_bytes = memory_bytes
        self.disk_bytes = disk_bytes
        self.data_gb = max((memory_bytes + disk_bytes) / GiB, 1 / 1024)
        self.monitor = monitor
        self.error = None
        self.paused_by_us = False
        self.post_copy = False
        self.aborting = False
        self.totals = (0, 0)     # largest memory_total, disk_total seen
        self._thread = threading.Thread(target=self._migrate, daemon=True,
                                        name="migrate-%s" % guest.uuid)

    def _migrate(self):
        try:
            self.guest.domain.migrateToURI3(self.dest_uri, self.params, self.flags)
        except libvirt.libvirtError as e:
            self.error = e

    def run(self):
        """Returns on success; raises LiveMigrationAborted or the failure."""
        started = time.monotonic()
        steps = downtime_steps(self.data_gb)
        next_step = next(steps, None)
        timeout = CONF.libvirt.live_migration_completion_timeout * self.data_gb
        forced = False
        self._thread.start()
        interval = CONF.libvirt.live_migration_monitor_interval
        next_progress = started
        while True:
            self._thread.join(interval)
            if not self._thread.is_alive():
                break
            now = time.monotonic()
            elapsed = now - started
            if now >= next_progress:
                self._report_progress()
                next_progress = now + CONF.libvirt.live_migration_progress_interval
            if self.monitor.abort_requested() and not self.aborting:
                self._abort()
            elif not forced and not self.aborting and (
                    self.monitor.force_complete_requested()
                    or (timeout and elapsed > timeout)):
                if self.monitor.force_complete_requested() or \
                        CONF.libvirt.live_migration_timeout_action == "force_complete":
                    forced = True
                    self._force_complete()
                else:
                    LOG.warning("Live migration of %s exceeded its completion "
                                "timeout of %ds: aborting", self.guest.uuid, timeout)
                    self._abort()
            while next_step is not None and elapsed >= next_step[0]:
                self._set_downtime(next_step[1])
                next_step = next(steps, None)
        return self._finish()

    def _report_progress(self):
        try:
            stats = self.guest.domain.jobStats()
        except libvirt.libvirtError:
            return  # the domain left the source at the very end
        if stats.get("type", libvirt.VIR_DOMAIN_JOB_NONE) != libvirt.VIR_DOMAIN_JOB_NONE:
            progress = progress_of(stats)
            self.totals = (max(self.totals[0], progress.memory_total),
                           max(self.totals[1], progress.disk_total))
            self.monitor.progress(progress)

    def _report_done(self):
        """After success: everything was transferred. The last read may predate
        the memory phase (a block copy comes first), so totals fall back to
        the guest's memory and the copied disks' sizes."""
        memory = self.totals[0] or self.memory_bytes
        disk = self.totals[1] or self.disk_bytes
        self.monitor.progress(virt_driver.MigrationProgress(
            memory_total=memory, memory_processed=memory,
            disk_total=disk, disk_processed=disk))

    def _set_downtime(self, ms):
        try:
            self.guest.domain.migrateSetMaxDowntime(ms, 0)
        except libvirt.libvirtError as e:
            LOG.debug("Could not set max downtime of %s: %s", self.guest.uuid, e)

    def _abort(self):
        self.aborting = True
        try:
            self.guest.domain.abortJob()
        except libvirt.libvirtError as e:
            LOG.warning("abortJob for %s failed: %s", self.guest.uuid, e)

    def _force_complete(self):
        """Post-copy when permitted (its bandwidth is libvirt's separate,
        unlimited post-copy one), else pause the guest so memory stops changing
        and stop limiting the bandwidth."""
        if self.flags & libvirt.VIR_MIGRATE_POSTCOPY:
            try:
                self.guest.domain.migrateStartPostCopy(0)
                self.post_copy = True
                self.monitor.point_of_no_return()
                LOG.info("Live migration of %s switched to post-copy", self.guest.uuid)
                return
            except libvirt.libvirtError as e:
                LOG.warning("Switch to post-copy for %s failed (%s): pausing instead",
                            self.guest.uuid, e)
        try:
            if self.guest.state() == libvirt.VIR_DOMAIN_RUNNING:
                self.guest.pause()
                self.paused_by_us = True
        except libvirt.libvirtError as e:
            LOG.warning("Pausing %s to force completion failed: %s", self.guest.uuid, e)
        try:
            self.guest.domain.migrateSetMaxSpeed(UNLIMITED_BANDWIDTH_MIB, 0)
        except libvirt.libvirtError as e:
            LOG.debug("Could not lift the bandwidth limit of %s: %s", self.guest.uuid, e)

    def _finish(self):
        if self.error is None:
            self._report_done()
            return
        # Still on the source: put it back as it was before we paused it.
        if self.paused_by_us and not self.post_copy:
            try:
                self.guest.resume()
            except libvirt.libvirtError as e:
                LOG.warning("Could not resume %s after a failed migration: %s",
                            self.guest.uuid, e)
        if self.aborting and not self.post_copy:
            raise virt_driver.LiveMigrationAborted()
        raise self.error

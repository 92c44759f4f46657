"""Pieces of the libvirt driver without a hypervisor: XML escaping, guest file
layout from the database row, migration flags, downtime steps, and the
transfer's reaction to abort, force-complete and post-copy (on a fake domain)."""
import threading
import types

import pytest

libvirt = pytest.importorskip("libvirt")
etree = pytest.importorskip("lxml.etree")

from lifeboat.conf import CONF  # noqa: E402
from lifeboat.virt import driver as virt_driver  # noqa: E402
from lifeboat.virt.libvirt import config as vconfig  # noqa: E402
from lifeboat.virt.libvirt import imagecache  # noqa: E402
from lifeboat.virt.libvirt import migration  # noqa: E402


def _instance(**kw):
    values = dict(uuid="u1", image_ref="img", kernel_id="k", ramdisk_id="r", root_gb=1,
                  rescue_image_ref=None, rescue_kernel_id=None, rescue_ramdisk_id=None,
                  rescue_layout=None)
    values.update(kw)
    return types.SimpleNamespace(**values)


def test_xml_escapes_user_input_and_drops_non_xml_characters():
    guest = vconfig.Guest("qemu", "u1", "instance-00000001", 128, 1)
    guest.metadata = vconfig.GuestMetadata(
        "<x>&\"'\x01", {"name": "f"}, "user", "proj", "img",
        user_metadata={"k]]>": "<script>"})
    xml = guest.to_xml()
    root = etree.fromstring(xml.encode())
    ns = {"lb": vconfig.METADATA_NS}
    assert root.findtext("metadata/lb:instance/lb:name", namespaces=ns) == "<x>&\"'"
    item = root.find("metadata/lb:instance/lb:metadata/lb:item", namespaces=ns)
    assert (item.get("key"), item.text) == ("k]]>", "<script>")
    assert "<script>" not in xml


def test_guest_files_normal_and_rescued():
    normal = imagecache.guest_files(_instance())
    assert [(d.name, d.image_id, d.target_dev) for d in normal.disks] == [
        ("disk", "img", "vda")]
    assert (normal.kernel.name, normal.ramdisk.name) == ("kernel", "ramdisk")
    rescued = imagecache.guest_files(_instance(
        rescue_image_ref="resc", rescue_kernel_id="rk", rescue_ramdisk_id=None,
        rescue_layout={"boot": "disk.rescue", "disks": ["disk.rescue", "disk"]}))
    assert [(d.name, d.image_id, d.target_dev) for d in rescued.disks] == [
        ("disk.rescue", "resc", "vda"), ("disk", "img", "vdb")]
    assert rescued.kernel.name == "kernel.rescue" and rescued.ramdisk is None
    assert [f.name for f in rescued.standby_boot_files] == ["kernel", "ramdisk"]
    assert rescued.cmdline_image_id == "resc"


def test_flags_for_storage_situations():
    base = (libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_PEER2PEER
            | libvirt.VIR_MIGRATE_PERSIST_DEST | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE)
    assert migration.flags_for({"block_migration": True}) == \
        base | libvirt.VIR_MIGRATE_NON_SHARED_INC
    assert migration.flags_for({"block_migration": True, "full_copy": True}) == \
        base | libvirt.VIR_MIGRATE_NON_SHARED_DISK
    assert migration.flags_for({"is_shared_instance_path": True}) == \
        base | libvirt.VIR_MIGRATE_UNSAFE
    params = migration.params_for({"block_migration": True, "target_connect_addr": "h"},
                                  ["vda", "vdb"])
    assert params[libvirt.VIR_MIGRATE_PARAM_MIGRATE_DISKS] == ["vda", "vdb"]
    assert params[libvirt.VIR_MIGRATE_PARAM_URI] == "tcp://h"


def test_downtime_steps_as_nova():
    steps = list(migration.downtime_steps(1.0))
    assert steps[0] == (0, 50) and steps[-1] == (750, 500) and len(steps) == 11


class FakeDomain:
    """migrateToURI3 blocks until finished; records what the monitor did."""

    def __init__(self, fail_on_abort=True):
        self.calls = []
        self.finish = threading.Event()
        self.error = None
        self.fail_on_abort = fail_on_abort
        self._state = libvirt.VIR_DOMAIN_RUNNING

    def UUIDString(self):
        return "u1"

    def migrateToURI3(self, uri, params, flags):
        self.finish.wait(10)
        if self.error:
            raise self.error

    def jobStats(self):
        return {"type": libvirt.VIR_DOMAIN_JOB_UNBOUNDED, "memory_total": 100,
                "memory_processed": 10, "memory_remaining": 90}

    def migrateSetMaxDowntime(self, ms, flags):
        self.calls.append(("downtime", ms))

    def migrateSetMaxSpeed(self, mib, flags):
        self.calls.append(("speed", mib))

    def abortJob(self):
        self.calls.append(("abort",))
        self.error = libvirt.libvirtError("operation aborted")
        self.finish.set()

    def migrateStartPostCopy(self, flags):
        self.calls.append(("postcopy",))
        self.finish.set()

    def state(self):
        return self._state, 0

    def suspend(self):
        self.calls.append(("suspend",))
        self._state = libvirt.VIR_DOMAIN_PAUSED
        self.finish.set()

    def resume(self):
        self.calls.append(("resume",))


class FakeMonitor(virt_driver.LiveMigrationMonitor):
    def __init__(self, abort=False, force=False):
        self.abort, self.force = abort, force
        self.reports, self.no_return = [], False

    def progress(self, p):
        self.reports.append(p)

    def abort_requested(self):
        return self.abort

    def force_complete_requested(self):
        return self.force

    def point_of_no_return(self):
        self.no_return = True


def _transfer(domain, monitor, flags=0):
    from lifeboat.virt.libvirt.guest import Guest
    return migration.Transfer(Guest(domain), "qemu+tcp://x/system", {}, flags,
                              128 * 1024 * 1024, 0, monitor)


def test_abort_raises_aborted_and_reports_progress():
    domain, monitor = FakeDomain(), FakeMonitor(abort=True)
    with pytest.raises(virt_driver.LiveMigrationAborted):
        _transfer(domain, monitor).run()
    assert ("abort",) in domain.calls and monitor.reports
    assert monitor.reports[0].memory_remaining == 90


def test_force_complete_pauses_and_lifts_bandwidth():
    domain, monitor = FakeDomain(), FakeMonitor(force=True)
    _transfer(domain, monitor).run()
    # The last report says everything was transferred, with the largest totals seen.
    assert (monitor.reports[-1].memory_total, monitor.reports[-1].memory_remaining) == (100, 0)
    assert ("suspend",) in domain.calls and ("speed", migration.UNLIMITED_BANDWIDTH_MIB) \
        in domain.calls
    assert not monitor.no_return


def test_force_complete_with_post_copy_passes_the_point_of_no_return():
    domain, monitor = FakeDomain(), FakeMonitor(force=True)
    _transfer(domain, monitor, flags=libvirt.VIR_MIGRATE_POSTCOPY).run()
    assert ("postcopy",) in domain.calls and ("suspend",) not in domain.calls
    assert monitor.no_return


def test_failure_after_pausing_resumes_the_guest_on_the_source():
    domain, monitor = FakeDomain(), FakeMonitor(force=True)
    domain.error = libvirt.libvirtError("destination went away")
    with pytest.raises(libvirt.libvirtError):
        _transfer(domain, monitor).run()
    assert domain.calls[-1] == ("resume",)


def test_completion_timeout_aborts():
    CONF.set_override("live_migration_completion_timeout", 1, group="libvirt")
    try:
        domain, monitor = FakeDomain(), FakeMonitor()
        transfer = _transfer(domain, monitor)
        transfer.data_gb = 0.0001     # 1 s/GiB * tiny -> times out at once
        with pytest.raises(virt_driver.LiveMigrationAborted):
            transfer.run()
        assert ("abort",) in domain.calls
    finally:
        CONF.clear_override("live_migration_completion_timeout", group="libvirt")

"""Live migration with real hypervisors, end to end through the HTTP API:
ACTIVE guests with and without shared storage, a failing migration, abort of a
slowed migration, force-complete, delete during a migration, and images
deleted from the image service since the guest was built."""
import os
import re

import pytest

from tests.libvirt import guest_images
from tests.libvirt import helpers as lh
from tests.libvirt.guest_images import BOOT_MARKER, RESCUE_MARKER

# Real guests under TCG on a 2-core machine: minutes, not the default 120 s.
pytestmark = [pytest.mark.libvirt, pytest.mark.timeout(360)]
libvirt = pytest.importorskip("libvirt")

SLOW_MIB_S = 1   # migrateSetMaxSpeed for "slowed" migrations


@pytest.fixture
def shared(lifeboat_cloud, two_hosts):
    _no_servers(lifeboat_cloud[1])
    two_hosts.use_shared_storage(True)
    yield
    _no_servers(lifeboat_cloud[1])


@pytest.fixture
def local(lifeboat_cloud, two_hosts):
    _no_servers(lifeboat_cloud[1])
    two_hosts.use_shared_storage(False)
    yield
    _no_servers(lifeboat_cloud[1])


def _no_servers(admin):
    for server in admin.get("/servers?all_tenants=1").json()["servers"]:
        lh.delete(admin, server["id"])


def _data_marker(console, nth=1):
    text = console.wait_in_section(BOOT_MARKER, nth, r"^tick 1\b")
    return re.search(r"data=(DATA:\w+)", text).group(1)


def _assert_kept_running(two_hosts, sid, source, dest, before, prefix="tick"):
    """The guest on `dest` continues the tick count of `source`: no reboot."""
    con = lh.console(two_hosts, dest, sid)
    con.wait_for(lambda _t: [t for t in con.ticks(prefix) if t > before][2:],
                 "3 more %s lines on %s" % (prefix, dest))
    ticks = [t for t in con.ticks(prefix) if t > before]
    assert ticks == list(range(ticks[0], ticks[0] + len(ticks))), ticks
    if two_hosts.shared:
        assert con.count(BOOT_MARKER) + con.count(RESCUE_MARKER) == 1
    else:
        assert con.count(BOOT_MARKER) + con.count(RESCUE_MARKER) == 0


def _migrate_and_wait(admin, sid, dest, status="ACTIVE", **kw):
    lh.migrate(admin, sid, dest, **kw)
    admin.wait_for(sid, status=status, task_state=None, host=dest,
                   timeout=lh.MIGRATION_TIMEOUT)
    return lh.wait_migration(admin, sid, ["completed"])


def _start_slowed_migration(admin, two_hosts, sid, source, dest):
    lh.domain_call(two_hosts, source, sid, "migrateSetMaxSpeed", SLOW_MIB_S, 0)
    lh.migrate(admin, sid, dest)
    return admin.wait_until(
        lambda: [m for m in admin.at("2.80").get("/servers/%s/migrations" % sid).json()[
            "migrations"] if (m.get("memory_processed_bytes") or 0) > 0],
        "the migration of %s to be running with progress" % sid,
        lh.MIGRATION_TIMEOUT)[0]


def test_active_guest_block_migration(lifeboat_cloud, two_hosts, local):
    cloud, admin, images = lifeboat_cloud
    sid = lh.boot(admin, images["boot"], host="lbA")
    con_a = lh.console(two_hosts, "lbA", sid)
    data = _data_marker(con_a)
    # Without shared storage a non-block migration fails the source's check;
    # the destination's marker file is removed all the same.
    lh.migrate(admin, sid, "lbB", block_migration=False)
    assert lh.wait_migration(admin, sid, ["error"])["status"] == "error"
    admin.wait_for(sid, status="ACTIVE", task_state=None, host="lbA")
    assert "shared storage" in cloud.latest_fault(sid)["message"]
    assert lh.shared_check_markers(two_hosts) == []
    _migrate_and_wait(admin, sid, "lbB")
    assert lh.shared_check_markers(two_hosts) == []
    row = cloud.migration_row(sid)
    assert row["memory_total"] and row["disk_total"] and row["block_migration"], row
    _assert_kept_running(two_hosts, sid, "lbA", "lbB", con_a.last_tick())
    assert not os.path.exists(lh.instance_dir(two_hosts, "lbA", sid))
    # The disk came along: a hard reboot on lbB finds the same data.
    assert admin.action(sid, {"reboot": {"type": "HARD"}}).status_code == 202
    admin.wait_for(sid, status="ACTIVE", task_state=None, timeout=lh.BOOT_TIMEOUT)
    assert _data_marker(lh.console(two_hosts, "lbB", sid)) == data
    lh.delete(admin, sid)


def test_active_guest_shared_storage(lifeboat_cloud, two_hosts, shared):
    cloud, admin, images = lifeboat_cloud
    sid = lh.boot(admin, images["boot"], host="lbB")
    con = lh.console(two_hosts, "lbB", sid)
    _data_marker(con)
    _migrate_and_wait(admin, sid, "lbA")
    row = cloud.migration_row(sid)
    assert row["shared_storage"] and not row["disk_total"], row
    _assert_kept_running(two_hosts, sid, "lbB", "lbA", con.last_tick())
    assert sorted(os.listdir(lh.instance_dir(two_hosts, "lbA", sid))) == [
        "console.log", "disk", "kernel", "ramdisk"]
    lh.delete(admin, sid)
    assert not os.path.exists(lh.instance_dir(two_hosts, "lbA", sid))


def test_failed_migration_leaves_rescued_guest_on_source(lifeboat_cloud, two_hosts,
                                                         local):
    cloud, admin, images = lifeboat_cloud
    sid = lh.boot(admin, images["boot"], host="lbA")
    con = lh.console(two_hosts, "lbA", sid)
    _data_marker(con)
    assert admin.action(sid, {"rescue": {}}).status_code == 200
    admin.wait_for(sid, status="RESCUE", task_state=None, timeout=lh.BOOT_TIMEOUT)
    con.wait_in_section(BOOT_MARKER, 2, r"^tick 1\b")   # rescued with its own image
    # The destination cannot create the instance directory (a file is in the way).
    blocker = lh.instance_dir(two_hosts, "lbB", sid)
    open(blocker, "w").close()
    try:
        lh.migrate(admin, sid, "lbB")
        assert lh.wait_migration(admin, sid, ["failed", "error"])["status"] == "failed"
        server = admin.wait_for(sid, status="RESCUE", task_state=None, host="lbA")
        assert server["OS-EXT-STS:vm_state"] == "rescued"
        assert cloud.latest_fault(sid)["host"] in ("lbA", "lbB")
        assert lh.domains(two_hosts, "lbA")[sid] == libvirt.VIR_DOMAIN_RUNNING
        assert sid not in lh.domains(two_hosts, "lbB")
        before = con.last_tick()
        con.wait_for(lambda _t: con.last_tick() >= before + 2, "ticks on lbA")
        assert os.path.isfile(blocker), "rollback must not touch what it did not make"
    finally:
        os.unlink(blocker)
    lh.delete(admin, sid)


def test_abort_slowed_migration_keeps_shared_disks(lifeboat_cloud, two_hosts, shared):
    cloud, admin, images = lifeboat_cloud
    sid = lh.boot(admin, images["boot"], host="lbA")
    con = lh.console(two_hosts, "lbA", sid)
    _data_marker(con)
    migration = _start_slowed_migration(admin, two_hosts, sid, "lbA", "lbB")
    r = admin.at("2.24").delete("/servers/%s/migrations/%s" % (sid, migration["id"]))
    assert r.status_code == 202, r.text
    assert lh.wait_migration(admin, sid, ["cancelled", "failed", "completed"])[
        "status"] == "cancelled"
    admin.wait_for(sid, status="ACTIVE", task_state=None, host="lbA")
    assert lh.domains(two_hosts, "lbA")[sid] == libvirt.VIR_DOMAIN_RUNNING
    assert sid not in lh.domains(two_hosts, "lbB")
    assert sorted(os.listdir(lh.instance_dir(two_hosts, "lbA", sid))) == [
        "console.log", "disk", "kernel", "ramdisk"]
    before = con.last_tick()
    con.wait_for(lambda _t: con.last_tick() >= before + 2, "ticks after the abort")
    lh.delete(admin, sid)


def _force_completed_migration(admin, two_hosts, images, source, dest):
    """Boot on `source`, start a slowed migration to `dest`, force it to
    complete; returns the server id once it runs on `dest` and kept running."""
    sid = lh.boot(admin, images["boot"], host=source)
    con = lh.console(two_hosts, source, sid)
    _data_marker(con)
    migration = _start_slowed_migration(admin, two_hosts, sid, source, dest)
    r = admin.at("2.22").post("/servers/%s/migrations/%s/action" % (
        sid, migration["id"]), json={"force_complete": None})
    assert r.status_code == 202, r.text
    admin.wait_for(sid, status="ACTIVE", task_state=None, host=dest,
                   timeout=lh.MIGRATION_TIMEOUT)
    assert lh.wait_migration(admin, sid, ["completed"])
    assert lh.domains(two_hosts, dest)[sid] == libvirt.VIR_DOMAIN_RUNNING
    _assert_kept_running(two_hosts, sid, source, dest, con.last_tick())
    return sid


def test_force_complete_finishes(lifeboat_cloud, two_hosts, local):
    cloud, admin, images = lifeboat_cloud
    sid = _force_completed_migration(admin, two_hosts, images, "lbB", "lbA")
    assert "%s switched to post-copy" % sid not in cloud.log_tail("compute-B", 1000)
    lh.delete(admin, sid)


def test_delete_during_migration_leaves_nothing(lifeboat_cloud, two_hosts, local):
    cloud, admin, images = lifeboat_cloud
    sid = lh.boot(admin, images["boot"], host="lbA")
    _data_marker(lh.console(two_hosts, "lbA", sid))
    _start_slowed_migration(admin, two_hosts, sid, "lbA", "lbB")
    lh.delete(admin, sid, timeout=lh.MIGRATION_TIMEOUT)
    for host in ("lbA", "lbB"):
        assert sid not in lh.domains(two_hosts, host)
        assert not os.path.exists(lh.instance_dir(two_hosts, host, sid)), host


def test_deleted_images(lifeboat_cloud, two_hosts, guest_files, local):
    """A disk image gone from the image service: that disk is copied in full
    from the source. A kernel gone (and not cached at the destination): the
    pre-check fails with a clear fault and nothing changes."""
    cloud, admin, images = lifeboat_cloud
    own = {"kernel": guest_images.upload(admin, "lb-kernel-2", guest_files["vmlinuz"],
                                         "aki", "aki")}
    own["disk"] = guest_images.upload(
        admin, "lb-boot-2", guest_files["boot-disk.qcow2"], "qcow2", "bare",
        kernel_id=own["kernel"], ramdisk_id=images["boot_ramdisk"],
        os_command_line=guest_images.CMDLINE)
    sid = lh.boot(admin, own["disk"], host="lbA")
    con_a = lh.console(two_hosts, "lbA", sid)
    data = _data_marker(con_a)
    assert admin.delete("/image/v2/images/%s" % own["disk"]).status_code == 204
    _migrate_and_wait(admin, sid, "lbB")
    _assert_kept_running(two_hosts, sid, "lbA", "lbB", con_a.last_tick())
    assert admin.action(sid, {"reboot": {"type": "HARD"}}).status_code == 202
    admin.wait_for(sid, status="ACTIVE", task_state=None, timeout=lh.BOOT_TIMEOUT)
    assert _data_marker(lh.console(two_hosts, "lbB", sid)) == data

    # Back to lbA, whose cache holds the kernel: fine. Then delete the kernel
    # image and clear lbA's cache: lbA can no longer take the guest.
    assert admin.delete("/image/v2/images/%s" % own["kernel"]).status_code == 204
    for name in os.listdir(os.path.join(two_hosts.instances_dir("A"), "_base")):
        os.unlink(os.path.join(two_hosts.instances_dir("A"), "_base", name))
    lh.migrate(admin, sid, "lbA")
    migration = lh.wait_migration(admin, sid, ["error", "failed", "completed"])
    assert migration["status"] == "error", migration
    admin.wait_for(sid, status="ACTIVE", task_state=None, host="lbB")
    fault = cloud.latest_fault(sid)["message"]
    assert own["kernel"] in fault and "kernel" in fault, fault
    assert lh.domains(two_hosts, "lbB")[sid] == libvirt.VIR_DOMAIN_RUNNING
    assert not os.path.exists(lh.instance_dir(two_hosts, "lbA", sid))
    lh.delete(admin, sid)


def test_force_complete_with_post_copy(lifeboat_cloud, two_hosts, shared):
    """With [libvirt] live_migration_permit_post_copy, force-complete switches
    to post-copy (past the point of no return) and the guest runs on."""
    cloud, admin, images = lifeboat_cloud
    cloud.restart_computes(live_migration_permit_post_copy="true")
    try:
        sid = _force_completed_migration(admin, two_hosts, images, "lbA", "lbB")
        assert "%s switched to post-copy" % sid in cloud.log_tail("compute-A", 1000)
        lh.delete(admin, sid)
    finally:
        cloud.restart_computes()

"""End to end through the HTTP API with real hypervisors: a rescued guest
live-migrates (2.105) to the other host, keeps running there, and unrescues
there into its original image with its disk contents intact."""
import os
import re

import pytest

from tests.libvirt import helpers as lh
from tests.libvirt.guest_images import BOOT_DISK_HEAD, BOOT_MARKER, RESCUE_MARKER

# Real guests under TCG on a 2-core machine: minutes, not the default 120 s.
pytestmark = [pytest.mark.libvirt, pytest.mark.timeout(360)]


def test_rescued_guest_migrates_and_unrescues_on_destination(lifeboat_cloud, two_hosts):
    cloud, admin, images = lifeboat_cloud
    two_hosts.use_shared_storage(False)
    sid = lh.boot(admin, images["boot"], host="lbA")
    con_a = lh.console(two_hosts, "lbA", sid)
    boot = con_a.wait_in_section(BOOT_MARKER, 1, r"^tick 1\b")
    data = re.search(r"data=(DATA:\w+)", boot).group(1)

    r = admin.action(sid, {"rescue": {"rescue_image_ref": images["rescue"]}})
    assert r.status_code == 200, r.text
    admin.wait_for(sid, status="RESCUE", task_state=None, timeout=lh.BOOT_TIMEOUT)
    rescue = con_a.wait_in_section(RESCUE_MARKER, 1, r"^rescue-tick 3\b")
    # The original disk is the second disk, contents as the guest left them.
    assert re.search(r"^disk vdb .*head=%s data=%s" % (BOOT_DISK_HEAD, data),
                     rescue, re.M), rescue
    # Nothing describing the pre-rescue guest on the host.
    files = sorted(os.listdir(lh.instance_dir(two_hosts, "lbA", sid)))
    assert files == ["console.log", "disk", "disk.rescue", "kernel", "kernel.rescue",
                     "ramdisk", "ramdisk.rescue"], files

    before = con_a.last_tick("rescue-tick")
    lh.migrate(admin, sid, "lbB")
    server = admin.wait_for(sid, status="RESCUE", task_state=None, host="lbB",
                            timeout=lh.MIGRATION_TIMEOUT)
    assert server["OS-EXT-STS:vm_state"] == "rescued"
    assert lh.wait_migration(admin, sid, ["completed"])["dest_compute"] == "lbB"
    assert sid not in lh.domains(two_hosts, "lbA")
    assert not os.path.exists(lh.instance_dir(two_hosts, "lbA", sid))

    # Still the same rescue guest: the tick counter goes on, no second boot.
    con_b = lh.console(two_hosts, "lbB", sid)
    con_b.wait_for(lambda _t: len(con_b.ticks("rescue-tick")) >= 3, "ticks on lbB")
    ticks_b = con_b.ticks("rescue-tick")
    assert ticks_b[0] > before, (before, ticks_b)
    assert ticks_b == list(range(ticks_b[0], ticks_b[0] + len(ticks_b)))
    assert con_b.count(RESCUE_MARKER) == 0 and con_b.count(BOOT_MARKER) == 0

    # Unrescue on the destination: the original image boots, disk intact.
    r = admin.action(sid, {"unrescue": None})
    assert r.status_code == 202, r.text
    admin.wait_for(sid, status="ACTIVE", task_state=None, host="lbB",
                   timeout=lh.BOOT_TIMEOUT)
    after = con_b.wait_in_section(BOOT_MARKER, 1, r"^tick 1\b")
    assert "head=%s data=%s" % (BOOT_DISK_HEAD, data) in after, after
    assert sorted(os.listdir(lh.instance_dir(two_hosts, "lbB", sid))) == [
        "console.log", "disk", "kernel", "ramdisk"]
    lh.delete(admin, sid)
    assert sid not in lh.domains(two_hosts, "lbB")
    assert not os.path.exists(lh.instance_dir(two_hosts, "lbB", sid))

"""The libvirt driver on one real host, driven in-process through the HTTP API:
spawn, XML from the database (escaped), rescue without side files, unrescue as
a hard reboot, soft reboot falling back to hard, stop/start, pause/unpause,
suspend/resume, delete."""
import os
import re

import pytest

from lifeboat.db import models
from lifeboat.db.engine import transaction
from tests.fixtures import CloudFixture
from tests.libvirt import guest_images
from tests.libvirt.console import Console
from tests.libvirt.guest_images import BOOT_MARKER, RESCUE_MARKER

# Real guests under TCG on a 2-core machine: minutes, not the default 120 s.
pytestmark = [pytest.mark.libvirt, pytest.mark.timeout(360)]
libvirt = pytest.importorskip("libvirt")
etree = pytest.importorskip("lxml.etree")

BOOT_TIMEOUT = 90


@pytest.fixture(scope="module")
def one_host(two_hosts, guest_files, tmp_path_factory):
    two_hosts.use_shared_storage(False)
    fixture = CloudFixture(
        tmp_path_factory.mktemp("onehost"), hosts=("lbA",), compute_driver="libvirt",
        instances_path=two_hosts.local_instances("A"),
        libvirt__connection_uri=two_hosts.uri("A"), libvirt__virt_type="qemu",
        libvirt__wait_soft_reboot_seconds=1).start()
    admin = fixture.client("admin")
    images = guest_images.upload_all(admin, guest_files)
    with transaction() as s:
        s.add(models.Flavor(flavorid="lb128", name="lb.128", memory_mb=128, vcpus=1,
                            root_gb=1))
    try:
        yield fixture, admin, images
    finally:
        fixture.stop()


def _domain(two_hosts, uuid):
    return libvirt.open(two_hosts.uri("A")).lookupByUUIDString(uuid)


def _action(admin, server_id, body, status, expect=202):
    r = admin.action(server_id, body)
    assert r.status_code == expect, r.text
    return admin.wait_for(server_id, status=status, task_state=None, timeout=BOOT_TIMEOUT)


def test_lifecycle_rescue_unrescue_on_one_host(one_host, two_hosts):
    fixture, admin, images = one_host
    name = "a<b>&'\"c \u00e9"
    r = admin.post("/servers", json={"server": {
        "name": name, "imageRef": images["boot"], "flavorRef": "lb128",
        "metadata": {"k:1": "v<&>'\"]]>"}}})
    assert r.status_code == 202, r.text
    sid = r.json()["server"]["id"]
    admin.wait_for(sid, status="ACTIVE", task_state=None, timeout=BOOT_TIMEOUT)
    inst_dir = os.path.join(two_hosts.local_instances("A"), sid)
    console = Console(os.path.join(inst_dir, "console.log"))
    first = console.wait_in_section(BOOT_MARKER, 1, r"^tick 1\b")
    data = re.search(r"data=(DATA:\w+)", first).group(1)

    # The definition comes from the database, every value escaped.
    dom = _domain(two_hosts, sid)
    root = etree.fromstring(dom.XMLDesc(0).encode())
    assert root.get("type") == "qemu"
    assert int(root.findtext("memory")) == 128 * 1024
    ns = {"lb": "http://lifeboat.example.org/xmlns/libvirt/instance/1.0"}
    assert root.findtext("metadata/lb:instance/lb:name", namespaces=ns) == name
    item = root.find("metadata/lb:instance/lb:metadata/lb:item", namespaces=ns)
    assert (item.get("key"), item.text) == ("k:1", "v<&>'\"]]>")
    assert root.findtext("os/kernel") == os.path.join(fixture_instances(two_hosts),
                                                      sid, "kernel")
    assert [d.get("dev") for d in root.findall("devices/disk/target")] == ["vda"]

    # Rescue: rescue image first, the original disk second, no side files.
    r = admin.action(sid, {"rescue": {"rescue_image_ref": images["rescue"]}})
    assert r.status_code == 200, r.text
    admin.wait_for(sid, status="RESCUE", task_state=None, timeout=BOOT_TIMEOUT)
    rescue = console.wait_in_section(RESCUE_MARKER, 1, r"^rescue-tick 1\b")
    assert re.search(r"disk vdb .*head=%s data=%s" % (guest_images.BOOT_DISK_HEAD, data),
                     rescue), rescue
    assert "head=%s" % guest_images.RESCUE_DISK_HEAD in rescue
    assert sorted(os.listdir(inst_dir)) == sorted([
        "console.log", "disk", "disk.rescue", "kernel", "kernel.rescue", "ramdisk",
        "ramdisk.rescue"])
    root = etree.fromstring(_domain(two_hosts, sid).XMLDesc(0).encode())
    sources = [d.get("file") for d in root.findall("devices/disk/source")]
    assert [os.path.basename(s) for s in sources] == ["disk.rescue", "disk"]

    # Unrescue = hard reboot from the database: original image, same disk data.
    _action(admin, sid, {"unrescue": None}, "ACTIVE")
    second = console.wait_in_section(BOOT_MARKER, 2, r"^tick 1\b")
    assert "data=%s" % data in second
    assert sorted(os.listdir(inst_dir)) == ["console.log", "disk", "kernel", "ramdisk"]

    # Soft reboot: the busybox guest ignores ACPI, so after
    # wait_soft_reboot_seconds it falls back to the hard reboot path.
    _action(admin, sid, {"reboot": {"type": "SOFT"}}, "ACTIVE")
    console.wait_in_section(BOOT_MARKER, 3, r"^tick 1\b")

    server = _action(admin, sid, {"os-stop": None}, "SHUTOFF")
    assert server["OS-EXT-STS:power_state"] == 4
    assert _domain(two_hosts, sid).state()[0] == libvirt.VIR_DOMAIN_SHUTOFF
    _action(admin, sid, {"os-start": None}, "ACTIVE")
    console.wait_in_section(BOOT_MARKER, 4, r"^tick 1\b")

    _action(admin, sid, {"pause": None}, "PAUSED")
    assert _domain(two_hosts, sid).state()[0] == libvirt.VIR_DOMAIN_PAUSED
    _action(admin, sid, {"unpause": None}, "ACTIVE")
    assert _domain(two_hosts, sid).state()[0] == libvirt.VIR_DOMAIN_RUNNING

    _action(admin, sid, {"suspend": None}, "SUSPENDED")
    assert _domain(two_hosts, sid).hasManagedSaveImage(0) == 1
    before = console.last_tick()
    _action(admin, sid, {"resume": None}, "ACTIVE")
    console.wait_for(lambda _t: console.last_tick() > before + 1, "ticks after resume")
    assert console.count(BOOT_MARKER) == 4, "resume must not reboot"

    r = admin.delete("/servers/%s" % sid)
    assert r.status_code == 204, r.text
    admin.wait_for(sid, status="DELETED", timeout=30)
    assert sid not in [d.UUIDString() for d in
                       libvirt.open(two_hosts.uri("A")).listAllDomains()]
    assert not os.path.exists(inst_dir)


def fixture_instances(two_hosts):
    return two_hosts.local_instances("A")

"""Live migration through Lifeboat's API against bare `virsh migrate --live --p2p`.

Two real libvirt hosts on this machine (tests/libvirt/hosts.py) and a
distributed Lifeboat over them (tests/libvirt/cloud.py: all-in-one control
process plus one lifeboat-compute per host, RabbitMQ, SQLite). For each case
(128 and 512 MiB, rescued or not) one Lifeboat guest and one bare libvirt
guest of the same definition (the Lifeboat guest's XML under another name,
with its own copies of the disks) are migrated back and forth, alternating
Lifeboat and virsh, after a warm-up round each:
- Lifeboat: POST os-migrateLive (202) until GET /servers shows the instance
  on the other host with task_state None (polled every 10 ms);
- virsh: wall time of `virsh migrate --live --p2p --persistent --undefinesource`
  with the same storage flags Lifeboat's driver uses.
Storage: `--storage shared` (default; both hosts see one instances directory,
memory-only migration with --unsafe) or `local` (block migration of every disk,
--copy-storage-inc; for virsh the bench pre-creates the destination disks,
for Lifeboat its pre_live_migration does).

    sudo .venv/bin/python bench/libvirt_live_migration.py [--pairs 10] [--storage shared]
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import libvirt  # noqa: E402

from tests.libvirt import guest_images, hosts  # noqa: E402
from tests.libvirt import helpers as lh  # noqa: E402
from tests.libvirt.cloud import LibvirtCloud  # noqa: E402

OTHER = {"lbA": "lbB", "lbB": "lbA"}
KEY = {"lbA": "A", "lbB": "B"}


def virsh_flags(shared):
    flags = ["--live", "--p2p", "--persistent", "--undefinesource"]
    return flags + (["--unsafe"] if shared else ["--copy-storage-inc"])


class BareGuest:
    """A copy of a Lifeboat guest's definition, run and migrated with virsh."""

    def __init__(self, two_hosts, lifeboat_sid, host, shared):
        self.hosts = two_hosts
        self.host = host
        self.shared = shared
        self.name = "bare-" + lifeboat_sid[:8]
        self.uuid = str(uuid.uuid4())
        conn = libvirt.open(two_hosts.uri(KEY[host]))
        xml = conn.lookupByUUIDString(lifeboat_sid).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
        conn.close()
        src_dir = os.path.join(two_hosts.instances_path, lifeboat_sid)
        self.dir = os.path.join(two_hosts.instances_path, self.uuid)
        xml = xml.replace(src_dir, self.dir)
        xml = re.sub(r"<uuid>[^<]+</uuid>", "<uuid>%s</uuid>" % self.uuid, xml)
        xml = re.sub(r"<name>[^<]+</name>", "<name>%s</name>" % self.name, xml, count=1)
        self.xml = xml
        self.files = {}
        here = os.path.join(two_hosts.instances_dir(KEY[host]), lifeboat_sid)
        for name in os.listdir(here):
            if name == "console.log":
                continue
            path = os.path.join(here, name)
            info = subprocess.run(["qemu-img", "info", "-U", "--output=json", path],
                                  capture_output=True, text=True)
            if name.startswith("disk"):
                meta = json.loads(info.stdout)
                self.files[name] = ("disk", meta.get("backing-filename"),
                                    meta["virtual-size"])
            else:   # kernel/ramdisk: keep the bytes, the Lifeboat guest moves away
                with open(path, "rb") as f:
                    self.files[name] = ("file", f.read(), None)
        self.prepare(host)
        conn = libvirt.open(two_hosts.uri(KEY[host]))
        conn.defineXML(self.xml).create()
        conn.close()

    def prepare(self, host):
        """Create the files on `host`, as Lifeboat's pre_live_migration would."""
        d = os.path.join(self.hosts.instances_dir(KEY[host]), self.uuid)
        os.makedirs(d, exist_ok=True)
        for name, (kind, source, size) in self.files.items():
            path = os.path.join(d, name)
            if os.path.exists(path):
                continue
            if kind == "disk":
                # -u: the backing path is the host's view (instances_path)
                subprocess.run(["qemu-img", "create", "-q", "-u", "-f", "qcow2", "-F",
                                "qcow2", "-b", source, path, str(size)], check=True)
            else:
                with open(path, "wb") as f:
                    f.write(source)

    def migrate(self):
        dest = OTHER[self.host]
        if not self.shared:
            self.prepare(dest)
        cmd = ["virsh", "-q", "-c", self.hosts.uri(KEY[self.host]), "migrate"] + \
            virsh_flags(self.shared) + [self.name, "qemu+tcp://%s/system"
                                        % hosts.ADDRESSES[KEY[dest]]]
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        elapsed = time.perf_counter() - start
        if not self.shared:
            shutil.rmtree(os.path.join(self.hosts.instances_dir(KEY[self.host]),
                                       self.uuid), ignore_errors=True)
        self.host = dest
        return elapsed

    def remove(self):
        conn = libvirt.open(self.hosts.uri(KEY[self.host]))
        try:
            dom = conn.lookupByName(self.name)
            dom.destroy()
            dom.undefine()
        except libvirt.libvirtError:
            pass
        conn.close()
        for key in hosts.NAMES:
            shutil.rmtree(os.path.join(self.hosts.instances_dir(key), self.uuid),
                          ignore_errors=True)


def lifeboat_migrate(admin, sid, host, status):
    dest = OTHER[host]
    start = time.perf_counter()
    r = admin.action(sid, {"os-migrateLive": {"host": dest, "block_migration": "auto"}})
    assert r.status_code == 202, r.text
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        s = admin.get("/servers/%s" % sid).json()["server"]
        if s["OS-EXT-SRV-ATTR:host"] == dest and s["OS-EXT-STS:task_state"] is None:
            break
        if s["OS-EXT-STS:task_state"] is None and s["OS-EXT-SRV-ATTR:host"] == host:
            raise RuntimeError("migration of %s failed: %s" % (
                sid, lh.wait_migration(admin, sid, ["failed", "error", "cancelled"])))
        time.sleep(0.01)
    elapsed = time.perf_counter() - start
    assert s["status"] == status, s["status"]
    if os.environ.get("LIFEBOAT_BENCH_TRACE"):   # to line up with the service logs
        print("  lifeboat %s -> %s: posted %s, took %.3f s" % (
            host, dest, time.strftime("%H:%M:%S", time.localtime(time.time() - elapsed)),
            elapsed), flush=True)
    return elapsed, dest


def run_case(cloud, two_hosts, images, memory, rescued, pairs, shared):
    admin = cloud.client("2.105")
    sid = lh.boot(admin, images["boot"], flavor="lb%d" % memory, host="lbA",
                  name="bench-%d" % memory)
    lh.console(two_hosts, "lbA", sid).wait_for(lambda t: "tick 1" in t, "boot")
    status = "ACTIVE"
    if rescued:
        r = admin.action(sid, {"rescue": {"rescue_image_ref": images["rescue"]}})
        assert r.status_code == 200, r.text
        admin.wait_for(sid, status="RESCUE", task_state=None, timeout=120)
        lh.console(two_hosts, "lbA", sid).wait_for(lambda t: "rescue-tick 1" in t,
                                                    "rescue boot")
        status = "RESCUE"
    bare = BareGuest(two_hosts, sid, "lbA", shared)
    host = "lbA"
    ours, theirs = [], []
    try:
        time.sleep(2)
        for i in range(pairs + 1):   # round 0 warms both up
            t_lb, host = lifeboat_migrate(admin, sid, host, status)
            t_virsh = bare.migrate()
            if i:
                ours.append(t_lb)
                theirs.append(t_virsh)
    finally:
        bare.remove()
        lh.delete(admin, sid)
    added = [a - b for a, b in zip(ours, theirs)]
    return {"lifeboat": statistics.median(ours), "virsh": statistics.median(theirs),
            "added": statistics.median(added),
            "ratio": statistics.median(ours) / statistics.median(theirs)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--storage", choices=["shared", "local"], default="shared")
    parser.add_argument("--memory", type=int, nargs="*", default=[128, 512])
    parser.add_argument("--libvirt-option", action="append", default=[],
                        metavar="NAME=VALUE", help="a [libvirt] option for the computes")
    args = parser.parse_args()
    options = dict(o.split("=", 1) for o in args.libvirt_option)
    reason = hosts.cannot_run_reason()
    if reason:
        sys.exit("cannot run: %s" % reason)
    base = tempfile.mkdtemp(prefix="lifeboat-bench-h2h-")
    two_hosts = hosts.TwoHosts(os.path.join(base, "h2h"))
    cloud = None
    try:
        two_hosts.start()
        two_hosts.use_shared_storage(args.storage == "shared")
        paths = guest_images.build(os.path.join(base, "guest"))
        cloud = LibvirtCloud(two_hosts, os.path.join(base, "state"), options).start()
        images = guest_images.upload_all(cloud.client(), paths)
        for memory in args.memory:
            cloud.add_flavor("lb%d" % memory, memory)
        print("live migration, %s storage, %d pairs per case (seconds, medians)"
              % (args.storage, args.pairs))
        print("%-16s %9s %9s %9s %7s" % ("case", "lifeboat", "virsh", "added", "ratio"))
        for memory in args.memory:
            for rescued in (False, True):
                r = run_case(cloud, two_hosts, images, memory, rescued, args.pairs,
                             args.storage == "shared")
                print("%-16s %9.3f %9.3f %9.3f %7.2f" % (
                    "%d MiB %s" % (memory, "rescued" if rescued else "active"),
                    r["lifeboat"], r["virsh"], r["added"], r["ratio"]), flush=True)
    finally:
        if cloud is not None:
            cloud.stop()
        two_hosts.stop()
        if os.environ.get("LIFEBOAT_BENCH_KEEP"):
            print("logs kept in", base)
        else:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()

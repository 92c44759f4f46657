"""Two real libvirt hosts on one machine (after shared/libvirt-two-hosts.md).

Each host is a network namespace (veth pair 10.77.0.1 <-> 10.77.0.2) plus a
private mount and UTS namespace holding its own /etc/libvirt, /run/libvirt,
/var/lib/libvirt, /var/log/libvirt, /var/cache/libvirt, its own hostname, and
its own instances directory bind-mounted at one common path (`instances_path`),
so a guest definition names the same files on both hosts. Its own virtlogd and
libvirtd (TCP, no auth, a distinct host_uuid) run there.

From the root namespace each daemon is reached through its UNIX socket
(`uri(name)`); a process that should *be* on a host (a lifeboat-compute) runs
under `enter(name)`: inside the host's mount and UTS namespaces but in the root
network namespace, so it still reaches RabbitMQ and the database on 127.0.0.1.

Storage: `use_shared_storage(True)` binds one common directory at
instances_path on both hosts (shared instance storage), False gives each host
its own again. Only addresses inside the namespaces made here are used.
"""
import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import time

NAMES = ("A", "B")
ADDRESSES = {"A": "10.77.0.1", "B": "10.77.0.2"}
HOST_UUIDS = {"A": "6a0c5e52-1d0b-4c7e-9a61-0000000000a1",
              "B": "6a0c5e52-1d0b-4c7e-9a61-0000000000b2"}
LIBVIRT_DIRS = {"etc": "/etc/libvirt", "run": "/run/libvirt", "lib": "/var/lib/libvirt",
                "log": "/var/log/libvirt", "cache": "/var/cache/libvirt"}


def _run(cmd, check=True, timeout=60, **kw):
    return subprocess.run(cmd, check=check, timeout=timeout, capture_output=True,
                          text=True, **kw)


def cannot_run_reason():
    """Why this machine cannot run the two hosts, or None if it can."""
    if os.geteuid() != 0:
        return "needs root (network and mount namespaces, libvirtd)"
    for tool in ("libvirtd", "virtlogd", "qemu-system-x86_64", "qemu-img", "ip",
                 "nsenter", "unshare", "busybox", "cpio"):
        if shutil.which(tool) is None and not os.path.exists("/usr/sbin/" + tool):
            return "%s is not installed (run scripts/install-libvirt.sh as root)" % tool
    try:
        import libvirt  # noqa: F401
        import lxml  # noqa: F401
    except ImportError as e:
        return "python module missing: %s (run scripts/install-libvirt.sh)" % e
    probe = _run(["unshare", "--net", "--mount", "true"], check=False)
    if probe.returncode != 0:
        return "cannot create namespaces: %s" % probe.stderr.strip()
    return None


class TwoHosts:
    """Build, use and tear down the hosts A and B under `base`."""

    def __init__(self, base):
        self.base = os.path.abspath(base)
        self.instances_path = os.path.join(self.base, "instances")
        self.shared_dir = os.path.join(self.base, "shared-instances")
        self.shared = False
        self.pids = {}
        # Names derived from `base`, so two fixtures (a test run and a
        # benchmark) can coexist; each pair of namespaces is its own network.
        self.prefix = "lb" + hashlib.sha1(self.base.encode()).hexdigest()[:6]

    # --- paths -------------------------------------------------------------
    def host_dir(self, name):
        return os.path.join(self.base, "hosts", name)

    def local_instances(self, name):
        """Host `name`'s own instances directory, seen from the root namespace."""
        return os.path.join(self.host_dir(name), "instances")

    def instances_dir(self, name):
        """What host `name` currently sees at instances_path."""
        return self.shared_dir if self.shared else self.local_instances(name)

    def uri(self, name):
        return "qemu+unix:///system?socket=%s/run/libvirt-sock" % self.host_dir(name)

    def netns(self, name):
        return self.prefix + name

    def veth(self, name):
        return self.prefix + name + "0"

    def enter(self, name):
        """Command prefix that runs in host `name`'s mount and UTS namespaces."""
        pid = self.pids[name]
        return ["nsenter", "--mount=/proc/%d/ns/mnt" % pid, "--uts=/proc/%d/ns/uts" % pid,
                "--"]

    # --- set up ------------------------------------------------------------
    def start(self):
        t0 = time.monotonic()
        self.stop()
        for path in (self.instances_path, self.shared_dir):
            os.makedirs(path, exist_ok=True)
        os.chmod(self.base, 0o755)
        for name in NAMES:
            _run(["ip", "netns", "add", self.netns(name)])
            _run(["ip", "-n", self.netns(name), "link", "set", "lo", "up"])
        _run(["ip", "link", "add", self.veth("A"), "type", "veth", "peer", "name",
              self.veth("B")])
        for name in NAMES:
            dev = self.veth(name)
            _run(["ip", "link", "set", dev, "netns", self.netns(name)])
            _run(["ip", "-n", self.netns(name), "addr", "add", ADDRESSES[name] + "/24",
                  "dev", dev])
            _run(["ip", "-n", self.netns(name), "link", "set", dev, "up"])
        for path in LIBVIRT_DIRS.values():
            os.makedirs(path, exist_ok=True)
        for name in NAMES:
            self._prepare_host(name)
        for name in NAMES:
            self._start_daemons(name)
        self._wait_until_up()
        # Warm QEMU's capabilities cache, else the first start/incoming
        # migration on a fresh host pays ~3 s probing under TCG.
        warm = [subprocess.Popen(["virsh", "-c", self.uri(n), "domcapabilities",
                                  "--virttype", "qemu"], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL) for n in NAMES]
        for proc in warm:
            proc.wait(timeout=60)
        self.setup_seconds = time.monotonic() - t0
        return self

    def _prepare_host(self, name):
        b = self.host_dir(name)
        for sub in ("run", "lib/qemu", "lib/images", "log/qemu", "cache", "instances"):
            os.makedirs(os.path.join(b, sub), exist_ok=True)
        shutil.copytree("/etc/libvirt", os.path.join(b, "etc"), symlinks=True)
        for sub in ("qemu/networks/autostart", "qemu/autostart"):
            shutil.rmtree(os.path.join(b, "etc", sub), ignore_errors=True)
        with open(os.path.join(b, "etc", "libvirtd.conf"), "a") as f:
            f.write('\n# lifeboat two-host fixture\nlisten_tls = 0\nlisten_tcp = 1\n'
                    'auth_tcp = "none"\nhost_uuid = "%s"\n'
                    'log_outputs = "3:file:/var/log/libvirt/libvirtd.log"\n'
                    % HOST_UUIDS[name])
        with open(os.path.join(b, "etc", "qemu.conf"), "a") as f:
            # Both daemons share the kernel's cgroup tree (qemu-1-<name>
            # collisions), and shared disks are touched by two daemons: no
            # cgroups, no ownership games, QEMU as root, no per-VM mount ns.
            f.write('\n# lifeboat two-host fixture\nmigration_host = "%s"\n'
                    'migration_address = "%s"\ncgroup_controllers = [ ]\n'
                    'remember_owner = 0\nuser = "+0"\ngroup = "+0"\n'
                    'namespaces = [ ]\nsecurity_driver = "none"\n'
                    % (ADDRESSES[name], ADDRESSES[name]))
        with open(os.path.join(b, "hosts"), "w") as f:
            f.write("127.0.0.1 localhost\n%s lb-hostA\n%s lb-hostB\n"
                    % (ADDRESSES["A"], ADDRESSES["B"]))
        binds = "".join("mount --bind %s/%s %s\n" % (b, sub, path)
                        for sub, path in LIBVIRT_DIRS.items())
        with open(os.path.join(b, "start.sh"), "w") as f:
            f.write("set -e\nmount --make-rprivate /\n%s"
                    "mount --bind %s/hosts /etc/hosts\n"
                    "mount --bind %s %s\n"
                    "hostname lb-host%s\n"
                    "/usr/sbin/virtlogd -d -p /run/libvirt/virtlogd.pid\n"
                    "/usr/sbin/libvirtd -d --listen -p /run/libvirt/libvirtd.pid\n"
                    % (binds, b, self.local_instances(name), self.instances_path, name))

    def _start_daemons(self, name):
        b = self.host_dir(name)
        _run(["ip", "netns", "exec", self.netns(name), "unshare", "--mount", "--uts",
              "sh", os.path.join(b, "start.sh")])
        pid_file = os.path.join(b, "run", "libvirtd.pid")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, ValueError):
                self.pids[name] = int(open(pid_file).read())
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("libvirtd of host %s did not start: %s" % (
                name, _tail(os.path.join(b, "log", "libvirtd.log"))))

    def _wait_until_up(self):
        import libvirt
        libvirt.registerErrorHandler(lambda *_: None, None)
        deadline = time.monotonic() + 30
        for name in NAMES:
            while True:
                try:
                    libvirt.open(self.uri(name)).close()
                    break
                except libvirt.libvirtError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("libvirtd of host %s does not answer" % name)
                    time.sleep(0.1)

    # --- storage -----------------------------------------------------------
    def use_shared_storage(self, shared):
        """Bind the common (True) or each host's own (False) instances directory
        at instances_path. No guest may be running."""
        if shared == self.shared:
            return
        for name in NAMES:
            source = self.shared_dir if shared else self.local_instances(name)
            _run(self.enter(name) + ["sh", "-c", "umount -l %s; mount --bind %s %s" % (
                self.instances_path, source, self.instances_path)])
        self.shared = shared

    # --- tear down ---------------------------------------------------------
    def stop(self):
        """Undo start(); safe to repeat, also after a crash."""
        import_ok = True
        try:
            import libvirt
            libvirt.registerErrorHandler(lambda *_: None, None)
        except ImportError:
            import_ok = False
        daemons = []
        for name in NAMES:
            b = self.host_dir(name)
            if import_ok and os.path.exists(os.path.join(b, "run", "libvirt-sock")):
                with contextlib.suppress(Exception):
                    conn = libvirt.open(self.uri(name))
                    for dom in conn.listAllDomains():
                        with contextlib.suppress(libvirt.libvirtError):
                            if dom.isActive():
                                dom.destroy()
                        with contextlib.suppress(libvirt.libvirtError):
                            dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE)
                    conn.close()
            libvirtd = _pid_of(os.path.join(b, "run", "libvirtd.pid"), "libvirtd")
            if libvirtd:
                # Whatever else lives in this host's mount namespace is ours too
                # (e.g. a lifeboat-compute left by a run that was killed).
                daemons += _kill_namespace_members(libvirtd)
            for daemon in ("libvirtd", "virtlogd"):
                pid = _pid_of(os.path.join(b, "run", daemon + ".pid"), daemon)
                if pid:
                    os.kill(pid, signal.SIGTERM)
                    daemons.append(pid)
        deadline = time.monotonic() + 10
        while daemons and time.monotonic() < deadline:
            daemons = [p for p in daemons if os.path.exists("/proc/%d" % p)]
            time.sleep(0.05)
        for pid in daemons:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        netns = _run(["ip", "netns", "list"], check=False).stdout
        for name in NAMES:
            if self.netns(name) in netns.split():
                leftovers = _run(["ip", "netns", "pids", self.netns(name)],
                                 check=False).stdout.split()
                for pid in leftovers:  # e.g. a QEMU orphaned by a crash
                    with contextlib.suppress(ProcessLookupError, ValueError):
                        os.kill(int(pid), signal.SIGKILL)
                _run(["ip", "netns", "del", self.netns(name)], check=False)
        _run(["ip", "link", "del", self.veth("A")], check=False)
        self.pids = {}
        self.shared = False
        for name in NAMES:
            shutil.rmtree(self.host_dir(name), ignore_errors=True)
        shutil.rmtree(self.shared_dir, ignore_errors=True)


def _kill_namespace_members(pid):
    """SIGTERM every process sharing `pid`'s mount namespace, except the
    daemons (stopped after them); returns their pids."""
    try:
        ns = os.readlink("/proc/%d/ns/mnt" % pid)
    except OSError:
        return []
    killed = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in (pid, os.getpid()):
            continue
        try:
            if os.readlink("/proc/%s/ns/mnt" % entry) != ns:
                continue
            comm = open("/proc/%s/comm" % entry).read().strip()
        except OSError:
            continue
        if comm in ("libvirtd", "virtlogd"):
            continue
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(entry), signal.SIGTERM)
            killed.append(int(entry))
    return killed


def _pid_of(pid_file, comm):
    """The pid in `pid_file` if that process is still `comm` (ours), else None."""
    try:
        pid = int(open(pid_file).read())
        if open("/proc/%d/comm" % pid).read().strip() == comm:
            return pid
    except (OSError, ValueError):
        pass
    return None


def _tail(path, lines=20):
    try:
        return "".join(open(path).readlines()[-lines:])
    except OSError:
        return "(no log)"

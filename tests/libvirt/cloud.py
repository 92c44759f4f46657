"""A distributed Lifeboat over the two libvirt hosts, as separate processes.

- lifeboat-all-in-one with `[all_in_one] compute_hosts =` (empty): API,
  conductor and scheduler, on the rabbit:// transport;
- one lifeboat-compute per host with the libvirt driver, run inside that
  host's mount and UTS namespaces (`TwoHosts.enter`) but in the root network
  namespace, so it reaches RabbitMQ and the database on 127.0.0.1 while it
  sees its own /run/libvirt socket and its own instances directory.
All processes share one database and one state_path (the image files). A
private oslo.messaging control_exchange keeps this cloud's RPC apart from any
other Lifeboat on the same broker. `stop()` ends every process it started.
"""
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid

import httpx
import sqlalchemy as sa

from tests.fixtures import ApiClient
from tests.libvirt import hosts as h2h

HOST_NAMES = {"A": "lbA", "B": "lbB"}
RABBIT_URL = os.environ.get("LIFEBOAT_TEST_RABBIT",
                            "rabbit://guest:guest@127.0.0.1:5672/")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rabbit_reachable():
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=1):
            return True
    except OSError:
        return False


class LibvirtCloud:
    """Start/stop the processes; `client()` speaks HTTP to the API."""

    def __init__(self, two_hosts, state_path, libvirt_options=None):
        self.hosts = two_hosts
        self.state_path = str(state_path)
        self.port = _free_port()
        self.exchange = "lifeboat-libvirt-%s" % uuid.uuid4().hex[:8]
        self.db_url = "sqlite:///" + os.path.join(self.state_path, "lifeboat.sqlite")
        self.libvirt_options = dict(libvirt_options or {})
        # Extra sections of the control process's configuration ([api],
        # [keystone_authtoken], ...): see restart_control().
        self.control_groups = {}
        self.procs = {}
        self.http = None
        self.bin = os.path.dirname(sys.executable)

    # --- configuration -----------------------------------------------------
    def _write_conf(self, name, default=None, groups=None):
        lines = ["[DEFAULT]", "state_path = %s" % self.state_path,
                 "transport_url = %s" % RABBIT_URL,
                 "control_exchange = %s" % self.exchange,
                 "report_interval = 1", "periodic_interval = 5"]
        lines += ["%s = %s" % kv for kv in (default or {}).items()]
        groups = dict(groups or {})
        api = dict({"port": self.port}, **groups.pop("api", {}))
        lines += ["[database]", "connection = %s" % self.db_url, "[api]"]
        lines += ["%s = %s" % kv for kv in api.items()]
        for group, opts in groups.items():
            lines.append("[%s]" % group)
            lines += ["%s = %s" % kv for kv in opts.items()]
        path = os.path.join(self.state_path, name + ".conf")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def _spawn(self, name, argv):
        log = open(os.path.join(self.state_path, name + ".log"), "ab")
        self.procs[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL)

    # --- lifecycle ---------------------------------------------------------
    def start(self):
        os.makedirs(self.state_path, exist_ok=True)
        self.http = httpx.Client(base_url="http://127.0.0.1:%d" % self.port, timeout=30)
        self._start_control()
        for key in h2h.NAMES:
            self.start_compute(key)
        admin = self.client()
        self._wait(lambda: len([h for h in admin.get("/os-hypervisors/detail").json().get(
            "hypervisors", []) if h.get("state") == "up"]) == len(h2h.NAMES),
            "both compute hosts to report", 60)
        return self

    def _start_control(self):
        groups = {"all_in_one": {"compute_hosts": "", "seed": "true"}}
        for group, opts in self.control_groups.items():
            groups.setdefault(group, {}).update(opts)
        conf = self._write_conf("control", {"host": "lbctl"}, groups)
        self._spawn("control", [os.path.join(self.bin, "lifeboat-all-in-one"),
                                "--config-file", conf])
        self._wait(lambda: self._get_ok("/v2.1/"), "the API to answer", 60)

    def restart_control(self, **groups):
        """Restart the API/conductor/scheduler process with these extra
        configuration sections (replacing earlier ones), for example
        api={"auth_strategy": "keystone"}; the computes keep running."""
        self._stop_process("control")
        self.control_groups = {g: dict(o) for g, o in groups.items()}
        self._start_control()

    def compute_conf(self, key):
        options = {"live_migration_inbound_addr": h2h.ADDRESSES[key], "virt_type": "qemu",
                   "wait_soft_reboot_seconds": 1}
        options.update(self.libvirt_options)
        return self._write_conf("compute-" + key, {
            "host": HOST_NAMES[key], "compute_driver": "libvirt",
            "instances_path": self.hosts.instances_path}, {"libvirt": options})

    def start_compute(self, key):
        conf = self.compute_conf(key)
        self._spawn("compute-" + key, self.hosts.enter(key) + [
            os.path.join(self.bin, "lifeboat-compute"), "--config-file", conf])

    def restart_computes(self, **libvirt_options):
        """Restart both lifeboat-compute processes with these [libvirt] options
        (replacing earlier ones); returns once both have started again."""
        for key in h2h.NAMES:
            self._stop_process("compute-" + key)
        self.libvirt_options = dict(libvirt_options)
        marks = {}
        for key in h2h.NAMES:
            marks[key] = self.log_tail("compute-" + key, 100000).count("nova-compute started")
            self.start_compute(key)
        self._wait(lambda: all(
            self.log_tail("compute-" + k, 100000).count("nova-compute started") > marks[k]
            for k in h2h.NAMES), "the compute services to restart", 60)

    def _stop_process(self, name):
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def _get_ok(self, path):
        try:
            return self.http.get(path).status_code == 200
        except httpx.HTTPError:
            return False

    def _wait(self, predicate, what, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError("%s exited (%s) while waiting for %s:\n%s" % (
                        name, proc.returncode, what, self.log_tail(name)))
            with contextlib.suppress(Exception):
                if predicate():
                    return
            time.sleep(0.1)
        raise RuntimeError("timed out waiting for %s" % what)

    def log_tail(self, name, lines=40):
        try:
            with open(os.path.join(self.state_path, name + ".log"), errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self):
        if self.http is not None:
            self.http.close()
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 5   # then SIGKILL: nothing to save
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs = {}

    # --- helpers -----------------------------------------------------------
    def client(self, version=None):
        return ApiClient(self.http, "admin", "admin", version)

    def add_flavor(self, flavorid, memory_mb, vcpus=1, root_gb=1):
        engine = sa.create_engine(self.db_url)
        try:
            with engine.begin() as conn:
                exists = conn.execute(sa.text("SELECT 1 FROM flavors WHERE flavorid = :f"),
                                      {"f": flavorid}).first()
                if not exists:
                    conn.execute(sa.text(
                        "INSERT INTO flavors (flavorid, name, memory_mb, vcpus, root_gb, "
                        "ephemeral_gb, swap, rxtx_factor, is_public, disabled, "
                        "extra_specs, created_at) VALUES (:f, :n, :m, :v, :r, 0, 0, 1.0, "
                        "1, 0, '{}', CURRENT_TIMESTAMP)"),
                        {"f": flavorid, "n": "lb." + flavorid, "m": memory_mb, "v": vcpus,
                         "r": root_gb})
        finally:
            engine.dispose()

    def query(self, sql, **params):
        """Rows of `sql` on the cloud's database (for what the API does not show)."""
        engine = sa.create_engine(self.db_url)
        try:
            with engine.connect() as conn:
                return [dict(r._mapping) for r in conn.execute(sa.text(sql), params)]
        finally:
            engine.dispose()

    def migration_row(self, sid):
        return self.query("SELECT * FROM migrations WHERE instance_uuid = :u "
                          "ORDER BY id DESC", u=sid)[0]

    def latest_fault(self, sid):
        rows = self.query("SELECT * FROM instance_faults WHERE instance_uuid = :u "
                          "ORDER BY id DESC", u=sid)
        return rows[0] if rows else None

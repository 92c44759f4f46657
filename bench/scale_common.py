"""Helpers for the scale benchmarks: a PostgreSQL database per run, an
all-in-one process with any launcher and options, bulk seeding, /proc readers.

(bench/common.py HttpCloud is left as it is; this is its bigger sibling.)
"""
import datetime
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid as uuidlib

import httpx

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def pg_url(dbname):
    return "postgresql+psycopg://postgres@127.0.0.1:5432/%s" % dbname


def recreate_database(dbname):
    import psycopg
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % dbname)
        conn.execute('CREATE DATABASE "%s"' % dbname)


def drop_database(dbname):
    import psycopg
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % dbname)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(path, sections):
    with open(path, "w") as f:
        for section, values in sections.items():
            f.write("[%s]\n" % section)
            for k, v in values.items():
                f.write("%s = %s\n" % (k, v))


def host_names(n):
    return ["host%04d" % i for i in range(1, n + 1)]


class ProcCloud:
    """An all-in-one process (`lifeboat-all-in-one`, or another `launcher`
    script with `launcher_args`) on a config of our own."""

    def __init__(self, hosts, database=None, launcher=None, launcher_args=(),
                 start_timeout=900, **options):
        self.port = free_port()
        self.state = tempfile.mkdtemp(prefix="lifeboat-scale-")
        self.base = "http://127.0.0.1:%d" % self.port
        sections = {"DEFAULT": {"state_path": self.state},
                    "api": {"port": str(self.port)},
                    "all_in_one": {"compute_hosts": ",".join(hosts)}}
        if database:
            sections["database"] = {"connection": database}
        for key, value in options.items():
            group, _, name = key.rpartition("__")
            sections.setdefault(group or "DEFAULT", {})[name] = str(value)
        self.sections = sections
        self.config = os.path.join(self.state, "lifeboat.conf")
        write_config(self.config, sections)
        self.launcher = launcher
        self.launcher_args = list(launcher_args)
        self.start_timeout = start_timeout
        self.startup_seconds = None

    def command(self):
        if self.launcher is None:
            exe = os.path.join(os.path.dirname(sys.executable), "lifeboat-all-in-one")
            return [exe, "--config-file", self.config]
        return [sys.executable, self.launcher, *self.launcher_args,
                "--config-file", self.config]

    def __enter__(self):
        self.log_path = os.path.join(self.state, "all-in-one.log")
        self.log = open(self.log_path, "w")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(self.command(), stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self.client = httpx.Client(base_url=self.base, timeout=600, headers={
            "X-Auth-Token": "admin:admin", "OpenStack-API-Version": "compute 2.105"})
        deadline = time.monotonic() + self.start_timeout
        while True:
            try:
                if self.client.get("/").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
            if self.proc.poll() is not None:
                raise RuntimeError("all-in-one exited; see %s" % self.log_path)
            if time.monotonic() > deadline:
                raise RuntimeError("all-in-one not up after %ss" % self.start_timeout)
        self.startup_seconds = time.perf_counter() - t0
        return self

    def __exit__(self, *exc):
        self.client.close()
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()

    def get(self, path, **kw):
        r = self.client.get(path, **kw)
        r.raise_for_status()
        return r.json()


def proc_status(pid):
    """{'rss_kib', 'hwm_kib', 'threads', 'cpu_s'} of a process from /proc."""
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    out["rss_kib"] = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    out["hwm_kib"] = int(line.split()[1])
                elif line.startswith("Threads:"):
                    out["threads"] = int(line.split()[1])
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        tick = os.sysconf("SC_CLK_TCK")
        out["cpu_s"] = (int(fields[11]) + int(fields[12])) / tick
    except OSError:
        pass
    return out


def postgres_cpu_s():
    """CPU seconds used so far by every postgres process (server side load)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % pid) as f:
                if f.read().strip() != "postgres":
                    continue
            with open("/proc/%s/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except OSError:
            continue
    return total


def lifeboat_conf(config_path):
    """Load the lifeboat configuration in this process (for seeding and for
    in-process measurements against the same database)."""
    import warnings
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    from lifeboat import conf
    conf.parse_args(["--config-file", config_path])
    return conf.CONF


def seed_catalog():
    """Tables, flavors and images, as the all-in-one does on first start."""
    from lifeboat import cloud
    from lifeboat.db import schema
    schema.sync()
    cloud.seed()


def bulk_instances(n, hosts, projects=100, flavor_ref="1", chunk=5000, log=print):
    """INSERT n ACTIVE instances spread evenly over `hosts` (round robin) and
    `projects` projects, as the API would have left them after boot. Returns
    seconds taken."""
    import sqlalchemy as sa
    from lifeboat.db import catalog, models
    from lifeboat.db.engine import get_engine
    flavor = catalog.flavor_get(flavor_ref)
    snapshot = catalog.flavor_snapshot(flavor)
    image_id = _first_image_id()
    table = models.Instance.__table__
    base = models.utcnow() - datetime.timedelta(days=30)
    t0 = time.perf_counter()
    engine = get_engine()
    rows = []
    for i in range(n):
        host = hosts[i % len(hosts)]
        created = base + datetime.timedelta(milliseconds=i * 10)
        name = "seed-%06d" % i
        rows.append(dict(
            uuid=str(uuidlib.uuid4()), display_name=name, hostname=name,
            project_id="proj%03d" % (i % projects), user_id="user%03d" % (i % projects),
            image_ref=image_id, flavor_id=flavor.id, flavor=snapshot,
            vcpus=flavor.vcpus, memory_mb=flavor.memory_mb, root_gb=flavor.root_gb,
            ephemeral_gb=flavor.ephemeral_gb, host=host, node=host,
            vm_state="active", task_state=None, power_state=1, progress=0,
            launched_at=created, deleted=0, metadata={}, tags=[],
            config_drive="", availability_zone="nova", launch_index=0,
            reservation_id="r-seed%04d" % (i // 1000), root_device_name="/dev/vda",
            locked=False, created_at=created, updated_at=created))
        if len(rows) >= chunk:
            with engine.begin() as conn:
                conn.execute(table.insert(), rows)
            rows = []
            if (i + 1) % 20000 == 0:
                log("  seeded %d instances (%.1f s)" % (i + 1, time.perf_counter() - t0))
    if rows:
        with engine.begin() as conn:
            conn.execute(table.insert(), rows)
    with engine.begin() as conn:
        conn.execute(sa.text("ANALYZE"))
    return time.perf_counter() - t0


def _first_image_id():
    import sqlalchemy as sa
    from lifeboat.db import models
    from lifeboat.db.engine import transaction
    with transaction(read_only=True) as s:
        return s.scalars(sa.select(models.Image.id).where(
            models.Image.name == "cirros")).first()


class SqlCounter:
    """Counts statements (and their time) on the lifeboat engine of this process."""

    def __init__(self):
        from sqlalchemy import event
        from lifeboat.db.engine import get_engine
        self.engine = get_engine()
        self.count = 0
        self.seconds = 0.0
        self.by_text = {}
        self._event = event
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, params, context, executemany):
        conn.info.setdefault("lb_t0", []).append(time.perf_counter())

    def _after(self, conn, cursor, statement, params, context, executemany):
        dt = time.perf_counter() - conn.info["lb_t0"].pop()
        self.count += 1
        self.seconds += dt
        key = " ".join(statement.split())[:160]
        n, t = self.by_text.get(key, (0, 0.0))
        self.by_text[key] = (n + 1, t + dt)

    def reset(self):
        self.count, self.seconds, self.by_text = 0, 0.0, {}

    def top(self, k=8):
        return sorted(self.by_text.items(), key=lambda kv: -kv[1][1])[:k]

    def close(self):
        self._event.remove(self.engine, "before_cursor_execute", self._before)
        self._event.remove(self.engine, "after_cursor_execute", self._after)


def scheduler_under_test():
    """(SchedulerManager, admin context, [spec, spec]) for timing decisions in
    this process: a plain m1.tiny boot, and a rescued live migration that
    ignores host0001 and asks for the fake hypervisor type."""
    from lifeboat import context as lb_context
    from lifeboat.db import catalog
    from lifeboat.scheduler.manager import SchedulerManager
    flavor = catalog.flavor_snapshot(catalog.flavor_get("1"))
    specs = [{"flavor": flavor, "num": 1},
             {"flavor": flavor, "num": 1, "ignore_hosts": ["host0001"],
              "rescued_live_migration": True, "hypervisor_type": "fake"}]
    return SchedulerManager(), lb_context.get_admin_context(), specs


def profile_decisions(mgr, ctx, specs, n=50):
    """Where the time goes: the cProfile of `n` decisions, as text."""
    import cProfile
    import io
    import pstats
    prof = cProfile.Profile()
    prof.enable()
    for i in range(n):
        mgr.select_destinations(ctx, specs[i % 2])
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(18)
    return buf.getvalue()[-6000:]


def dump(path, data):
    with open(path, "w") as f:
        json.dump(data, f, indent=2, default=str)


def bulk_hosts(hosts, up_for_days=1):
    """Service and compute-node rows for `hosts`, as their compute services
    would have registered them (for profiling without starting 1,000
    services). last_seen_up is set in the future so they stay up."""
    from lifeboat.conf import CONF
    from lifeboat.db import models
    from lifeboat.db.engine import get_engine
    from lifeboat.virt.fake import FakeDriver
    seen = models.utcnow() + datetime.timedelta(days=up_for_days)
    driver = FakeDriver("x")
    resources = driver.get_available_resource()
    engine = get_engine()
    with engine.begin() as conn:
        conn.execute(models.Service.__table__.insert(), [dict(
            uuid=str(uuidlib.uuid4()), host=h, binary="nova-compute", topic="compute",
            disabled=False, forced_down=False, version=2, report_count=1,
            last_seen_up=seen, created_at=seen) for h in hosts])
        ids = dict(conn.execute(models.Service.__table__.select().with_only_columns(
            models.Service.__table__.c.host, models.Service.__table__.c.id)).all())
        conn.execute(models.ComputeNode.__table__.insert(), [dict(
            uuid=str(uuidlib.uuid4()), service_id=ids[h], host=h,
            hypervisor_hostname=h, hypervisor_type="fake", hypervisor_version=1000,
            host_ip="127.0.0.1", vcpus=resources["vcpus"],
            memory_mb=resources["memory_mb"], local_gb=resources["local_gb"],
            vcpus_used=100, memory_mb_used=51200, local_gb_used=100, running_vms=100,
            cpu_info=resources["cpu_info"], capabilities=dict(driver.capabilities),
            created_at=seen) for h in hosts])
    del CONF


def contention(seconds=0.3):
    """How starved this machine is: wall time over CPU time of a busy loop
    (1.0 = a core to ourselves; 4.0 = we got a quarter of one)."""
    w0, c0 = time.perf_counter(), time.process_time()
    x = 0
    while time.process_time() - c0 < seconds:
        for i in range(10000):
            x += i
    return round((time.perf_counter() - w0) / (time.process_time() - c0), 2)

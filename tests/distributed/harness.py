"""Real processes for the distributed tests (and bench/load.py).

`Deployment` runs the per-service binaries (lifeboat-api --workers N,
lifeboat-conductor, lifeboat-scheduler, lifeboat-compute) as separate
processes, each with its own config file written into a work directory, over a
RabbitMQ virtual host and a PostgreSQL or MariaDB database created for it and
dropped afterwards. Logs go to <workdir>/<name>.log; `Deployment.logs()` gives
their tails for assertion messages.
"""
import os
import signal
import subprocess
import sys
import time
import uuid

import httpx

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT) if ROOT not in sys.path else None
BIN = os.path.dirname(sys.executable)

from tests.fixtures import ApiClient  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
RABBIT = "rabbit://guest:guest@127.0.0.1:5672/"


def port_open(port, host="127.0.0.1"):
    import socket
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- databases ---------------------------------------------------------------
class TempDatabase:
    """A database created for one test module and dropped after it."""

    def __init__(self, engine="postgresql"):
        self.engine = engine
        self.name = "lifeboat_dt_" + uuid.uuid4().hex[:10]
        if engine == "postgresql":
            self.url = "postgresql+psycopg://postgres@127.0.0.1:5432/" + self.name
        elif engine == "sqlite":  # a shared file: works, but not for production
            import tempfile
            self.url = "sqlite:///%s/%s.sqlite" % (tempfile.mkdtemp(), self.name)
        else:
            self.url = ("mysql+pymysql://root@127.0.0.1:3306/%s?charset=utf8mb4"
                        % self.name)

    def _admin(self, sql):
        if self.engine == "postgresql":
            import psycopg
            with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as c:
                c.execute(sql)
        else:
            import pymysql
            c = pymysql.connect(host="127.0.0.1", port=3306, user="root",
                                autocommit=True, connect_timeout=5)
            with c, c.cursor() as cur:
                cur.execute(sql)

    def create(self):
        if self.engine == "sqlite":
            return self
        if self.engine == "postgresql":
            self._admin('CREATE DATABASE "%s"' % self.name)
        else:
            self._admin("CREATE DATABASE `%s` CHARACTER SET utf8mb4" % self.name)
        return self

    def drop(self):
        if self.engine == "sqlite":
            return
        if self.engine == "postgresql":
            self._admin('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % self.name)
        else:
            self._admin("DROP DATABASE IF EXISTS `%s`" % self.name)

    def query(self, sql, **params):
        """Rows of a read query (used to look at the database behind the API)."""
        import sqlalchemy as sa
        engine = sa.create_engine(self.url, poolclass=__import__(
            "sqlalchemy.pool", fromlist=["NullPool"]).NullPool)
        try:
            with engine.connect() as conn:
                return [tuple(r) for r in conn.execute(sa.text(sql), params)]
        finally:
            engine.dispose()


class TempVhost:
    """A RabbitMQ virtual host per deployment, so leftovers of one test (queued
    messages, queues of killed processes) never reach another."""

    def __init__(self):
        self.name = "lifeboat-dt-" + uuid.uuid4().hex[:8]
        self.url = RABBIT + self.name

    @staticmethod
    def _ctl(*args):
        subprocess.run(["rabbitmqctl", "-q", *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)

    def create(self):
        self._ctl("add_vhost", self.name)
        self._ctl("set_permissions", "-p", self.name, "guest", ".*", ".*", ".*")
        return self

    def drop(self):
        try:
            self._ctl("delete_vhost", self.name)
        except Exception:  # noqa: BLE001 - best effort clean-up
            pass


# --- processes ---------------------------------------------------------------
class Proc:
    def __init__(self, name, argv, log_path):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.popen = None

    def start(self):
        self.log_offset = os.path.getsize(self.log_path) if os.path.exists(
            self.log_path) else 0
        log = open(self.log_path, "ab")
        log.write(b"\n===== start %s\n" % " ".join(self.argv).encode())
        log.flush()
        self.popen = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT,
                                      cwd=ROOT, start_new_session=True)
        log.close()
        return self

    @property
    def pid(self):
        return self.popen.pid if self.popen else None

    def alive(self):
        return self.popen is not None and self.popen.poll() is None

    def signal(self, sig):
        if self.alive():
            os.kill(self.popen.pid, sig)

    def kill9(self):
        """kill -9 the process and every process it started (API workers)."""
        if self.popen is None:
            return
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.popen.wait(10)

    def dump_stacks(self):
        """Every thread's stack into the log (lifeboat.cmd.common registers
        SIGUSR1 with faulthandler)."""
        if self.alive():
            os.kill(self.popen.pid, signal.SIGUSR1)
            time.sleep(0.5)

    def stop(self, timeout=15):
        """SIGINT, then the time a clean shutdown needs; returns the exit code
        (None if it had to be killed)."""
        if not self.alive():
            return self.popen.returncode if self.popen else None
        self.popen.send_signal(signal.SIGINT)
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.dump_stacks()
            self.kill9()
            return None

    def wait_started(self, timeout=90):
        """Wait for this run's 'started on' log line (Service.start logs it once
        the service takes messages; its signal handlers are installed by then)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(self.log_path, "rb") as f:
                f.seek(self.log_offset)
                if b" started on " in f.read():
                    return self
            if not self.alive():
                raise AssertionError("%s exited with %s while starting:\n%s" % (
                    self.name, self.popen.returncode, self.tail()))
            time.sleep(0.1)
        raise AssertionError("%s did not start within %ss:\n%s" % (
            self.name, timeout, self.tail()))

    def tail(self, lines=40):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""


class Deployment:
    """Config files and processes of one distributed cloud in `workdir`."""

    def __init__(self, workdir, db, transport_url, api_workers=2, options=None):
        self.workdir = str(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.db = db
        self.transport_url = transport_url
        self.api_workers = api_workers
        self.port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self.options = {
            "DEFAULT": {"transport_url": transport_url,
                        "state_path": os.path.join(self.workdir, "state"),
                        "report_interval": "1", "service_down_time": "6",
                        "periodic_interval": "1", "rpc_response_timeout": "20",
                        "graceful_shutdown_timeout": "5"},
            "database": {"connection": db.url, "pool_timeout": "5"},
            "api": {"port": str(self.port), "listen": "127.0.0.1"},
            "compute": {"reconcile_interval": "1"},
            # reconnect within ~2 s of the broker coming back
            "oslo_messaging_rabbit": {"rabbit_retry_interval": "1",
                                      "rabbit_retry_backoff": "1",
                                      "rabbit_interval_max": "2",
                                      "kombu_reconnect_delay": "0.5"},
        }
        for key, value in (options or {}).items():
            section, _, name = key.rpartition("__")
            self.options.setdefault(section or "DEFAULT", {})[name] = str(value)
        self.procs = {}
        self.http = None
        self.common_conf = self._write("common.conf", self.options)

    # --- config files ---------------------------------------------------
    def _write(self, filename, sections):
        path = os.path.join(self.workdir, filename)
        with open(path, "w") as f:
            for section, values in sections.items():
                f.write("[%s]\n" % section)
                for k, v in values.items():
                    f.write("%s = %s\n" % (k, v))
                f.write("\n")
        return path

    def config_files(self, name, host=None, options=None):
        """--config-file arguments for a service: common.conf, then its own."""
        sections = {"DEFAULT": {"host": host or name}}
        for key, value in (options or {}).items():
            section, _, opt = key.rpartition("__")
            sections.setdefault(section or "DEFAULT", {})[opt] = str(value)
        own = self._write("%s.conf" % name, sections)
        return ["--config-file", self.common_conf, "--config-file", own]

    # --- processes ------------------------------------------------------
    def run(self, argv, timeout=120):
        """Run a one-shot command (lifeboat-manage); returns CompletedProcess."""
        return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True,
                              timeout=timeout)

    def db_sync(self):
        r = self.run([os.path.join(BIN, "lifeboat-manage"), "--config-file",
                      self.common_conf, "db", "sync"])
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stdout

    SEED = ("import sys; from lifeboat.cmd import common; "
            "common.setup(sys.argv[1:]); from lifeboat.cloud import seed; seed()")

    def seed(self):
        """Default flavors and images (what an operator creates after db sync)."""
        r = self.run([sys.executable, "-c", self.SEED, "--config-file", self.common_conf])
        assert r.returncode == 0, r.stdout + r.stderr

    def start(self, name, binary, host=None, options=None, args=()):
        argv = [os.path.join(BIN, binary), *args,
                *self.config_files(name, host, options)]
        proc = Proc(name, argv, os.path.join(self.workdir, name + ".log")).start()
        self.procs[name] = proc
        return proc

    def start_api(self, workers=None):
        return self.start("api", "lifeboat-api",
                          args=("--workers", str(workers or self.api_workers)))

    def start_conductor(self, name="conductor", **options):
        return self.start(name, "lifeboat-conductor", host=name, options=options)

    def start_scheduler(self, name="scheduler", **options):
        return self.start(name, "lifeboat-scheduler", host=name, options=options)

    def start_compute(self, host, **options):
        return self.start(host, "lifeboat-compute", host=host, options=options)

    def restart(self, name, wait=True):
        proc = self.procs[name]
        proc.start()
        return proc.wait_started() if wait else proc

    def wait_started(self, *names):
        for name in names:
            self.procs[name].wait_started()

    def stop_all(self, timeout=12):
        """SIGINT to every process at once; {name: (exit code, seconds)} (code
        None: killed after `timeout`)."""
        start = time.monotonic()
        for proc in self.procs.values():
            if proc.alive():
                proc.popen.send_signal(signal.SIGINT)
        codes = {}
        for name, proc in self.procs.items():
            if proc.popen is None:
                continue
            try:
                proc.popen.wait(max(0.1, timeout - (time.monotonic() - start)))
                codes[name] = (proc.popen.returncode, round(time.monotonic() - start, 1))
            except subprocess.TimeoutExpired:
                proc.dump_stacks()
                proc.kill9()
                codes[name] = (None, round(time.monotonic() - start, 1))
        if self.http is not None:
            self.http.close()
            self.http = None
        return codes

    def logs(self, lines=30):
        return "\n".join("----- %s\n%s" % (n, p.tail(lines))
                         for n, p in self.procs.items())

    # --- waiting --------------------------------------------------------
    def wait_api(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base + "/", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            api = self.procs.get("api")
            if api is not None and not api.alive():
                break
            time.sleep(0.1)
        raise AssertionError("API did not come up\n" + self.logs())

    def client(self, version="2.105"):
        if self.http is None:
            self.http = httpx.Client(base_url=self.base, timeout=30)
        return ApiClient(self.http, "admin", "admin", version)

    def services(self):
        r = self.client().get("/os-services")
        assert r.status_code == 200, r.text
        return {(s["host"], s["binary"]): s for s in r.json()["services"]}

    def wait_services(self, expected, state="up", timeout=60):
        """Wait until each (host, binary) in `expected` shows `state`."""
        deadline = time.monotonic() + timeout
        seen = {}
        while time.monotonic() < deadline:
            try:
                seen = self.services()
            except (AssertionError, httpx.HTTPError):
                seen = {}
            if all(k in seen and seen[k]["state"] == state for k in expected):
                return seen
            for name, proc in self.procs.items():
                if not proc.alive() and proc.popen.returncode not in (None, -9):
                    pass
            time.sleep(0.1)
        raise AssertionError("services %s not %s: %s\n%s" % (
            expected, state, {k: v["state"] for k, v in seen.items()}, self.logs()))

    def start_cloud(self, computes=("host1", "host2"), conductors=1, compute_options=None):
        """db sync, seed, then api + conductor(s) + scheduler + computes; waits
        until every service reports up."""
        self.db_sync()
        seeding = subprocess.Popen(  # alongside the services' start-up
            [sys.executable, "-c", self.SEED, "--config-file", self.common_conf],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.start_api()
        for i in range(conductors):
            self.start_conductor("conductor%d" % (i + 1) if conductors > 1 else "conductor")
        self.start_scheduler()
        for host in computes:
            self.start_compute(host, **((compute_options or {}).get(host, {})))
        out, _ = seeding.communicate(timeout=120)
        assert seeding.returncode == 0, out
        self.wait_started(*[n for n in self.procs if n != "api"])
        self.wait_api()
        expected = [(h, "nova-compute") for h in computes]
        expected += [("scheduler", "nova-scheduler")]
        expected += [("conductor%d" % (i + 1) if conductors > 1 else "conductor",
                      "nova-conductor") for i in range(conductors)]
        self.wait_services(expected)
        return self


# --- shared services (whole machine: other users of them see the outage too) --
def pg_cluster():
    versions = sorted(os.listdir("/etc/postgresql"))
    return versions[-1] if versions else None


def postgres(action, timeout=60):
    """Stop (fast: sessions are terminated) or start the local PostgreSQL."""
    cmd = ["pg_ctlcluster", "--skip-systemctl-redirect", pg_cluster(), "main", action]
    if action == "stop":
        cmd += ["-m", "fast"]
    subprocess.run(cmd, check=True, timeout=timeout, capture_output=True)
    if action == "start":
        wait_port(5432, timeout)


def rabbitmq(action, timeout=120):
    """Stop or start the local RabbitMQ node (as an operator would)."""
    if action == "stop":
        subprocess.run(["rabbitmqctl", "-q", "stop"], check=True, timeout=timeout,
                       capture_output=True)
        deadline = time.monotonic() + timeout
        while port_open(5672) and time.monotonic() < deadline:
            time.sleep(0.1)
    else:
        subprocess.run(["rabbitmq-server", "-detached"], check=True, timeout=timeout,
                       capture_output=True)
        wait_port(5672, timeout)
        subprocess.run(["rabbitmqctl", "-q", "await_startup"], check=True,
                       timeout=timeout, capture_output=True)


def wait_port(port, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port):
            return
        time.sleep(0.1)
    raise AssertionError("nothing listens on port %d after %ss" % (port, timeout))

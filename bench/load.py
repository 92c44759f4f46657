"""Load on a distributed deployment: concurrent clients over real processes.

Starts lifeboat-api (--workers N), lifeboat-conductor (xC), lifeboat-scheduler
and N lifeboat-compute processes (fake driver) over RabbitMQ and PostgreSQL (or
MariaDB), each with its own config file, on a fresh database and vhost. Then
`--clients` closed-loop clients each keep a few servers of their own and, for
`--duration` seconds, issue boot / rescue / unrescue / live-migrate (scheduler's
choice) / delete, each waiting for its operation to finish before the next.
At the end every instance must be out of its task_state and every migration
final (within --settle seconds).

    .venv/bin/python bench/load.py [--duration 60] [--clients 20] \\
        [--api-workers 3] [--computes 5] [--conductors 1] [--engine postgresql] \\
        [--output bench/results/load.md]

Exit status 1 if any response was a 5xx, an instance stayed in a task_state or
a migration did not end final.
"""
import argparse
import collections
import datetime
import os
import random
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import httpx  # noqa: E402

from tests.distributed import harness  # noqa: E402

FINAL = ("completed", "failed", "error", "cancelled")
POLL = 0.1  # seconds between a client's GETs while it waits for its operation


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    k = (len(values) - 1) * p / 100.0
    f, c = int(k), min(int(k) + 1, len(values) - 1)
    return values[f] + (values[c] - values[f]) * (k - f)


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.http = collections.defaultdict(list)      # op -> [seconds]
        self.done = collections.defaultdict(list)      # op -> [seconds] to settled
        self.codes = collections.Counter()             # (op, status)
        self.errors = []                               # unexpected outcomes
        self.timeouts = 0

    def request(self, op, status, seconds):
        with self.lock:
            self.http[op].append(seconds)
            self.codes[(op, status)] += 1

    def completed(self, op, seconds):
        with self.lock:
            self.done[op].append(seconds)


class LoadClient(threading.Thread):
    """One closed-loop user with its own servers."""

    def __init__(self, n, base, stats, deadline, image, keep=3, seed=0):
        super().__init__(name="client-%d" % n, daemon=True)
        self.http = httpx.Client(base_url=base, timeout=120, headers={
            "X-Auth-Token": "admin:admin", "OpenStack-API-Version": "compute 2.105"})
        self.stats = stats
        self.deadline = deadline
        self.image = image
        self.keep = keep
        self.rnd = random.Random(seed)
        self.servers = []

    def call(self, op, method, path, body=None):
        t = time.monotonic()
        r = self.http.request(method, path, json=body)
        self.stats.request(op, r.status_code, time.monotonic() - t)
        return r

    def show(self, sid):
        r = self.http.get("/v2.1/servers/%s" % sid)
        if r.status_code >= 500:
            self.stats.request("show", r.status_code, 0)
        return r.json().get("server") if r.status_code == 200 else None

    def wait(self, op, sid, t0, predicate, timeout=60):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            s = self.show(sid)
            if predicate(s):
                self.stats.completed(op, time.monotonic() - t0)
                return s
            time.sleep(POLL)
        with self.stats.lock:
            self.stats.timeouts += 1
            self.stats.errors.append("%s of %s did not finish in %ss" % (op, sid, timeout))
        return None

    def run(self):
        while time.monotonic() < self.deadline:
            try:
                self.step()
            except httpx.HTTPError as e:
                with self.stats.lock:
                    self.stats.errors.append("HTTP error: %r" % e)
        self.http.close()

    def step(self):
        if len(self.servers) < self.keep:
            t0 = time.monotonic()
            r = self.call("boot", "POST", "/v2.1/servers", {"server": {
                "name": self.name, "imageRef": self.image, "flavorRef": "1",
                "networks": "none"}})
            if r.status_code == 202:
                sid = r.json()["server"]["id"]
                s = self.wait("boot", sid, t0, lambda s: s and s[
                    "OS-EXT-STS:task_state"] is None and s["status"] != "BUILD")
                if s is not None and s["status"] == "ACTIVE":
                    self.servers.append(sid)
                elif s is not None:
                    self.stats.errors.append("boot ended %s" % s["status"])
            return
        sid = self.rnd.choice(self.servers)
        s = self.show(sid)
        if s is None:
            self.servers.remove(sid)
            return
        status, host = s["status"], s["OS-EXT-SRV-ATTR:host"]
        choices = {"ACTIVE": ["rescue", "live-migrate", "live-migrate", "delete"],
                   "RESCUE": ["unrescue", "live-migrate"]}.get(status)
        if not choices:
            return
        op = self.rnd.choice(choices)
        path = "/v2.1/servers/%s/action" % sid
        t0 = time.monotonic()
        if op == "rescue":
            r = self.call(op, "POST", path, {"rescue": {}})
            ok = lambda s: s and s["OS-EXT-STS:task_state"] is None  # noqa: E731
        elif op == "unrescue":
            r = self.call(op, "POST", path, {"unrescue": None})
            ok = lambda s: s and s["OS-EXT-STS:task_state"] is None  # noqa: E731
        elif op == "live-migrate":
            r = self.call(op, "POST", path, {"os-migrateLive": {
                "host": None, "block_migration": "auto"}})
            ok = lambda s: s and s["OS-EXT-STS:task_state"] is None  # noqa: E731
        else:
            r = self.call(op, "DELETE", "/v2.1/servers/%s" % sid)
            ok = lambda s: s is None  # noqa: E731
        if r.status_code in (200, 202, 204):
            s = self.wait(op, sid, t0, ok)
            if op == "delete":
                self.servers.remove(sid)
            elif op == "live-migrate" and s is not None and \
                    s["OS-EXT-SRV-ATTR:host"] == host:
                # rolled back (e.g. no other host fits): an error, recorded
                self.stats.errors.append("live migration of %s stayed on %s"
                                         % (sid, host))


def run(duration=60, clients=20, api_workers=3, computes=5, conductors=1,
        engine="postgresql", settle=60, workdir=None, log=print):
    """Start a deployment, load it, check it settles; returns a result dict."""
    db = harness.TempDatabase(engine).create()
    vhost = harness.TempVhost().create()
    workdir = workdir or tempfile.mkdtemp(prefix="lifeboat-load-")
    deployment = harness.Deployment(workdir, db, vhost.url, api_workers=api_workers)
    hosts = ["host%d" % (i + 1) for i in range(computes)]
    try:
        t = time.monotonic()
        deployment.start_cloud(computes=hosts, conductors=conductors)
        log("deployment up in %.1fs (%s)" % (time.monotonic() - t, workdir))
        result = load(deployment, duration, clients, settle)
        result.update(api_workers=api_workers, computes=computes,
                      conductors=conductors, engine=engine)
        return result
    finally:
        codes = deployment.stop_all()
        log("stopped: %s" % codes)
        db.drop()
        vhost.drop()


def load(deployment, duration=60, clients=20, settle=60):
    """Run the clients against a running deployment; returns a result dict."""
    db = deployment.db
    image = deployment.client().image_id()
    stats = Stats()
    load_before = os.getloadavg()[0]
    start = time.monotonic()
    deadline = start + duration
    threads = [LoadClient(i, deployment.base, stats, deadline, image, seed=i)
               for i in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(duration + 180)
    elapsed = time.monotonic() - start
    load_after = os.getloadavg()[0]
    stuck, unfinished = _settle(db, settle)
    result = {"stats": stats, "elapsed": elapsed, "stuck": stuck,
              "unfinished": unfinished, "duration": duration, "clients": clients,
              "api_workers": deployment.api_workers,
              "computes": sum(1 for p in deployment.procs.values()
                              if "lifeboat-compute" in p.argv[0]),
              "conductors": sum(1 for p in deployment.procs.values()
                                if "lifeboat-conductor" in p.argv[0] and p.alive()),
              "engine": db.engine, "loadavg": (load_before, load_after),
              "migrations": collections.Counter(r[0] for r in db.query(
                  "select status from migrations")),
              "instances": collections.Counter(r[0] for r in db.query(
                  "select vm_state from instances where deleted = 0"))}
    result["five_xx"] = sum(n for (op, code), n in stats.codes.items() if code >= 500)
    return result


def _settle(db, timeout):
    end = time.monotonic() + timeout
    while True:
        stuck = db.query("select uuid, vm_state, task_state from instances "
                         "where deleted = 0 and task_state is not null")
        unfinished = db.query("select id, status from migrations where status not in "
                              "('completed', 'failed', 'error', 'cancelled')")
        if (not stuck and not unfinished) or time.monotonic() > end:
            return stuck, unfinished
        time.sleep(0.5)


def report(result):
    stats = result["stats"]
    ops = sorted(stats.http)
    total = sum(len(stats.done[op]) for op in stats.done)
    lines = [
        "| operation | requests | HTTP p50 ms | HTTP p95 ms | HTTP p99 ms | "
        "done p50 ms | done p95 ms | done max ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for op in ops:
        h = [x * 1000 for x in stats.http[op]]
        d = [x * 1000 for x in stats.done.get(op, [])]
        lines.append("| %s | %d | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f |" % (
            op, len(h), percentile(h, 50), percentile(h, 95), percentile(h, 99),
            percentile(d, 50), percentile(d, 95), max(d) if d else float("nan")))
    codes = ", ".join("%s %s: %d" % (op, code, n)
                      for (op, code), n in sorted(stats.codes.items()))
    summary = [
        "- %d clients, %ds, %d API workers, %d conductor(s), %d computes, %s" % (
            result["clients"], result["duration"], result["api_workers"],
            result["conductors"], result["computes"], result["engine"]),
        "- completed operations: %d (%.1f/s); HTTP requests for operations: %d "
        "(%.1f/s)" % (total, total / result["elapsed"],
                      sum(len(v) for v in stats.http.values()),
                      sum(len(v) for v in stats.http.values()) / result["elapsed"]),
        "- responses: %s" % codes,
        "- 5xx: %d; instances left in a task_state: %d; migrations not final: %d; "
        "operations that did not finish within 60 s: %d" % (
            result["five_xx"], len(result["stuck"]), len(result["unfinished"]),
            stats.timeouts),
        "- migration records: %s; live instances by vm_state: %s" % (
            dict(result["migrations"]), dict(result["instances"])),
        "- machine load average (1 min) before/after the run: %.1f / %.1f" %
        result["loadavg"],
    ]
    if stats.errors:
        summary.append("- client-side notes (%d): %s" % (
            len(stats.errors), "; ".join(sorted(set(stats.errors))[:10])))
    return "\n".join(summary) + "\n\n" + "\n".join(lines) + "\n"


def ok(result):
    return (result["five_xx"] == 0 and not result["stuck"] and not result["unfinished"]
            and result["stats"].timeouts == 0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--api-workers", type=int, default=3)
    parser.add_argument("--computes", type=int, default=5)
    parser.add_argument("--conductors", type=int, default=1)
    parser.add_argument("--engine", default="postgresql",
                        choices=["postgresql", "mariadb"])
    parser.add_argument("--settle", type=int, default=60)
    parser.add_argument("--output", help="write the results as markdown here")
    args = parser.parse_args()
    result = run(args.duration, args.clients, args.api_workers, args.computes,
                 args.conductors, args.engine, args.settle)
    text = report(result)
    print(text)
    if args.output:
        command = "`.venv/bin/python bench/load.py %s`" % " ".join(sys.argv[1:])
        with open(args.output, "w") as f:
            f.write("# Load: distributed deployment under concurrent clients\n\n")
            f.write("Command: %s\n\n" % command)
            f.write("Run %s on %s (%d CPUs), RabbitMQ and the database on the same "
                    "machine; every service a separate process. HTTP = time to the "
                    "API's response; done = time until the operation finished "
                    "(task_state None, or gone for delete), as seen by a client "
                    "polling every 100 ms.\n\n" % (
                        datetime.datetime.now(datetime.timezone.utc)
                        .strftime("%Y-%m-%d %H:%M UTC"), os.uname().nodename,
                        os.cpu_count()))
            f.write(text)
    return 0 if ok(result) else 1


if __name__ == "__main__":
    sys.exit(main())

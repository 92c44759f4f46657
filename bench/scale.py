"""Scale run: 1,000 simulated compute hosts and 100,000 instances in PostgreSQL.

One `lifeboat-all-in-one` process with
[all_in_one] compute_hosts = host0001..host1000 and [database] connection on a
PostgreSQL database created for the run. 100,000 ACTIVE instances (100 per
host, 100 projects) are bulk-INSERTed before it starts. Then, over loopback HTTP
unless noted:

  startup    time to the API answering; RSS and threads; services up
  idle       CPU of the process and of PostgreSQL over an idle window
  scheduler  select_destinations() decisions, timed in this process against
             the same database while the cloud runs (p50/p99, SQL per decision)
  boot       API boot rate (burst of --boots POSTs) and sequential latency
  list       GET /servers/detail?all_tenants=1&limit=1000 (p50), then paging
             through every server with the next links
  hypervisors GET /os-hypervisors/detail (2.105, and 2.87 with usage)
  migrate    single live-migration time (202 to done), sequential
  drain      live-migrate every instance off one host with at most N in
             flight (N = 1, 4, 16), each on a fresh host of 100 instances:
             makespan against ceil(100/N) x single migration time
  memory     RSS sampled all along (idle, peak under load)

    .venv/bin/python bench/scale.py [--hosts 1000] [--instances 100000]
        [--out bench/results/scale.json]
"""
import argparse
import math
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import scale_common as sc  # noqa: E402
from compare_ops import percentile, summary  # noqa: E402

T0 = time.perf_counter()


def log(msg):
    print("[%7.1f s] %s" % (time.perf_counter() - T0, msg), flush=True)


class Sampler(threading.Thread):
    """Samples RSS/threads/CPU of the cloud process every `every` seconds,
    tagged with the current phase."""

    def __init__(self, pid, every=0.5):
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.phase = "startup"
        self.samples = []
        self._stop = threading.Event()

    def run(self):
        while not self._stop.wait(self.every):
            s = sc.proc_status(self.pid)
            if s:
                s["phase"], s["t"] = self.phase, time.perf_counter() - T0
                self.samples.append(s)

    def stop(self):
        self._stop.set()

    def peak(self, phase=None):
        rss = [s["rss_kib"] for s in self.samples
               if "rss_kib" in s and (phase is None or s["phase"] == phase)]
        return max(rss) if rss else None


def services_up(cloud):
    svcs = cloud.get("/v2.1/os-services?binary=nova-compute")["services"]
    return sum(1 for s in svcs if s["state"] == "up"), len(svcs)


def idle_window(cloud, seconds):
    p0, pg0, t0 = sc.proc_status(cloud.proc.pid), sc.postgres_cpu_s(), time.perf_counter()
    time.sleep(seconds)
    p1, pg1, t1 = sc.proc_status(cloud.proc.pid), sc.postgres_cpu_s(), time.perf_counter()
    up, total = services_up(cloud)
    return {"seconds": t1 - t0, "cloud_cpu_pct": 100 * (p1["cpu_s"] - p0["cpu_s"]) / (t1 - t0),
            "postgres_cpu_pct": 100 * (pg1 - pg0) / (t1 - t0),
            "rss_kib": p1.get("rss_kib"), "threads": p1.get("threads"),
            "compute_services_up": up, "compute_services": total}


def measure_scheduler(decisions):
    """select_destinations() in this process against the cloud's database."""
    mgr, ctx, specs = sc.scheduler_under_test()
    counter = sc.SqlCounter()
    for _ in range(5):  # warm the engine, caches and the pool
        mgr.select_destinations(ctx, specs[0])
    counter.reset()
    times = []
    for i in range(decisions):
        t = time.perf_counter()
        mgr.select_destinations(ctx, specs[i % 2])
        times.append(time.perf_counter() - t)
    sql = {"statements_per_decision": counter.count / decisions,
           "sql_seconds_per_decision": counter.seconds / decisions,
           "top": [(k, n, round(t, 4)) for k, (n, t) in counter.top(5)]}
    counter.close()
    profile = sc.profile_decisions(mgr, ctx, specs)
    mgr.cleanup_host()
    ms = [t * 1000 for t in times]
    return {"n": decisions, "p50_ms": percentile(ms, 50), "p90_ms": percentile(ms, 90),
            "p99_ms": percentile(ms, 99), "max_ms": max(ms), "sql": sql,
            "profile_top": profile}


def boot_burst(cloud, image, n, poll=0.2):
    t0 = time.perf_counter()
    ids = []
    for i in range(n):
        r = cloud.client.post("/v2.1/servers", json={"server": {
            "name": "scale-boot-%d" % i, "imageRef": image, "flavorRef": "1",
            "networks": "none"}})
        assert r.status_code == 202, r.text
        ids.append(r.json()["server"]["id"])
    posted = time.perf_counter() - t0
    pending = set(ids)
    while pending:
        building = {s["id"] for s in cloud.get(
            "/v2.1/servers?status=BUILD&limit=1000")["servers"]}
        pending &= building
        if pending:
            time.sleep(poll)
    elapsed = time.perf_counter() - t0
    errors = cloud.get("/v2.1/servers?status=ERROR&limit=1000")["servers"]
    return {"n": n, "seconds": elapsed, "post_seconds": posted,
            "rate_per_s": n / elapsed, "errors": len(errors)}


def boot_sequential(cloud, image, n, poll=0.005):
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        r = cloud.client.post("/v2.1/servers", json={"server": {
            "name": "scale-seq-%d" % i, "imageRef": image, "flavorRef": "1",
            "networks": "none"}})
        sid = r.json()["server"]["id"]
        while cloud.get("/v2.1/servers/%s" % sid)["server"]["status"] != "ACTIVE":
            time.sleep(poll)
        times.append(time.perf_counter() - t0)
    return summary(times)


def list_pages(cloud, runs):
    path = "/v2.1/servers/detail?all_tenants=1&limit=1000"
    times = []
    for _ in range(runs + 1):
        t = time.perf_counter()
        body = cloud.get(path)
        times.append(time.perf_counter() - t)
        assert len(body["servers"]) == 1000
    times = times[1:]
    # Page through everything by the next links.
    pages, total, page_times = 0, 0, []
    t_all = time.perf_counter()
    next_path = path
    while next_path:
        t = time.perf_counter()
        body = cloud.get(next_path)
        page_times.append(time.perf_counter() - t)
        pages += 1
        total += len(body["servers"])
        links = body.get("servers_links") or []
        nxt = [link["href"] for link in links if link["rel"] == "next"]
        next_path = nxt[0].split(cloud.base, 1)[-1] if nxt else None
    return {"first_page_ms": {k: (v * 1000 if isinstance(v, float) else v)
                              for k, v in summary(times).items()},
            "all_pages": {"pages": pages, "servers": total,
                          "seconds": time.perf_counter() - t_all,
                          "page_p50_ms": percentile(page_times, 50) * 1000,
                          "page_p99_ms": percentile(page_times, 99) * 1000,
                          "page_max_ms": max(page_times) * 1000}}


def hypervisors(cloud, runs):
    out = {}
    for version in ("2.105", "2.87"):
        times, count = [], None
        for _ in range(runs):
            t = time.perf_counter()
            body = cloud.get("/v2.1/os-hypervisors/detail",
                             headers={"OpenStack-API-Version": "compute %s" % version})
            times.append(time.perf_counter() - t)
            count = len(body["hypervisors"])
        out[version] = {"hypervisors": count, "median_s": statistics.median(times),
                        "min_s": min(times), "max_s": max(times), "runs": runs}
    return out


def servers_on(cloud, host):
    return [s["id"] for s in cloud.get(
        "/v2.1/servers?all_tenants=1&host=%s&limit=1000" % host)["servers"]]


def run_drain(cloud, host, concurrency, poll, limit=None):
    """Live-migrate the servers on `host` (the first `limit` of them), at most
    `concurrency` in flight, the scheduler choosing destinations. One loop,
    one poll per round for all the migrations in flight: GET /servers?host=
    (the index, cheap); a server gone from it has moved. A server still there
    after 3 s is looked at alone, to catch a migration that failed (task_state
    cleared on the source). Returns (makespan, [(sid, seconds, ok, error)])."""
    ids = servers_on(cloud, host)[:limit]
    todo = list(ids)
    inflight = {}  # sid -> start time
    done = []
    t0 = time.perf_counter()
    while todo or inflight:
        while todo and len(inflight) < concurrency:
            sid = todo.pop(0)
            start = time.perf_counter()
            r = cloud.client.post("/v2.1/servers/%s/action" % sid, json={
                "os-migrateLive": {"host": None, "block_migration": "auto"}})
            if r.status_code != 202:
                done.append((sid, 0.0, False, "HTTP %s %s" % (r.status_code, r.text[:200])))
                continue
            inflight[sid] = start
        time.sleep(poll)
        here = set(servers_on(cloud, host))
        now = time.perf_counter()
        for sid in list(inflight):
            if sid not in here:
                done.append((sid, now - inflight.pop(sid), True, None))
            elif now - inflight[sid] > 3.0:
                server = cloud.get("/v2.1/servers/%s" % sid)["server"]
                if server["OS-EXT-STS:task_state"] is None:
                    # finished between the list and this look: moved, or not
                    moved = server["OS-EXT-SRV-ATTR:host"] != host
                    done.append((sid, now - inflight.pop(sid), moved,
                                 None if moved else "stayed on source"))
                elif now - inflight[sid] > 600:
                    done.append((sid, now - inflight.pop(sid), False, "timeout"))
    return time.perf_counter() - t0, done


def single_migrations(cloud, host, n, poll):
    makespan, results = run_drain(cloud, host, 1, poll, limit=n + 2)
    failures = [r for r in results if not r[2]]
    times = [r[1] for r in results[2:] if r[2]]  # the first two warm up
    return {"host": host, "summary_s": summary(times), "failures": len(failures),
            "errors": [f[3] for f in failures][:5]}


def drain_with_cli(cloud, host, concurrency, single_s):
    """`lifeboat host drain` when lifeboat/cli/drain.py exists (None otherwise)."""
    cli = os.path.join(sc.ROOT, "lifeboat", "cli", "drain")  # drain.py or drain/
    exe = os.path.join(os.path.dirname(sys.executable), "lifeboat")
    if not ((os.path.exists(cli) or os.path.exists(cli + ".py")) and os.path.exists(exe)):
        return None
    env = dict(os.environ, OS_AUTH_TYPE="admin_token", OS_ENDPOINT=cloud.base + "/v2.1",
               OS_TOKEN="admin:admin")
    t0 = time.perf_counter()
    n = len(servers_on(cloud, host))
    proc = subprocess.run([exe, "host", "drain", host, "--max-concurrent",
                           str(concurrency), "--format", "json"], env=env,
                          capture_output=True, text=True, timeout=3600)
    seconds = time.perf_counter() - t0
    left = servers_on(cloud, host)
    ideal = math.ceil(n / concurrency) * single_s
    return {"host": host, "instances": n, "concurrency": concurrency,
            "makespan_s": seconds, "ideal_s": ideal, "target_s": 1.1 * ideal + 1.0,
            "met": seconds <= 1.1 * ideal + 1.0, "exit": proc.returncode,
            "left_on_host": len(left), "stderr_tail": proc.stderr[-600:]}


def drain(cloud, host, concurrency, poll, single_s):
    makespan, results = run_drain(cloud, host, concurrency, poll)
    n = len(results)
    left = servers_on(cloud, host)
    ideal = math.ceil(n / concurrency) * single_s
    return {"host": host, "instances": n, "concurrency": concurrency,
            "makespan_s": makespan, "ideal_s": ideal,
            "target_s": 1.1 * ideal + 1.0, "met": makespan <= 1.1 * ideal + 1.0,
            "ratio_to_ideal": makespan / ideal if ideal else None,
            "per_migration_s": summary([r[1] for r in results if r[2]]),
            "failures": sum(1 for r in results if not r[2]),
            "errors": [r[3] for r in results if not r[2]][:5],
            "left_on_host": len(left)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--hosts", type=int, default=1000)
    p.add_argument("--instances", type=int, default=100000)
    p.add_argument("--db", default="lifeboat_scale")
    p.add_argument("--migration-seconds", type=float, default=1.0,
                   help="[fake] live_migration_seconds: the simulated transfer")
    p.add_argument("--idle-seconds", type=float, default=40)
    p.add_argument("--decisions", type=int, default=300)
    p.add_argument("--boots", type=int, default=100)
    p.add_argument("--list-runs", type=int, default=20)
    p.add_argument("--drain", default="1,4,16")
    p.add_argument("--cli-drain", default="16",
                   help="N for `lifeboat host drain --max-concurrent N` runs")
    p.add_argument("--poll", type=float, default=0.02,
                   help="seconds between polls while waiting for a migration")
    p.add_argument("--keep-db", action="store_true")
    p.add_argument("--out", default=None)
    p.add_argument("--extra", action="append", default=[],
                   help="more options, group__name=value")
    args = p.parse_args()
    out = args.out or os.path.join(HERE, "results", "scale.json")
    result = {"command": " ".join([os.path.relpath(sys.executable)] + sys.argv),
              "args": vars(args), "loadavg_start": os.getloadavg(), "nproc": os.cpu_count()}
    hosts = sc.host_names(args.hosts)
    options = {"fake__live_migration_seconds": args.migration_seconds}
    for extra in args.extra:
        k, v = extra.split("=", 1)
        options[k] = v
    cloud = sc.ProcCloud(hosts, database=sc.pg_url(args.db), **options)
    result["config"] = cloud.sections
    log("database %s: recreate, schema, catalog" % args.db)
    sc.recreate_database(args.db)
    sc.lifeboat_conf(cloud.config)
    sc.seed_catalog()
    log("bulk insert of %d instances over %d hosts" % (args.instances, args.hosts))
    result["seed_seconds"] = sc.bulk_instances(args.instances, hosts, log=log)
    log("seeded in %.1f s" % result["seed_seconds"])
    try:
        with cloud:
            sampler = Sampler(cloud.proc.pid)
            sampler.start()
            result["startup"] = dict(seconds=cloud.startup_seconds,
                                     **sc.proc_status(cloud.proc.pid))
            up, total = services_up(cloud)
            result["startup"].update(compute_services_up=up, compute_services=total)
            log("all-in-one up in %.1f s: %s, %d/%d computes up" % (
                cloud.startup_seconds, sc.proc_status(cloud.proc.pid), up, total))
            sampler.phase = "idle"
            result["idle"] = idle_window(cloud, args.idle_seconds)
            result["idle"]["cpu_contention"] = sc.contention()
            log("idle: %s" % result["idle"])
            image = cloud.get("/image/v2/images?name=cirros")["images"][0]["id"]

            sampler.phase = "scheduler"
            log("scheduler decisions (in-process, %d)" % args.decisions)
            result["scheduler"] = measure_scheduler(args.decisions)
            log("scheduler: p50 %.1f ms p99 %.1f ms, %.1f statements/decision" % (
                result["scheduler"]["p50_ms"], result["scheduler"]["p99_ms"],
                result["scheduler"]["sql"]["statements_per_decision"]))

            sampler.phase = "boot"
            result["boot_sequential_s"] = boot_sequential(cloud, image, 10)
            result["boot_burst"] = boot_burst(cloud, image, args.boots)
            log("boot: sequential median %.3f s; burst %.1f servers/s" % (
                result["boot_sequential_s"]["median"],
                result["boot_burst"]["rate_per_s"]))

            sampler.phase = "list"
            result["list"] = list_pages(cloud, args.list_runs)
            log("list: %s" % result["list"])

            sampler.phase = "hypervisors"
            result["hypervisors"] = hypervisors(cloud, 3)
            log("hypervisors: %s" % result["hypervisors"])

            sampler.phase = "migrate"
            single = single_migrations(cloud, "host%04d" % args.hosts, 10, args.poll)
            result["single_migration"] = single
            single_s = single["summary_s"]["median"]
            log("single migration: %s" % single)

            result["drain"] = []
            for i, n in enumerate(int(x) for x in args.drain.split(",") if x):
                sampler.phase = "drain-%d" % n
                host = "host%04d" % (i + 1)
                d = drain(cloud, host, n, args.poll, single_s)
                result["drain"].append(d)
                log("drain N=%d: makespan %.1f s, ideal %.1f s, target %.1f s, %s; "
                    "failures %d" % (n, d["makespan_s"], d["ideal_s"], d["target_s"],
                                     "met" if d["met"] else "MISSED", d["failures"]))
            result["drain_cli"] = []
            for i, n in enumerate(int(x) for x in args.cli_drain.split(",") if x):
                sampler.phase = "drain-cli-%d" % n
                host = "host%04d" % (len(result["drain"]) + i + 1)
                d = drain_with_cli(cloud, host, n, single_s)
                if d is None:
                    log("no lifeboat/cli/drain.py: CLI drain skipped")
                    break
                result["drain_cli"].append(d)
                log("`lifeboat host drain --max-concurrent %d`: makespan %.1f s, "
                    "ideal %.1f s, target %.1f s, %s; exit %s, left %d" % (
                        n, d["makespan_s"], d["ideal_s"], d["target_s"],
                        "met" if d["met"] else "MISSED", d["exit"], d["left_on_host"]))

            sampler.phase = "idle-after"
            result["idle_after"] = idle_window(cloud, min(args.idle_seconds, 20))
            result["idle_after"]["cpu_contention"] = sc.contention()
            sampler.stop()
            result["memory"] = {
                "rss_after_startup_kib": result["startup"].get("rss_kib"),
                "rss_idle_kib": result["idle"]["rss_kib"],
                "rss_peak_kib": sampler.peak(),
                "rss_peak_by_phase_kib": {ph: sampler.peak(ph) for ph in
                                          sorted({s["phase"] for s in sampler.samples})},
                "rss_idle_after_kib": result["idle_after"]["rss_kib"],
                "threads_idle": result["idle"]["threads"]}
            result["samples"] = sampler.samples[::4]
    finally:
        result["log_tail"] = _tail(cloud.log_path)
        sc.dump(out, result)
        log("written to %s" % os.path.relpath(out))
        if not args.keep_db:
            sc.drop_database(args.db)
        shutil.rmtree(cloud.state, ignore_errors=True)


def _tail(path, n=40):
    try:
        with open(path) as f:
            lines = f.readlines()
    except OSError:
        return []
    errors = [line for line in lines if " ERROR " in line or "Traceback" in line]
    return {"errors": len(errors), "first_errors": errors[:10], "tail": lines[-n:]}


if __name__ == "__main__":
    main()

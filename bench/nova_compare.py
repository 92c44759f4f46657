"""Lifeboat against upstream Nova 34, the same operations in the same run.

For each round: the embedded default (`lifeboat-all-in-one`, SQLite, in-process
RPC, simulated driver; two compute hosts) is started as its own process and
driven over loopback HTTP; then upstream Nova runs in its own virtualenv, in its
functional-test harness (bench/nova_baseline/nova_bench.py: API, conductor,
scheduler, two fake-driver computes, Placement, in one process). Both run the
code of bench/compare_ops.py:

* boot: 10 sequential boots (POST, wait ACTIVE), then 190 POSTs back to back
  until all are ACTIVE (the boot rate);
* GET /servers/detail as admin with those 200 servers;
* rescue + unrescue round trip;
* live migration, 202 to task_state None on the other host (scheduler picks).

Needs bench/nova_baseline/setup.sh to have been run once.

    .venv/bin/python bench/nova_compare.py [--rounds 3] [--out bench/results/nova_baseline.json]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import compare_ops  # noqa: E402
from common import HttpCloud  # noqa: E402

NOVA_DIR = os.path.join(HERE, "nova_baseline")
NOVA_PY = os.path.join(NOVA_DIR, ".venv", "bin", "python")

METRICS = [  # (key in results, label, unit, lower is better)
    ("boot_rate", "boot rate (burst of 190)", "servers/s", False),
    ("boot_sequential", "boot, one at a time (POST to ACTIVE)", "s", True),
    ("list_detail", "GET /servers/detail, 200 servers, admin", "s", True),
    ("rescue_unrescue", "rescue + unrescue round trip", "s", True),
    ("live_migration", "live migration, 202 to done", "s", True),
]


class LifeboatClient:
    def __init__(self, httpx_client):
        self.h = httpx_client

    def get(self, path):
        r = self.h.get("/v2.1" + path)
        r.raise_for_status()
        return r.json()

    def post(self, path, body):
        r = self.h.post("/v2.1" + path, json=body)
        return r.status_code, (r.json() if r.content else None)


def run_lifeboat(args):
    with HttpCloud(hosts=("host1", "host2")) as cloud:
        image = cloud.client.get("/image/v2/images?name=cirros").json()["images"][0]["id"]
        ops = compare_ops.Ops(LifeboatClient(cloud.client), image, "1", poll=args.poll,
                              log=lambda m: print("lifeboat: " + m, flush=True))
        out = compare_ops.run_all(ops, servers=args.servers, sequential=args.sequential,
                                  detail_runs=args.detail_runs * 3,
                                  rescue_runs=args.rescue_runs * 3,
                                  migration_runs=args.migration_runs * 3)
        out["rss_kib"] = _rss(cloud.proc.pid)
    return out


def run_nova(args):
    if not os.path.exists(NOVA_PY):
        raise SystemExit("run bench/nova_baseline/setup.sh first")
    fd, path = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    env = dict(os.environ, NOVA_BENCH_OUT=path, NOVA_BENCH_POLL=str(args.poll),
               NOVA_BENCH_SERVERS=str(args.servers),
               NOVA_BENCH_SEQUENTIAL=str(args.sequential),
               NOVA_BENCH_DETAIL_RUNS=str(args.detail_runs),
               NOVA_BENCH_RESCUE_RUNS=str(args.rescue_runs),
               NOVA_BENCH_MIGRATION_RUNS=str(args.migration_runs),
               PYTHONWARNINGS="ignore")
    if args.nova_threading:
        env["OS_NOVA_DISABLE_EVENTLET_PATCHING"] = "1"
    log = os.path.join(tempfile.gettempdir(), "nova-bench-%d.log" % os.getpid())
    with open(log, "w") as f:
        proc = subprocess.run([NOVA_PY, "-m", "testtools.run",
                               "nova_bench.NovaBaseline.test_operations"],
                              cwd=NOVA_DIR, env=env, stdout=f, stderr=subprocess.STDOUT,
                              timeout=3600)
    with open(log) as f:
        for line in f:
            if line.startswith("nova: "):
                print(line.rstrip(), flush=True)
    if proc.returncode != 0 or os.path.getsize(path) == 0:
        raise SystemExit("nova bench failed (exit %s); see %s" % (proc.returncode, log))
    with open(path) as f:
        return json.load(f)


def _rss(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None


def headline(result):
    """The compared figures of one side's run."""
    return {"boot_rate": result["boot_burst"]["rate_per_s"],
            "boot_sequential": result["boot_sequential_s"]["median"],
            "list_detail": result["list_detail_s"]["median"],
            "rescue_unrescue": result["rescue_unrescue_s"]["median"],
            "live_migration": result["live_migration_s"]["median"]}


def speedup(key, lifeboat, nova):
    """How many times faster Lifeboat is (>1 = Lifeboat faster)."""
    lower_better = dict((m[0], m[3]) for m in METRICS)[key]
    return nova / lifeboat if lower_better else lifeboat / nova


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--servers", type=int, default=200)
    p.add_argument("--sequential", type=int, default=10)
    p.add_argument("--detail-runs", type=int, default=10,
                   help="for Nova; Lifeboat does 3x as many (it is faster)")
    p.add_argument("--rescue-runs", type=int, default=10)
    p.add_argument("--migration-runs", type=int, default=20)
    p.add_argument("--poll", type=float, default=0.005)
    p.add_argument("--nova-threading", action="store_true",
                   help="run Nova in native-threading mode instead of eventlet")
    p.add_argument("--only", choices=["lifeboat", "nova"])
    p.add_argument("--out", default=os.path.join(HERE, "results", "nova_baseline.json"))
    args = p.parse_args()
    rounds = []
    for i in range(args.rounds):
        print("== round %d of %d" % (i + 1, args.rounds), flush=True)
        r = {"started": time.strftime("%Y-%m-%dT%H:%M:%S"),
             "loadavg_before": os.getloadavg()}
        if args.only != "nova":
            r["lifeboat"] = run_lifeboat(args)
        if args.only != "lifeboat":
            r["nova"] = run_nova(args)
        r["loadavg_after"] = os.getloadavg()
        rounds.append(r)
    report = {"command": " ".join([os.path.relpath(sys.executable)] + sys.argv),
              "args": vars(args), "rounds": rounds}
    if args.only is None:
        table = {}
        for key, label, unit, _ in METRICS:
            label = label.replace("190", str(args.servers - args.sequential)).replace(
                "200 servers", "%d servers" % args.servers)
            lb = statistics.median(headline(r["lifeboat"])[key] for r in rounds)
            nv = statistics.median(headline(r["nova"])[key] for r in rounds)
            table[key] = {"label": label, "unit": unit, "lifeboat": lb, "nova": nv,
                          "lifeboat_faster_x": speedup(key, lb, nv),
                          "per_round_x": [speedup(key, headline(r["lifeboat"])[key],
                                                  headline(r["nova"])[key])
                                          for r in rounds]}
        report["summary"] = table
        print("\n%-42s %12s %12s %10s" % ("median over %d round(s)" % len(rounds),
                                          "Lifeboat", "Nova 34", "Lifeboat x"))
        for key, row in table.items():
            fmt = "%12.2f" if row["unit"] == "servers/s" else "%10.3f s"
            print("%-42s " % row["label"] + fmt % row["lifeboat"] + " "
                  + fmt % row["nova"] + " %9.1fx" % row["lifeboat_faster_x"])
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2)
    print("written to", os.path.relpath(args.out))


if __name__ == "__main__":
    main()

"""Scheduler decisions in this process on a scale database (bench/scale_profile_db.py
or `bench/scale.py --keep-db`): p50/p99, SQL statements and time per decision,
and a cProfile of 50 decisions, with the scheduler as it is in lifeboat/.

Two runs on one SchedulerManager (its kept host states: lifeboat/scheduler/
host_state.py, snapshot.py):

* burst: --decisions decisions back to back (what scale.md's table reports);
* paced: --rate decisions per second for --seconds, longer than
  [filter_scheduler] host_usage_refresh_seconds, so the background re-reads of
  usage (a GROUP BY over every instance) happen during it and count in its
  percentiles.

select_destinations() writes nothing (the conductor records placements), so the
database is unchanged by a run; the placements it counts live in memory only.

    .venv/bin/python bench/profile_scheduler.py --db lifeboat_prof [--out FILE]
        [--set filter_scheduler.host_usage_refresh_seconds=1 ...]
"""
import argparse
import json
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import scale_common as sc  # noqa: E402
from common import percentile  # noqa: E402


def _summary(times, counter, n):
    ms = [t * 1000 for t in times]
    return {"n": len(ms), "p50_ms": round(percentile(ms, 50), 2),
            "p90_ms": round(percentile(ms, 90), 2),
            "p99_ms": round(percentile(ms, 99), 2), "max_ms": round(max(ms), 2),
            "statements_per_decision": round(counter.count / n, 3),
            # every statement of the engine, the background re-reads' included
            "sql_ms_per_decision": round(counter.seconds * 1000 / n, 3),
            "sql_top": [(k, c, round(t, 4)) for k, (c, t) in counter.top(4)]}


def measure(decisions, rate, seconds):
    from lifeboat.conf import CONF
    mgr, ctx, specs = sc.scheduler_under_test()
    out = {"hosts": None, "options": {
        k: getattr(CONF.filter_scheduler, k) for k in (
            "host_usage_refresh_seconds", "compute_node_refresh_seconds",
            "placement_settle_seconds")}}
    t = time.perf_counter()
    mgr.select_destinations(ctx, specs[0])   # first: reads every snapshot
    out["first_decision_ms"] = round((time.perf_counter() - t) * 1000, 1)
    out["hosts"] = len(mgr.host_states.get())
    for _ in range(5):  # warm the pool and the statement caches
        mgr.select_destinations(ctx, specs[0])
    counter = sc.SqlCounter()
    try:
        out["contention_before"] = sc.contention()
        out["loadavg_before"] = os.getloadavg()
        counter.reset()
        times = []
        for i in range(decisions):
            t = time.perf_counter()
            mgr.select_destinations(ctx, specs[i % 2])
            times.append(time.perf_counter() - t)
        out["burst"] = _summary(times, counter, decisions)

        counter.reset()
        times = []
        period = 1.0 / rate
        start = time.perf_counter()
        i = 0
        while time.perf_counter() - start < seconds:
            due = start + i * period
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            t = time.perf_counter()
            mgr.select_destinations(ctx, specs[i % 2])
            times.append(time.perf_counter() - t)
            i += 1
        out["paced"] = dict(_summary(times, counter, i), rate_per_s=rate,
                            seconds=seconds)
        out["paced"]["usage_rereads"] = sum(
            c for k, (c, _t) in counter.by_text.items()
            if k.startswith("SELECT instances.host, count(*)"))
        out["contention_after"] = sc.contention()
        out["loadavg_after"] = os.getloadavg()
    finally:
        counter.close()
    profile = sc.profile_decisions(mgr, ctx, specs)
    mgr.cleanup_host()
    return out, profile


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--db", default="lifeboat_prof")
    p.add_argument("--decisions", type=int, default=300,
                   help="back-to-back decisions (burst run)")
    p.add_argument("--rate", type=float, default=20.0,
                   help="decisions per second in the paced run")
    p.add_argument("--seconds", type=float, default=20.0,
                   help="length of the paced run")
    p.add_argument("--set", action="append", default=[], metavar="GROUP.OPTION=VALUE",
                   help="a configuration option, e.g. "
                        "filter_scheduler.host_usage_refresh_seconds=1 (repeatable)")
    p.add_argument("--out", help="also write the JSON result here")
    args = p.parse_args()
    state = tempfile.mkdtemp(prefix="lifeboat-prof-")
    config = os.path.join(state, "lifeboat.conf")
    sections = {"DEFAULT": {"state_path": state},
                "database": {"connection": sc.pg_url(args.db)}}
    for item in args.set:
        name, _, value = item.partition("=")
        group, _, option = name.rpartition(".")
        sections.setdefault(group or "DEFAULT", {})[option] = value
    sc.write_config(config, sections)
    sc.lifeboat_conf(config)
    result, profile = measure(args.decisions, args.rate, args.seconds)
    print(json.dumps(result, indent=1))
    print(profile)
    if args.out:
        sc.dump(args.out, result)


if __name__ == "__main__":
    main()

"""Where the time of the scale run's slow calls goes: the Compute API app
in this process (starlette's TestClient, no socket) on a database left by
`bench/scale.py --keep-db`, with cProfile and SQL statement counts.

    .venv/bin/python bench/profile_api.py --db lifeboat_scale [--prototype hypervisor-prefetch]

Prints, per call: wall time (median of --runs), statements and SQL time per
call, the costliest statements, and the top of the profile.
"""
import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import scale_common as sc  # noqa: E402

CALLS = [
    ("servers detail, page of 1000 (all_tenants)",
     "/v2.1/servers/detail?all_tenants=1&limit=1000", "2.105"),
    ("servers detail, page 50 of 100 (marker)", None, "2.105"),
    ("servers index, page of 1000 (all_tenants)",
     "/v2.1/servers?all_tenants=1&limit=1000", "2.105"),
    ("os-hypervisors/detail", "/v2.1/os-hypervisors/detail", "2.105"),
    ("os-hypervisors/detail at 2.87", "/v2.1/os-hypervisors/detail", "2.87"),
]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--db", default="lifeboat_scale")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--prototype", default="")
    p.add_argument("--only", default=None, help="substring of a call label")
    args = p.parse_args()
    state = tempfile.mkdtemp(prefix="lifeboat-prof-")
    config = os.path.join(state, "lifeboat.conf")
    sc.write_config(config, {"DEFAULT": {"state_path": state},
                             "database": {"connection": sc.pg_url(args.db)}})
    sc.lifeboat_conf(config)
    import aio_prototype
    for patch in [x for x in args.prototype.split(",") if x]:
        getattr(aio_prototype, "install_" + patch.replace("-", "_"))()
    from fastapi.testclient import TestClient
    from lifeboat.api.app import create_app
    client = TestClient(create_app(), base_url="http://testserver")
    headers = {"X-Auth-Token": "admin:admin"}
    # a marker half way: the 50,000th newest server
    marker = None
    path = "/v2.1/servers?all_tenants=1&limit=1000"
    for _ in range(50):
        body = client.get(path, headers=dict(headers, **{
            "OpenStack-API-Version": "compute 2.105"})).json()
        marker = body["servers"][-1]["id"]
        path = "/v2.1/servers?all_tenants=1&limit=1000&marker=%s" % marker
    counter = sc.SqlCounter()
    for label, url, version in CALLS:
        if args.only and args.only not in label:
            continue
        url = url or "/v2.1/servers/detail?all_tenants=1&limit=1000&marker=%s" % marker
        h = dict(headers, **{"OpenStack-API-Version": "compute %s" % version})
        r = client.get(url, headers=h)
        assert r.status_code == 200, r.text[:300]
        times = []
        counter.reset()
        for _ in range(args.runs):
            t = time.perf_counter()
            r = client.get(url, headers=h)
            times.append(time.perf_counter() - t)
        stmts, sql_s, top = counter.count / args.runs, counter.seconds / args.runs, counter.top(4)
        prof = cProfile.Profile()
        prof.enable()
        client.get(url, headers=h)
        prof.disable()
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(14)
        print("=" * 100)
        print("%s  [%s]\n  median %.1f ms over %d (min %.1f), %.1f statements/call, "
              "SQL %.1f ms/call, body %d bytes" % (
                  label, version, statistics.median(times) * 1000, args.runs,
                  min(times) * 1000, stmts, sql_s * 1000, len(r.content)))
        for text, (n, t) in top:
            print("    %5d x %8.1f ms  %s" % (n // args.runs, t * 1000 / args.runs, text[:110]))
        lines = buf.getvalue().splitlines()
        start = next(i for i, line in enumerate(lines) if "ncalls" in line)
        print("\n".join("    " + line[:150] for line in lines[start:start + 15]))
    counter.close()


if __name__ == "__main__":
    main()

"""Where the time of the slow list calls goes: the Compute API app in this
process (no socket), with wall times, SQL statement counts and a cProfile of
one call that covers the whole request (middleware, handler, view, JSON).

    # the 100k-instance PostgreSQL database of bench/scale_profile_db.py
    .venv/bin/python bench/profile_api.py --db lifeboat_prof
    # the embedded default: a fresh SQLite database with N servers of project admin
    .venv/bin/python bench/profile_api.py --sqlite 200
    # another checkout of the code (e.g. `git archive HEAD | tar -x -C /tmp/old`)
    .venv/bin/python bench/profile_api.py --db lifeboat_prof --code /tmp/old --no-sync

Prints, per call: wall time (median and min of --runs, through starlette's
TestClient as before), statements and SQL time per call, the costliest
statements, and (with --profile N) the top N functions of a cProfile of one
call. The profile runs the ASGI app and its sync handlers on this thread
(anyio's worker threads are bypassed for that one call), so cProfile sees the
handler and the view, not just the TestClient waiting on a lock.

The database is upgraded to head first (indexes of later migrations), unless
--no-sync. --gc-freeze moves the start-up heap out of the collector's reach
as the binaries do; without it, full collections add tens of ms to some calls.
"""
import argparse
import asyncio
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

# (label, url or a key of the marker table, microversion); urls are relative to /v2.1
PG_CALLS = [
    ("servers detail, page of 1000 (all_tenants)",
     "/servers/detail?all_tenants=1&limit=1000", "2.105"),
    ("servers detail, page 50 of 100 (marker)",
     "/servers/detail?all_tenants=1&limit=1000&marker={middle}", "2.105"),
    ("servers detail, last page (marker)",
     "/servers/detail?all_tenants=1&limit=1000&marker={last}", "2.105"),
    ("servers detail, one project, page of 1000 (project_id filter)",
     "/servers/detail?all_tenants=1&project_id=proj007&limit=1000", "2.105"),
    ("servers detail, page of 1000 at 2.1",
     "/servers/detail?all_tenants=1&limit=1000", "2.1"),
    ("servers index, page of 1000 (all_tenants)",
     "/servers?all_tenants=1&limit=1000", "2.105"),
    ("servers index, page 50 of 100 (marker)",
     "/servers?all_tenants=1&limit=1000&marker={middle}", "2.105"),
    ("os-hypervisors/detail", "/os-hypervisors/detail", "2.105"),
    ("os-hypervisors/detail at 2.87", "/os-hypervisors/detail", "2.87"),
]
SQLITE_CALLS = [
    ("servers detail, all of the admin project's servers",
     "/servers/detail", "2.105"),
    ("servers detail at 2.1", "/servers/detail", "2.1"),
    ("servers detail, all_tenants", "/servers/detail?all_tenants=1", "2.105"),
    ("servers index", "/servers", "2.105"),
]


def seed_sqlite(n):
    """Schema, catalog, 2 hosts and n ACTIVE servers of project admin (as
    nova_compare's 200 servers booted by admin)."""
    import sqlalchemy as sa
    from lifeboat.db import models
    from lifeboat.db.engine import get_engine
    sc.seed_catalog()
    hosts = ["host1", "host2"]
    sc.bulk_hosts(hosts)
    sc.bulk_instances(n, hosts, projects=1, log=lambda m: None)
    with get_engine().begin() as conn:
        conn.execute(models.Instance.__table__.update().values(
            project_id="admin", user_id="admin"))
        conn.execute(sa.text("ANALYZE"))


def markers():
    """uuids of the 50,000th and the 99,000th newest live servers (or of the
    middle and last-but-one pages of a smaller database)."""
    import sqlalchemy as sa
    from lifeboat.db import models
    from lifeboat.db.engine import get_engine
    I = models.Instance
    with get_engine().connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(I)
                             .where(I.deleted == 0)).scalar()

        def nth(k):
            return conn.execute(sa.select(I.uuid).where(I.deleted == 0)
                                .order_by(I.created_at.desc(), I.id.desc())
                                .offset(max(0, min(k, total - 1))).limit(1)).scalar()
        return {"middle": nth(total // 2 - 1), "last": nth(total - 1001)}


def inline_call(app, url, headers):
    """One GET through the ASGI app with sync handlers run on this thread."""
    import anyio.to_thread
    import httpx

    async def run_sync(func, *args, **kw):
        return func(*args)

    async def go():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport,
                                     base_url="http://testserver") as client:
            return await client.get(url, headers=headers)

    saved = anyio.to_thread.run_sync
    anyio.to_thread.run_sync = run_sync
    try:
        return asyncio.run(go())
    finally:
        anyio.to_thread.run_sync = saved


def main():
    p = argparse.ArgumentParser()
    where = p.add_mutually_exclusive_group()
    where.add_argument("--db", default=None, help="PostgreSQL database name")
    where.add_argument("--sqlite", type=int, default=None, metavar="N",
                       help="a fresh SQLite database with N servers")
    p.add_argument("--code", default=None,
                   help="import lifeboat from this directory instead")
    p.add_argument("--no-sync", action="store_true",
                   help="do not upgrade the database schema to head first")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--profile", type=int, default=14, metavar="N",
                   help="functions of the profile to print (0: no profile)")
    p.add_argument("--sort", default="tottime", help="pstats sort key")
    p.add_argument("--only", default=None, help="substring of a call label")
    p.add_argument("--gc-freeze", action="store_true",
                   help="gc.freeze() once the app is built, as the binaries do "
                        "(lifeboat.cmd.common.started)")
    args = p.parse_args()
    if args.code:
        sys.path.insert(0, os.path.abspath(args.code))
    state = tempfile.mkdtemp(prefix="lifeboat-prof-")
    config = os.path.join(state, "lifeboat.conf")
    if args.sqlite is not None:
        url = "sqlite:///%s" % os.path.join(state, "lifeboat.sqlite")
    else:
        url = sc.pg_url(args.db or "lifeboat_prof")
    sc.write_config(config, {"DEFAULT": {"state_path": state},
                             "database": {"connection": url}})
    sc.lifeboat_conf(config)
    import lifeboat
    print("lifeboat from %s; database %s" % (os.path.dirname(lifeboat.__file__), url))
    if args.sqlite is not None:
        seed_sqlite(args.sqlite)
        calls = SQLITE_CALLS
    else:
        if not args.no_sync:
            from lifeboat.db import schema
            print("schema at", schema.sync())
        calls = PG_CALLS
    from fastapi.testclient import TestClient
    from lifeboat.api.app import create_app
    app = create_app()
    client = TestClient(app, base_url="http://testserver")
    marks = markers()
    if args.gc_freeze:
        import gc
        gc.collect()
        gc.freeze()
    counter = sc.SqlCounter()
    print("contention %.2f (wall/CPU of a busy loop; 1 = a free core); load %s" % (
        sc.contention(), open("/proc/loadavg").read().strip()))
    for label, url, version in calls:
        if args.only and args.only not in label:
            continue
        url = "/v2.1" + url.format(**marks)
        h = {"X-Auth-Token": "admin:admin",
             "OpenStack-API-Version": "compute %s" % version}
        r = client.get(url, headers=h)
        assert r.status_code == 200, r.text[:300]
        times = []
        counter.reset()
        for _ in range(args.runs):
            t = time.perf_counter()
            r = client.get(url, headers=h)
            times.append(time.perf_counter() - t)
        stmts, sql_s, top = counter.count / args.runs, counter.seconds / args.runs, counter.top(4)
        body = r.json()
        n = len(body.get("servers", body.get("hypervisors", [])))
        print("=" * 100)
        print("%s  [%s]\n  median %.1f ms over %d (min %.1f), %d items, %.1f statements/call, "
              "SQL %.1f ms/call, body %d bytes" % (
                  label, version, statistics.median(times) * 1000, args.runs,
                  min(times) * 1000, n, stmts, sql_s * 1000, len(r.content)))
        for text, (k, t) in top:
            print("    %5d x %8.1f ms  %s" % (k // args.runs, t * 1000 / args.runs, text[:110]))
        if args.profile:
            prof = cProfile.Profile()
            prof.enable()
            pr = inline_call(app, url, h)
            prof.disable()
            assert pr.status_code == 200, pr.text[:300]
            buf = io.StringIO()
            pstats.Stats(prof, stream=buf).sort_stats(args.sort).print_stats(args.profile)
            lines = buf.getvalue().splitlines()
            total = next((line for line in lines if "function calls" in line), "")
            print("  profile of one call (this thread): " + total.strip())
            start = next(i for i, line in enumerate(lines) if "ncalls" in line)
            print("\n".join("    " + line[:150]
                            for line in lines[start:start + args.profile + 1]))
    counter.close()


if __name__ == "__main__":
    main()

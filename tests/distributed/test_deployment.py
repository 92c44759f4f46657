"""A distributed deployment on PostgreSQL: 3 API worker processes, 2 conductors,
a scheduler and 4 compute services, each its own process with its own config
file, over RabbitMQ. Covers the issue's deployment, versioning, health and
upgrade-case requirements with real processes.

host3 runs an older compute service ([compute] report_service_version = 1);
host4's driver lacks supports_live_migrate_rescued
([fake] hosts_without_rescued_live_migration).
"""
import concurrent.futures
import os
import statistics
import sys
import time

import pytest

from tests.distributed import conftest, helpers
from tests.distributed.helpers import live_migrate, server, state

pytestmark = [pytest.mark.distributed, pytest.mark.timeout(300)]

sys.path.insert(0, os.path.join(conftest.harness.ROOT, "bench"))

COMPUTES = ("host1", "host2", "host3", "host4")


@pytest.fixture(scope="module")
def cloud(workdir, request):
    d, db, vhost = conftest.make_deployment(workdir, api_workers=3)
    try:
        d.start_cloud(computes=COMPUTES, conductors=2, compute_options={
            "host3": {"compute__report_service_version": 1},
            "host4": {"fake__hosts_without_rescued_live_migration": "host4"}})
        yield d
    finally:
        conftest.teardown(d, db, vhost, request.module)


@pytest.fixture
def admin(cloud):
    return cloud.client("2.105")


def test_db_sync_is_idempotent_and_schema_is_head(cloud):
    """start_cloud ran lifeboat-manage db sync on the empty database; running it
    again with services up changes nothing."""
    from lifeboat.db import schema
    out = cloud.db_sync()
    assert out.strip() == "Database is at revision %s" % schema.head(), out
    assert cloud.db.query("select version_num from alembic_version") == [
        (schema.head(),)]


def test_every_service_reports_up(cloud, admin):
    services = cloud.services()
    expected = {(h, "nova-compute") for h in COMPUTES} | {
        ("conductor1", "nova-conductor"), ("conductor2", "nova-conductor"),
        ("scheduler", "nova-scheduler")}
    assert expected <= set(services)
    assert {k: services[k]["state"] for k in expected} == {k: "up" for k in expected}
    r = admin.get("/os-hypervisors/detail")
    assert r.status_code == 200, r.text
    names = {h["hypervisor_hostname"] for h in r.json()["hypervisors"]}
    assert set(COMPUTES) <= names
    versions = dict(cloud.db.query(
        "select host, version from services where \"binary\" = 'nova-compute'"))
    assert versions == {"host1": 2, "host2": 2, "host3": 1, "host4": 2}


def test_concurrent_boots_are_processed_once(cloud, admin):
    """12 boots through 3 API workers and 2 conductors: each scheduled by exactly
    one conductor and built by exactly one compute."""
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        ids = list(pool.map(lambda i: admin.boot(name="par%d" % i, wait=False),
                            range(12)))
    for sid in ids:
        admin.wait_for(sid, status="ACTIVE", task_state=None, timeout=30)
    conductors = []
    for sid in ids:
        sched = helpers.events(cloud.db, sid, "conductor_schedule_and_build_instances")
        built = helpers.events(cloud.db, sid, "compute__do_build_and_run_instance")
        assert len(sched) == 1 and len(built) == 1, (sched, built)
        assert sched[0][3] == "Success" and built[0][3] == "Success"
        conductors.append(sched[0][2])
    assert set(conductors) <= {"conductor1", "conductor2"}
    print("boots per conductor:", {c: conductors.count(c) for c in set(conductors)})
    for sid in ids:
        assert admin.delete("/servers/%s" % sid).status_code == 204
    for sid in ids:
        admin.wait_for(sid, status="DELETED", timeout=30)


def test_rescue_live_migrate_unrescue_over_rabbitmq_is_fast(cloud, admin):
    sid = helpers.boot(admin, host="host1")
    helpers.rescue(admin, sid)
    durations = []
    for dest in ("host2", "host1", "host2"):
        start = time.monotonic()
        r = live_migrate(admin, sid, dest)
        assert r.status_code == 202, r.text
        s = admin.wait_for(sid, status="RESCUE", task_state=None, host=dest,
                           timeout=15)
        durations.append(time.monotonic() - start)
        assert s["OS-EXT-STS:vm_state"] == "rescued"
        m = helpers.last_migration(admin, sid)
        assert (m["status"], m["source_compute"], m["dest_compute"]) == (
            "completed", "host1" if dest == "host2" else "host2", dest)
    print("rescued live migration over RabbitMQ: %s s" % [
        round(d, 3) for d in durations])
    # The fake driver's transfer takes no time: what remains is the control
    # plane (API -> conductor -> scheduler -> both computes -> database), about
    # 0.2-0.4 s here. The target is "well under 1 s"; on a machine whose CPUs are
    # oversubscribed by other work every hop waits for a CPU, so the bound is
    # relaxed there (and says so).
    load = os.getloadavg()[0]
    limit = 1.0 if load <= 2 * os.cpu_count() else 3.0
    print("load average %.1f on %d CPUs: limit %.1fs" % (load, os.cpu_count(), limit))
    assert statistics.median(durations) < limit, (durations, load)
    r = admin.action(sid, {"unrescue": None})
    assert r.status_code == 202, r.text
    s = admin.wait_for(sid, status="ACTIVE", task_state=None, host="host2")
    assert s["OS-EXT-STS:power_state"] == 1
    r = live_migrate(admin, sid, None)  # scheduler's choice
    assert r.status_code == 202, r.text
    m = helpers.wait_migration_final(admin, sid)
    assert m["status"] == "completed" and m["dest_compute"] != "host2", m
    assert admin.delete("/servers/%s" % sid).status_code == 204
    admin.wait_for(sid, status="DELETED")


@pytest.mark.parametrize("old", ["host3", "host4"])
def test_rescued_live_migration_to_or_from_old_host_is_400_naming_it(cloud, admin, old):
    """The spec's upgrade case with real processes: an older compute service
    (host3) or a driver without the capability (host4), as destination or
    source, is refused synchronously with the host's name; nothing changes."""
    sid = helpers.boot(admin, host="host1")
    helpers.rescue(admin, sid)
    r = live_migrate(admin, sid, old)
    assert r.status_code == 400, r.text
    msg = r.json()["badRequest"]["message"]
    assert "destination" in msg and old in msg, msg
    assert state(server(admin, sid)) == ("RESCUE", "rescued", None, "host1")

    on_old = helpers.boot(admin, host=old)
    helpers.rescue(admin, on_old)
    for dest in ("host2", None):
        r = live_migrate(admin, on_old, dest)
        assert r.status_code == 400, r.text
        msg = r.json()["badRequest"]["message"]
        assert "source" in msg and old in msg, msg
    assert state(server(admin, on_old)) == ("RESCUE", "rescued", None, old)
    # Not rescued: it moves (the restriction is about rescued instances only).
    r = admin.action(on_old, {"unrescue": None})
    assert r.status_code == 202, r.text
    admin.wait_for(on_old, status="ACTIVE", task_state=None)
    r = live_migrate(admin, on_old, "host2")
    assert r.status_code == 202, r.text
    admin.wait_for(on_old, status="ACTIVE", task_state=None, host="host2", timeout=15)
    for s in (sid, on_old):
        assert admin.delete("/servers/%s" % s).status_code == 204


def test_forced_down_is_immediate_and_heartbeats_bring_services_back(cloud, admin):
    svc = cloud.services()[("host2", "nova-compute")]
    r = admin.at("2.53").put("/os-services/%s" % svc["id"], json={"forced_down": True})
    assert r.status_code == 200, r.text
    assert (r.json()["service"]["state"], r.json()["service"]["forced_down"]) == (
        "down", True)
    assert cloud.services()[("host2", "nova-compute")]["state"] == "down"
    sid = helpers.boot(admin, host="host1")
    r = live_migrate(admin, sid, "host2", version="2.30")  # synchronous pre-checks
    assert r.status_code == 400, r.text
    assert "unavailable" in r.json()["badRequest"]["message"], r.text
    r = admin.at("2.53").put("/os-services/%s" % svc["id"], json={"forced_down": False})
    assert r.status_code == 200 and r.json()["service"]["state"] == "up", r.text

    # A stopped compute is reported down after service_down_time (6 s here),
    # and up again once it heartbeats.
    proc = cloud.procs["host4"]
    start = time.monotonic()
    assert proc.stop() == 0
    assert time.monotonic() - start < 5, "compute took %.1fs to stop" % (
        time.monotonic() - start)
    cloud.wait_services([("host4", "nova-compute")], state="down", timeout=20)
    cloud.restart("host4")
    cloud.wait_services([("host4", "nova-compute")], state="up", timeout=60)
    assert admin.delete("/servers/%s" % sid).status_code == 204


def test_sigint_stops_conductor_and_scheduler_promptly(cloud):
    names = ("scheduler", "conductor2")
    with concurrent.futures.ThreadPoolExecutor(len(names)) as pool:
        outcomes = dict(zip(names, pool.map(_timed_stop, [cloud.procs[n] for n in names])))
    for name, (code, took) in outcomes.items():
        assert code == 0, "%s exit code %s after %.1fs\n%s" % (
            name, code, took, cloud.procs[name].tail())
        assert took < 5, "%s took %.1fs to exit on SIGINT" % (name, took)
        cloud.restart(name, wait=False)
    cloud.wait_started(*names)
    print("seconds to exit on SIGINT: %s" % {n: round(t, 2) for n, (_, t) in
                                              outcomes.items()})
    cloud.wait_services([("scheduler", "nova-scheduler"),
                         ("conductor2", "nova-conductor")], timeout=60)


def _timed_stop(proc):
    start = time.monotonic()
    code = proc.stop(timeout=15)
    return code, time.monotonic() - start


def test_conductor_pinned_to_compute_rpc_1_0_refuses_live_migration(cloud, admin):
    """[upgrade_levels] compute = 1.0 (a compute not yet upgraded): the conductor
    must not send the 1.1 live-migration methods; it refuses with a clear error
    (400 below 2.34, where pre-checks are synchronous; a recorded fault and an
    `error` migration at 2.34+)."""
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        codes = list(pool.map(_timed_stop, [cloud.procs["conductor1"],
                                            cloud.procs["conductor2"]]))
    assert [c for c, _ in codes] == [0, 0], codes
    try:
        cloud.start_conductor("conductor-pinned",
                              upgrade_levels__compute="1.0").wait_started()
        cloud.wait_services([("conductor-pinned", "nova-conductor")], timeout=60)
        sid = helpers.boot(admin, host="host1")  # boots use 1.0 methods only
        r = live_migrate(admin, sid, "host2", version="2.30")
        assert r.status_code == 400, r.text
        msg = r.json()["badRequest"]["message"]
        assert "upgrade_levels" in msg and "1.1" in msg and "1.0" in msg, msg
        r = live_migrate(admin, sid, "host2")
        assert r.status_code == 202, r.text
        m = helpers.wait_migration_final(admin, sid)
        assert m["status"] == "error", m
        admin.wait_for(sid, status="ACTIVE", task_state=None, host="host1")
        fault = helpers.faults(cloud.db, sid)[-1]
        assert "upgrade_levels" in fault and "1.1" in fault, fault
    finally:
        if "conductor-pinned" in cloud.procs:
            cloud.procs["conductor-pinned"].stop()
        for name in ("conductor1", "conductor2"):
            if not cloud.procs[name].alive():
                cloud.restart(name, wait=False)
        cloud.wait_started("conductor1", "conductor2")
        cloud.wait_services([("conductor1", "nova-conductor"),
                             ("conductor2", "nova-conductor")], timeout=60)
    r = live_migrate(admin, sid, "host2")
    assert r.status_code == 202, r.text
    admin.wait_for(sid, status="ACTIVE", task_state=None, host="host2", timeout=15)
    assert admin.delete("/servers/%s" % sid).status_code == 204


def test_short_load_has_no_5xx_and_everything_settles(cloud):
    """bench/load.py's clients for a few seconds against this deployment (3 API
    workers, 2 conductors, 4 computes): zero 5xx, nothing left in a task_state,
    every migration final. The full 60 s run: bench/results/load.md."""
    import load  # bench/load.py
    result = load.load(cloud, duration=10, clients=10, settle=60)
    text = load.report(result)
    print(text)
    assert result["five_xx"] == 0, text
    assert not result["stuck"], text
    assert not result["unfinished"], text
    assert result["stats"].timeouts == 0, text
    assert sum(len(v) for v in result["stats"].done.values()) >= 20, text
    assert result["migrations"].get("completed", 0) >= 1, text

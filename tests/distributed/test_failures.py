"""Failures with real processes, real RabbitMQ and real PostgreSQL.

One deployment (API with 2 workers, conductor, scheduler, 3 computes) whose
fake hypervisors take [fake] live_migration_seconds = 3 per transfer, so a
process can be killed mid-migration. Each test leaves the cloud healthy.

kill -9 is `Proc.kill9()`; the outage tests stop and start the machine's own
PostgreSQL and RabbitMQ (scripts/ensure-services.sh starts them if a run dies
half-way).
"""
import collections
import concurrent.futures
import random
import signal
import subprocess
import threading
import time

import httpx
import pytest

from tests.distributed import conftest, harness, helpers
from tests.distributed.helpers import live_migrate, server, state

pytestmark = [pytest.mark.distributed, pytest.mark.timeout(300)]

HOSTS = ("host1", "host2", "host3")


@pytest.fixture(scope="module")
def cloud(workdir, request):
    d, db, vhost = conftest.make_deployment(
        workdir, api_workers=2, options={"fake__live_migration_seconds": 3})
    try:
        d.start_cloud(computes=HOSTS)
        yield d
    finally:
        conftest.teardown(d, db, vhost, request.module)


@pytest.fixture
def admin(cloud):
    return cloud.client("2.105")


def wait_status(admin, sid, statuses, timeout=20):
    return helpers.wait_until(
        lambda: (lambda m: m if m["status"] in statuses else None)(
            helpers.last_migration(admin, sid)),
        "migration of %s to reach %s" % (sid, statuses), timeout, interval=0.02)


def assert_healthy(cloud, admin):
    cloud.wait_services([(h, "nova-compute") for h in HOSTS] +
                        [("conductor", "nova-conductor"),
                         ("scheduler", "nova-scheduler")], timeout=60)


# --- kill -9 during a live migration -----------------------------------------
def test_kill_source_compute_mid_migration_rolls_back_at_its_restart(cloud, admin):
    """The source drives the migration; killed in `running`, its start-up
    reconciliation rolls it back: the rescued instance stays RESCUE on the
    source with no task, the migration is `error`, a fault says why."""
    sid = helpers.boot(admin, host="host1")
    helpers.rescue(admin, sid)
    r = live_migrate(admin, sid, "host2")
    assert r.status_code == 202, r.text
    wait_status(admin, sid, {"running"})
    time.sleep(0.5)
    cloud.procs["host1"].kill9()
    assert state(server(admin, sid))[2] == "migrating"
    cloud.restart("host1")
    m = helpers.wait_migration_final(admin, sid, timeout=60)
    assert m["status"] == "error", m
    s = helpers.wait_settled(admin, sid)
    assert state(s) == ("RESCUE", "rescued", None, "host1"), state(s)
    assert any("interrupted by the restart of host1" in f
               for f in helpers.faults(cloud.db, sid)), helpers.faults(cloud.db, sid)
    # The guest is still there (power-state sync keeps it running) and the
    # instance can migrate again: nothing was left half-done on host2.
    time.sleep(2)
    assert server(admin, sid)["OS-EXT-STS:power_state"] == 1
    r = live_migrate(admin, sid, "host2")
    assert r.status_code == 202, r.text
    s = admin.wait_for(sid, status="RESCUE", task_state=None, host="host2", timeout=30)
    assert helpers.last_migration(admin, sid)["status"] == "completed"
    assert admin.delete("/servers/%s" % sid).status_code == 204
    assert_healthy(cloud, admin)


def test_kill_destination_compute_mid_migration(cloud, admin):
    """The destination dies during the transfer and comes back: the source,
    which owns the migration, finishes it (or rolls it back) by itself. The
    instance ends ACTIVE on exactly one of the two hosts, no task, final record."""
    sid = helpers.boot(admin, host="host1")
    r = live_migrate(admin, sid, "host2")
    assert r.status_code == 202, r.text
    wait_status(admin, sid, {"running"})
    time.sleep(0.5)
    cloud.procs["host2"].kill9()
    cloud.restart("host2")
    m = helpers.wait_migration_final(admin, sid, timeout=60)
    s = helpers.wait_settled(admin, sid)
    expected_host = {"completed": "host2"}.get(m["status"], "host1")
    assert state(s) == ("ACTIVE", "active", None, expected_host), (m, state(s))
    print("destination killed: migration %s, instance on %s" % (m["status"],
                                                                 expected_host))
    time.sleep(2)
    assert server(admin, sid)["OS-EXT-STS:power_state"] == 1
    assert admin.delete("/servers/%s" % sid).status_code == 204
    assert_healthy(cloud, admin)


def test_request_queued_for_a_stopped_compute_runs_when_it_returns(cloud, admin):
    """A rescue accepted while the instance's compute is stopped waits in the
    host's durable queue; the compute's start-up leaves it alone (it did not
    begin it) and handles it once it takes messages: nothing is lost."""
    sid = helpers.boot(admin, host="host3")
    assert cloud.procs["host3"].stop() == 0
    r = admin.action(sid, {"rescue": {}})
    assert r.status_code == 200, r.text
    time.sleep(1)
    assert state(server(admin, sid))[1:3] == ("active", "rescuing")
    cloud.restart("host3")
    s = admin.wait_for(sid, status="RESCUE", task_state=None, timeout=30)
    assert state(s) == ("RESCUE", "rescued", None, "host3"), state(s)
    assert helpers.faults(cloud.db, sid) == []
    assert admin.delete("/servers/%s" % sid).status_code == 204


def _conductor_event_started(cloud, sid):
    return helpers.events(cloud.db, sid, "conductor_live_migrate_instance")


def test_kill_conductor_before_hand_off(cloud, admin):
    """The conductor dies while scheduling the migration (before the source
    compute heard of it). Not restarted: the source compute's periodic
    reconciliation rolls it back once the conductor is reported down
    (service_down_time 6 s + reconcile_interval 1 s here). Restarted: its own
    start-up reconciliation rolls back what it was doing."""
    scheduler = cloud.procs["scheduler"]
    lost = helpers.boot(admin, host="host1")
    lost2 = helpers.boot(admin, host="host1")
    scheduler.signal(signal.SIGSTOP)  # the conductor's call to it hangs
    try:
        assert live_migrate(admin, lost, None).status_code == 202
        helpers.wait_until(lambda: _conductor_event_started(cloud, lost),
                           "the conductor to take the migration", 20)
        cloud.procs["conductor"].kill9()
    finally:
        scheduler.signal(signal.SIGCONT)
    assert helpers.last_migration(admin, lost)["status"] == "accepted"
    start = time.monotonic()
    m = helpers.wait_migration_final(admin, lost, timeout=30)
    took = time.monotonic() - start
    assert m["status"] == "error", m
    s = helpers.wait_settled(admin, lost)
    assert state(s) == ("ACTIVE", "active", None, "host1"), state(s)
    assert any("conductor conductor, which took it, is down" in f
               for f in helpers.faults(cloud.db, lost)), helpers.faults(cloud.db, lost)
    print("conductor killed, not restarted: rolled back after %.1fs" % took)

    # Second time, the conductor comes straight back.
    cloud.restart("conductor")
    cloud.wait_services([("conductor", "nova-conductor")], timeout=60)
    scheduler.signal(signal.SIGSTOP)
    try:
        assert live_migrate(admin, lost2, None).status_code == 202
        helpers.wait_until(lambda: _conductor_event_started(cloud, lost2),
                           "the conductor to take the migration", 20)
        cloud.procs["conductor"].kill9()
        cloud.restart("conductor")
    finally:
        scheduler.signal(signal.SIGCONT)
    m = helpers.wait_migration_final(admin, lost2, timeout=60)
    assert m["status"] == "error", m
    s = helpers.wait_settled(admin, lost2)
    assert state(s) == ("ACTIVE", "active", None, "host1"), state(s)
    # Its restarted self, or the source's reconciliation if the restart took
    # longer than service_down_time on this busy machine.
    assert any("conductor conductor restarted" in f or
               "conductor conductor, which took it, is down" in f
               for f in helpers.faults(cloud.db, lost2)), helpers.faults(cloud.db, lost2)
    print("conductor killed and restarted: %s" % helpers.faults(cloud.db, lost2)[-1])
    assert_healthy(cloud, admin)
    # Both migrate fine afterwards.
    for sid in (lost, lost2):
        assert live_migrate(admin, sid, "host3").status_code == 202
    for sid in (lost, lost2):
        admin.wait_for(sid, status="ACTIVE", task_state=None, host="host3", timeout=30)
        assert admin.delete("/servers/%s" % sid).status_code == 204


# --- database outage --------------------------------------------------------
def test_database_outage_gives_503_and_services_recover(cloud, admin):
    sid = helpers.boot(admin, host="host1")
    http = httpx.Client(base_url=cloud.base, timeout=30, headers={
        "X-Auth-Token": "admin:admin", "OpenStack-API-Version": "compute 2.105"})
    seen = []
    harness.postgres("stop")
    stopped = time.monotonic()
    try:
        while time.monotonic() - stopped < 10:
            for method, path, body in (
                    ("GET", "/v2.1/servers/detail", None),
                    ("GET", "/v2.1/servers/%s" % sid, None),
                    ("POST", "/v2.1/servers/%s/action" % sid, {"rescue": {}})):
                t = time.monotonic()
                r = http.request(method, path, json=body)
                seen.append((path, r.status_code, time.monotonic() - t, r.json()))
            time.sleep(0.2)
    finally:
        harness.postgres("start")
    http.close()
    codes = {c for _, c, _, _ in seen}
    assert codes == {503}, [(p, c) for p, c, _, _ in seen if c != 503]
    for _, _, took, body in seen:
        assert set(body) == {"serviceUnavailable"} and \
            body["serviceUnavailable"]["code"] == 503, body
    slowest = max(t for _, _, t, _ in seen)
    assert slowest < 7, "a request took %.1fs during the outage" % slowest
    print("DB outage: %d requests, all 503, slowest %.2fs" % (len(seen), slowest))
    # Services reconnect by themselves: heartbeats resume, work flows again.
    assert_healthy(cloud, admin)
    assert all(p.alive() for p in cloud.procs.values())
    s = server(admin, sid)
    assert state(s) == ("ACTIVE", "active", None, "host1"), state(s)
    helpers.rescue(admin, sid)
    assert live_migrate(admin, sid, "host2").status_code == 202
    admin.wait_for(sid, status="RESCUE", task_state=None, host="host2", timeout=30)
    assert admin.delete("/servers/%s" % sid).status_code == 204


# --- RabbitMQ restart during a burst ------------------------------------------
def _operation(admin, pool_ids, lock, rnd):
    """One operation that fits the server's last known state; returns
    (name, server id, status code, started, finished)."""
    t = time.monotonic()
    sid = None
    with lock:
        candidates = list(pool_ids)
    if candidates and rnd.random() > 0.15:
        sid = rnd.choice(candidates)
        r = admin.get("/servers/%s" % sid)
        status = r.json()["server"]["status"] if r.status_code == 200 else None
        kinds = {"ACTIVE": ["rescue", "migrate", "migrate", "delete"],
                 "RESCUE": ["unrescue", "migrate", "delete"]}.get(status)
        if kinds is None:
            sid = None
    if sid is None:
        body = {"server": {"name": "burst", "imageRef": admin.image_id(),
                           "flavorRef": "1", "networks": "none"}}
        t = time.monotonic()
        r = admin.post("/servers", json=body)
        if r.status_code == 202:
            with lock:
                pool_ids.append(r.json()["server"]["id"])
        return ("boot", r.json().get("server", {}).get("id"), r.status_code, t,
                time.monotonic())
    kind = rnd.choice(kinds)
    t = time.monotonic()
    if kind == "rescue":
        r = admin.action(sid, {"rescue": {}})
    elif kind == "unrescue":
        r = admin.action(sid, {"unrescue": None})
    elif kind == "migrate":
        r = live_migrate(admin, sid, None)
    else:
        r = admin.delete("/servers/%s" % sid)
        if r.status_code == 204:
            with lock:
                if sid in pool_ids:  # another client may have deleted it too
                    pool_ids.remove(sid)
    return kind, sid, r.status_code, t, time.monotonic()


def test_rabbitmq_restart_during_burst_of_100_operations(cloud, admin):
    """Every accepted request completes or ends in a recorded error; services
    reconnect without being restarted (same processes)."""
    pids = {n: p.pid for n, p in cloud.procs.items()}
    # Topic queues are durable (Lifeboat's default): messages survive the restart.
    out = subprocess.run(["rabbitmqctl", "-q", "list_queues", "-p",
                          cloud.transport_url.rsplit("/", 1)[1], "name", "durable"],
                         capture_output=True, text=True, check=True).stdout
    queues = dict(line.split()[:2] for line in out.splitlines()[1:] if line.strip())
    assert queues.get("conductor") == "true" and queues.get("compute.host1") == "true", \
        queues
    ids = [helpers.boot(admin, name="pre%d" % i, wait=False) for i in range(8)]
    for sid in ids:
        admin.wait_for(sid, status="ACTIVE", task_state=None, timeout=30)
    rnd = random.Random(6)
    results = []
    lock = threading.Lock()
    started = threading.Event()

    def worker(n):
        client = cloud.client("2.105")
        local = random.Random(rnd.random())
        for i in range(n):
            if i == 2:
                started.set()
            try:
                res = _operation(client, ids, lock, local)
            except httpx.HTTPError as e:
                res = ("error", None, repr(e), 0, 0)
            with lock:
                results.append(res)

    broker_out = []

    def restart_broker():
        started.wait(30)
        t = time.monotonic()
        harness.rabbitmq("stop")
        harness.rabbitmq("start")
        broker_out.append((t, time.monotonic()))

    with concurrent.futures.ThreadPoolExecutor(11) as pool:
        futures = [pool.submit(worker, 10) for _ in range(10)]
        broker = pool.submit(restart_broker)
        for f in futures + [broker]:
            f.result(timeout=240)
    assert len(results) == 100
    down, up = broker_out[0]
    overlapping = [r for r in results if r[3] < up and r[4] > down]
    print("burst: broker restart took %.1fs, %d requests overlapped it; "
          "responses %s" % (up - down, len(overlapping),
                            collections.Counter((k, c) for k, _, c, _, _ in results)))
    assert not [r for r in results if not isinstance(r[2], int) or r[2] >= 500], results
    accepted = [(k, s) for k, s, c, _, _ in results if c in (200, 202, 204)]
    assert len(accepted) >= 50, results
    assert overlapping, "no request was in flight during the broker restart"

    # Everything settles: no task_state left, every migration final.
    def settled():
        rows = cloud.db.query(
            "select uuid, vm_state, task_state, deleted from instances")
        busy = [r for r in rows if r[2] is not None]
        migrating = cloud.db.query(
            "select id, status from migrations where status not in "
            "('completed', 'failed', 'error', 'cancelled')")
        return None if busy or migrating else rows
    rows = helpers.wait_until(settled, "every instance and migration to settle", 120,
                              interval=0.5)
    print("after the burst: instances %s, migrations %s" % (
        collections.Counter(r[1] for r in rows if not r[3]),
        collections.Counter(r[0] for r in cloud.db.query(
            "select status from migrations"))))
    for uuid, vm_state, _, deleted in rows:
        if vm_state == "error":
            assert helpers.faults(cloud.db, uuid), "%s in ERROR without a fault" % uuid
    for mid, status in cloud.db.query(
            "select instance_uuid, status from migrations where status in "
            "('failed', 'error')"):
        assert helpers.faults(cloud.db, mid), "failed migration without a fault"
    # Accepted deletes completed; accepted boots became ACTIVE or ERROR.
    live = {r[0]: r for r in rows}
    for kind, sid in accepted:
        if kind == "delete":
            assert live[sid][3] != 0 or live[sid][1] == "error", live[sid]
    assert {n: p.pid for n, p in cloud.procs.items()} == pids
    assert all(p.alive() for p in cloud.procs.values())
    assert_healthy(cloud, admin)
    # And the cloud still works end to end.
    sid = helpers.boot(admin, host="host1")
    assert live_migrate(admin, sid, "host2").status_code == 202
    admin.wait_for(sid, status="ACTIVE", task_state=None, host="host2", timeout=30)

"""`lifeboat host drain|undrain` against a real cloud served over HTTP.

The cloud, the subprocess runner and the [fake] tuning are those of
test_lifeboat_cli.py (its module-scoped `live` fixture is imported, so this
module gets a cloud of its own: host1..host3). Every test drains host1 and
leaves the cloud as it found it: services enabled, no servers.
"""
import json
import os
import signal
import subprocess
import threading
import time
import urllib.request

import pytest

from lifeboat.cli import drain as drain_lib
from tests.blueprint.helpers import migrations_of, rescue
from tests.cli import test_lifeboat_cli as cli_tests
from tests.cli.test_lifeboat_cli import LIFEBOAT, fake

live = cli_tests.live   # its cloud fixture (module scope: one cloud for this module)
FAST = ("--poll-interval", "0.1", "--settle", "0.1")
IN_PROGRESS = {"accepted", "queued", "preparing", "running", "post-migrating"}


# --- helpers ------------------------------------------------------------------------

def _service(admin, host):
    r = admin.at("2.53").get("/os-services?host=%s&binary=nova-compute" % host)
    assert r.status_code == 200, r.text
    return r.json()["services"][0]


def _set_service(admin, host, **body):
    r = admin.at("2.53").put("/os-services/%s" % _service(admin, host)["id"], json=body)
    assert r.status_code == 200, r.text


def _servers_on(admin, host):
    r = admin.at("2.105").get("/servers/detail?all_tenants=1&host=%s" % host)
    return {s["id"]: s for s in r.json()["servers"]}


def _drain(live, *args, **kw):
    return live.cli("host", "drain", "host1", *args, *FAST, **kw)


def _drain_json(live, *args, **kw):
    r = _drain(live, "--format", "json", *args, **kw)
    try:
        return r, json.loads(r.stdout)
    except ValueError:
        raise AssertionError((r.returncode, r.stdout, r.stderr))


def _by_id(body):
    return {i["id"]: i for i in body["instances"]}


def _popen_drain(live, *args):
    return subprocess.Popen(
        [LIFEBOAT, "--os-cloud", "test", "host", "drain", "host1", *args, *FAST],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=live.env)


def _api_get(live, path, version="2.80"):
    """A real HTTP GET (usable from a thread while the CLI runs)."""
    request = urllib.request.Request(live.base + "/v2.1" + path, headers={
        "X-Auth-Token": "admin:admin", "OpenStack-API-Version": "compute " + version})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


class MigrationWatcher(threading.Thread):
    """Polls /os-migrations and records the most live migrations in progress
    at once among `servers`."""

    def __init__(self, live, servers):
        super().__init__(daemon=True)
        self.live, self.servers = live, set(servers)
        self.peak = 0
        self.samples = 0
        self.halt = threading.Event()

    def running(self):
        migrations = _api_get(self.live, "/os-migrations")["migrations"]
        return [m for m in migrations if m["instance_uuid"] in self.servers
                and m["status"] in IN_PROGRESS]

    def run(self):
        while not self.halt.is_set():
            self.peak = max(self.peak, len(self.running()))
            self.samples += 1
            time.sleep(0.03)


@pytest.fixture(autouse=True)
def clean(live):
    """Each test starts and ends with every host enabled and no servers."""
    yield
    admin = live.admin
    for host in ("host1", "host2", "host3"):
        _set_service(admin, host, status="enabled")
    servers = admin.get("/servers?all_tenants=1").json()["servers"]
    for s in servers:
        admin.wait_for(s["id"], task_state=None)
        assert admin.delete("/servers/%s" % s["id"]).status_code == 204
    for s in servers:
        admin.wait_for(s["id"], status="DELETED")


def _boot_many(admin, prefix, count, host="host1"):
    """`count` ACTIVE servers on `host`, booted in parallel."""
    ids = [admin.boot(name="%s-%d" % (prefix, i), host=host, wait=False)
           for i in range(count)]
    for sid in ids:
        admin.wait_for(sid, status="ACTIVE", task_state=None)
    return ids


def _boot(admin, name, how="active", host="host1"):
    sid = admin.boot(name=name, host=host)
    if how == "paused":
        assert admin.action(sid, {"pause": None}).status_code == 202
        admin.wait_for(sid, status="PAUSED", task_state=None)
    elif how == "rescued":
        rescue(admin, sid)
    elif how == "shutoff":
        assert admin.action(sid, {"os-stop": None}).status_code == 202
        admin.wait_for(sid, status="SHUTOFF", task_state=None)
    return sid


# --- tests --------------------------------------------------------------------------

def test_mixed_host_moves_live_ones_keeps_their_state_and_lists_shutoff(live):
    admin = live.admin
    ids = {how: _boot(admin, "mixed-" + how, how)
           for how in ("active", "paused", "rescued", "shutoff")}
    r, body = _drain_json(live, "--max-concurrent", "3", "--reason", "maintenance")
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert body["empty"] is False and body["exit_code"] == 1
    rows = _by_id(body)
    assert set(rows) == set(ids.values())
    for how, status in (("active", "ACTIVE"), ("paused", "PAUSED"),
                        ("rescued", "RESCUE")):
        row = rows[ids[how]]
        assert row["outcome"] == "migrated", row
        assert (row["from"], row["state_before"], row["state_after"]) == (
            "host1", status, status)
        assert row["to"] in ("host2", "host3") and row["error"] is None
        assert row["duration"] is not None
        server = admin.server(ids[how])
        assert (server["status"], server["OS-EXT-SRV-ATTR:host"]) == (status, row["to"])
    shutoff = rows[ids["shutoff"]]
    assert shutoff["outcome"] == "not-migratable" and shutoff["to"] is None
    assert "SHUTOFF" in shutoff["error"] and "cold migration" in shutoff["error"]
    assert migrations_of(admin, ids["shutoff"]) == []
    assert body["remaining"] == [{"id": ids["shutoff"], "name": "mixed-shutoff",
                                  "status": "SHUTOFF"}]
    assert "host1 is not empty" in r.stderr
    service = _service(admin, "host1")
    assert (service["status"], service["disabled_reason"]) == ("disabled",
                                                               "maintenance")


def test_only_migratable_servers_exit_0_service_disabled_then_undrain(live):
    admin = live.admin
    ids = _boot_many(admin, "only", 2)
    r = _drain(live, "--reason", "kernel upgrade")
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert r.stdout.count("migrated") == 2, r.stdout
    assert "Drain of host1" in r.stdout and "host1 is empty" in r.stderr
    for sid in ids:
        assert admin.server(sid)["OS-EXT-SRV-ATTR:host"] != "host1"
    assert _servers_on(admin, "host1") == {}
    service = _service(admin, "host1")
    assert (service["status"], service["disabled_reason"]) == ("disabled",
                                                               "kernel upgrade")
    u = live.cli("host", "undrain", "host1")
    assert u.returncode == 0, (u.stdout, u.stderr)
    assert "enabled" in u.stdout and "kernel upgrade" in u.stdout
    service = _service(admin, "host1")
    assert (service["status"], service["disabled_reason"]) == ("enabled", None)


def test_max_concurrent_is_honoured(live):
    admin = live.admin
    ids = _boot_many(admin, "conc", 4)
    watcher = MigrationWatcher(live, ids)
    with fake(live_migration_seconds=0.5):
        watcher.start()
        try:
            r, body = _drain_json(live, "--max-concurrent", "2")
        finally:
            watcher.halt.set()
            watcher.join(5)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert watcher.samples > 10
    assert watcher.peak == 2, watcher.peak
    assert body["max_in_progress"] == 2
    assert all(i["outcome"] == "migrated" for i in body["instances"])


def test_no_wait_starts_what_max_concurrent_allows_and_returns(live):
    """--no-wait: the first N migrations are requested, the command returns
    without waiting for them (exit 1: the host is not empty yet), each
    accepted one is reported started with the others not started, and a
    re-run finishes the job."""
    admin = live.admin
    ids = _boot_many(admin, "nowait", 3)
    with fake(live_migration_seconds=2.0):
        r, body = _drain_json(live, "--max-concurrent", "2", "--no-wait")
        assert r.returncode == 1, (r.stdout, r.stderr)
        outcomes = sorted(i["outcome"] for i in body["instances"])
        assert outcomes == ["not-started", "started", "started"], body
        started = [i["id"] for i in body["instances"] if i["outcome"] == "started"]
        # Returned while they run: each has its migration in progress.
        for sid in started:
            assert migrations_of(admin, sid)[0]["status"] in IN_PROGRESS
        assert _service(admin, "host1")["status"] == "disabled"
    for sid in started:
        admin.wait_for(sid, task_state=None)
    r, body = _drain_json(live)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert set(_servers_on(admin, "host1")) == set()
    moved = {i["id"]: i["outcome"] for i in body["instances"]}
    assert moved == {sid: "migrated" for sid in ids if sid not in started}, body


def test_failed_destination_is_retried_once_on_another_host(live):
    admin = live.admin
    # Fill host3 a little so that the scheduler prefers host2 (most free RAM).
    filler = admin.boot(name="filler", host="host3", flavor="4")
    admin.wait_until(lambda: _hypervisor_free(admin, "host3") <
                     _hypervisor_free(admin, "host2"), "host3 usage reported")
    sid = _boot(admin, "retried")
    with fake(hosts_failing_live_migration=["host2"]):
        r, body = _drain_json(live)
    assert r.returncode == 0, (r.stdout, r.stderr)
    row = _by_id(body)[sid]
    assert (row["outcome"], row["to"], row["error"]) == ("migrated", "host3", None)
    first, second = row["attempts"]
    assert (first["requested"], first["destination"], first["status"]) == (
        None, "host2", "failed")
    assert (second["requested"], second["destination"], second["status"]) == (
        "host3", "host3", "completed")
    assert "retrying on another destination" in r.stderr
    assert [m["status"] for m in migrations_of(admin, sid)] == ["completed", "failed"]
    assert admin.server(filler)["OS-EXT-SRV-ATTR:host"] == "host3"


def _hypervisor_free(admin, host):
    hyps = admin.at("2.87").get("/os-hypervisors/detail").json()["hypervisors"]
    return next(h["free_ram_mb"] for h in hyps if h["service"]["host"] == host)


@pytest.fixture
def host2_without_rescued_support(live):
    compute = live.fixture.cloud.computes["host2"]
    compute.driver.capabilities["supports_live_migrate_rescued"] = False
    compute.report()
    yield
    compute.driver.capabilities["supports_live_migrate_rescued"] = True
    compute.report()


def test_rescued_instances_avoid_a_target_lacking_support(
        live, host2_without_rescued_support):
    admin = live.admin
    active = _boot(admin, "resc-active")
    rescued = [_boot(admin, "resc-%d" % i, "rescued") for i in range(2)]
    r, body = _drain_json(live, "--target-host", "host2", "host3",
                          "--max-concurrent", "1")
    assert r.returncode == 0, (r.stdout, r.stderr)
    rows = _by_id(body)
    for sid in rescued:
        assert (rows[sid]["outcome"], rows[sid]["to"], rows[sid]["state_after"]) == (
            "migrated", "host3", "RESCUE")
        server = admin.server(sid)
        assert (server["status"], server["OS-EXT-SRV-ATTR:host"]) == ("RESCUE", "host3")
    refusals = [a for sid in rescued for a in rows[sid]["attempts"]
                if a["status"] == "refused"]
    # Learnt once: whatever the order, round robin sends one rescued instance to
    # host2, which refuses it; the other is never sent there.
    assert len(refusals) == 1
    assert "not supported by the destination compute node host2" in \
        refusals[0]["error"]
    assert (rows[active]["outcome"], rows[active]["to"]) == ("migrated", "host2")


def test_dry_run_changes_nothing(live):
    admin = live.admin
    a, b = _boot_many(admin, "dry", 2)
    s = _boot(admin, "dry-off", "shutoff")
    r, body = _drain_json(live, "--dry-run", "--target-host", "host2", "host3")
    assert r.returncode == 1, (r.stdout, r.stderr)   # SHUTOFF: would not empty it
    assert body["dry_run"] is True and body["feasible"] is False
    rows = _by_id(body)
    assert sorted(rows[x]["to"] for x in (a, b)) == ["host2", "host3"]
    assert {rows[x]["outcome"] for x in (a, b)} == {"planned"}
    assert rows[s]["outcome"] == "not-migratable"
    assert {c["host"] for c in body["capacity"]} == {"host2", "host3"}
    assert all(c["planned_ram_mb"] == 512 for c in body["capacity"])
    assert set(_servers_on(admin, "host1")) == {a, b, s}
    assert all(migrations_of(admin, x) == [] for x in (a, b, s))
    service = _service(admin, "host1")
    assert (service["status"], service["disabled_reason"]) == ("enabled", None)


def _interrupt_when_running(live, proc, ids, count, before_signal=None):
    watcher = MigrationWatcher(live, ids)
    deadline = time.monotonic() + 20
    while len([m for m in watcher.running() if m["status"] == "running"]) < count:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "migrations did not start"
        time.sleep(0.05)
    if before_signal is not None:
        before_signal()
    proc.send_signal(signal.SIGINT)
    return proc.communicate(timeout=30)


def test_ctrl_c_lets_running_finish_and_a_rerun_completes(live):
    admin = live.admin
    ids = _boot_many(admin, "int", 4)
    with fake(live_migration_seconds=1.0):
        proc = _popen_drain(live, "--max-concurrent", "2", "--format", "json")
        try:
            out, errs = _interrupt_when_running(live, proc, ids, 2)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 130, (out, errs)
    assert "Interrupted" in errs
    body = json.loads(out)
    outcomes = sorted(i["outcome"] for i in body["instances"])
    assert outcomes == ["migrated", "migrated", "not-started", "not-started"], body
    assert body["interrupted"] is True
    assert len(_servers_on(admin, "host1")) == 2
    # The marker is gone (a re-run is not refused); the host stays disabled.
    assert _service(admin, "host1")["disabled_reason"] == drain_lib.DEFAULT_REASON
    r, body = _drain_json(live)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert sorted(i["outcome"] for i in body["instances"]) == ["migrated", "migrated"]
    assert _servers_on(admin, "host1") == {}


def test_second_drain_refuses_then_ctrl_c_aborts_the_first(live):
    admin = live.admin
    ids = _boot_many(admin, "abort", 2)
    second = {}

    def run_second_drain():
        service = _service(admin, "host1")
        marker = drain_lib.Marker.parse(service["disabled_reason"])
        assert (marker.pid, marker.reason) == (first.pid, "first")
        second["result"] = _drain(live)

    with fake(live_migration_seconds=30.0):
        first = _popen_drain(live, "--max-concurrent", "1", "--abort-on-interrupt",
                             "--reason", "first", "--format", "json")
        try:
            out, errs = _interrupt_when_running(live, first, ids, 1, run_second_drain)
        finally:
            if first.poll() is None:
                first.kill()
    r = second["result"]
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "host1 is already being drained (pid %d" % first.pid in \
        r.stderr.replace("\n", " ")
    assert first.returncode == 130, (out, errs)
    outcomes = sorted(i["outcome"] for i in json.loads(out)["instances"])
    assert outcomes == ["aborted", "not-started"]
    assert set(_servers_on(admin, "host1")) == set(ids)
    assert sorted(migrations_of(admin, x)[0]["status"] for x in ids
                  if migrations_of(admin, x)) == ["cancelled"]
    assert _service(admin, "host1")["disabled_reason"] == "first"


def _sdk(live):
    """An openstacksdk connection to the live cloud as admin (noauth2)."""
    import openstack
    return openstack.connection.Connection(
        auth_type="admin_token",
        auth={"endpoint": live.base + "/v2.1", "token": "admin:admin"},
        compute_endpoint_override=live.base + "/v2.1")


def test_library_busy_instance_stale_and_foreign_markers(live):
    """Drainer used from Python on an openstacksdk connection (docs/drain.md)."""
    from lifeboat.cli import host as host_cli
    admin = live.admin
    conn = _sdk(live)

    def drainer(**kw):
        return drain_lib.Drainer(conn, "host1", poll_interval=0.05, settle=0.05,
                                 handle_signals=False, **kw)

    # Dry run, printed as the CLI prints it.
    ids = _boot_many(admin, "lib", 2)
    plan = drainer(dry_run=True).run()
    assert plan.feasible and plan.exit_code == 0
    with host_cli.out.capture() as captured:
        host_cli.print_plan(plan)
    text = captured.get()
    assert "Plan for draining host1" in text and "Capacity check" in text
    assert [r.plan for r in plan.instances] == [
        "scheduler (candidates: host2, host3)"] * 2

    # A drain that died on this machine: its pid is gone, the marker is stale.
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = drain_lib.Marker(dead.pid, drain_lib.this_node(), "20200101T000000Z",
                             "died")
    _set_service(admin, "host1", status="disabled", disabled_reason=stale.text())
    events = []
    observer = drain_lib.Observer()
    observer.event = events.append
    with fake(rescue_seconds=1.0):
        # Busy (task_state rescuing) when the drain lists it: waited for, then
        # migrated, in the state it reached.
        assert admin.action(ids[0], {"rescue": {}}).status_code == 200
        result = drainer(observer=observer).run()
    assert result.exit_code == 0 and result.empty, result.as_dict()
    assert {(r.id, r.outcome) for r in result.instances} == {
        (ids[0], "migrated"), (ids[1], "migrated")}
    busy = next(r for r in result.instances if r.id == ids[0])
    assert (busy.status_before, busy.status_after) == ("ACTIVE", "RESCUE")
    assert any("busy (task_state rescuing)" in e for e in events), events
    assert any("no longer running" in e for e in events), events
    assert _service(admin, "host1")["disabled_reason"] == "died"

    # Another machine's marker cannot be checked: refused unless force.
    remote = drain_lib.Marker(1, "elsewhere", "20200101T000000Z", "remote")
    _set_service(admin, "host1", status="disabled", disabled_reason=remote.text())
    with pytest.raises(drain_lib.DrainBusy, match="--force"):
        drainer().run()
    assert _service(admin, "host1")["disabled_reason"] == remote.text()
    result = drainer(force=True, reason="mine").run()
    assert result.exit_code == 0
    assert _service(admin, "host1")["disabled_reason"] == "mine"
    service, marker = drain_lib.undrain(drain_lib.as_cloud(conn), "host1")
    assert marker is None and service["disabled_reason"] == "mine"
    assert _service(admin, "host1")["status"] == "enabled"


def test_ended_migrations_are_noticed_within_notice_interval(live):
    """A migration that ends frees its slot at once: the drain learns it from
    one /os-migrations changes-since request every notice_interval, not from
    the look at each server every poll_interval."""
    admin = live.admin
    conn = _sdk(live)

    def drain(**kw):
        result = drain_lib.Drainer(conn, "host1", max_concurrent=1, settle=0.05,
                                   handle_signals=False, **kw).run()
        assert result.exit_code == 0 and result.empty, result.as_dict()
        assert {r.outcome for r in result.instances} == {"migrated"}
        assert result.max_in_progress == 1
        return result

    ids = _boot_many(admin, "notice", 3)
    with fake(live_migration_seconds=0.3):
        result = drain(poll_interval=3.0, notice_interval=0.05)
        # Each one was followed up long before its first look was due (3 s).
        assert all(r.duration < 2.0 for r in result.instances), \
            [r.duration for r in result.instances]
        for r in result.instances:
            final = migrations_of(admin, r.id)[0]
            attempt = r.attempts[-1]
            assert (r.destination, attempt.migration_id, attempt.status) == (
                final["dest_compute"], final["id"], "completed")
        assert sorted(r.id for r in result.instances) == sorted(ids)

        # notice_interval=0: an end is seen by the look at the server only.
        _set_service(admin, "host1", status="enabled")
        one = _boot(admin, "notice-off")
        result = drain(poll_interval=1.0, notice_interval=0)
        assert [r.id for r in result.instances] == [one]
        assert result.instances[0].duration >= 1.0

        # Below 2.59 there is no changes-since: the same, whatever notice_interval.
        _set_service(admin, "host1", status="enabled")
        one = _boot(admin, "notice-258")
        result = drain(poll_interval=1.0, notice_interval=0.05, microversion="2.58")
        assert [r.id for r in result.instances] == [one]
        assert result.instances[0].duration >= 1.0


def test_marker_round_trip_and_liveness():
    marker = drain_lib.Marker.new("a reason: with colons")
    parsed = drain_lib.Marker.parse(marker.text())
    assert parsed == marker and parsed.liveness() == "alive"
    assert drain_lib.Marker.parse("maintenance") is None
    long = drain_lib.Marker.new("x" * 400)
    assert len(long.text()) == drain_lib.REASON_MAX
    assert drain_lib.Marker(os.getpid(), "other-node", "t", "").liveness() == "unknown"


class _ProgressSeen(drain_lib.Observer):
    """Records the memory counters each update() shows mid-migration."""

    def __init__(self, wants_progress):
        self.wants_progress = wants_progress
        self.mid_flight = []

    def update(self, report):
        if report.memory_processed and report.memory_total and \
                report.memory_processed < report.memory_total:
            self.mid_flight.append(report.memory_processed)


def test_progress_is_read_while_shown_and_not_while_nobody_watches(live):
    """With a display (wants_progress) a running migration's memory counters
    are read every second; without one (the CLI's output is not a terminal)
    the drain does not read them mid-flight, and ends the same."""
    admin = live.admin
    conn = _sdk(live)
    for wants in (True, False):
        _boot_many(admin, "prog%d" % wants, 1)
        seen = _ProgressSeen(wants)
        with fake(live_migration_seconds=3.0):
            result = drain_lib.Drainer(conn, "host1", settle=0.05,
                                       handle_signals=False, observer=seen).run()
        assert result.exit_code == 0, result.as_dict()
        assert [r.outcome for r in result.instances] == ["migrated"]
        if wants:
            assert seen.mid_flight, "no progress read while the display wanted it"
        else:
            assert seen.mid_flight == []
        drain_lib.undrain(drain_lib.as_cloud(conn), "host1")


def _feed_counted(live):
    """A Cloud for the Drainer, and the list of the times it sent a
    changes-since feed request (GET /os-migrations?source_compute=...)."""
    cloud = drain_lib.as_cloud(_sdk(live))
    feed = []
    request = cloud.request

    def counting(method, url, *args, **kw):
        if url.startswith("/os-migrations?source_compute="):
            feed.append(time.monotonic())
        return request(method, url, *args, **kw)

    cloud.request = counting
    return cloud, feed


def test_feed_asks_often_only_while_a_migration_may_end(live):
    """One at a time, the changes-since feed waits while the migration in
    flight is younger than the quickest this drain has seen end, then asks
    every notice_interval: the second migration is noticed as promptly as the
    first, with a fraction of the requests a steady 0.05 s pace would make."""
    admin = live.admin
    cloud, feed = _feed_counted(live)
    _boot_many(admin, "feed", 2)
    seconds = 2.0
    with fake(live_migration_seconds=seconds):
        result = drain_lib.Drainer(
            cloud, "host1", max_concurrent=1, settle=0.05, notice_interval=0.05,
            handle_signals=False, observer=_ProgressSeen(False)).run()
    assert result.exit_code == 0, result.as_dict()
    first, second = sorted(result.instances, key=lambda r: r.started_at)
    assert (first.outcome, second.outcome) == ("migrated", "migrated")
    # The second is followed up about as soon after its end as the first.
    assert second.duration < first.duration + 0.5, (first.duration, second.duration)
    during = [t for t in feed if second.started_at <= t <= second.ended_at]
    steady = second.duration / 0.05
    assert 1 <= len(during) < steady / 3, (len(during), steady)
    # The first, with nothing known yet, was asked about at the steady pace.
    before = [t for t in feed if first.started_at <= t <= first.ended_at]
    assert len(before) > first.duration / 0.05 / 2, (len(before), first.duration)


def test_feed_slows_to_its_old_pace_for_an_overdue_migration(live):
    """A migration that runs far longer than the quickest one completed so far
    is no longer expected to end any moment: past twice that, the feed asks
    every 2 x notice_interval instead of every notice_interval."""
    admin = live.admin
    cloud, feed = _feed_counted(live)
    ids = _boot_many(admin, "overdue", 2)
    result = {}
    with fake(live_migration_seconds=0.5):
        drain = threading.Thread(target=lambda: result.update(run=drain_lib.Drainer(
            cloud, "host1", max_concurrent=1, settle=0.05, notice_interval=0.05,
            handle_signals=False, observer=_ProgressSeen(False)).run()))
        drain.start()
        # The first transfer has read its duration (0.5 s) once it runs; the
        # second, started after it, reads 3 s.
        admin.wait_until(lambda: [m for m in migrations_of(admin, ids[0]) +
                                  migrations_of(admin, ids[1])
                                  if m["status"] == "running"], "a running migration")
        with fake(live_migration_seconds=3.0):
            drain.join(60)
    run = result["run"]
    assert run.exit_code == 0, run.as_dict()
    first, second = sorted(run.instances, key=lambda r: r.started_at)
    assert (first.outcome, second.outcome) == ("migrated", "migrated")
    assert first.duration < 1.5 < 3.0 < second.duration, (first.duration,
                                                          second.duration)
    overdue_from = second.started_at + 2 * first.duration + 0.2
    overdue = [t for t in feed if overdue_from <= t <= second.ended_at - 0.2]
    seconds = second.ended_at - 0.2 - overdue_from
    assert seconds > 1.0, seconds
    assert seconds / 0.1 * 0.6 <= len(overdue) <= seconds / 0.1 * 1.3, \
        (len(overdue), seconds)

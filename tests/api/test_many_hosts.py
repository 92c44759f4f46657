"""An all-in-one with many simulated compute hosts, and the Ticker that runs
their heartbeats, periodic tasks and reconciliation on a few shared threads.

Thread counts are compared with the count before the cloud started, so other
threads of the test process do not matter. No assertion depends on how fast
the machine is: waits are on events or state, with generous deadlines.
"""
import logging
import random
import threading
import time

import pytest

from lifeboat import service as lb_service

HOSTS = ["node%03d" % i for i in range(1, 201)]
WAIT = 20.0  # seconds; deadlines for state, never asserted as durations


def _wait(predicate, what, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out waiting for %s" % what)


def _ticker_threads():
    return {t for t in threading.enumerate() if t.name.startswith("ticker-")}


def _service_stamp(admin, host):
    r = admin.get("/os-services?host=%s&binary=nova-compute" % host)
    assert r.status_code == 200, r.text
    (svc,) = r.json()["services"]
    return svc["updated_at"], svc["state"]


# --- the cloud, through the API ----------------------------------------------
def test_200_hosts_start_up_on_a_few_threads(make_cloud):
    before = threading.active_count()
    existing = set(threading.enumerate())
    cloud = make_cloud(hosts=HOSTS, report_interval=5)
    admin = cloud.client("admin")

    r = admin.get("/os-hypervisors/detail")
    assert r.status_code == 200, r.text
    hypervisors = r.json()["hypervisors"]
    assert sorted(h["hypervisor_hostname"] for h in hypervisors) == HOSTS
    assert {h["state"] for h in hypervisors} == {"up"}
    assert {h["status"] for h in hypervisors} == {"enabled"}

    # Three jobs on the ticker for all the hosts (heartbeats, periodic tasks,
    # reconciliation, each serving a slice of the hosts at a time), none on
    # threads of their own: the process has a few more threads than before,
    # not 600 more.
    assert len(cloud.cloud.ticker.jobs()) == 3
    new = set(threading.enumerate()) - existing
    assert not [t.name for t in new if t.name.startswith("compute-")]
    assert threading.active_count() - before < 30, \
        sorted(t.name for t in threading.enumerate())

    r = admin.get("/os-services?binary=nova-compute")
    assert {s["state"] for s in r.json()["services"]} == {"up"}


def test_hosts_keep_reporting_and_a_stopped_host_stops(make_cloud):
    cloud = make_cloud(hosts=["host1", "host2", "host3", "host4"])
    admin = cloud.client("admin")
    first, _ = _service_stamp(admin, "host2")
    _wait(lambda: _service_stamp(admin, "host2")[0] != first,
          "a heartbeat of host2 after start-up")

    svc = next(s for s in cloud.cloud.services
               if s.topic == "compute" and s.host == "host3")
    svc.stop()  # it leaves the shared jobs; a run in progress is waited for
    assert len(cloud.cloud.ticker.jobs()) == 3
    stopped_at, _ = _service_stamp(admin, "host3")

    # host2 reports twice more (at least one full report_interval after
    # host3's stop), host3 not once.
    for _ in range(2):
        seen, _ = _service_stamp(admin, "host2")
        _wait(lambda seen=seen: _service_stamp(admin, "host2")[0] != seen,
              "another heartbeat of host2")
    assert _service_stamp(admin, "host3")[0] == stopped_at
    assert _service_stamp(admin, "host1")[1] == "up"


def test_every_host_beats_though_heartbeats_are_shared(make_cloud):
    """The computes' heartbeats are one job writing a slice of the hosts at a
    time: every host's updated_at still moves on, each in its turn."""
    hosts = ["hb%02d" % i for i in range(1, 41)]
    cloud = make_cloud(hosts=hosts)
    admin = cloud.client("admin")

    def stamps():
        r = admin.get("/os-services?binary=nova-compute")
        assert r.status_code == 200, r.text
        return {s["host"]: s["updated_at"] for s in r.json()["services"]}

    first = stamps()
    assert set(first) == set(hosts)
    _wait(lambda: all(v != first[h] for h, v in stamps().items()),
          "a heartbeat of every host")
    second = stamps()
    _wait(lambda: all(v != second[h] for h, v in stamps().items()),
          "another heartbeat of every host")
    r = admin.get("/os-services?binary=nova-compute")
    assert {s["state"] for s in r.json()["services"]} == {"up"}


def test_shared_reconciliation_rolls_back_a_migration_nobody_took(make_cloud):
    """The all-in-one's reconciliation reads the unfinished migrations of a
    slice of hosts at once, then hands each host its own: a live migration
    whose request never reached a conductor (its cast dropped, as a bus drops
    a message with no consumer) is rolled back by its source host."""
    cloud = make_cloud(hosts=["rc1", "rc2", "rc3"],
                       compute__reconcile_interval=1,
                       compute__live_migration_handoff_timeout=2)
    admin = cloud.client("admin", version="2.105")
    sid = admin.boot(name="orphan", host="rc2")
    conductor = next(s for s in cloud.cloud.services if s.topic == "conductor")
    conductor._rpc_server.stop()    # casts to the conductor are dropped now
    r = admin.action(sid, {"os-migrateLive": {"host": None,
                                              "block_migration": "auto"}})
    assert r.status_code == 202, r.text
    assert admin.server(sid)["status"] == "MIGRATING"

    server = admin.wait_for(sid, status="ACTIVE", task_state=None)
    assert server["OS-EXT-SRV-ATTR:host"] == "rc2"
    (migration,) = admin.get("/os-migrations?instance_uuid=%s" % sid).json()[
        "migrations"]
    assert migration["status"] == "error"


def test_shared_periodic_audit_counts_each_host(make_cloud):
    """The periodic audit sums the usage of a slice of hosts in one query and
    gives each host its own figure: every hypervisor shows its own
    instances."""
    hosts = ["pa%02d" % i for i in range(1, 13)]
    cloud = make_cloud(hosts=hosts, periodic_interval=1)
    admin = cloud.client("admin")
    placed = {"pa03": 2, "pa07": 1, "pa12": 3}
    for host, count in placed.items():
        for i in range(count):
            admin.boot(name="%s-%d" % (host, i), host=host)

    def running():
        r = admin.get("/os-hypervisors/detail")
        assert r.status_code == 200, r.text
        return {h["hypervisor_hostname"]: h["running_vms"]
                for h in r.json()["hypervisors"]}

    expected = {h: placed.get(h, 0) for h in hosts}
    admin.wait_until(lambda: running() == expected, "every host's own usage")


def test_stopping_the_cloud_ends_the_ticker_threads(make_cloud):
    before = _ticker_threads()
    cloud = make_cloud()
    admin = cloud.client("admin")
    # The heartbeats (every second in the fixture) start the workers.
    first, _ = _service_stamp(admin, "host1")
    _wait(lambda: _service_stamp(admin, "host1")[0] != first, "a heartbeat")
    ours = _ticker_threads() - before
    assert any(t.name.endswith("-timer") for t in ours)
    assert any("-worker" in t.name for t in ours)

    ticker = cloud.cloud.ticker
    cloud.cloud.stop()
    assert not [t.name for t in ours if t.is_alive()]
    assert ticker.jobs() == []
    assert cloud.cloud.ticker is None


def test_timer_workers_bounds_the_workers(make_cloud):
    before = _ticker_threads()
    cloud = make_cloud(hosts=["h%02d" % i for i in range(1, 21)],
                       all_in_one__timer_workers=1)
    assert cloud.cloud.ticker.workers == 1
    admin = cloud.client("admin")
    first, _ = _service_stamp(admin, "h07")
    _wait(lambda: _service_stamp(admin, "h07")[0] != first, "a heartbeat of h07")
    workers = [t for t in _ticker_threads() - before if "-worker" in t.name]
    assert len(workers) == 1


# --- the Ticker on its own ----------------------------------------------------
@pytest.fixture
def ticker():
    made = []

    def factory(workers=4):
        made.append(lb_service.Ticker(workers=workers,
                                      name="ticker-test%d" % len(made)))
        return made[-1]
    yield factory
    for t in made:
        t.stop()


def test_first_runs_are_spread_over_the_interval(ticker):
    t = ticker(workers=4)
    interval = 2.0
    first_runs = {}
    all_ran = threading.Event()
    lock = threading.Lock()
    added = time.monotonic()

    def job(i):
        def fn():
            with lock:
                first_runs.setdefault(i, time.monotonic() - added)
                if len(first_runs) == 40:
                    all_ran.set()
        return fn
    for i in range(40):
        t.add(interval, job(i), threading.Event(), "job %d" % i)
    assert all_ran.wait(WAIT)
    # Uniform over 2 s, 40 jobs: they span ~1.9 s; all in step would span ~0.
    spread = max(first_runs.values()) - min(first_runs.values())
    assert spread > 0.5, sorted(first_runs.values())


def test_due_jobs_run_in_order_of_due_time(ticker):
    t = ticker(workers=1)
    order = []
    done = threading.Event()
    stop = threading.Event()

    def job(name):
        def fn():
            order.append(name)
            if len(order) == 3:
                stop.set()
                done.set()
        return fn
    # Whenever the timer wakes up, it hands the due jobs to the one worker in
    # order of due time, whatever the order they were added in.
    t.add(60, job("c"), stop, "c", first=0.6)
    t.add(60, job("a"), stop, "a", first=0.2)
    t.add(60, job("b"), stop, "b", first=0.4)
    assert done.wait(WAIT)
    assert order == ["a", "b", "c"]


def test_runs_of_one_job_never_overlap(ticker):
    t = ticker(workers=4)
    state = {"running": 0, "most": 0, "runs": 0}
    lock = threading.Lock()
    ran_enough = threading.Event()

    def slow():
        with lock:
            state["running"] += 1
            state["most"] = max(state["most"], state["running"])
        time.sleep(0.05)  # five times the interval
        with lock:
            state["running"] -= 1
            state["runs"] += 1
            if state["runs"] >= 5:
                ran_enough.set()
    t.add(0.01, slow, threading.Event(), "slow", first=0)
    assert ran_enough.wait(WAIT)
    assert state["most"] == 1


def test_a_job_is_dropped_once_its_stop_event_is_set(ticker):
    t = ticker(workers=2)
    stop = threading.Event()
    runs = {"stopped": 0, "control": 0}
    control_ran = threading.Event()

    def stopped():
        runs["stopped"] += 1

    def control():
        runs["control"] += 1
        control_ran.set()
    job = t.add(0.05, stopped, stop, "stopped job", first=0)
    t.add(0.05, control, threading.Event(), "control job", first=0)
    _wait(lambda: runs["stopped"] >= 2, "the job to run")
    stop.set()
    assert job.wait(WAIT)  # a run in progress is over
    after = runs["stopped"]
    for _ in range(5):  # the control job keeps running meanwhile
        control_ran.clear()
        assert control_ran.wait(WAIT)
    assert runs["stopped"] == after
    assert t.jobs() == ["control job"]


def test_a_failing_job_is_logged_once_per_outage(ticker, caplog):
    t = ticker(workers=1)
    # Two outages, each followed by success (the last when outcomes run out).
    outcomes = iter([False, False, False, True, True, False, False])
    done = threading.Event()

    def flaky():
        try:
            ok = next(outcomes)
        except StopIteration:
            done.set()
            return
        if not ok:
            raise RuntimeError("database unreachable")
    with caplog.at_level(logging.INFO, logger="lifeboat.service"):
        job = t.add(0.01, flaky, threading.Event(), "flaky job", first=0)
        assert done.wait(WAIT)
        t.cancel(job)
        assert job.wait(WAIT)  # the last run (and its log line) is over
    messages = [r.getMessage() for r in caplog.records if "flaky job" in r.getMessage()]
    assert len([m for m in messages if "failed" in m]) == 2, messages
    assert len([m for m in messages if "recovered" in m]) == 2, messages


def test_stop_waits_for_runs_and_ends_the_threads(ticker):
    t = ticker(workers=3)
    release = threading.Event()
    started = threading.Event()
    finished = []

    def blocking():
        started.set()
        release.wait(WAIT)
        finished.append(True)
    for i in range(10):
        t.add(random.uniform(0.01, 0.05), lambda: None, threading.Event(),
              "quick %d" % i)
    t.add(0.01, blocking, threading.Event(), "blocking", first=0)
    assert started.wait(WAIT)
    ours = {th for th in threading.enumerate() if th.name.startswith("ticker-test")}
    threading.Timer(0.2, release.set).start()
    assert t.stop(timeout=WAIT)
    assert finished == [True]  # the run in progress was waited for
    assert not [th.name for th in ours if th.is_alive()]
    assert t.jobs() == []
    with pytest.raises(RuntimeError):
        t.add(1, lambda: None, threading.Event(), "too late")

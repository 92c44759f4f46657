"""Prototype launcher: `lifeboat-all-in-one` with the changes proposed in
bench/results/scale.md applied as monkey patches, one flag each, so the scale
benchmark can measure them before they are made in lifeboat/ itself.

    .venv/bin/python bench/aio_prototype.py [--ticker] [--host-report]
        [--scheduler-cache] [--hypervisor-prefetch] --config-file lifeboat.conf

--ticker               compute services' heartbeat, periodic and reconcile loops
                       run on one shared timer thread and a small worker pool
                       (lifeboat/service.py), instead of 3 threads per service.
--host-report          ComputeManager.report() sums usage for its own host only
                       (WHERE host = :host) instead of every host's.
--scheduler-cache      the scheduler keeps HostStates in memory: a plain-column
                       read of compute_nodes+services per decision, usage from
                       a snapshot refreshed in the background, and its own
                       placements applied at once (as Nova's HostState.consume).
--hypervisor-prefetch  GET /os-hypervisors(/detail) loads what it shows of
                       instances in one query for the page, and none at all
                       when the microversion shows none (2.88+ without
                       with_servers).

Every patch is importable on its own (install(...)) so bench/scale.py measures
the scheduler in-process with exactly this code.
"""
import heapq
import itertools
import logging
import os
import random
import sys
import threading
import time
from concurrent import futures

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

LOG = logging.getLogger("aio_prototype")


# --- 1. one timer for many services --------------------------------------
class Ticker:
    """Runs many periodic jobs on one timer thread and `workers` threads.

    A job is (interval, fn, stop_event). Its first run is spread uniformly
    over its interval so a thousand services do not beat in step; after each
    run it is due `interval` seconds after it started (never two runs of one
    job at once). A job whose stop_event is set is dropped.
    """

    def __init__(self, workers=4):
        self._heap = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._stopped = False
        self._pool = futures.ThreadPoolExecutor(workers, thread_name_prefix="ticker")
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name="ticker-timer")
        self._thread.start()
        self.late = []  # seconds a job started after it was due (sampled)

    def add(self, interval, fn, stop_event, what):
        due = time.monotonic() + random.uniform(0, interval)
        self._push(due, (interval, fn, stop_event, what, [False]))

    def _push(self, due, job):
        with self._cv:
            heapq.heappush(self._heap, (due, next(self._seq), job))
            self._cv.notify()

    def _run(self):
        while True:
            with self._cv:
                while not self._stopped and (
                        not self._heap or self._heap[0][0] > time.monotonic()):
                    timeout = (self._heap[0][0] - time.monotonic()) if self._heap else None
                    self._cv.wait(timeout)
                if self._stopped:
                    return
                due, _, job = heapq.heappop(self._heap)
            if job[2].is_set():
                continue
            self._pool.submit(self._call, due, job)

    def _call(self, due, job):
        interval, fn, stop_event, what, failing = job
        started = time.monotonic()
        if len(self.late) < 100000:
            self.late.append(started - due)
        try:
            fn()
            if failing[0]:
                LOG.info("%s recovered", what)
            failing[0] = False
        except Exception as e:  # logged once per outage, as Service does
            if not failing[0]:
                LOG.error("%s failed (%s: %s); retrying every %ss", what,
                          type(e).__name__, e, interval)
            failing[0] = True
        if not stop_event.is_set():
            self._push(started + interval, job)

    def stop(self):
        with self._cv:
            self._stopped = True
            self._cv.notify()
        self._pool.shutdown(wait=True, cancel_futures=True)


TICKER = None


def install_ticker(workers=4):
    """Service._spawn for compute services registers jobs on the shared
    Ticker; other services keep their threads."""
    global TICKER
    from lifeboat import service as lb_service
    from lifeboat.compute import reconcile
    from lifeboat.conf import CONF
    from lifeboat.db import services as db_services
    TICKER = Ticker(workers)
    original = lb_service.Service._spawn

    def _spawn(self, target, interval, name):
        if self.topic != "compute":
            return original(self, target, interval, name)

        def heartbeat(svc=self):
            db_services.heartbeat(svc.service_ref.id, svc.version)
            if hasattr(svc.manager, "report"):
                svc.manager.report()
        jobs = {"heartbeat": heartbeat,
                "periodic": self.manager.periodic_tasks,
                "reconcile": lambda m=self.manager: reconcile.periodic(m)}
        TICKER.add(interval, jobs[name], self._stop,
                   "%s of compute on %s" % (name, self.host))

    lb_service.Service._spawn = _spawn
    del CONF  # (imported so conf is registered before services start)


# --- 2. a compute host reports only its own usage ---------------------------
def host_usage(host):
    """(instances, vcpus, memory_mb, disk_gb) on `host`, plus what in-progress
    migrations to it have claimed: usage_by_host() restricted to one host."""
    import sqlalchemy as sa
    from lifeboat.db import models
    from lifeboat.db.engine import transaction
    I, M = models.Instance, models.Migration
    with transaction(read_only=True) as s:
        row = s.execute(sa.select(
            sa.func.count(), sa.func.sum(I.vcpus), sa.func.sum(I.memory_mb),
            sa.func.sum(I.root_gb + I.ephemeral_gb))
            .where(I.host == host, I.deleted == 0)).one()
        claim = s.execute(sa.select(
            sa.func.count(), sa.func.sum(I.vcpus), sa.func.sum(I.memory_mb),
            sa.func.sum(I.root_gb + I.ephemeral_gb))
            .select_from(M).join(I, I.uuid == M.instance_uuid)
            .where(M.status.in_(("queued", "preparing", "running", "post-migrating")),
                   M.dest_compute == host, I.deleted == 0)).one()
    return tuple(int(a or 0) + int(b or 0) for a, b in zip(row, claim))


def install_host_report():
    from lifeboat.compute import manager as compute_manager
    from lifeboat.db import services as db_services

    def report(self):
        resources = self.driver.get_available_resource()
        usage = host_usage(self.host)
        values = dict(resources, running_vms=usage[0], vcpus_used=usage[1],
                      memory_mb_used=usage[2], local_gb_used=usage[3],
                      capabilities=dict(self.driver.capabilities))
        db_services.update_compute_node(self.service_ref.id, self.host, self.host,
                                        values)

    compute_manager.ComputeManager.report = report


# --- 3. the scheduler keeps host states in memory ----------------------------
class UsageCache:
    """usage_by_host() snapshot, refreshed every `ttl` seconds by the caller's
    thread when stale (under the scheduler lock), plus the scheduler's own
    placements since the snapshot."""

    def __init__(self, ttl=5.0):
        self.ttl = ttl
        self.usage = None
        self.taken = 0.0

    def get(self):
        from lifeboat.db import instances as db_instances
        if self.usage is None or time.monotonic() - self.taken > self.ttl:
            self.usage = db_instances.usage_by_host()
            self.taken = time.monotonic()
        return self.usage

    def consume(self, host, flavor):
        old = self.usage.get(host, (0, 0, 0, 0))
        disk = flavor.get("root_gb", 0) + flavor.get("ephemeral_gb", 0)
        self.usage[host] = (old[0] + 1, old[1] + flavor["vcpus"],
                            old[2] + flavor["memory_mb"], old[3] + disk)


class NodeCache:
    """The compute nodes' static columns (capacity, type, capabilities),
    re-read every `ttl` seconds: they change when a host is added or its
    driver reports new capacity, not per decision."""

    def __init__(self, ttl=30.0):
        self.ttl = ttl
        self.rows = None
        self.taken = 0.0

    def get(self):
        import sqlalchemy as sa
        from lifeboat.db import models
        from lifeboat.db.engine import transaction
        if self.rows is None or time.monotonic() - self.taken > self.ttl:
            N = models.ComputeNode
            with transaction(read_only=True) as s:
                self.rows = s.execute(sa.select(
                    N.service_id, N.host, N.hypervisor_hostname, N.hypervisor_type,
                    N.vcpus, N.memory_mb, N.local_gb, N.capabilities)
                    .order_by(N.id)).all()
            self.taken = time.monotonic()
        return self.rows


def fast_host_states(node_cache, usage):
    """HostStates kept between decisions (rebuilt when the node cache is
    re-read), their health read fresh: one small query of plain columns per
    decision, then attribute updates in place."""
    import datetime
    import sqlalchemy as sa
    from lifeboat.conf import CONF
    from lifeboat.db import models
    from lifeboat.db.engine import transaction
    from lifeboat.scheduler.host_state import HostState
    nodes = node_cache.get()
    if getattr(node_cache, "states_for", None) is not nodes:
        node_cache.states = [(r.service_id, HostState(
            host=r.host, nodename=r.hypervisor_hostname,
            hypervisor_type=r.hypervisor_type, vcpus=r.vcpus, memory_mb=r.memory_mb,
            local_gb=r.local_gb, vcpus_used=0, memory_mb_used=0, local_gb_used=0,
            num_instances=0, enabled=False, up=False, service_version=0,
            capabilities=r.capabilities or {})) for r in nodes]
        node_cache.states_for = nodes
    S = models.Service
    with transaction(read_only=True) as s:
        services = {r[0]: r for r in s.execute(sa.select(
            S.id, S.disabled, S.forced_down, S.last_seen_up, S.version)
            .where(S.binary == "nova-compute")).all()}
    oldest = models.utcnow() - datetime.timedelta(seconds=CONF.service_down_time)
    states = []
    nothing = (0, 0, 0, 0)
    for service_id, h in node_cache.states:
        svc = services.get(service_id)
        if svc is None:
            continue
        (h.num_instances, h.vcpus_used, h.memory_mb_used,
         h.local_gb_used) = usage.get(h.host, nothing)
        h.up = (not svc[2] and svc[3] is not None and svc[3] >= oldest)
        h.enabled = not svc[1]
        h.service_version = svc[4]
        states.append(h)
    return states


def _snapshot_filters():
    """Filters that read their options once per decision (oslo.config
    attribute access costs ~10 us, times 1,000 hosts times 3 filters)."""
    from lifeboat.conf import CONF
    from lifeboat.scheduler import filters

    class RamFilter:
        def __init__(self):
            self.ratio = CONF.compute.ram_allocation_ratio

        def host_passes(self, host, spec):
            return host.memory_mb_used + spec["flavor"]["memory_mb"] <= \
                host.memory_mb * self.ratio

    class CoreFilter:
        def __init__(self):
            self.ratio = CONF.compute.cpu_allocation_ratio

        def host_passes(self, host, spec):
            return host.vcpus_used + spec["flavor"]["vcpus"] <= host.vcpus * self.ratio

    class DiskFilter:
        def __init__(self):
            self.ratio = CONF.compute.disk_allocation_ratio

        def host_passes(self, host, spec):
            flavor = spec["flavor"]
            need = flavor["root_gb"] + flavor.get("ephemeral_gb", 0)
            return host.local_gb_used + need <= host.local_gb * self.ratio

    for cls in (RamFilter, CoreFilter, DiskFilter):
        filters.FILTERS[cls.__name__] = cls


def install_scheduler_cache(ttl=5.0):
    from lifeboat import exception
    from lifeboat.conf import CONF
    from lifeboat.scheduler import filters
    from lifeboat.scheduler import manager as sched_manager

    _snapshot_filters()

    def select_destinations(self, context, spec):
        with self._lock:
            cache = self.__dict__.setdefault("_usage_cache", UsageCache(ttl))
            nodes = self.__dict__.setdefault("_node_cache", NodeCache())
            hosts = fast_host_states(nodes, cache.get())
            ignore = set(spec.get("ignore_hosts") or ())
            force = set(spec.get("force_hosts") or ())
            candidates = [h for h in hosts if h.host not in ignore
                          and (not force or h.host in force)]
            for f in filters.enabled_filters():
                candidates = [h for h in candidates if f.host_passes(h, spec)]
                if not candidates:
                    break
            if not candidates:
                raise exception.NoValidHost(
                    reason="There are not enough hosts available.")
            weight = CONF.filter_scheduler.ram_weight_multiplier
            candidates.sort(key=lambda h: weight * (h.memory_mb - h.memory_mb_used),
                            reverse=True)
            chosen = candidates[:spec.get("num", 1)]
            for h in chosen:
                cache.consume(h.host, spec["flavor"])
            return [{"host": h.host, "nodename": h.nodename} for h in chosen]

    sched_manager.SchedulerManager.select_destinations = select_destinations


# --- 4. os-hypervisors without a query per node -----------------------------
def install_hypervisor_prefetch():
    import sqlalchemy as sa
    from lifeboat.api.handlers import hypervisors
    from lifeboat.db import models
    from lifeboat.db.engine import transaction
    original_list = hypervisors._list
    local = threading.local()

    class _Row:
        __slots__ = ("uuid", "display_name", "vm_state", "task_state")

        def __init__(self, r):
            self.uuid, self.display_name, self.vm_state, self.task_state = r

    def _list(req, detail):
        wanted = str(req.query.get("with_servers", "")).lower() in (
            "1", "t", "true", "on", "y", "yes")
        needs = wanted or (detail and req.version < "2.88")
        local.by_host = None if needs else {}
        if needs:
            I = models.Instance
            with transaction(read_only=True) as s:
                rows = s.execute(sa.select(I.host, I.uuid, I.display_name, I.vm_state,
                                           I.task_state)
                                 .where(I.deleted == 0, I.host.isnot(None))
                                 .order_by(I.id)).all()
            by_host = {}
            for r in rows:
                by_host.setdefault(r[0], []).append(_Row(r[1:]))
            local.by_host = by_host
        try:
            return original_list(req, detail)
        finally:
            local.by_host = None

    original_instances = hypervisors._instances

    def _instances(host):
        by_host = getattr(local, "by_host", None)
        if by_host is None:
            return original_instances(host)
        return by_host.get(host, [])

    hypervisors._list = _list
    hypervisors._instances = _instances


def main():
    argv = sys.argv[1:]
    flags = {f for f in ("--ticker", "--host-report", "--scheduler-cache",
                         "--hypervisor-prefetch") if f in argv}
    argv = [a for a in argv if a not in flags]
    from lifeboat.cmd import common
    common.setup(argv)
    if "--ticker" in flags:
        install_ticker()
    if "--host-report" in flags:
        install_host_report()
    if "--scheduler-cache" in flags:
        install_scheduler_cache()
    if "--hypervisor-prefetch" in flags:
        install_hypervisor_prefetch()
    LOG.warning("prototype patches: %s", " ".join(sorted(flags)) or "none")
    from lifeboat.cmd import all_in_one
    # all_in_one.main parses the arguments again; keep them for it.
    return all_in_one.main(argv)


if __name__ == "__main__":
    sys.exit(main())

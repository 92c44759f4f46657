"""`Drainer`: empties one compute host by live migration.

The class the CLI's `lifeboat host drain` and Python callers use: its
options, stop() and the signal handling behind Ctrl-C, run(), the instances
of the host and the polling loop that starts and follows migrations, and the
DrainResult at the end. The marker (claim.py), the destinations and dry run
(placement.py) and one migration (migration.py) are mixins.
"""
import itertools
import signal
import threading
import time
from concurrent import futures

from lifeboat.cli.connection import ApiError, CliError
from lifeboat.cli.drain.claim import ClaimMixin
from lifeboat.cli.drain.cloud import (
    LIVE_VM_STATES, RESCUED_MICROVERSION, TASK_STATE, _NOT_MIGRATABLE, _vm_state,
    as_cloud, get_service, servers_on_host)
from lifeboat.cli.drain.migration import MigrationMixin
from lifeboat.cli.drain.placement import PlacementMixin
from lifeboat.cli.drain.report import (
    LEFT_RUNNING, MIGRATED, NOT_MIGRATABLE, NOT_STARTED, STARTED, DrainResult,
    InstanceReport, Observer, _service_summary)


# Requests a drain makes at once (migration requests of the free slots, the
# looks of a round): 8 keeps a 16-wide drain's refills to two rounds of
# requests without crowding the API's own worker threads.
PARALLEL_REQUESTS = 8


class Drainer(ClaimMixin, PlacementMixin, MigrationMixin):
    """Empty one compute host by live migration. `run()` returns a DrainResult.

    conn:              an openstacksdk Connection (or a lifeboat.cli.connection
                       Cloud); the microversion is chosen as the CLI does
                       (2.105 on Lifeboat) unless `microversion` is given.
    reason:            the disabled reason (default: the one already set, else
                       "drained by lifeboat").
    max_concurrent:    migrations in progress at once (ours, and ones found
                       running on the host).
    block_migration:   "auto", True or False, as os-migrateLive takes it.
    target_hosts:      choose among these ourselves (round robin, capacity
                       check), naming `host` in the request; default: the
                       scheduler chooses.
    dry_run:           only plan: `run()` changes nothing.
    wait:              follow the migrations to the end (False: start what
                       max_concurrent allows and return).
    force:             take over a drain marker that looks alive.
    abort_on_interrupt: on stop(), abort running migrations instead of letting
                       them finish.
    timeout:           give up following one instance after this long.
    poll_interval:     seconds between two looks at each server in flight
                       (GET /servers/{id}, and its migration's progress).
    notice_interval:   seconds between two checks, with one request for all
                       the migrations in flight, for migrations that ended
                       (/os-migrations changes-since, 2.59+), while one of them
                       may end: an ended one is followed up at once, so a freed
                       slot is refilled within about this long. 0 or None: off
                       (then, and below 2.59, ends are noticed by the looks
                       every poll_interval).
    handle_signals:    when run in the main thread, SIGINT/SIGTERM call stop()
                       (a second SIGINT stops following at once).
    """

    def __init__(self, conn, host, reason=None, max_concurrent=2,
                 block_migration="auto", target_hosts=(), dry_run=False, wait=True,
                 force=False, abort_on_interrupt=False, timeout=1800.0,
                 poll_interval=0.5, observer=None, microversion=None,
                 handle_signals=True, settle=0.5, marker_check_interval=2.0,
                 notice_interval=0.05):
        if int(max_concurrent) < 1:
            raise ValueError("max_concurrent must be at least 1")
        self.cloud = as_cloud(conn, microversion)
        self.host = host
        self.reason = reason
        self.max_concurrent = int(max_concurrent)
        self.block_migration = block_migration
        self.targets = list(dict.fromkeys(target_hosts or ()))
        self.dry_run = dry_run
        self.wait = wait
        self.force = force
        self.abort_on_interrupt = abort_on_interrupt
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.notice_interval = notice_interval
        self.observer = observer or Observer()
        self.handle_signals = handle_signals
        self.settle = settle
        self.marker_check_interval = marker_check_interval

        self.reports = {}              # id -> InstanceReport, in listing order
        self.marker = None
        self.interrupted = False
        self.stop_reason = None
        self.max_in_progress = 0
        self._stop = threading.Event()
        self._hard = threading.Event()
        self._announced = set()
        self._incapable = set()        # hosts that refused rescued instances
        self._rr = 0
        self._reserved = {}            # host -> MB of our migrations in flight there
        self._hyp = {}
        self._hyp_at = None
        self._marker_checked = 0.0
        self._claimed_at = 0.0
        self._flavor_ram = {}
        self._started = time.monotonic()
        self._feed_since = None        # changes-since of the next feed request
        self._floor = self._floor_at = None   # see MigrationMixin._known_max_id
        self._feed_due = 0.0
        self._quickest = None          # seconds of the quickest end seen (_next_feed)
        self._feed_off = False
        self._pool = None              # request threads (_together)
        self._prefetched = {}          # url -> answer fetched ahead (_look)

    # --- control ----------------------------------------------------------
    def stop(self, abort=None, reason="interrupted"):
        """Stop starting migrations (thread- and signal-safe). Running ones
        finish, or are aborted if `abort` (default: abort_on_interrupt)."""
        if abort is not None:
            self.abort_on_interrupt = abort
        self.interrupted = True
        if self.stop_reason is None:
            self.stop_reason = reason
        self._stop.set()

    def stop_now(self):
        """Stop following at once: migrations still running are left to run."""
        self.stop()
        self._hard.set()

    def _on_signal(self, signum, _frame):
        if self.interrupted and signum == signal.SIGINT:
            self.stop_now()
            signal.signal(signal.SIGINT, signal.default_int_handler)
        else:
            self.stop(reason="interrupted (%s)" % signal.Signals(signum).name)

    def _install_signals(self):
        if not self.handle_signals or \
                threading.current_thread() is not threading.main_thread():
            return {}
        old = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            old[sig] = signal.signal(sig, self._on_signal)
        return old

    # --- run ----------------------------------------------------------------
    def run(self):
        self._started = time.monotonic()
        service = get_service(self.cloud, self.host)
        if self.targets or self.dry_run:
            # Otherwise the scheduler chooses, and the hypervisors are read
            # only for a retry (a large cloud's list is not free).
            self._hypervisors(refresh=True)
            self._check_targets()
        if self.dry_run:
            return self._plan(service)
        if service.get("state") == "down":
            self.observer.event("Warning: the compute service of %s is down; live "
                                "migrations from it will fail until it is up."
                                % self.host)
        old_handlers = self._install_signals()
        try:
            self._claim(service)
            try:
                self._scan(first=True)
                self._confirm_claim()
                for _round in range(5):
                    self._loop()
                    if self._stop.is_set() or not self.wait or not self._scan():
                        break
            finally:
                self._release()
                if self._pool is not None:
                    self._pool.shutdown(wait=True)
                    self._pool = None
        finally:
            for sig, handler in old_handlers.items():
                signal.signal(sig, handler)
        return self._result()

    def _check_targets(self):
        if self.host in self.targets:
            raise CliError("The drained host %s cannot be a target host." % self.host)
        unknown = [h for h in self.targets if h not in self._hyp]
        if unknown:
            raise CliError("Unknown target host%s: %s (hypervisors: %s)." % (
                "s" if len(unknown) > 1 else "", ", ".join(unknown),
                ", ".join(sorted(self._hyp)) or "none"))

    # --- instances ------------------------------------------------------------
    def _ram(self, server):
        flavor = server.get("flavor") or {}
        if "ram" in flavor:
            return flavor["ram"]
        flavor_id = flavor.get("id")
        if flavor_id is None:
            return None
        if flavor_id not in self._flavor_ram:
            try:
                self._flavor_ram[flavor_id] = self.cloud.get(
                    "/flavors/%s" % flavor_id)["flavor"]["ram"]
            except (ApiError, KeyError, TypeError):
                self._flavor_ram[flavor_id] = None
        return self._flavor_ram[flavor_id]

    def _classify(self, report, server):
        """Set `report` pending, waiting or done (not migratable) from `server`."""
        vm_state, task = _vm_state(server), server.get(TASK_STATE)
        report.vm_state = vm_state
        if task == "migrating" or server.get("status") == "MIGRATING":
            self._wait(report, "already migrating", on_migration=True)
        elif vm_state == "building":
            self._wait(report, "building")
        elif vm_state in LIVE_VM_STATES:
            if vm_state == "rescued" and \
                    not self.cloud.at_least(RESCUED_MICROVERSION):
                self._finish(report, NOT_MIGRATABLE, error=(
                    "RESCUE: rescued servers live-migrate only at microversion "
                    "%s (Lifeboat); this drain uses %s" % (
                        RESCUED_MICROVERSION, self.cloud.microversion)))
            elif task is not None:
                self._wait(report, "busy (task_state %s)" % task)
            else:
                report.state = "pending"
        else:
            reason = _NOT_MIGRATABLE.get(vm_state) or (
                "%s (vm_state %s): only ACTIVE, PAUSED and RESCUED servers can be "
                "live-migrated" % (server.get("status"), vm_state))
            self._finish(report, NOT_MIGRATABLE, error=reason)

    def _wait(self, report, why, on_migration=False):
        report.state = "waiting"
        report.waiting_for = why
        report.waiting_on_migration = on_migration
        report.wait_started = time.monotonic()
        self.observer.event("%s: %s; waiting for it." % (self._label(report), why))

    def _new_report(self, server):
        return InstanceReport(
            id=server["id"], name=server.get("name") or "", source=self.host,
            status_before=server.get("status"), vm_state=_vm_state(server),
            ram_mb=self._ram(server))

    def _scan(self, first=False):
        """List the host; add instances not seen yet. Returns how many of them
        are (or will be) live-migratable."""
        new = []
        for server in servers_on_host(self.cloud, self.host):
            if server["id"] not in self.reports:
                report = self._new_report(server)
                self.reports[report.id] = report
                new.append((report, server))
        if first:
            self.observer.begin(self)
        actionable = 0
        for report, server in new:
            if not first:
                self.observer.added(self, report)
            self._classify(report, server)
            if report.state != "done":
                actionable += 1
        return actionable

    def _label(self, report):
        return "%s (%s)" % (report.name or "-", report.id)

    def _finish(self, report, outcome, error=None, destination=None,
                status_after=None):
        report.state = "done"
        report.outcome = outcome
        if error is not None:
            report.error = error
        if destination is not None:
            report.destination = destination
        if status_after is not None:
            report.status_after = status_after
        if report.started_at is not None:
            report.ended_at = time.monotonic()
        self.observer.done(report)

    def _in_progress(self):
        """Migrations in flight: ours, except those the feed just showed final
        (their transfer is over: their slot is free before we have read the
        server back), and running ones we wait for."""
        return sum(1 for r in self.reports.values()
                   if (r.state == "migrating" and r.ended_record is None) or
                   (r.state == "waiting" and r.waiting_on_migration))

    # --- the loop ---------------------------------------------------------------
    def _loop(self):
        while not self._hard.is_set():
            self._check_marker()
            self._announce_stop()
            # The slots of the migrations the feed shows ended are refilled
            # first, then those ends are followed up, then the looks that are
            # due: with many migrations in flight a round of looks takes a
            # while, and a slot should not wait for it.
            ended = self._noticed_ends()
            if self._stop.is_set() and self.abort_on_interrupt:
                self._abort_running()
            if not self._stop.is_set():
                self._start_some()
            self._look(lambda r: r.id in ended, ended)
            self._look(lambda r: time.monotonic() >= r.next_look, ended)
            if not self._stop.is_set():
                self._fetch_ahead()
            self.max_in_progress = max(self.max_in_progress, self._in_progress())
            self.observer.tick(self)
            busy = any(r.state in ("migrating", "waiting")
                       for r in self.reports.values())
            pending = any(r.state == "pending" for r in self.reports.values())
            if not self.wait:
                break
            if not busy and (self._stop.is_set() or not pending):
                break
            self._hard.wait(self._round_interval())
        self._settle_leftovers()

    def _look(self, due, ended):
        """Poll every migrating or waiting server for which `due(report)`. The
        first request of each poll is made for all of them at once
        (`_together`); the polls then run one after the other on the answers."""
        reports = [r for r in self.reports.values()
                   if r.state in ("migrating", "waiting") and due(r)]
        if not reports or self._hard.is_set():
            return
        urls = [self._first_read(r, r.id in ended) for r in reports]
        self._prefetched = dict(zip(urls, self._together(self._fetch, urls)))
        try:
            for report in reports:
                if self._hard.is_set():
                    return
                report.next_look = time.monotonic() + self._look_interval(report)
                self._poll(report, ended_by_feed=report.id in ended)
        finally:
            self._prefetched = {}

    # --- requests in flight together ----------------------------------------------
    def _together(self, fn, items):
        """[fn(item) for item in items], up to PARALLEL_REQUESTS at once. `fn`
        only makes requests: the answers are applied by the caller, on this
        thread, so the reports and the display are never touched by two
        threads. An unexpected error (the API went away) is raised here."""
        if len(items) <= 1:
            return [fn(item) for item in items]
        if self._pool is None:
            self._pool = futures.ThreadPoolExecutor(PARALLEL_REQUESTS,
                                                    thread_name_prefix="drain")
        return list(self._pool.map(fn, items))

    def _fetch(self, url):
        """GET `url`: its body, or the ApiError (kept for `_read` to raise)."""
        try:
            return self.cloud.get(url)
        except ApiError as e:
            return e

    def _read(self, url):
        """GET `url`, or its answer fetched ahead by `_look` (once)."""
        found = self._prefetched.pop(url, None)
        if found is None:
            return self.cloud.get(url)
        if isinstance(found, ApiError):
            raise found
        return found

    def _announce_stop(self):
        if self.interrupted and "stop" not in self._announced:
            self._announced.add("stop")
            running = self._in_progress()
            self.observer.event(
                "Interrupted: no new migrations will start; %s %d running "
                "migration%s%s." % (
                    "aborting" if self.abort_on_interrupt else "waiting for",
                    running, "" if running == 1 else "s",
                    "" if self.abort_on_interrupt else
                    " (Ctrl-C again to stop following them; they go on)"))
        if self._hard.is_set() and "hard" not in self._announced:
            self._announced.add("hard")
            self.observer.event("Stopped following: running migrations go on; "
                                "re-run the drain to finish.")

    def _settle_leftovers(self):
        """Outcomes for what the loop left unfinished."""
        self._announce_stop()
        for report in self.reports.values():
            if report.state == "done":
                continue
            if report.state == "migrating":
                if self.wait:
                    self._finish(report, LEFT_RUNNING, error=(
                        "still migrating when the drain stopped following it"))
                else:
                    self._finish(report, STARTED, destination=report.current_destination)
            elif report.state == "waiting":
                self._finish(report, NOT_STARTED, error="%s when the drain %s" % (
                    report.waiting_for, "stopped" if self.wait else "returned"))
            else:
                why = self.stop_reason if self._stop.is_set() else (
                    "--no-wait: at most %d at a time; run the drain again"
                    % self.max_concurrent)
                self._finish(report, NOT_STARTED, error=why)

    def _start_some(self):
        while self._in_progress() < self.max_concurrent and not self._stop.is_set():
            pending = [r for r in self.reports.values() if r.state == "pending"]
            if not pending:
                return
            free = self.max_concurrent - self._in_progress()
            together = list(itertools.takewhile(self._scheduler_places, pending))[:free]
            if len(together) > 1:
                self._start_together(together)
            elif not self._start(pending[0]):
                return

    def _scheduler_places(self, report):
        """A first attempt with no target hosts: nothing of ours to choose or
        reserve, so it can be requested together with others."""
        return not self.targets and not report.failures

    # --- result ------------------------------------------------------------------------
    def _result(self):
        self.observer.end(self)
        remaining = []
        service = {}
        try:
            remaining = [{"id": s["id"], "name": s.get("name"),
                          "status": s.get("status")}
                         for s in servers_on_host(self.cloud, self.host)]
            service = _service_summary(get_service(self.cloud, self.host))
        except (ApiError, CliError) as e:
            self.observer.event("Could not list %s at the end: %s" % (self.host, e))
            remaining = [{"id": r.id, "name": r.name, "status": r.status_after}
                         for r in self.reports.values() if r.outcome != MIGRATED]
        return DrainResult(
            host=self.host, dry_run=False, instances=list(self.reports.values()),
            remaining=remaining, service=service, interrupted=self.interrupted,
            stop_reason=self.stop_reason, max_in_progress=self.max_in_progress,
            duration=time.monotonic() - self._started,
            microversion=self.cloud.microversion)

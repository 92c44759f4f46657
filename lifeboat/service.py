"""A running service: its database row, heartbeat, periodic tasks and RPC server.

Every binary (conductor, scheduler, compute) runs through this one class, in its
own process or side by side in the all-in-one.

Each service has three background jobs: the heartbeat (every report_interval),
the manager's periodic tasks (every periodic_interval) and, for computes, the
migration reconciliation (every [compute] reconcile_interval). On its own a
service runs each job on a thread of its own. Given a `Ticker` (the all-in-one
passes one shared by all its compute services) it adds them to the ticker
instead, so a thousand simulated hosts cost a handful of threads, not 3,000.
Given `HostJobs` (lifeboat/host_jobs.py; the all-in-one's computes) its three
jobs are served with those of the other services of the process, a slice of
them per statement.
"""
import heapq
import itertools
import logging
import random
import threading
import time
from concurrent import futures

from lifeboat import rpc
from lifeboat.conf import CONF
from lifeboat.db import services as db_services

LOG = logging.getLogger(__name__)

# Version of the service code. Bump when a service learns something others
# must check for. 2 = live migration of rescued instances (microversion 2.105).
SERVICE_VERSION = 2
MIN_VERSION_RESCUED_LIVE_MIGRATION = 2

# Binary names as the real clients and Tempest filter on them.
BINARIES = {"compute": "nova-compute", "conductor": "nova-conductor",
            "scheduler": "nova-scheduler"}

# A service's background jobs: name -> (what the logs call it, log the
# traceback of a failure, log the recovery).
_JOBS = {"heartbeat": ("heartbeat", False, True),
         "periodic": ("periodic tasks", True, False),
         "reconcile": ("migration reconciliation", True, False)}

# How long stop() waits for each of its own threads or jobs in progress.
_STOP_WAIT = 5


def reported_version(host):
    """The service version a compute service on `host` reports: the real one,
    unless the test-only [compute] report_service_version says otherwise."""
    from lifeboat.conf import CONF
    pinned = CONF.compute.report_service_version
    hosts = CONF.compute.report_service_version_hosts
    if pinned is not None and (not hosts or host in hosts):
        return pinned
    return SERVICE_VERSION


class Service:
    """Runs `manager` (an object with optional `periodic_tasks()` and
    `report()` methods) as `topic` on `host`.

    ticker: a `Ticker` to run the background jobs on; without one each job
    has its own thread.
    host_jobs: a `lifeboat.host_jobs.HostJobs` that runs this service's
    heartbeat, periodic tasks and reconciliation together with those of the
    other compute services of the process, instead of jobs of its own.
    """

    def __init__(self, host, topic, manager, version=SERVICE_VERSION, ticker=None,
                 host_jobs=None):
        self.host = host
        self.topic = topic
        self.binary = BINARIES[topic]
        self.manager = manager
        self.version = version
        self.service_ref = None
        self._stop = threading.Event()
        self._ticker = ticker
        self._host_jobs = host_jobs
        self._threads = []
        self._jobs = []
        self._runs = {}                # job name -> its guarded run
        self._rpc_server = None

    def start(self):
        # Registering marks the service up and report() creates or refreshes
        # its compute node, here and now: the host is usable as soon as
        # start() returns, whenever the first periodic heartbeat comes.
        self.service_ref = db_services.register(self.host, self.binary, self.topic,
                                                self.version)
        self.manager.service_ref = self.service_ref
        if self.topic == "conductor":
            # Before taking messages: what a previous conductor process on this
            # host died with (compute/reconcile.py).
            from lifeboat.compute import reconcile
            reconcile.recover_conductor(self.host)
        if hasattr(self.manager, "init_host"):
            self.manager.init_host()
        if hasattr(self.manager, "report"):
            self.manager.report()
        self._rpc_server = rpc.get_server(self.topic, self.host, self.manager)
        names = ["heartbeat"]
        if hasattr(self.manager, "periodic_tasks"):
            names.append("periodic")
        if self.topic == "compute":
            names.append("reconcile")
        self._runs = {name: self._guarded(name) for name in names}
        if self._host_jobs is not None:
            self._host_jobs.add(self)
        else:
            for name in names:
                self._spawn(name)
        LOG.info("%s started on %s (version %s)", self.binary, self.host, self.version)

    # --- the background jobs ---------------------------------------------
    def run_job(self, name, **share):
        """One run of job `name` ("heartbeat", "periodic", "reconcile"), logged
        as the service's own runs are. `share`: what HostJobs read for a
        slice of services at once (see the `_<name>_once` methods)."""
        self._runs[name](**share)

    def _heartbeat_once(self, marked_up=False):
        """Mark the service up (unless HostJobs did: `marked_up`), then audit
        the usage if an RPC method changed it since the last audit."""
        if not marked_up:
            db_services.heartbeat(self.service_ref.id, self.version)
        if hasattr(self.manager, "report"):
            self.manager.report(only_if_changed=True)

    def _periodic_once(self, **share):
        self.manager.periodic_tasks(**share)

    def _reconcile_once(self, unfinished=None):
        from lifeboat.compute import reconcile
        reconcile.periodic(self.manager, unfinished)

    @staticmethod
    def _interval(name):
        return {"heartbeat": CONF.report_interval,
                "periodic": CONF.periodic_interval,
                "reconcile": CONF.compute.reconcile_interval}[name]

    def _spawn(self, name):
        """Run job `name` at its interval until stop(): on the ticker if there
        is one (first run spread over the interval), else on a thread of its
        own (first run one interval after start)."""
        run, interval = self._runs[name], self._interval(name)
        if self._ticker is not None:
            what = "%s of %s on %s" % (_JOBS[name][0], self.binary, self.host)
            self._jobs.append(self._ticker.add(interval, run, self._stop, what))
            return
        t = threading.Thread(target=self._loop, args=(run, interval), daemon=True,
                             name="%s-%s-%s" % (self.topic, self.host, name))
        t.start()
        self._threads.append(t)

    def _guarded(self, name):
        """`_<name>_once` that logs a failure once per outage, not every
        interval, and never raises."""
        once = getattr(self, "_%s_once" % name)
        what, traceback, recovery = _JOBS[name]
        interval = self._interval(name)
        failing = False

        def run(**share):
            nonlocal failing
            try:
                once(**share)
            except Exception as e:
                if not failing:
                    (LOG.exception if traceback else LOG.error)(
                        "%s of %s on %s failed (%s); retrying every %ss", what,
                        self.binary, self.host, _short(e), interval)
                failing = True
                return
            if failing and recovery:
                LOG.info("%s of %s on %s recovered", what, self.binary, self.host)
            failing = False
        return run

    def _loop(self, run, interval):
        while not self._stop.wait(interval):
            run()

    def stop(self):
        """Stop taking RPC messages and wait for the handlers in progress, then
        the service's own threads, or its ticker jobs' runs in progress (the
        jobs are dropped from the ticker at once). The caller bounds the wait
        (lifeboat.cmd.services)."""
        self._stop.set()
        if self._host_jobs is not None:
            self._host_jobs.remove(self)
        for job in self._jobs:
            self._ticker.cancel(job)
        if self._rpc_server is not None:
            self._rpc_server.stop()
        for t in self._threads:
            t.join(timeout=_STOP_WAIT)
        for job in self._jobs:
            job.wait(timeout=_STOP_WAIT)
        if hasattr(self.manager, "cleanup_host"):
            self.manager.cleanup_host()


class _Job:
    """One job of a Ticker; wait() returns once no run of it is queued or in
    progress."""

    __slots__ = ("interval", "fn", "stop_event", "what", "failing", "cancelled",
                 "idle")

    def __init__(self, interval, fn, stop_event, what):
        self.interval = interval
        self.fn = fn
        self.stop_event = stop_event
        self.what = what
        self.failing = False
        self.cancelled = False
        self.idle = threading.Event()
        self.idle.set()

    def wait(self, timeout=None):
        """True once no run is queued or in progress (False on timeout)."""
        return self.idle.wait(timeout)


class Ticker:
    """Runs many periodic jobs on one timer thread and `workers` threads.

    A job is (interval, fn, stop_event). Its first run is spread uniformly
    over its interval so a thousand services do not beat in step; each next
    run is due `interval` seconds after the previous one started (at once if
    that run took longer). A job is only rescheduled once its run is over, so
    two runs of one job never overlap. A job whose stop_event is set (or that
    is cancelled) is dropped: its queued run is skipped and it is not
    rescheduled; a run in progress finishes. A job that raises is logged once
    per outage (Service's jobs log their own failures and never raise).

    At most `workers` jobs run at once, whatever the number of jobs: that
    bounds the database connections background work takes from the API. The
    timer only pops due jobs and hands them to the workers; when the workers
    fall behind by more than a job's interval, a warning says so (at most
    once a minute).
    """

    def __init__(self, workers=4, name="ticker"):
        self.workers = workers
        self._heap = []          # (due, seq, job), by due time
        self._seq = itertools.count()
        self._jobs = set()       # jobs not dropped yet
        self._cv = threading.Condition()
        self._stopped = False
        self._running = 0        # runs handed to the pool and not finished
        self._warned = None      # when "behind" was last logged
        self._pool = futures.ThreadPoolExecutor(
            workers, thread_name_prefix="%s-worker" % name)
        self._thread = threading.Thread(target=self._timer, daemon=True,
                                        name="%s-timer" % name)
        self._thread.start()

    def add(self, interval, fn, stop_event, what, first=None):
        """Run fn() every `interval` seconds until stop_event is set; the first
        run after `first` seconds (default: uniformly random within
        [0, interval]). Returns the job (job.wait(timeout) waits for a run in
        progress)."""
        job = _Job(interval, fn, stop_event, what)
        delay = random.uniform(0, interval) if first is None else first
        with self._cv:
            if self._stopped:
                raise RuntimeError("ticker stopped; cannot add %s" % what)
            self._jobs.add(job)
            self._push(time.monotonic() + delay, job)
        return job

    def cancel(self, job):
        """Drop `job` now rather than when it is next due (a run in progress
        finishes; job.wait() waits for it)."""
        with self._cv:
            job.cancelled = True
            self._jobs.discard(job)

    def jobs(self):
        """Names (`what`) of the jobs not dropped yet."""
        with self._cv:
            return sorted(job.what for job in self._jobs)

    @staticmethod
    def _done(job):
        return job.cancelled or job.stop_event.is_set()

    def _push(self, due, job):  # under self._cv
        heapq.heappush(self._heap, (due, next(self._seq), job))
        if self._heap[0][2] is job:
            self._cv.notify()

    def _drop(self, job):  # under self._cv
        self._jobs.discard(job)
        job.idle.set()

    def _timer(self):
        with self._cv:
            while not self._stopped:
                if not self._heap:
                    self._cv.wait()
                    continue
                due, _seq, job = self._heap[0]
                delay = due - time.monotonic()
                if delay > 0:
                    self._cv.wait(delay)
                    continue
                heapq.heappop(self._heap)
                if self._done(job):
                    self._drop(job)
                    continue
                job.idle.clear()
                self._running += 1
                # Under the lock: stop() shuts the pool down only after
                # setting _stopped, so no submit can come after shutdown.
                self._pool.submit(self._run, job, due)

    def _run(self, job, due):
        started = time.monotonic()
        try:
            if self._stopped or self._done(job):
                return
            self._check_lag(job, started - due)
            try:
                job.fn()
            except Exception as e:
                if not job.failing:
                    LOG.exception("%s failed (%s); retrying every %ss", job.what,
                                  _short(e), job.interval)
                job.failing = True
            else:
                if job.failing:
                    LOG.info("%s recovered", job.what)
                job.failing = False
        finally:
            with self._cv:
                self._running -= 1
                if self._stopped or self._done(job):
                    self._drop(job)
                else:
                    self._push(started + job.interval, job)
                    job.idle.set()
                if self._stopped:
                    self._cv.notify_all()  # stop() waits for _running == 0

    def _check_lag(self, job, late):
        # Behind by more than an interval, and by a second at least: a job of
        # a sub-second interval (a slice of HostJobs at a test's 1 s
        # report_interval) a few tenths late is not workers falling behind.
        if late <= max(job.interval, 1.0):
            return
        now = time.monotonic()
        if self._warned is not None and now - self._warned < 60:
            return
        self._warned = now
        LOG.warning("%s started %.1fs late: the %d ticker workers cannot keep up "
                    "with %d jobs ([all_in_one] timer_workers)", job.what, late,
                    self.workers, len(self._jobs))

    def stop(self, timeout=10):
        """Stop running jobs: none starts after this; runs in progress are
        waited for up to `timeout` seconds, then the threads end. True if
        everything ended within the timeout."""
        deadline = time.monotonic() + timeout
        with self._cv:
            if self._stopped:
                return True
            self._stopped = True
            self._cv.notify_all()
        self._thread.join(timeout)
        # Runs still queued in the pool see _stopped and return at once.
        self._pool.shutdown(wait=False)
        with self._cv:
            while self._running:
                left = deadline - time.monotonic()
                if left <= 0:
                    LOG.warning("ticker stopped with %d runs still in progress",
                                self._running)
                    return False
                self._cv.wait(left)
            for job in list(self._jobs):
                self._drop(job)
            self._heap = []
        self._pool.shutdown(wait=True)  # idle workers: ends them at once
        return not self._thread.is_alive()


def _short(error):
    text = str(error).strip().splitlines()
    return "%s: %s" % (type(error).__name__, text[0] if text else "")

"""Database reads the scheduler keeps between decisions.

Why: reading everything fresh made a decision cost 390 ms (p50) at 1,000 hosts
and 100,000 instances, almost all of it in summing usage over every instance
(`db.instances.usage_by_host`, a GROUP BY over the whole instances table) and in
loading every compute node's JSON columns. Neither changes at the rate decisions
come, so the scheduler keeps them (`Snapshot`) and re-reads them on a timer.

A `Snapshot` is re-read in a background thread once half its maximum age has
passed, so a steady stream of decisions never waits for the read; a decision
that finds it older than its maximum age (after an idle spell) re-reads it
itself first. So no decision sees a snapshot read longer than the maximum age
before it.

`UsageSnapshot` adds the scheduler's own placements to what it read, at once (as
Nova's HostState.consume_from_request), and keeps them across re-reads until the
database can be trusted to show them; its docstring says how.
"""
import collections
import logging
import threading
import time

from lifeboat.conf import CONF
from lifeboat.db import instances as db_instances

LOG = logging.getLogger(__name__)

# How long stop() waits for a background read in progress.
_STOP_WAIT = 5


class Snapshot:
    """The value of `read()`, re-read when it gets old.

    Thread-safe: decisions (serialized by the scheduler's lock) call get(),
    refresh() and update(); a background thread installs re-reads. A read that
    began before the one installed is dropped, so the value only moves forward.
    """

    def __init__(self, read, what, clock=time.monotonic):
        self._read = read
        self.what = what
        self._clock = clock
        self._lock = threading.Lock()
        self._value = None
        self._read_at = None       # clock() when the installed read began
        self._worker = None
        self._stopped = False

    def get(self, max_age):
        """The value, read at most `max_age` seconds ago."""
        with self._lock:
            value, read_at = self._value, self._read_at
        age = None if read_at is None else self._clock() - read_at
        if age is None or age >= max_age:
            return self.refresh()
        if age >= max_age / 2:
            self._start_background()
        return value

    def refresh(self):
        """Read now, in this thread; returns the new value."""
        began = self._clock()
        value = self._read()
        with self._lock:
            self._install(began, value)
            return self._value

    def update(self, changes):
        """Merge `changes` (a dict) into the value, keeping its read time: for
        rows read on their own (a compute node seen for the first time)."""
        with self._lock:
            value = dict(self._value or {})
            value.update(changes)
            self._value = value
            return value

    def stop(self):
        """No more background reads; wait for one in progress."""
        with self._lock:
            self._stopped = True
            worker = self._worker
        if worker is not None:
            worker.join(timeout=_STOP_WAIT)

    # --- internals (self._lock held where said) ---------------------------
    def _install(self, began, value):  # under self._lock
        if self._read_at is not None and began <= self._read_at:
            return
        self._value, self._read_at = self._merge(began, value), began

    def _merge(self, began, value):  # under self._lock
        return value

    def _start_background(self):
        with self._lock:
            if self._stopped or (self._worker is not None and self._worker.is_alive()):
                return
            self._worker = threading.Thread(
                target=self._background, daemon=True,
                name="scheduler-%s-refresh" % self.what.replace(" ", "-"))
            self._worker.start()

    def _background(self):
        began = self._clock()
        try:
            value = self._read()
        except Exception as e:
            # The next decision past the maximum age reads it itself and
            # fails as a decision would have without the cache.
            LOG.warning("Re-reading %s for the scheduler failed: %s", self.what, e)
            return
        with self._lock:
            if not self._stopped:
                self._install(began, value)


class UsageSnapshot(Snapshot):
    """{host: (instances, vcpus, memory_mb, disk_gb)}: `usage_by_host()` as last
    read, plus what this scheduler placed since.

    How stale it can be (R = [filter_scheduler] host_usage_refresh_seconds,
    G = [filter_scheduler] placement_settle_seconds):

    * A placement of this scheduler counts from the moment it is made
      (`consume`), so boots faster than the re-reads never overfill a host.
    * The conductor records a placement (the instance's host, or the migration's
      destination and status) only after the scheduler answers, so a re-read may
      miss the latest ones. A re-read therefore adds again every placement made
      less than G before it began. One the database already shows then counts
      twice until the next re-read: the error makes hosts look fuller, never
      emptier.
    * What frees resources (a delete, a failed build, a migration that moved an
      instance away) shows at the next re-read, at most R seconds later; until
      then hosts look fuller than they are. So when no host fits, the scheduler
      calls `refresh(settled=True)` before answering NoValidHost: it waits until
      its last placement is G old and reads, adding nothing twice, so a host
      freed a moment ago is usable at once.
    * What it cannot know before a re-read (at most R seconds): placements by
      another scheduler process, and forced live migrations (they skip the
      scheduler); nor, at a re-read, a placement of its own whose record took
      longer than G. That is the race any scheduler without claims has between
      its decision and the record of it: the former read-per-decision scheduler
      had it at every decision, between its read and the conductor's write.
    """

    def __init__(self, read=None, clock=time.monotonic, sleep=time.sleep):
        super().__init__(read or db_instances.usage_by_host, "host usage", clock)
        self._sleep = sleep
        self._placements = collections.deque()   # (clock(), host, usage), in order

    def consume(self, host, flavor):
        """Count `flavor` on `host` now (Nova's HostState.consume_from_request)."""
        usage = (1, flavor["vcpus"], flavor["memory_mb"],
                 flavor.get("root_gb", 0) + flavor.get("ephemeral_gb", 0))
        with self._lock:
            self._placements.append((self._clock(), host, usage))
            if self._value is not None:
                self._value[host] = _add(
                    self._value.get(host, db_instances.NO_USAGE), usage)

    def refresh(self, settled=False):
        """Read now. settled: first wait until the last placement is
        placement_settle_seconds old, so the read shows all of them (the
        caller holds the scheduler's lock, so none comes meanwhile)."""
        if settled:
            with self._lock:
                last = self._placements[-1][0] if self._placements else None
            if last is not None:
                wait = last + CONF.filter_scheduler.placement_settle_seconds \
                    - self._clock()
                if wait > 0:
                    self._sleep(wait)
        return super().refresh()

    def _merge(self, began, value):  # under self._lock
        cutoff = began - CONF.filter_scheduler.placement_settle_seconds
        while self._placements and self._placements[0][0] <= cutoff:
            self._placements.popleft()
        usage = dict(value)
        for _when, host, placed in self._placements:
            usage[host] = _add(usage.get(host, db_instances.NO_USAGE), placed)
        return usage


def _add(a, b):
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3])

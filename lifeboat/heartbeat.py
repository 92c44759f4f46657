"""The heartbeats of the many compute services of one process, written together.

A service on its own marks itself up with one UPDATE every report_interval.
In the all-in-one at 1,000 simulated hosts that is a hundred transactions a
second: the largest share of an idle cloud's work, and time that a busy
cloud's migrations wait for. `HeartbeatBatch` is one job on the process's
`Ticker` instead: every report_interval / SLICES seconds it marks one slice
of the services up with a single UPDATE (ids IN ...). Every service still
beats once per report_interval, the slices spread the writes over the
interval, and the API sees the same updated_at and report_count as before.

After the UPDATE, each service of the slice runs what its own heartbeat
would run next (`Service.after_heartbeat`: the usage audit when an RPC method
changed it). A failed UPDATE is logged by the Ticker once per outage and the
slice beats again at its next turn; a service whose after-heartbeat step
fails is logged once per outage too.
"""
import itertools
import logging
import threading

from lifeboat.db import services as db_services

LOG = logging.getLogger(__name__)

SLICES = 10


class HeartbeatBatch:
    """Heartbeats of the services `add`ed, every `interval` seconds each."""

    def __init__(self, ticker, interval, slices=SLICES):
        self._slices = [{} for _ in range(slices)]   # service_id -> Service
        self._turn = itertools.cycle(range(slices))
        self._place = itertools.cycle(range(slices))
        # Held for a whole tick: remove() returns only once no UPDATE that
        # could still mark the removed service up is in progress.
        self._lock = threading.Lock()
        self._failing = set()
        self._stop = threading.Event()
        self._job = ticker.add(interval / slices, self._tick, self._stop,
                               "heartbeats of the compute services")

    def add(self, service):
        with self._lock:
            self._slices[next(self._place)][service.service_ref.id] = service

    def remove(self, service):
        """Leave `service` out from now on (after a tick in progress ends)."""
        with self._lock:
            for members in self._slices:
                members.pop(service.service_ref.id, None)

    def stop(self):
        self._stop.set()

    def _tick(self):
        with self._lock:
            members = list(self._slices[next(self._turn)].values())
            if not members:
                return
            by_version = {}
            for service in members:
                by_version.setdefault(service.version, []).append(service.service_ref.id)
            for version, ids in by_version.items():
                db_services.heartbeat_many(ids, version)
            for service in members:
                self._after(service)

    def _after(self, service):
        try:
            service.after_heartbeat()
        except Exception:
            if service.host not in self._failing:
                LOG.exception("heartbeat of %s on %s: its usage report failed; "
                              "retrying at its next heartbeat", service.binary,
                              service.host)
                self._failing.add(service.host)
            return
        if service.host in self._failing:
            self._failing.discard(service.host)
            LOG.info("heartbeat of %s on %s recovered", service.binary, service.host)

"""The background jobs of the many compute services of one process, batched.

A service on its own runs three jobs: its heartbeat (an UPDATE every
report_interval), its periodic tasks (its usage summed, every
periodic_interval) and its migration reconciliation (its unfinished
migrations read, every [compute] reconcile_interval). In the all-in-one at
1,000 simulated hosts that is about 130 transactions a second. It was nearly
all of an idle cloud's work, and it took time that a busy cloud's migrations
waited for.

`HostJobs` runs each kind as one `SlicedJob` on the process's `Ticker`. Every
interval / SLICES seconds a SlicedJob takes one slice of the services: one
tenth of them, placed round robin as they start. It serves that slice with one
statement for all of them: one UPDATE ... WHERE id IN (...), one usage sum
GROUP BY host, one read of the unfinished migrations. Then it hands each
service its share. Every service still beats, audits and reconciles once per
interval, spread over the interval, and the API shows the same as before.

Failures. A failed statement is logged by the Ticker once per outage, and the
slice is served again at its next turn. A service's own step runs through
`Service.run_job`: it fails, logs and recovers as the service's own job would,
and the others of its slice go on.
"""
import itertools
import threading

from lifeboat.conf import CONF
from lifeboat.db import instances as db_instances
from lifeboat.db import migrations as db_migrations
from lifeboat.db import services as db_services

SLICES = 10


class SlicedJob:
    """`run(services)` on one slice of the services `add`ed, every
    `interval / slices` seconds, so each service is served every `interval`."""

    def __init__(self, ticker, interval, run, what, slices=SLICES):
        self._run = run
        self._slices = [{} for _ in range(slices)]   # service_id -> Service
        self._turn = itertools.cycle(range(slices))
        self._place = itertools.cycle(range(slices))
        self._members = threading.Lock()
        # Held while a slice is served: remove() returns only once nothing
        # that started before it can still act for the removed service.
        self._serving = threading.Lock()
        self._stop = threading.Event()
        ticker.add(interval / slices, self._tick, self._stop, what)

    def add(self, service):
        with self._members:
            self._slices[next(self._place)][service.service_ref.id] = service

    def remove(self, service):
        """Leave `service` out from now on (after a slice being served)."""
        with self._members:
            for members in self._slices:
                members.pop(service.service_ref.id, None)
        with self._serving:
            pass

    def stop(self):
        self._stop.set()

    def _tick(self):
        with self._serving:
            with self._members:
                services = list(self._slices[next(self._turn)].values())
            if services:
                self._run(services)


# Each hands every service of the slice its share through Service.run_job, so
# a service's own step fails, logs and recovers as it would on its own.
def _beat(services):
    by_version = {}
    for service in services:
        by_version.setdefault(service.version, []).append(service.service_ref.id)
    for version, ids in by_version.items():
        db_services.heartbeat_many(ids, version)
    for service in services:
        service.run_job("heartbeat", marked_up=True)


def _periodic(services):
    usage = db_instances.usage_by_host(hosts=[s.host for s in services])
    for service in services:
        service.run_job("periodic",
                        usage=usage.get(service.host, db_instances.NO_USAGE))


def _reconcile(services):
    unfinished = db_migrations.unfinished_from_hosts([s.host for s in services])
    for service in services:
        service.run_job("reconcile", unfinished=unfinished.get(service.host, []))


class HostJobs:
    """The three SlicedJobs of a process's compute services (the all-in-one)."""

    def __init__(self, ticker):
        self.heartbeat = SlicedJob(ticker, CONF.report_interval, _beat,
                                   "heartbeats of the compute services")
        self.periodic = SlicedJob(ticker, CONF.periodic_interval, _periodic,
                                  "periodic tasks of the compute services")
        self.reconcile = SlicedJob(ticker, CONF.compute.reconcile_interval,
                                   _reconcile, "migration reconciliation of the "
                                   "compute services")
        self._jobs = (self.heartbeat, self.periodic, self.reconcile)

    def add(self, service):
        for job in self._jobs:
            job.add(service)

    def remove(self, service):
        for job in self._jobs:
            job.remove(service)

    def stop(self):
        for job in self._jobs:
            job.stop()

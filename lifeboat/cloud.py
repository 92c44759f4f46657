"""A whole Lifeboat cloud in one process: api + conductor + scheduler + one
compute manager per host, over the in-process RPC transport.

Used by `lifeboat-all-in-one`, the test fixtures and the benchmarks, so all
three run exactly the same code.
"""
import logging
import threading

from lifeboat import rpc
from lifeboat import service as lb_service
from lifeboat.conf import CONF
from lifeboat.host_jobs import HostJobs

LOG = logging.getLogger(__name__)


def seed():
    """Default flavors and the boot and rescue images, on first start only."""
    from lifeboat.db import catalog
    from lifeboat.image import api as image_api
    catalog.seed_flavors()
    image_api.ensure_seed_images()


class Cloud:
    """Start and stop the services of an all-in-one deployment.

    The compute services' background jobs (heartbeat, periodic tasks,
    reconciliation) run on one `Ticker` shared by all of them, each kind as
    one job serving a slice of the hosts per statement (`HostJobs`), with
    [all_in_one] timer_workers threads, whatever the number of hosts: three
    threads per simulated host would be 3,000 threads at 1,000 hosts, all
    competing for the database pool, and the cloud could not start. The
    ticker is used always, not only past some number of hosts, so every
    all-in-one (the tests' included) runs the code that runs at scale. The
    conductor and the scheduler keep their own threads (two services), so
    their heartbeats never wait behind the computes' jobs. The separate
    service binaries (lifeboat-compute...) have no ticker: one thread per job.
    """

    def __init__(self, compute_hosts=None):
        self.compute_hosts = list(compute_hosts or CONF.all_in_one.compute_hosts)
        self.services = []
        self.computes = {}
        self.ticker = None
        self.host_jobs = None

    def start(self):
        """Start every service; if one fails, stop those started and raise."""
        from lifeboat.compute.manager import ComputeManager
        from lifeboat.conductor.manager import ConductorManager
        from lifeboat.db import schema
        from lifeboat.scheduler.manager import SchedulerManager
        schema.sync()
        if CONF.all_in_one.seed:
            seed()
        self.ticker = lb_service.Ticker(workers=CONF.all_in_one.timer_workers)
        self.host_jobs = HostJobs(self.ticker)
        try:
            self._start(lb_service.Service(CONF.host, "conductor",
                                           ConductorManager()))
            self._start(lb_service.Service(CONF.host, "scheduler",
                                           SchedulerManager()))
            for host in self.compute_hosts:
                self.start_compute(host, ComputeManager(host))
        except BaseException:
            self.stop()
            raise
        return self

    def start_compute(self, host, manager, version=None):
        version = version or lb_service.reported_version(host)
        svc = lb_service.Service(host, "compute", manager, version=version,
                                 ticker=self.ticker, host_jobs=self.host_jobs)
        self._start(svc)
        self.computes[host] = manager
        return svc

    def _start(self, svc):
        svc.start()
        self.services.append(svc)

    def stop(self):
        for svc in reversed(self.services):
            try:
                svc.stop()
            except Exception:
                LOG.exception("stopping %s failed", svc.binary)
        self.services = []
        if self.host_jobs is not None:
            self.host_jobs.stop()
            self.host_jobs = None
        if self.ticker is not None:
            self.ticker.stop()
            self.ticker = None
        rpc.cleanup()


def serve_api(app, stop_event=None):
    """Run uvicorn on [api] listen/port until Ctrl-C (or stop_event)."""
    import uvicorn
    config = uvicorn.Config(app, host=CONF.api.listen, port=CONF.api.port,
                            log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    if stop_event is not None:
        def _watch():
            stop_event.wait()
            server.should_exit = True
        threading.Thread(target=_watch, daemon=True).start()
    server.run()

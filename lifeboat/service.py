"""A running service: its database row, heartbeat, periodic tasks and RPC server.

Every binary (conductor, scheduler, compute) runs through this one class, in its
own process or side by side in the all-in-one.
"""
import logging
import threading

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
    `report()` methods) as `topic` on `host`."""

    def __init__(self, host, topic, manager, version=SERVICE_VERSION):
        self.host = host
        self.topic = topic
        self.binary = BINARIES[topic]
        self.manager = manager
        self.version = version
        self.service_ref = None
        self._stop = threading.Event()
        self._threads = []
        self._rpc_server = None

    def start(self):
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
        self._spawn(self._heartbeat_loop, CONF.report_interval, "heartbeat")
        if hasattr(self.manager, "periodic_tasks"):
            self._spawn(self._periodic_loop, CONF.periodic_interval, "periodic")
        if self.topic == "compute":
            self._spawn(self._reconcile_loop, CONF.compute.reconcile_interval,
                        "reconcile")
        LOG.info("%s started on %s (version %s)", self.binary, self.host, self.version)

    def _spawn(self, target, interval, name):
        t = threading.Thread(target=target, args=(interval,), daemon=True,
                             name="%s-%s-%s" % (self.topic, self.host, name))
        t.start()
        self._threads.append(t)

    def _heartbeat_loop(self, interval):
        failing = False
        while not self._stop.wait(interval):
            try:
                db_services.heartbeat(self.service_ref.id, self.version)
                if hasattr(self.manager, "report"):
                    self.manager.report()
            except Exception as e:
                # Logged once per outage, not every interval.
                if not failing:
                    LOG.error("heartbeat of %s on %s failed (%s); retrying every "
                              "%ss", self.binary, self.host, _short(e), interval)
                failing = True
                continue
            if failing:
                LOG.info("heartbeat of %s on %s recovered", self.binary, self.host)
            failing = False

    def _periodic_loop(self, interval):
        self._loop(interval, self.manager.periodic_tasks, "periodic tasks")

    def _reconcile_loop(self, interval):
        from lifeboat.compute import reconcile
        self._loop(interval, lambda: reconcile.periodic(self.manager),
                   "migration reconciliation")

    def _loop(self, interval, fn, what):
        failing = False
        while not self._stop.wait(interval):
            try:
                fn()
            except Exception as e:
                if not failing:
                    LOG.exception("%s of %s on %s failed (%s); retrying every %ss",
                                  what, self.binary, self.host, _short(e), interval)
                failing = True
                continue
            failing = False

    def stop(self):
        """Stop taking RPC messages and wait for the handlers in progress, then
        the service's own threads. The caller bounds the wait
        (lifeboat.cmd.services)."""
        self._stop.set()
        if self._rpc_server is not None:
            self._rpc_server.stop()
        for t in self._threads:
            t.join(timeout=5)
        if hasattr(self.manager, "cleanup_host"):
            self.manager.cleanup_host()


def _short(error):
    text = str(error).strip().splitlines()
    return "%s: %s" % (type(error).__name__, text[0] if text else "")

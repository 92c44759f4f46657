"""Draining a compute host: the logic behind `lifeboat host drain|undrain`.

Usable from Python as well as from the CLI (see docs/drain.md)::

    import openstack
    from lifeboat.cli.drain import Drainer
    conn = openstack.connect(cloud="lifeboat")
    result = Drainer(conn, "host1", reason="kernel upgrade", max_concurrent=3).run()
    print(result.empty, [r.outcome for r in result.instances])

Everything goes through the public Compute API (the SDK's compute proxy at
the microversion chosen as the CLI chooses it: 2.105 against Lifeboat):

1. GET /os-services?host=H&binary=nova-compute, then disable the service with
   a *drain marker* in its disabled reason,
   ``lifeboat-drain:<pid>@<node>:<started-at> <reason>``; the marker is how a
   second drain of the same host learns that one is running (the API has no
   compare-and-swap, see `Marker` for what remains racy).
2. GET /servers/detail?all_tenants=1&host=H: ACTIVE, PAUSED and (at 2.105)
   RESCUED servers are live-migrated, at most `max_concurrent` at a time; the
   others (SHUTOFF, SUSPENDED, ERROR, ...) are reported as not migratable.
   A server that is busy (a task_state, or a migration from an earlier run) is
   waited for, then migrated; a 409 because of a task_state is the same.
3. Destinations: the scheduler's choice, or with `target_hosts` our own round
   robin among them with a capacity check (GET /os-hypervisors/detail). A
   migration that fails is retried once, naming another host (enabled, up,
   not the drained host, not the one that failed, with room).
4. At the end the marker is removed from the reason (the service stays
   disabled: the host is in maintenance) and the host is listed again: the
   drain succeeded only if it is empty.

`Drainer.stop()` (the CLI's Ctrl-C) stops starting migrations; the running
ones finish, or are aborted with `abort_on_interrupt`. Running the drain again
picks up what is left.
"""
import dataclasses
import datetime
import logging
import os
import re
import signal
import socket
import threading
import time
from urllib.parse import quote

from lifeboat.cli import connection
from lifeboat.cli.connection import ApiError, CliError
from lifeboat.cli.servers import live_migration_body

LOG = logging.getLogger("lifeboat.drain")

HOST = "OS-EXT-SRV-ATTR:host"
TASK_STATE = "OS-EXT-STS:task_state"
VM_STATE = "OS-EXT-STS:vm_state"
COMPUTE = "nova-compute"

MARKER_PREFIX = "lifeboat-drain:"
DEFAULT_REASON = "drained by lifeboat"
REASON_MAX = 255                 # the API's maxLength for disabled_reason
LIVE_VM_STATES = ("active", "paused", "rescued")
RESCUED_MICROVERSION = "2.105"
FINAL_MIGRATION_STATUSES = ("completed", "failed", "error", "cancelled", "done")
_STATUS_TO_VM_STATE = {"ACTIVE": "active", "PAUSED": "paused", "RESCUE": "rescued",
                       "SHUTOFF": "stopped", "SUSPENDED": "suspended",
                       "ERROR": "error", "BUILD": "building",
                       "SOFT_DELETED": "soft-delete", "SHELVED": "shelved",
                       "SHELVED_OFFLOADED": "shelved_offloaded",
                       "RESIZED": "resized"}
_NOT_MIGRATABLE = {
    "stopped": "SHUTOFF: a stopped server cannot be live-migrated, and Lifeboat has "
               "no cold migration; start it or move it by other means",
    "suspended": "SUSPENDED: a suspended server cannot be live-migrated; resume it "
                 "first",
    "error": "ERROR: a server in error cannot be live-migrated; fix it first (a "
             "hard reboot rebuilds the guest)",
}
_DEST_UNSUPPORTED = re.compile(r"not supported by the destination compute node "
                               r"(\S+?)\.?\s*$")
_MARKER_RE = re.compile(r"lifeboat-drain:(\d+)@([^:\s]+):(\S+)(?: (.*))?\Z", re.S)

# Outcomes of an instance (InstanceReport.outcome).
MIGRATED = "migrated"
FAILED = "failed"
NOT_MIGRATABLE = "not-migratable"
ABORTED = "aborted"
NOT_STARTED = "not-started"
STARTED = "started"              # --no-wait: accepted, not followed
LEFT_RUNNING = "left-running"    # second Ctrl-C: still migrating, not followed
TIMED_OUT = "timed-out"
GONE = "gone"                    # deleted while we worked
PLANNED = "planned"              # dry run
UNPLACEABLE = "no-destination"   # dry run


# --- the drain marker ----------------------------------------------------------

def this_node():
    """This machine's name as the marker spells it (no ':' nor blanks)."""
    name = re.sub(r"[\s:]+", "-", socket.gethostname() or "") or "localhost"
    return name


@dataclasses.dataclass(frozen=True)
class Marker:
    """``lifeboat-drain:<pid>@<node>:<started-at> <reason>`` in disabled_reason.

    It is best effort: the services API has no compare-and-swap, so two drains
    that read the service before either writes both think they got it. The
    drainer narrows that window by reading the service back `settle` seconds
    after writing (the loser sees the winner's marker and refuses) and by
    checking every few seconds that the marker is still its own (a drain that
    finds another's marker, or an undrain, stops starting migrations). Two
    drains whose read and write straddle each other's read-back can still both
    proceed; each then still migrates at most its own `max_concurrent`.
    """

    pid: int
    node: str
    started: str
    reason: str = ""

    @classmethod
    def new(cls, reason):
        started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        return cls(os.getpid(), this_node(), started, reason or "")

    @classmethod
    def parse(cls, text):
        match = _MARKER_RE.match(text or "")
        if not match:
            return None
        return cls(int(match.group(1)), match.group(2), match.group(3),
                   match.group(4) or "")

    def text(self):
        head = "%s%d@%s:%s" % (MARKER_PREFIX, self.pid, self.node, self.started)
        return ("%s %s" % (head, self.reason) if self.reason else head)[:REASON_MAX]

    def liveness(self):
        """'alive' or 'dead' when the drain ran on this machine (its pid is or is
        not there), 'unknown' for another machine's."""
        if self.node != this_node():
            return "unknown"
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return "dead"
        except PermissionError:
            return "alive"
        except OSError:
            return "unknown"
        return "alive"

    def describe(self):
        return "pid %d on %s, started %s" % (self.pid, self.node, self.started)


# --- API helpers ------------------------------------------------------------------

def as_cloud(conn, microversion=None):
    """A connection.Cloud from an openstacksdk Connection (or a Cloud as is),
    with the microversion the CLI would choose (one GET of the version document)."""
    if isinstance(conn, connection.Cloud):
        return conn
    endpoint = conn.compute.get_endpoint()
    if not endpoint:
        raise CliError("No compute endpoint in the service catalog.")
    url = connection.version_document_url(endpoint)
    response = conn.session.get(url, authenticated=False, raise_exc=False,
                                headers={"Accept": "application/json"})
    try:
        doc = response.json() if response.status_code == 200 else {}
    except ValueError:
        doc = {}
    chosen, is_lifeboat = connection.choose_microversion(response.headers, doc,
                                                         microversion)
    return connection.Cloud(conn, chosen, is_lifeboat,
                            lifeboat_version=response.headers.get(
                                connection.LIFEBOAT_HEADER))


def _pages(cloud, url, key, microversion=None):
    found = []
    for _page in range(10000):
        body = cloud.get(url, microversion=microversion) or {}
        found.extend(body.get(key, []))
        nexts = [link["href"] for link in body.get(key + "_links", [])
                 if link.get("rel") == "next"]
        if not nexts:
            break
        url = nexts[0]
    return found


def get_service(cloud, host):
    """The nova-compute service of `host` (a dict as the API shows it)."""
    body = cloud.get("/os-services?host=%s&binary=%s" % (quote(host), COMPUTE))
    services = [s for s in body.get("services", [])
                if s.get("host") == host and s.get("binary") == COMPUTE]
    if not services:
        raise CliError("No %s service on host %s." % (COMPUTE, host))
    return services[0]


def set_service(cloud, service, disabled, reason=None):
    """Disable (with `reason`) or enable a compute service; 2.53+ by uuid, the
    older action URLs below."""
    if cloud.at_least("2.53"):
        body = {"status": "disabled" if disabled else "enabled"}
        if disabled and reason:
            body["disabled_reason"] = reason[:REASON_MAX]
        return cloud.request("PUT", "/os-services/%s" % service["id"], json=body)
    body = {"host": service["host"], "binary": COMPUTE}
    if disabled and reason:
        body["disabled_reason"] = reason[:REASON_MAX]
        return cloud.request("PUT", "/os-services/disable-log-reason", json=body)
    return cloud.request("PUT", "/os-services/%s" % ("disable" if disabled
                                                     else "enable"), json=body)


def servers_on_host(cloud, host):
    """Every server (all projects) the API places on `host`."""
    found = _pages(cloud, "/servers/detail?all_tenants=1&host=%s" % quote(host),
                   "servers")
    return [s for s in found if s.get(HOST) == host]


@dataclasses.dataclass
class Hypervisor:
    host: str
    state: str
    status: str
    free_ram_mb: int | None
    memory_mb: int | None
    disabled_reason: str | None = None

    @property
    def usable(self):
        return self.state == "up" and self.status == "enabled"


def hypervisors(cloud):
    """{host: Hypervisor} from /os-hypervisors/detail. The usage fields left the
    detail view at 2.88, so it is asked at 2.87 at most."""
    version = "2.87" if cloud.at_least("2.88") else cloud.microversion
    result = {}
    for h in _pages(cloud, "/os-hypervisors/detail", "hypervisors", version):
        service = h.get("service") or {}
        host = service.get("host") or h.get("hypervisor_hostname")
        free = h.get("free_ram_mb")
        prev = result.get(host)
        if prev is not None and free is not None and prev.free_ram_mb is not None:
            free += prev.free_ram_mb        # several nodes on one host
        result[host] = Hypervisor(host, h.get("state"), h.get("status"), free,
                                  h.get("memory_mb"), service.get("disabled_reason"))
    return result


def undrain(cloud, host):
    """Enable the host's compute service (which clears the reason, marker
    included). Returns (service before, marker found or None)."""
    service = get_service(cloud, host)
    marker = Marker.parse(service.get("disabled_reason"))
    set_service(cloud, service, disabled=False)
    return service, marker


def _vm_state(server):
    return server.get(VM_STATE) or _STATUS_TO_VM_STATE.get(server.get("status"))


# --- reports ---------------------------------------------------------------------

@dataclasses.dataclass
class Attempt:
    """One os-migrateLive request for an instance."""
    requested: str | None               # the host we named (None: the scheduler)
    destination: str | None = None      # where the migration went (dest_compute)
    migration_id: int | None = None
    status: str | None = None           # the migration's final status
    error: str | None = None

    def as_dict(self):
        return dataclasses.asdict(self)


@dataclasses.dataclass
class InstanceReport:
    """What happened to one instance of the drained host."""
    id: str
    name: str
    source: str
    status_before: str
    vm_state: str | None
    ram_mb: int | None = None
    outcome: str | None = None
    destination: str | None = None
    status_after: str | None = None
    error: str | None = None
    attempts: list = dataclasses.field(default_factory=list)
    plan: str | None = None           # dry run: destination or candidates
    # working state
    state: str = "pending"            # pending | waiting | migrating | done
    waiting_for: str | None = None    # why it is waiting (task_state ...)
    waiting_on_migration: bool = False
    failures: int = 0
    excluded: set = dataclasses.field(default_factory=set)
    started_at: float | None = None
    ended_at: float | None = None
    wait_started: float | None = None
    attempt_started: float | None = None
    known_id: int | None = None
    migration_id: int | None = None
    migration_status: str | None = None
    current_destination: str | None = None
    memory_total: int | None = None
    memory_processed: int | None = None
    abort_sent: bool = False
    end_pending_since: float | None = None
    reserved_on: str | None = None

    @property
    def rescued(self):
        return self.vm_state == "rescued"

    @property
    def duration(self):
        if self.started_at is None:
            return None
        return round((self.ended_at or time.monotonic()) - self.started_at, 2)

    def as_dict(self):
        return {"id": self.id, "name": self.name, "from": self.source,
                "to": self.destination, "state_before": self.status_before,
                "state_after": self.status_after, "duration": self.duration,
                "outcome": self.outcome, "error": self.error, "plan": self.plan,
                "ram_mb": self.ram_mb,
                "attempts": [a.as_dict() for a in self.attempts]}


@dataclasses.dataclass
class DrainResult:
    host: str
    dry_run: bool
    instances: list
    remaining: list                    # [{"id", "name", "status"}] still on the host
    service: dict                      # the service as left (status, reason)
    interrupted: bool = False
    stop_reason: str | None = None
    max_in_progress: int = 0
    duration: float = 0.0
    microversion: str | None = None
    capacity: list = dataclasses.field(default_factory=list)   # dry run
    feasible: bool | None = None                               # dry run
    drain_in_progress: str | None = None                       # dry run

    @property
    def empty(self):
        return not self.remaining

    @property
    def exit_code(self):
        """0 only if the host is empty (dry run: if the plan would empty it);
        130 after an interruption, 1 otherwise."""
        if self.dry_run:
            return 0 if self.feasible else 1
        if self.empty:
            return 0
        return 130 if self.interrupted else 1

    def as_dict(self):
        body = {"host": self.host, "dry_run": self.dry_run, "empty": self.empty,
                "exit_code": self.exit_code, "interrupted": self.interrupted,
                "stop_reason": self.stop_reason,
                "max_in_progress": self.max_in_progress,
                "duration": round(self.duration, 2),
                "microversion": self.microversion, "service": self.service,
                "remaining": self.remaining,
                "instances": [r.as_dict() for r in self.instances]}
        if self.dry_run:
            body.update(capacity=self.capacity, feasible=self.feasible,
                        drain_in_progress=self.drain_in_progress)
        return body


class DrainBusy(CliError):
    """Another drain holds the host (its marker is in the disabled reason)."""


# --- observing a drain ---------------------------------------------------------------

class Observer:
    """Hooks a drain calls as it goes; this one logs to `lifeboat.drain`.
    The CLI's rich progress display is lifeboat.cli.host.RichObserver."""

    def begin(self, drainer):
        """The instances are known (drainer.reports)."""

    def added(self, drainer, report):
        """An instance found on the host by a later scan."""

    def event(self, text):
        LOG.info("%s", text)

    def update(self, report):
        """A migrating instance's progress changed."""

    def done(self, report):
        """An instance reached its outcome."""

    def tick(self, drainer):
        """Once per polling round."""

    def end(self, drainer):
        """The drain is over (before the result is built)."""


# --- the drainer -------------------------------------------------------------------

class Drainer:
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
    handle_signals:    when run in the main thread, SIGINT/SIGTERM call stop()
                       (a second SIGINT stops following at once).
    """

    def __init__(self, conn, host, reason=None, max_concurrent=2,
                 block_migration="auto", target_hosts=(), dry_run=False, wait=True,
                 force=False, abort_on_interrupt=False, timeout=1800.0,
                 poll_interval=0.5, observer=None, microversion=None,
                 handle_signals=True, settle=0.5, marker_check_interval=2.0):
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
        self._flavor_ram = {}
        self._started = time.monotonic()

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
        self._hypervisors(refresh=True)
        self._check_targets()
        if self.dry_run:
            return self._plan(service)
        old_handlers = self._install_signals()
        try:
            self._claim(service)
            try:
                self._scan(first=True)
                for _round in range(5):
                    self._loop()
                    if self._stop.is_set() or not self.wait or not self._scan():
                        break
            finally:
                self._release()
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

    # --- the marker -----------------------------------------------------------
    def _claim(self, service):
        existing = Marker.parse(service.get("disabled_reason"))
        disabled = service.get("status") == "disabled"
        base_reason = None
        if existing and disabled:
            liveness = existing.liveness()
            if liveness == "dead":
                self.observer.event("Taking over the marker of a drain that is no "
                                    "longer running (%s)." % existing.describe())
            elif self.force:
                self.observer.event("--force: overriding the marker of the drain "
                                    "of %s (%s)." % (self.host, existing.describe()))
            else:
                raise DrainBusy(
                    "%s is already being drained (%s%s). Wait for that drain to "
                    "end, or stop it with Ctrl-C; if it is not running any more, "
                    "re-run with --force." % (
                        self.host, existing.describe(),
                        "" if liveness == "alive" else ", on another machine"))
            base_reason = existing.reason
        elif disabled:
            base_reason = service.get("disabled_reason")
        reason = self.reason or base_reason or DEFAULT_REASON
        self.marker = Marker.new(reason[:REASON_MAX])
        set_service(self.cloud, service, disabled=True, reason=self.marker.text())
        if self.settle:
            time.sleep(self.settle)
        now = get_service(self.cloud, self.host)
        if now.get("disabled_reason") != self.marker.text():
            other = Marker.parse(now.get("disabled_reason"))
            self.marker = None
            raise DrainBusy("%s was claimed by another drain at the same time (%s); "
                            "leaving it to that one." % (
                                self.host, other.describe() if other else
                                "disabled reason now %r" % now.get("disabled_reason")))
        self._marker_checked = time.monotonic()
        self.observer.event("Compute service of %s disabled: %s" % (
            self.host, self.marker.text()))

    def _check_marker(self, force=False):
        if self.marker is None:
            return
        now = time.monotonic()
        if not force and now - self._marker_checked < self.marker_check_interval:
            return
        self._marker_checked = now
        try:
            service = get_service(self.cloud, self.host)
        except (ApiError, CliError) as e:
            self.observer.event("Could not check the drain marker: %s" % e)
            return
        if service.get("disabled_reason") == self.marker.text():
            return
        if service.get("status") == "enabled":
            why = "the compute service of %s was re-enabled (undrain)" % self.host
        else:
            other = Marker.parse(service.get("disabled_reason"))
            why = "another drain took over %s (%s)" % (
                self.host, other.describe() if other else "disabled reason now %r"
                % service.get("disabled_reason"))
        self.marker = None
        if not self._stop.is_set():
            self.stop_reason = why
            self._stop.set()
            self.observer.event("Stopping: %s; no new migrations will start." % why)

    def _release(self):
        """Remove our marker from the reason; the service stays disabled."""
        if self.marker is None:
            return
        try:
            service = get_service(self.cloud, self.host)
            if service.get("disabled_reason") == self.marker.text():
                set_service(self.cloud, service, disabled=True,
                            reason=self.marker.reason or DEFAULT_REASON)
        except (ApiError, CliError) as e:
            self.observer.event("Could not remove the drain marker: %s" % e)
        except Exception as e:  # the API went away: say so, keep the result
            self.observer.event("Could not remove the drain marker: %s" % e)

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
        return sum(1 for r in self.reports.values()
                   if r.state == "migrating" or
                   (r.state == "waiting" and r.waiting_on_migration))

    # --- the loop ---------------------------------------------------------------
    def _loop(self):
        while not self._hard.is_set():
            self._check_marker()
            self._announce_stop()
            for report in list(self.reports.values()):
                if self._hard.is_set():
                    break
                if report.state in ("migrating", "waiting"):
                    self._poll(report)
            if self._stop.is_set() and self.abort_on_interrupt:
                self._abort_running()
            if not self._stop.is_set():
                self._start_some()
            self.max_in_progress = max(self.max_in_progress, self._in_progress())
            self.observer.tick(self)
            busy = any(r.state in ("migrating", "waiting")
                       for r in self.reports.values())
            pending = any(r.state == "pending" for r in self.reports.values())
            if not self.wait:
                break
            if not busy and (self._stop.is_set() or not pending):
                break
            time.sleep(self.poll_interval)
        self._settle_leftovers()

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
            report = next((r for r in self.reports.values() if r.state == "pending"),
                          None)
            if report is None or not self._start(report):
                return

    # --- destinations -------------------------------------------------------------
    def _hypervisors(self, refresh=False):
        now = time.monotonic()
        if refresh or self._hyp_at is None or \
                now - self._hyp_at >= max(self.poll_interval, 1.0):
            self._hyp = hypervisors(self.cloud)
            self._hyp_at = now
        return self._hyp

    def _free(self, host, reserved):
        info = self._hyp.get(host)
        if info is None or info.free_ram_mb is None:
            return None
        return info.free_ram_mb - reserved.get(host, 0)

    def _fits(self, host, ram, reserved):
        free = self._free(host, reserved)
        return free is None or ram is None or free >= ram

    def _candidates(self, report, pool):
        out = []
        for host in pool:
            info = self._hyp.get(host)
            if info is None or not info.usable or host == report.source or \
                    host in report.excluded or \
                    (report.rescued and host in self._incapable):
                continue
            out.append(host)
        return out

    def _choose(self, report, reserved=None, hyp_refresh=True):
        """(host, None) to name, (None, None) for the scheduler, (None, why)
        when there is none, ("", None) to wait for room."""
        reserved = self._reserved if reserved is None else reserved
        if not self.targets and not report.failures:
            return None, None
        if hyp_refresh:
            self._hypervisors()
        pool = self.targets or sorted(self._hyp)
        candidates = self._candidates(report, pool)
        if not candidates:
            what = "target host" if self.targets else "host"
            return None, ("no other enabled and up %s to %s" % (
                what, "retry on" if report.failures else "migrate to"))
        fitting = [h for h in candidates if self._fits(h, report.ram_mb, reserved)]
        if not fitting:
            if any(reserved.get(h) for h in candidates):
                return "", None     # our migrations in flight may make room
            return None, "no %s with %s MB free (%s)" % (
                "target host" if self.targets else "host", report.ram_mb,
                ", ".join("%s: %s MB" % (h, self._free(h, reserved))
                          for h in candidates))
        if self.targets:
            size = len(self.targets)
            for k in range(size):
                host = self.targets[(self._rr + k) % size]
                if host in fitting:
                    self._rr = (self._rr + k + 1) % size
                    return host, None
        return max(fitting, key=lambda h: (self._free(h, reserved) or 0, h)), None

    # --- one migration --------------------------------------------------------------
    def _known_max_id(self, server_id):
        try:
            records = _pages(self.cloud, "/os-migrations?instance_uuid=%s" % server_id,
                             "migrations")
        except ApiError:
            return None
        return max((m["id"] for m in records), default=0)

    def _start(self, report):
        """Request the live migration of `report`. False if it must wait for
        room on the destinations (nothing else can start either)."""
        dest, problem = self._choose(report)
        if dest == "":
            return False
        if problem:
            self._finish(report, FAILED, error=self._join_errors(report, problem))
            return True
        known = self._known_max_id(report.id)
        body = live_migration_body(self.cloud, dest, self.block_migration)
        try:
            self.cloud.post("/servers/%s/action" % report.id,
                            json={"os-migrateLive": body})
        except ApiError as e:
            self._refused(report, dest, e)
            return True
        now = time.monotonic()
        report.state = "migrating"
        report.started_at = report.started_at or now
        report.attempt_started = now
        report.known_id = known
        report.migration_id = None
        report.migration_status = "accepted"
        report.current_destination = dest
        report.memory_total = report.memory_processed = None
        report.end_pending_since = None
        report.attempts.append(Attempt(requested=dest))
        if dest:
            self._reserved[dest] = self._reserved.get(dest, 0) + (report.ram_mb or 0)
            report.reserved_on = dest
        self.observer.event("%s: %s live migration %s -> %s accepted." % (
            self._label(report), report.status_before, report.source,
            dest or "(scheduler)"))
        self.observer.update(report)
        return True

    def _join_errors(self, report, last):
        earlier = [a.error for a in report.attempts if a.error]
        return "; ".join(earlier + [last]) if earlier else last

    def _refused(self, report, dest, error):
        message = error.message
        if error.status == 409 and "task_state" in message:
            self._wait(report, "busy: %s" % message,
                       on_migration="task_state migrating" in message)
            return
        if error.status == 404:
            self._finish(report, GONE, error=message)
            return
        unsupported = _DEST_UNSUPPORTED.search(message)
        if error.status == 400 and unsupported and dest:
            self._incapable.add(unsupported.group(1))
            report.excluded.add(dest)
            report.attempts.append(Attempt(requested=dest, status="refused",
                                           error=message))
            self.observer.event("%s: %s cannot take rescued instances; choosing "
                                "another destination." % (self._label(report), dest))
            report.state = "pending"
            return
        if error.status == 400 and "source compute node" in message:
            self._finish(report, NOT_MIGRATABLE, error=message)
            return
        if error.status == 409:
            try:
                server = self.cloud.get("/servers/%s" % report.id)["server"]
            except ApiError:
                server = None
            if server is not None and _vm_state(server) not in LIVE_VM_STATES:
                report.status_after = server.get("status")
                self._finish(report, NOT_MIGRATABLE, error=message)
                return
        report.attempts.append(Attempt(requested=dest, status="refused", error=message))
        self._failed(report, dest, message)

    def _failed(self, report, dest, message):
        """An attempt failed: retry once on another host, else report it."""
        if dest:
            report.excluded.add(dest)
        report.failures += 1
        if report.failures <= 1 and not self._stop.is_set():
            self.observer.event("%s: migration%s failed (%s); retrying on another "
                                "destination." % (self._label(report),
                                                  " to %s" % dest if dest else "",
                                                  message))
            report.state = "pending"
            return
        self._finish(report, FAILED, error=self._join_errors(report, message))

    def _poll(self, report):
        try:
            server = self.cloud.get("/servers/%s" % report.id)["server"]
        except ApiError as e:
            if e.status == 404:
                self._release_reservation(report)
                self._finish(report, GONE, error="deleted during the drain")
            else:
                self.observer.event("%s: %s" % (self._label(report), e))
            return
        ended = server.get(TASK_STATE) is None and server.get("status") != "MIGRATING"
        now = time.monotonic()
        if report.state == "waiting":
            if ended:
                if server.get(HOST) != report.source:
                    self.observer.event("%s: now on %s (moved by another "
                                        "migration)." % (self._label(report),
                                                         server.get(HOST)))
                    self._finish(report, MIGRATED, destination=server.get(HOST),
                                 status_after=server.get("status"))
                else:
                    self._classify(report, server)
            elif now - report.wait_started > self.timeout:
                self._finish(report, TIMED_OUT, error="still %s after %ss" % (
                    report.waiting_for, self.timeout))
            return
        if ended:
            self._ended(report, server)
            return
        self._progress(report)
        if now - report.attempt_started > self.timeout:
            self._release_reservation(report)
            self._finish(report, TIMED_OUT, error=(
                "migration still %s after %ss; left running" % (
                    report.migration_status, self.timeout)))

    def _progress(self, report):
        if not self.cloud.at_least("2.23"):
            return
        try:
            current = self.cloud.get("/servers/%s/migrations" % report.id).get(
                "migrations", [])
        except ApiError:
            return
        ours = [m for m in current if report.known_id is None
                or m["id"] > report.known_id]
        if not ours:
            return
        m = max(ours, key=lambda m: m["id"])
        report.migration_id = m["id"]
        report.migration_status = m.get("status")
        report.current_destination = m.get("dest_compute") or \
            report.current_destination
        report.memory_total = m.get("memory_total_bytes")
        report.memory_processed = m.get("memory_processed_bytes")
        self.observer.update(report)

    def _our_migration(self, report):
        try:
            records = _pages(self.cloud, "/os-migrations?instance_uuid=%s" % report.id,
                             "migrations")
        except ApiError:
            return None
        ours = [m for m in records
                if m.get("migration_type", "live-migration") == "live-migration"
                and (report.known_id is None or m["id"] > report.known_id)]
        return max(ours, key=lambda m: m["id"]) if ours else None

    def _release_reservation(self, report):
        dest, report.reserved_on = report.reserved_on, None
        if dest and dest in self._reserved:
            self._reserved[dest] = max(0, self._reserved[dest] - (report.ram_mb or 0))

    def _ended(self, report, server):
        migration = self._our_migration(report)
        status = migration.get("status") if migration else None
        if migration is not None and status not in FINAL_MIGRATION_STATUSES:
            # The server is settled a moment before its migration record
            # (as in Nova): wait for the record, briefly, so that what we
            # report and start next matches /os-migrations.
            now = time.monotonic()
            report.end_pending_since = report.end_pending_since or now
            if now - report.end_pending_since < 30:
                return
        self._release_reservation(report)
        attempt = report.attempts[-1] if report.attempts else Attempt(None)
        if migration is not None:
            attempt.migration_id = migration["id"]
            attempt.status = status
            attempt.destination = migration.get("dest_compute")
        host_after = server.get(HOST)
        if host_after and host_after != report.source:
            kept = server.get("status") == report.status_before
            self._finish(report, MIGRATED, destination=host_after,
                         status_after=server.get("status"),
                         error=None if kept else "now %s (was %s)%s" % (
                             server.get("status"), report.status_before,
                             self._failure_detail(report, server)))
            self.observer.event("%s: %s -> %s %s (%s)." % (
                self._label(report), report.source, host_after,
                "completed" if kept else "moved, but " + report.error,
                _seconds(report.duration)))
            return
        report.status_after = server.get("status")
        message = "migration %s %s%s" % (
            migration["id"] if migration else "?", status or "ended",
            " on %s" % attempt.destination if attempt.destination else "")
        message += self._failure_detail(report, server)
        attempt.error = message
        if report.abort_sent:
            self._finish(report, ABORTED, error=message)
            return
        self._failed(report, attempt.destination or attempt.requested, message)

    def _failure_detail(self, report, server):
        """': <why>' from the server's fault or the live-migration action's
        failed event (its details are shown at 2.84+)."""
        fault = (server.get("fault") or {}).get("message")
        if fault:
            return ": %s" % fault
        try:
            actions = self.cloud.get("/servers/%s/os-instance-actions" % report.id)
            lm = [a for a in actions.get("instanceActions", [])
                  if a.get("action") == "live-migration"]
            if not lm:
                return ""
            newest = lm[0]        # newest first, as Nova lists them
            body = self.cloud.get("/servers/%s/os-instance-actions/%s" % (
                report.id, newest["request_id"]))
            for event in body.get("instanceAction", {}).get("events", []):
                if event.get("result") == "Error":
                    detail = event.get("details") or event.get("event")
                    return ": %s" % detail
        except (ApiError, KeyError, TypeError):
            pass
        return ""

    def _abort_running(self):
        for report in self.reports.values():
            if report.state != "migrating" or report.abort_sent:
                continue
            if report.migration_id is None:
                self._progress(report)
            if report.migration_id is None:
                continue          # not started yet (accepted): next round
            try:
                self.cloud.delete("/servers/%s/migrations/%s" % (
                    report.id, report.migration_id))
            except ApiError as e:
                if e.status in (400, 409):
                    continue      # not abortable in this state yet: next round
                self.observer.event("%s: abort failed: %s" % (self._label(report), e))
                report.abort_sent = True
                continue
            report.abort_sent = True
            self.observer.event("%s: abort of migration %s requested." % (
                self._label(report), report.migration_id))

    # --- dry run ---------------------------------------------------------------------
    def _plan(self, service):
        existing = Marker.parse(service.get("disabled_reason"))
        in_progress = None
        if existing and service.get("status") == "disabled":
            in_progress = "%s (%s)" % (existing.describe(), existing.liveness())
        for server in servers_on_host(self.cloud, self.host):
            report = self._new_report(server)
            self.reports[report.id] = report
            self._plan_one(report, server)
        reserved = {}
        feasible = all(r.outcome != NOT_MIGRATABLE for r in self.reports.values())
        for report in self.reports.values():
            if report.outcome == NOT_MIGRATABLE:
                continue
            note = " after %s" % report.waiting_for if report.waiting_for else ""
            if self.targets:
                dest, problem = self._choose(report, reserved, hyp_refresh=False)
            else:
                dest, problem = self._simulate_scheduler(report, reserved)
            if dest:
                reserved[dest] = reserved.get(dest, 0) + (report.ram_mb or 0)
                if self.targets:
                    report.plan = "%s%s" % (dest, note)
                else:
                    others = [h for h in self._candidates(report, sorted(self._hyp))
                              if self._fits(h, report.ram_mb, {})]
                    report.plan = "scheduler (candidates: %s)%s" % (
                        ", ".join(others), note)
                report.destination = dest
                report.outcome = PLANNED
                if report.rescued:
                    report.error = ("rescued: the destination must support rescued "
                                    "live migration (the scheduler checks; a named "
                                    "host that cannot is skipped)")
            else:
                feasible = False
                report.outcome = UNPLACEABLE
                report.plan = "-"
                report.error = problem or "no room (every candidate is full)"
        capacity = []
        for host in sorted(self._hyp):
            if host == self.host:
                continue
            info = self._hyp[host]
            if self.targets and host not in self.targets:
                continue
            capacity.append({
                "host": host, "state": info.state, "status": info.status,
                "free_ram_mb": info.free_ram_mb,
                "planned_ram_mb": reserved.get(host, 0),
                "free_after_mb": None if info.free_ram_mb is None else
                info.free_ram_mb - reserved.get(host, 0),
                "usable": info.usable})
        remaining = [{"id": r.id, "name": r.name, "status": r.status_before}
                     for r in self.reports.values()]
        result = DrainResult(
            host=self.host, dry_run=True, instances=list(self.reports.values()),
            remaining=remaining, service=_service_summary(service),
            microversion=self.cloud.microversion, capacity=capacity,
            feasible=feasible and (in_progress is None or "dead" in in_progress),
            drain_in_progress=in_progress,
            duration=time.monotonic() - self._started)
        return result

    def _plan_one(self, report, server):
        vm_state, task = _vm_state(server), server.get(TASK_STATE)
        if task == "migrating" or server.get("status") == "MIGRATING":
            report.waiting_for = "its current migration"
        elif task is not None:
            report.waiting_for = "task_state %s" % task
        if vm_state in LIVE_VM_STATES or vm_state == "building":
            if vm_state == "rescued" and \
                    not self.cloud.at_least(RESCUED_MICROVERSION):
                report.outcome = NOT_MIGRATABLE
                report.error = ("RESCUE: rescued servers live-migrate only at "
                                "microversion %s" % RESCUED_MICROVERSION)
            return
        report.outcome = NOT_MIGRATABLE
        report.error = _NOT_MIGRATABLE.get(vm_state) or (
            "%s (vm_state %s): only ACTIVE, PAUSED and RESCUED servers can be "
            "live-migrated" % (server.get("status"), vm_state))

    def _simulate_scheduler(self, report, reserved):
        """The scheduler's likely choice: the most free RAM (its default weigher)."""
        candidates = [h for h in self._candidates(report, sorted(self._hyp))
                      if self._fits(h, report.ram_mb, reserved)]
        if not candidates:
            return None, "no enabled and up host with %s MB free" % report.ram_mb
        return max(candidates, key=lambda h: (self._free(h, reserved) or 0, h)), None

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


def _service_summary(service):
    return {"id": service.get("id"), "host": service.get("host"),
            "status": service.get("status"), "state": service.get("state"),
            "disabled_reason": service.get("disabled_reason")}


def _seconds(value):
    return "-" if value is None else "%.1fs" % value

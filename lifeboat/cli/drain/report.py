"""What a drain reports, and the hooks it calls while it runs.

The outcomes of an instance, `Attempt` (one os-migrateLive request),
`InstanceReport` (one instance: its outcome and the drainer's working state
for it), `DrainResult` (what `Drainer.run()` returns), `DrainBusy` (another
drain holds the host) and `Observer` (progress hooks; the CLI's rich display
subclasses it). Data only: no API calls.
"""
import dataclasses
import logging
import time

from lifeboat.cli.connection import CliError

LOG = logging.getLogger("lifeboat.drain")

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
    next_look: float = 0.0            # monotonic time of the next GET /servers/{id}
    ended_record: dict | None = None  # our migration, final, as the feed showed it
    known_ahead: int | None = None    # _known_max_id fetched ahead of the start ...
    known_ahead_at: float | None = None   # ... at this monotonic time

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
    The CLI's rich progress display is lifeboat.cli.host.RichObserver.

    `wants_progress`: whether anything shows each migration's progress
    (`update`). When not, the drain reads a running migration's progress only
    every QUIET_LOOK_INTERVAL instead of every second, as long as the
    changes-since feed notices ends (drain/migration.py)."""

    wants_progress = True

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


def _service_summary(service):
    return {"id": service.get("id"), "host": service.get("host"),
            "status": service.get("status"), "state": service.get("state"),
            "disabled_reason": service.get("disabled_reason")}


def _seconds(value):
    return "-" if value is None else "%.1fs" % value

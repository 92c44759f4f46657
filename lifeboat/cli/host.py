"""`lifeboat host drain|undrain`: argparse wiring, progress display, report.

    lifeboat host drain HOST [--reason TEXT] [--max-concurrent N]
        [--block-migration {auto,true,false}] [--target-host H [H ...]]
        [--dry-run] [--format {table,json}] [--wait | --no-wait] [--force]
        [--abort-on-interrupt] [--timeout SECONDS]
    lifeboat host undrain HOST

The work is lifeboat.cli.drain.Drainer's; this module turns its progress
into a rich display on stderr and its result into a table (or JSON) on
stdout. Exit codes of `drain`: 0 only if the host is empty at the end (with
--dry-run: if the plan would empty it), 130 after Ctrl-C with instances left,
1 otherwise (instances that cannot or did not move, another drain running,
an API error).
"""
import argparse
import json
import sys

from rich.console import Console
from rich.progress import (BarColumn, DownloadColumn, Progress, ProgressColumn,
                           TaskProgressColumn, TextColumn, TimeElapsedColumn)
from rich.text import Text
from rich.table import Table

from lifeboat.cli import drain

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def register(top, bool_or_auto):
    """Add `host drain|undrain` to the CLI's top-level subparsers."""
    host = top.add_parser("host", help="Compute host operations (drain, undrain).")
    actions = host.add_subparsers(dest="host_action", metavar="ACTION", required=True)

    d = actions.add_parser(
        "drain", help="Disable a host's compute service and live-migrate every "
                      "instance off it.",
        description="Disable HOST's compute service (with a drain marker in the "
                    "reason), then live-migrate its ACTIVE, PAUSED and RESCUED "
                    "instances, at most --max-concurrent at a time; a failed one is "
                    "retried once on another host. Exit 0 only if HOST ends empty. "
                    "Ctrl-C stops starting migrations (the running ones finish); "
                    "run it again to finish the job.")
    d.add_argument("drain_host", metavar="HOST", help="The compute host to empty.")
    d.add_argument("--reason", metavar="TEXT",
                   help="Disabled reason (default: the current one, else "
                        "'%s')." % drain.DEFAULT_REASON)
    d.add_argument("--max-concurrent", type=_positive, default=2, metavar="N",
                   help="Live migrations in progress at once (default 2).")
    d.add_argument("--block-migration", type=bool_or_auto, default="auto",
                   metavar="{auto,true,false}",
                   help="As for `server live-migrate` (default auto).")
    d.add_argument("--target-host", dest="target_hosts", nargs="+", action="extend",
                   metavar="H", default=[],
                   help="Move instances to these hosts only, round robin with a "
                        "capacity check (default: the scheduler chooses).")
    d.add_argument("--dry-run", action="store_true",
                   help="Print the plan (instances, destinations, capacity) and "
                        "change nothing.")
    d.add_argument("--format", dest="output_format", choices=("table", "json"),
                   default="table", help="Final report format (default table).")
    d.add_argument("--wait", action=argparse.BooleanOptionalAction, default=True,
                   help="Follow the migrations to the end (default). --no-wait "
                        "starts up to --max-concurrent and returns.")
    d.add_argument("--force", action="store_true",
                   help="Take over the host even if its drain marker says another "
                        "drain is running.")
    d.add_argument("--abort-on-interrupt", action="store_true",
                   help="On Ctrl-C, abort the running migrations instead of "
                        "letting them finish.")
    d.add_argument("--timeout", type=float, default=1800.0, metavar="SECONDS",
                   help="Stop following one instance after this long (default "
                        "1800).")
    d.add_argument("--poll-interval", type=float, default=0.5, metavar="SECONDS",
                   help=argparse.SUPPRESS)
    d.add_argument("--settle", type=float, default=0.5, metavar="SECONDS",
                   help=argparse.SUPPRESS)

    u = actions.add_parser("undrain", help="Enable a host's compute service again "
                                           "(clears the drain marker).")
    u.add_argument("drain_host", metavar="HOST")
    return host


def _positive(value):
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a positive integer, not %r" % value)
    if number < 1:
        raise argparse.ArgumentTypeError("expected a positive integer, not %r" % value)
    return number


def dispatch(cloud, args):
    if args.host_action == "undrain":
        return undrain(cloud, args.drain_host)
    return run_drain(cloud, args)


# --- undrain -----------------------------------------------------------------------

def undrain(cloud, host):
    service, marker = drain.undrain(cloud, host)
    if marker is not None and marker.liveness() == "alive":
        err.print("Note: a drain of %s is running (%s); it stops starting "
                  "migrations within a few seconds." % (host, marker.describe()),
                  markup=False)
    was = "was %s" % service.get("status")
    if service.get("disabled_reason"):
        was += ": %s" % service["disabled_reason"]
    out.print("Compute service of %s enabled (%s)." % (host, was), markup=False)
    return 0


# --- drain -------------------------------------------------------------------------

class _AmountColumn(ProgressColumn):
    """Memory transferred for an instance; instances done for the overall bar."""

    def __init__(self):
        super().__init__()
        self.download = DownloadColumn(binary_units=True)

    def render(self, task):
        if task.fields.get("overall"):
            return Text("%d/%s" % (task.completed, "?" if task.total is None
                                   else int(task.total)), style="progress.download")
        if task.total is None:
            return Text("")
        return self.download.render(task)


class RichObserver(drain.Observer):
    """Overall and per-instance progress bars on a (stderr) console."""

    def __init__(self, console=None):
        self.console = console or err
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
            _AmountColumn(), TimeElapsedColumn(),
            console=self.console, transient=False)
        self.overall = None
        self.tasks = {}
        self.host = None
        # Not a terminal (a pipe, a log, a CI job): nobody sees the bars move.
        self.wants_progress = self.console.is_terminal

    def begin(self, drainer):
        self.host = drainer.host
        self.progress.start()
        self.overall = self.progress.add_task("Draining %s" % drainer.host, total=None,
                                              overall=True)
        self.tick(drainer)

    def event(self, text):
        self.progress.console.print(text, markup=False)

    def update(self, report):
        desc = "  %s %s %s -> %s %s" % (
            report.name or report.id[:8], report.status_before, report.source,
            report.current_destination or "?", report.migration_status or "")
        task = self.tasks.get(report.id)
        if task is None:
            task = self.tasks[report.id] = self.progress.add_task(desc, total=None)
        self.progress.update(task, description=desc,
                             total=report.memory_total or None,
                             completed=report.memory_processed or 0)

    def done(self, report):
        task = self.tasks.pop(report.id, None)
        if task is not None:
            self.progress.remove_task(task)
        if report.outcome not in (drain.MIGRATED,):
            self.event("%s (%s): %s%s" % (report.name or "-", report.id, report.outcome,
                                          ": %s" % report.error if report.error
                                          else ""))

    def tick(self, drainer):
        if self.overall is None:
            return
        movable = [r for r in drainer.reports.values()
                   if r.outcome not in (drain.NOT_MIGRATABLE,)]
        finished = sum(1 for r in movable if r.state == "done")
        moving = sum(1 for r in movable if r.state == "migrating")
        self.progress.update(self.overall, total=len(movable) or None,
                             completed=finished, description=(
                                 "Draining %s: %d migrating" % (drainer.host, moving)))

    def end(self, drainer):
        self.tick(drainer)
        for task in self.tasks.values():
            self.progress.remove_task(task)
        self.tasks.clear()
        self.progress.stop()


def run_drain(cloud, args):
    observer = None if args.dry_run else RichObserver(err)
    drainer = drain.Drainer(
        cloud, args.drain_host, reason=args.reason,
        max_concurrent=args.max_concurrent, block_migration=args.block_migration,
        target_hosts=args.target_hosts, dry_run=args.dry_run, wait=args.wait,
        force=args.force, abort_on_interrupt=args.abort_on_interrupt,
        timeout=args.timeout, poll_interval=args.poll_interval, observer=observer,
        settle=args.settle)
    try:
        result = drainer.run()
    finally:
        if observer is not None and observer.progress.live.is_started:
            observer.progress.stop()
    if args.output_format == "json":
        sys.stdout.write(json.dumps(result.as_dict(), indent=2) + "\n")
    elif result.dry_run:
        print_plan(result)
    else:
        print_report(result)
    _summary(result)
    return result.exit_code


def _cell(value):
    return "-" if value is None or value == "" else str(value)


def print_report(result):
    table = Table(title="Drain of %s" % result.host)
    for name in ("Instance", "ID", "From", "To", "Before", "After", "Duration",
                 "Outcome", "Error"):
        table.add_column(name, overflow="fold")
    for r in result.instances:
        table.add_row(*(_cell(v) for v in (
            r.name, r.id, r.source, r.destination, r.status_before, r.status_after,
            None if r.duration is None else "%.1fs" % r.duration, r.outcome,
            r.error)))
    out.print(table)


def print_plan(result):
    table = Table(title="Plan for draining %s (dry run: nothing changed)" % result.host)
    for name in ("Instance", "ID", "Status", "RAM MB", "Destination", "Note"):
        table.add_column(name, overflow="fold")
    for r in result.instances:
        table.add_row(*(_cell(v) for v in (
            r.name, r.id, r.status_before, r.ram_mb,
            r.plan if r.outcome != drain.NOT_MIGRATABLE else "not migratable",
            r.error)))
    out.print(table)
    cap = Table(title="Capacity check (os-hypervisors)")
    for name in ("Host", "State", "Status", "Free RAM MB", "Planned MB",
                 "Free after MB"):
        cap.add_column(name)
    for c in result.capacity:
        cap.add_row(*(_cell(v) for v in (c["host"], c["state"], c["status"],
                                         c["free_ram_mb"], c["planned_ram_mb"],
                                         c["free_after_mb"])))
    out.print(cap)
    service = result.service
    out.print("Compute service of %s is %s%s; a drain would disable it." % (
        result.host, service.get("status"),
        " (%s)" % service["disabled_reason"] if service.get("disabled_reason")
        else ""), markup=False)
    if result.drain_in_progress:
        out.print("A drain marker is present: %s." % result.drain_in_progress,
                  markup=False)


def _summary(result):
    if result.dry_run:
        stuck = [r for r in result.instances
                 if r.outcome in (drain.NOT_MIGRATABLE, drain.UNPLACEABLE)]
        if result.feasible:
            err.print("The plan would empty %s (%d instance%s)." % (
                result.host, len(result.instances),
                "" if len(result.instances) == 1 else "s"), markup=False)
        else:
            err.print("The plan would not empty %s: %d instance%s cannot be "
                      "placed%s." % (result.host, len(stuck),
                                     "" if len(stuck) == 1 else "s",
                                     "; another drain is running"
                                     if result.drain_in_progress else ""),
                      markup=False)
        return
    if result.empty:
        err.print("%s is empty; its compute service stays disabled (`lifeboat host "
                  "undrain %s` enables it)." % (result.host, result.host),
                  markup=False)
        return
    counts = {}
    for r in result.instances:
        if r.outcome != drain.MIGRATED:
            counts[r.outcome] = counts.get(r.outcome, 0) + 1
    err.print("%s is not empty: %d instance%s left (%s)%s." % (
        result.host, len(result.remaining), "" if len(result.remaining) == 1 else "s",
        ", ".join("%d %s" % (n, k) for k, n in sorted(counts.items())) or "new "
        "arrivals", "; %s, run the drain again to finish" % result.stop_reason
        if result.interrupted else ""), markup=False)

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
4. Ends are noticed with one GET /os-migrations?source_compute=H&
   migration_type=live-migration&changes-since=T (2.59+) for all the
   migrations in flight, every `notice_interval` (0.05 s) while one of them
   may end (none younger than the quickest end seen so far), and each server
   in flight is looked at every `poll_interval` (0.5 s): a freed slot is
   refilled within about 0.05 s.
5. At the end the marker is removed from the reason (the service stays
   disabled: the host is in maintenance) and the host is listed again: the
   drain succeeded only if it is empty.

`Drainer.stop()` (the CLI's Ctrl-C) stops starting migrations; the running
ones finish, or are aborted with `abort_on_interrupt`. Running the drain again
picks up what is left.

The code is split by concern (each module's docstring says more):

- marker.py: the drain marker in the service's disabled reason (`Marker`).
- cloud.py: the Compute API calls a drain makes (`as_cloud`, `undrain`, ...).
- report.py: what a drain reports (`DrainResult`, `InstanceReport`, ...), its
  outcomes, `DrainBusy` and the `Observer` hooks.
- drainer.py: `Drainer`, built from the mixins in claim.py (taking and
  releasing the marker), placement.py (destinations and the dry run) and
  migration.py (one live migration, followed to its end).

Every name is re-exported here: import from `lifeboat.cli.drain`.
"""
from lifeboat.cli.drain.cloud import (
    CHANGES_SINCE_MICROVERSION, COMPUTE, HOST, LIVE_VM_STATES, RESCUED_MICROVERSION,
    TASK_STATE, VM_STATE, Hypervisor, as_cloud, get_service, hypervisors,
    live_migrations_from, servers_on_host, set_service, undrain)
from lifeboat.cli.drain.drainer import Drainer
from lifeboat.cli.drain.marker import (
    DEFAULT_REASON, MARKER_PREFIX, REASON_MAX, Marker, this_node)
from lifeboat.cli.drain.migration import FINAL_MIGRATION_STATUSES
from lifeboat.cli.drain.report import (
    ABORTED, FAILED, GONE, LEFT_RUNNING, LOG, MIGRATED, NOT_MIGRATABLE,
    NOT_STARTED, PLANNED, STARTED, TIMED_OUT, UNPLACEABLE, Attempt, DrainBusy,
    DrainResult, InstanceReport, Observer)

__all__ = [
    # marker.py
    "MARKER_PREFIX", "DEFAULT_REASON", "REASON_MAX", "Marker", "this_node",
    # cloud.py
    "HOST", "TASK_STATE", "VM_STATE", "COMPUTE", "LIVE_VM_STATES",
    "RESCUED_MICROVERSION", "CHANGES_SINCE_MICROVERSION", "as_cloud",
    "get_service", "set_service", "servers_on_host", "live_migrations_from",
    "Hypervisor", "hypervisors", "undrain",
    # report.py
    "LOG", "MIGRATED", "FAILED", "NOT_MIGRATABLE", "ABORTED", "NOT_STARTED",
    "STARTED", "LEFT_RUNNING", "TIMED_OUT", "GONE", "PLANNED", "UNPLACEABLE",
    "Attempt", "InstanceReport", "DrainResult", "DrainBusy", "Observer",
    # migration.py
    "FINAL_MIGRATION_STATUSES",
    # drainer.py
    "Drainer",
]

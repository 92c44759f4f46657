"""The Drainer's choice of destinations, and the dry run that plans them.

`PlacementMixin` holds the hypervisor view (cached, refreshed at most once a
polling round), the capacity checks, the candidate hosts for an instance,
the choice of a destination (round robin among target hosts, the scheduler
otherwise, another host on a retry) and the dry run (`_plan`), which plans
every instance with those same checks and simulates the scheduler's
most-free-RAM choice. A mixin of `Drainer` (drainer.py): it uses the
drainer's attributes (cloud, host, targets, reports, _hyp, _reserved, ...)
and its `_new_report`.
"""
import time

from lifeboat.cli.drain.cloud import (
    LIVE_VM_STATES, RESCUED_MICROVERSION, TASK_STATE, _NOT_MIGRATABLE, _vm_state,
    hypervisors, servers_on_host)
from lifeboat.cli.drain.marker import Marker
from lifeboat.cli.drain.report import (
    NOT_MIGRATABLE, PLANNED, UNPLACEABLE, DrainResult, _service_summary)


class PlacementMixin:
    """Drainer methods for destinations and the dry run (see the module
    docstring)."""

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

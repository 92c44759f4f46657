"""os-hypervisors bodies, key for key as Nova's hypervisors controller builds them.

Microversions that change the shape:

* 2.28  `cpu_info` is a JSON object; before it is the JSON *text* Nova stores.
* 2.33  list pages (`hypervisors_links`, added by the handler).
* 2.53  `id` and `service.id` are uuids; `servers` on request (`with_servers`).
* 2.75  `servers` is always present ([] when empty) once requested.
* 2.88  the resource-usage fields and `cpu_info` leave the detail view (usage
        lives in Placement) and `uptime` joins it; /statistics and /uptime go.

A compute node's state and status are its nova-compute service's: "up"/"down"
from the heartbeat, "enabled"/"disabled" from the disabled flag.
"""
import datetime
import json

from lifeboat.db import models
from lifeboat.db import services as db_services

# Fields shown in the detail view before 2.88 (cpu_info handled apart).
_USAGE_FIELDS = ("vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used",
                 "local_gb_used", "free_ram_mb", "free_disk_gb", "current_workload",
                 "running_vms", "disk_available_least")

# Nova's current_workload: instances building (vm_state) or in a task state
# its resource tracker counts as I/O work (`io_workload`). The handler counts
# them in SQL with these (db.hypervisor_usage.count_by_host) when it does not
# load the servers anyway.
WORKLOAD_VM_STATES = ("building",)
WORKLOAD_TASK_STATES = (
    "resize_migrating", "rebuilding", "resize_prep", "image_snapshot",
    "image_backup", "rescuing", "unshelving", "shelving")
_WORKLOAD_VM_STATES = frozenset(WORKLOAD_VM_STATES)
_WORKLOAD_TASK_STATES = frozenset(WORKLOAD_TASK_STATES)

_NO_UPTIME = object()


def workload(instances):
    """Nova's current_workload: instances building or in an I/O-heavy task."""
    return sum(1 for i in instances
               if i.vm_state in _WORKLOAD_VM_STATES
               or i.task_state in _WORKLOAD_TASK_STATES)


def usage(node, instances=(), current_workload=None):
    """The pre-2.88 usage numbers of one node, free space derived as Nova does.

    current_workload: the node's workload when already counted (in SQL);
    otherwise it is counted from `instances`."""
    free_disk = (node.local_gb or 0) - (node.local_gb_used or 0)
    return {
        "vcpus": node.vcpus or 0,
        "memory_mb": node.memory_mb or 0,
        "local_gb": node.local_gb or 0,
        "vcpus_used": node.vcpus_used or 0,
        "memory_mb_used": node.memory_mb_used or 0,
        "local_gb_used": node.local_gb_used or 0,
        "free_ram_mb": (node.memory_mb or 0) - (node.memory_mb_used or 0),
        "free_disk_gb": free_disk,
        "current_workload": (workload(instances) if current_workload is None
                             else current_workload),
        "running_vms": node.running_vms or 0,
        # No overcommit-aware figure is reported; free disk is the honest one.
        "disk_available_least": free_disk,
    }


def _cpu_info(req, node):
    info = node.cpu_info or {}
    if isinstance(info, str):
        try:
            info = json.loads(info) if info else {}
        except ValueError:
            info = {}
    if req.version >= "2.28":
        return info
    return json.dumps(info)


def uptime_text(service, now=None):
    """An `uptime(1)`-style line, as Nova's drivers report host uptime.

    The API cannot ask the host itself, so the time since the compute service
    first registered stands in for the host's boot time.
    """
    now = now or models.utcnow()
    since = service.created_at or service.last_seen_up or now
    delta = max(now - since, datetime.timedelta(0))
    days = delta.days
    hours, rest = divmod(delta.seconds, 3600)
    minutes = rest // 60
    day_part = "%d day%s, " % (days, "" if days == 1 else "s") if days else ""
    clock = "%2d:%02d" % (hours, minutes) if hours else "%d min" % minutes
    return " %s up %s%s,  0 users,  load average: 0.00, 0.00, 0.00" % (
        now.strftime("%H:%M:%S"), day_part, clock)


def hypervisor(req, node, service, detail, servers=None, with_servers=False,
               instances=(), uptime=_NO_UPTIME, current_workload=None):
    """One hypervisor.

    servers:      instances to list under `servers` (with_servers, /servers);
                  anything with `uuid` and `display_name`.
    with_servers: the caller asked for servers (2.75 then shows [] when none).
    instances:    live instances on the node, for current_workload (anything
                  with `vm_state` and `task_state`) ...
    current_workload: ... or the count itself, when the caller has it.
    uptime:       a string (or None) to show as `uptime` (the /uptime call and
                  2.88+ detail); left out when not given.
    """
    uuid_ids = req.version >= "2.53"
    body = {
        "id": node.uuid if uuid_ids else node.id,
        "hypervisor_hostname": node.hypervisor_hostname,
        "state": "up" if db_services.is_up(service) else "down",
        "status": "disabled" if service.disabled else "enabled",
    }
    if detail:
        body.update({
            "hypervisor_type": node.hypervisor_type,
            "hypervisor_version": node.hypervisor_version or 0,
            "host_ip": node.host_ip,
            "service": {"id": service.uuid if uuid_ids else service.id,
                        "host": node.host,
                        "disabled_reason": service.disabled_reason},
        })
        if req.version < "2.88":
            body.update(usage(node, instances, current_workload))
            body["cpu_info"] = _cpu_info(req, node)
        elif uptime is _NO_UPTIME:
            uptime = uptime_text(service) if db_services.is_up(service) else None
    if uptime is not _NO_UPTIME:
        body["uptime"] = uptime
    if servers:
        body["servers"] = [{"name": s.display_name, "uuid": s.uuid} for s in servers]
    elif with_servers and req.version >= "2.75":
        body["servers"] = []
    return body


def statistics(nodes_and_workloads):
    """GET /os-hypervisors/statistics: sums over (node, current_workload) pairs."""
    totals = {"count": 0}
    for field in _USAGE_FIELDS:
        totals[field] = 0
    for node, current_workload in nodes_and_workloads:
        totals["count"] += 1
        for field, value in usage(node, current_workload=current_workload).items():
            totals[field] += value
    return {"hypervisor_statistics": totals}

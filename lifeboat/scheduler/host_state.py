"""What the scheduler knows of each compute host, and how fresh each part is.

A decision needs, per compute node: its capacity, its usage, whether its
service is enabled and up (and its version), and its hypervisor type and
capabilities. Reading all of it per decision (ORM objects with JSON columns for
every node, and a GROUP BY over every instance) cost 390 ms p50 / 2 s p99 at
1,000 hosts and 100,000 instances. `HostStates` splits it by how fast it
changes and how wrong a stale value may be:

* read at every decision, in one statement of plain columns (compute_nodes
  joined to services, no JSON): capacity, host name, disabled, forced_down,
  last_seen_up and version. A host disabled or forced down through the API, a
  host that stopped heartbeating, or a compute node that just appeared, is
  seen by the very next decision. About 1 ms of database time at 1,000 hosts.
* kept for [filter_scheduler] compute_node_refresh_seconds: the node's
  hypervisor name and type and its capabilities (a JSON column). They change
  only when a compute service restarts with another driver or version; a node
  the decision's statement shows but the snapshot lacks is read at once.
* kept for [filter_scheduler] host_usage_refresh_seconds, plus this
  scheduler's own placements at once: usage (snapshot.UsageSnapshot says how
  stale it may be, and why only in the direction of hosts looking fuller).

`HostState` objects are kept between decisions and updated in place.
"""
import dataclasses
import datetime

import sqlalchemy as sa

from lifeboat.conf import CONF
from lifeboat.db import instances as db_instances
from lifeboat.db import models
from lifeboat.db.engine import transaction
from lifeboat.scheduler import snapshot

_N = models.ComputeNode.__table__.c
_S = models.Service.__table__.c

# Per decision: the columns that must be fresh. Plain columns only, so no JSON
# is decoded and no ORM object is built.
_FRESH = (sa.select(_N.id, _N.host, _N.vcpus, _N.memory_mb, _N.local_gb,
                    _S.disabled, _S.forced_down, _S.last_seen_up, _S.version)
          .select_from(models.ComputeNode.__table__.join(
              models.Service.__table__, _N.service_id == _S.id))
          .order_by(_N.id))

_STATIC = sa.select(_N.id, _N.hypervisor_hostname, _N.hypervisor_type,
                    _N.capabilities)


@dataclasses.dataclass(slots=True)
class HostState:
    """A compute host's capacity, usage, health and capabilities."""
    host: str
    nodename: str
    hypervisor_type: str
    vcpus: int
    memory_mb: int
    local_gb: int
    vcpus_used: int
    memory_mb_used: int
    local_gb_used: int
    num_instances: int
    enabled: bool
    up: bool
    service_version: int
    capabilities: dict


def read_static_nodes(node_ids=None):
    """{node id: (hypervisor_hostname, hypervisor_type, capabilities)} of every
    compute node, or of `node_ids`."""
    query = _STATIC if node_ids is None else _STATIC.where(_N.id.in_(node_ids))
    with transaction(read_only=True) as s:
        return {r[0]: (r[1], r[2], r[3] or {}) for r in s.connection().execute(query)}


def read_fresh():
    """The per-decision rows: (node id, host, vcpus, memory_mb, local_gb,
    disabled, forced_down, last_seen_up, version), by node id."""
    with transaction(read_only=True) as s:
        return s.connection().execute(_FRESH).all()


class HostStates:
    """The hosts a scheduling decision filters and weighs.

    Not thread-safe on its own: the scheduler calls it under its decision lock
    (the snapshots it keeps are refreshed by background threads safely).
    """

    def __init__(self):
        self.usage = snapshot.UsageSnapshot()
        self.nodes = snapshot.Snapshot(read_static_nodes, "compute nodes")
        self._states = {}   # node id -> (static tuple it was built from, HostState)

    def get(self):
        """[HostState] of every compute node, ordered by node id."""
        opts = CONF.filter_scheduler
        static = self.nodes.get(opts.compute_node_refresh_seconds)
        usage = self.usage.get(opts.host_usage_refresh_seconds)
        rows = read_fresh()
        new = [r[0] for r in rows if r[0] not in static]
        if new:
            static = self.nodes.update(read_static_nodes(new))
        oldest_up = models.utcnow() - datetime.timedelta(seconds=CONF.service_down_time)
        kept, states = self._states, {}
        hosts = []
        for node_id, host, vcpus, memory_mb, local_gb, disabled, forced_down, \
                last_seen_up, version in rows:
            fixed = static.get(node_id)
            if fixed is None:
                continue   # deleted between the two reads
            entry = kept.get(node_id)
            if entry is None or entry[0] is not fixed:
                entry = (fixed, HostState(
                    host=host, nodename=fixed[0], hypervisor_type=fixed[1],
                    vcpus=0, memory_mb=0, local_gb=0, vcpus_used=0,
                    memory_mb_used=0, local_gb_used=0, num_instances=0,
                    enabled=False, up=False, service_version=0,
                    capabilities=fixed[2]))
            states[node_id] = entry
            h = entry[1]
            h.host, h.vcpus, h.memory_mb, h.local_gb = host, vcpus, memory_mb, local_gb
            (h.num_instances, h.vcpus_used, h.memory_mb_used,
             h.local_gb_used) = usage.get(host, db_instances.NO_USAGE)
            h.enabled = not disabled
            # as db.services.is_up
            h.up = (not forced_down and last_seen_up is not None
                    and last_seen_up >= oldest_up)
            h.service_version = version
            hosts.append(h)
        self._states = states
        return hosts

    def consume(self, host, flavor):
        """Count a placement of `flavor` on `host` from now on."""
        self.usage.consume(host, flavor)

    def refresh(self):
        """Re-read everything now (when no host fits: see snapshot.UsageSnapshot)."""
        self.nodes.refresh()
        self.usage.refresh(settled=True)

    def stop(self):
        self.usage.stop()
        self.nodes.stop()

"""The scheduler service: filter hosts, weigh the survivors, pick the best.

Decisions are serialised inside one scheduler process. What a decision sees of
the hosts is kept between decisions (host_state.HostStates): enabled, up,
version and capacity are read fresh each time in one small statement, usage is
a snapshot plus this scheduler's own placements, counted as soon as it makes
them. The snapshot can only be behind in the direction of hosts looking fuller
than they are (a delete, a move away), so when no host fits, the scheduler
re-reads the database and tries once more before answering NoValidHost.
"""
import logging
import threading

from lifeboat import exception
from lifeboat.conf import CONF
from lifeboat.scheduler import filters, host_state

LOG = logging.getLogger(__name__)


class SchedulerManager:
    """RPC endpoint of the scheduler (topic 'scheduler')."""

    RPC_API_VERSION = "1.0"

    def __init__(self):
        self._lock = threading.Lock()
        self.host_states = host_state.HostStates()

    def select_destinations(self, context, spec):
        """[{"host", "nodename"}] best first for `spec`; NoValidHost if none.

        spec: flavor (dict), ignore_hosts (list), force_hosts (list),
        hypervisor_type, rescued_live_migration (bool), num (int, default 1).
        The hosts returned count as used by the flavor from now on.
        """
        with self._lock:
            chosen, stale = self._choose(self.host_states.get(), spec)
            if not chosen and stale:
                # What removed the last hosts may be a delete or a move away
                # the usage snapshot does not show yet: read again, once.
                LOG.debug("No host left with cached data; re-reading")
                self.host_states.refresh()
                chosen, _stale = self._choose(self.host_states.get(), spec)
            if not chosen:
                raise exception.NoValidHost(
                    reason="There are not enough hosts available.")
            for h in chosen:
                self.host_states.consume(h.host, spec["flavor"])
            return [{"host": h.host, "nodename": h.nodename} for h in chosen]

    @staticmethod
    def _choose(hosts, spec):
        """(best hosts for spec, whether a filter on cached data removed the
        last candidates)."""
        ignore = set(spec.get("ignore_hosts") or ())
        force = set(spec.get("force_hosts") or ())
        candidates = [h for h in hosts if h.host not in ignore
                      and (not force or h.host in force)]
        for f in filters.enabled_filters():
            candidates = [h for h in candidates if f.host_passes(h, spec)]
            if not candidates:
                LOG.info("Filter %s returned 0 hosts", type(f).__name__)
                return [], getattr(f, "uses_cache", True)
        if not candidates:
            return [], False
        weight = CONF.filter_scheduler.ram_weight_multiplier
        candidates.sort(key=lambda h: weight * (h.memory_mb - h.memory_mb_used),
                        reverse=True)
        return candidates[:spec.get("num", 1)], False

    def cleanup_host(self):
        """At service stop: no more background re-reads."""
        self.host_states.stop()

"""The scheduler service: filter hosts, weigh the survivors, pick the best.

Decisions are serialised inside one scheduler process and re-read usage from
the database each time, so concurrent boots in one process see each other's
claims once the conductor records the chosen host.
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

    def select_destinations(self, context, spec):
        """[{"host", "nodename"}] best first for `spec`; NoValidHost if none.

        spec: flavor (dict), ignore_hosts (list), force_hosts (list),
        hypervisor_type, rescued_live_migration (bool), num (int, default 1).
        """
        with self._lock:
            hosts = host_state.all_host_states()
            ignore = set(spec.get("ignore_hosts") or ())
            force = set(spec.get("force_hosts") or ())
            candidates = [h for h in hosts if h.host not in ignore
                          and (not force or h.host in force)]
            for f in filters.enabled_filters():
                candidates = [h for h in candidates if f.host_passes(h, spec)]
                if not candidates:
                    LOG.info("Filter %s returned 0 hosts", type(f).__name__)
                    break
            if not candidates:
                raise exception.NoValidHost(
                    reason="There are not enough hosts available.")
            weight = CONF.filter_scheduler.ram_weight_multiplier
            candidates.sort(key=lambda h: weight * (h.memory_mb - h.memory_mb_used),
                            reverse=True)
            return [{"host": h.host, "nodename": h.nodename}
                    for h in candidates[:spec.get("num", 1)]]

"""Host filters. Each says whether a host can take the request described by
`spec` (a dict: flavor, hypervisor_type, rescued, ...).

`enabled_filters()` builds them for each decision, and a filter reads its
options in __init__: a decision then reads each option once, not once per host
(an oslo.config lookup costs about 10 us; 1,000 hosts times three ratios made
it a noticeable part of a decision).

`uses_cache` says whether a filter's answer depends on what the scheduler keeps
between decisions (usage, capacity, hypervisor type, capabilities: see
host_state.py) rather than on what it reads at every decision. When no host is
left and a filter that uses the cache removed the last ones, the scheduler
re-reads and tries again before answering NoValidHost.
"""
from lifeboat.compute import capabilities as caps
from lifeboat.conf import CONF


class ComputeFilter:
    """The host's compute service is enabled and up."""

    uses_cache = False   # enabled/up are read at every decision

    def host_passes(self, host, spec):
        return host.enabled and host.up


class RamFilter:
    """Enough memory, with [compute] ram_allocation_ratio."""

    uses_cache = True

    def __init__(self):
        self.ratio = CONF.compute.ram_allocation_ratio

    def host_passes(self, host, spec):
        return host.memory_mb_used + spec["flavor"]["memory_mb"] <= \
            host.memory_mb * self.ratio


class CoreFilter:
    """Enough vCPUs, with [compute] cpu_allocation_ratio."""

    uses_cache = True

    def __init__(self):
        self.ratio = CONF.compute.cpu_allocation_ratio

    def host_passes(self, host, spec):
        return host.vcpus_used + spec["flavor"]["vcpus"] <= host.vcpus * self.ratio


class DiskFilter:
    """Enough local disk, with [compute] disk_allocation_ratio."""

    uses_cache = True

    def __init__(self):
        self.ratio = CONF.compute.disk_allocation_ratio

    def host_passes(self, host, spec):
        flavor = spec["flavor"]
        need = flavor["root_gb"] + flavor.get("ephemeral_gb", 0)
        return host.local_gb_used + need <= host.local_gb * self.ratio


class HypervisorTypeFilter:
    """Same hypervisor type as the source (live migration) or as requested."""

    uses_cache = True

    def host_passes(self, host, spec):
        wanted = spec.get("hypervisor_type")
        return wanted is None or host.hypervisor_type == wanted


class RescuedLiveMigrationFilter:
    """For a rescued instance's live migration: the host's driver supports it
    and its service is new enough (the spec's upgrade case)."""

    uses_cache = True   # capabilities

    def host_passes(self, host, spec):
        if not spec.get("rescued_live_migration"):
            return True
        return caps.host_supports_rescued_live_migration(
            host.capabilities, host.service_version)


FILTERS = {cls.__name__: cls for cls in (
    ComputeFilter, RamFilter, CoreFilter, DiskFilter, HypervisorTypeFilter,
    RescuedLiveMigrationFilter)}


def enabled_filters():
    """Fresh filter objects for one decision, in [filter_scheduler]
    enabled_filters order."""
    return [FILTERS[name]() for name in CONF.filter_scheduler.enabled_filters]

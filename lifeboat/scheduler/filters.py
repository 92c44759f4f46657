"""Host filters. Each says whether a host can take the request described by
`spec` (a dict: flavor, hypervisor_type, rescued, ...)."""
from lifeboat.compute import capabilities as caps
from lifeboat.conf import CONF


class ComputeFilter:
    """The host's compute service is enabled and up."""

    def host_passes(self, host, spec):
        return host.enabled and host.up


class RamFilter:
    """Enough memory, with [compute] ram_allocation_ratio."""

    def host_passes(self, host, spec):
        limit = host.memory_mb * CONF.compute.ram_allocation_ratio
        return host.memory_mb_used + spec["flavor"]["memory_mb"] <= limit


class CoreFilter:
    """Enough vCPUs, with [compute] cpu_allocation_ratio."""

    def host_passes(self, host, spec):
        limit = host.vcpus * CONF.compute.cpu_allocation_ratio
        return host.vcpus_used + spec["flavor"]["vcpus"] <= limit


class DiskFilter:
    """Enough local disk, with [compute] disk_allocation_ratio."""

    def host_passes(self, host, spec):
        flavor = spec["flavor"]
        need = flavor["root_gb"] + flavor.get("ephemeral_gb", 0)
        return host.local_gb_used + need <= host.local_gb * CONF.compute.disk_allocation_ratio


class HypervisorTypeFilter:
    """Same hypervisor type as the source (live migration) or as requested."""

    def host_passes(self, host, spec):
        wanted = spec.get("hypervisor_type")
        return wanted is None or host.hypervisor_type == wanted


class RescuedLiveMigrationFilter:
    """For a rescued instance's live migration: the host's driver supports it
    and its service is new enough (the spec's upgrade case)."""

    def host_passes(self, host, spec):
        if not spec.get("rescued_live_migration"):
            return True
        return caps.host_supports_rescued_live_migration(
            host.capabilities, host.service_version)


FILTERS = {cls.__name__: cls for cls in (
    ComputeFilter, RamFilter, CoreFilter, DiskFilter, HypervisorTypeFilter,
    RescuedLiveMigrationFilter)}


def enabled_filters():
    return [FILTERS[name]() for name in CONF.filter_scheduler.enabled_filters]

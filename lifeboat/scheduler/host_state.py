"""What the scheduler knows of each compute host, read fresh per decision."""
import dataclasses

from lifeboat.db import instances as db_instances
from lifeboat.db import services as db_services


@dataclasses.dataclass
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


def all_host_states():
    """HostState for every compute node, with usage summed from the database."""
    usage = db_instances.usage_by_host()
    states = []
    for node in db_services.compute_nodes():
        service = node.service
        count, vcpus, memory_mb, disk_gb = usage.get(node.host, (0, 0, 0, 0))
        states.append(HostState(
            host=node.host, nodename=node.hypervisor_hostname,
            hypervisor_type=node.hypervisor_type, vcpus=node.vcpus,
            memory_mb=node.memory_mb, local_gb=node.local_gb, vcpus_used=vcpus,
            memory_mb_used=memory_mb, local_gb_used=disk_gb, num_instances=count,
            enabled=not service.disabled, up=db_services.is_up(service),
            service_version=service.version, capabilities=node.capabilities or {}))
    return states

"""lifeboat-compute: the compute service of one hypervisor host ([DEFAULT] host)."""
from lifeboat.cmd import common, services


def main(argv=None):
    common.setup(argv, sync_schema=False)
    from lifeboat import service
    from lifeboat.compute.manager import ComputeManager
    from lifeboat.conf import CONF
    return services.run_until_signalled([service.Service(
        CONF.host, "compute", ComputeManager(CONF.host),
        version=service.reported_version(CONF.host))])

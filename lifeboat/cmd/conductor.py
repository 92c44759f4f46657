"""lifeboat-conductor: orchestrates boots and live migrations."""
from lifeboat.cmd import common, services


def main(argv=None):
    common.setup(argv, sync_schema=False)
    from lifeboat import service
    from lifeboat.conductor.manager import ConductorManager
    from lifeboat.conf import CONF
    return services.run_until_signalled(
        [service.Service(CONF.host, "conductor", ConductorManager())])

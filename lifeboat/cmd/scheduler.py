"""lifeboat-scheduler: picks hosts for boots and live migrations."""
from lifeboat.cmd import common, services


def main(argv=None):
    common.setup(argv, sync_schema=False)
    from lifeboat import service
    from lifeboat.conf import CONF
    from lifeboat.scheduler.manager import SchedulerManager
    return services.run_until_signalled(
        [service.Service(CONF.host, "scheduler", SchedulerManager())])

"""Client side of the scheduler RPC API.

1.0 - select_destinations
"""
from lifeboat import rpc
from lifeboat.conf import CONF

VERSION = "1.0"


class SchedulerAPI:
    def __init__(self):
        self.client = rpc.get_client("scheduler", version_cap=CONF.upgrade_levels.scheduler)

    def select_destinations(self, context, spec):
        return self.client.prepare(version="1.0").call(
            context, "select_destinations", spec=spec)

"""The conductor service: long-running orchestration (boot, live migration)."""
import logging

from lifeboat import exception
from lifeboat.compute import rpcapi as compute_rpcapi
from lifeboat.conf import CONF
from lifeboat.compute import states
from lifeboat.conductor.tasks.live_migrate import LiveMigrationTask
from lifeboat.db import actions as db_actions
from lifeboat.db import instances as db_instances
from lifeboat.scheduler import rpcapi as scheduler_rpcapi

LOG = logging.getLogger(__name__)


class ConductorManager:
    """RPC endpoint of the conductor (topic 'conductor')."""

    RPC_API_VERSION = "1.0"

    def __init__(self):
        self.scheduler = scheduler_rpcapi.SchedulerAPI()
        self.compute = compute_rpcapi.ComputeAPI()

    def build_instance(self, context, instance_uuid, requested_host=None,
                       admin_password=None):
        """Schedule a new instance and hand it to its compute host."""
        event = "conductor_schedule_and_build_instances"
        db_actions.event_start(context, instance_uuid, event, host=CONF.host)
        try:
            instance = db_instances.get(instance_uuid)
            spec = {"flavor": instance.flavor, "num": 1,
                    "force_hosts": [requested_host] if requested_host else []}
            dest = self.scheduler.select_destinations(context, spec)[0]
            db_instances.transition(instance_uuid,
                                    expected_task_state=states.SCHEDULING,
                                    host=dest["host"], node=dest["nodename"],
                                    task_state=states.SPAWNING)
        except exception.InstanceNotFound:
            return
        except exception.UnexpectedTaskState:
            return  # deleted while scheduling
        except Exception as e:
            LOG.warning("Scheduling %s failed: %s", instance_uuid, e)
            db_instances.add_fault(instance_uuid, getattr(e, "code", 500), str(e),
                                   details=repr(e))
            db_actions.event_finish(context, instance_uuid, event, error=e,
                                    host=CONF.host)
            try:
                db_instances.transition(instance_uuid,
                                        expected_task_state=states.SCHEDULING,
                                        vm_state=states.ERROR, task_state=None)
            except exception.LifeboatException:
                pass
            return
        db_actions.event_finish(context, instance_uuid, event, host=CONF.host)
        self.compute.build_and_run_instance(context, dest["host"], instance_uuid,
                                            admin_password)

    def live_migrate_instance(self, context, instance_uuid, migration_id, host,
                              block_migration, force, synchronous):
        """Run the live migration task (pre-checks, scheduling, hand-off)."""
        LiveMigrationTask(context, instance_uuid, migration_id, host,
                          block_migration, force, synchronous,
                          self.scheduler, self.compute).execute()

"""[compute] options for compute services."""
from oslo_config import cfg

GROUP = cfg.OptGroup("compute", title="Compute service")

OPTS = [
    cfg.IntOpt("report_service_version",
               help="TEST ONLY. Report this service version instead of the real "
                    "one, to simulate a compute service not yet upgraded (a "
                    "version below the one that added live migration of "
                    "rescued instances makes it count as lacking support)."),
    cfg.ListOpt("report_service_version_hosts", default=[],
                help="TEST ONLY. The hosts to which report_service_version "
                     "applies; empty means every compute service of this "
                     "process."),
    cfg.FloatOpt("cpu_allocation_ratio", default=16.0, min=0.0,
                 help="vCPU overcommit allowed by the scheduler."),
    cfg.FloatOpt("ram_allocation_ratio", default=1.5, min=0.0,
                 help="RAM overcommit allowed by the scheduler."),
    cfg.FloatOpt("disk_allocation_ratio", default=1.0, min=0.0,
                 help="Disk overcommit allowed by the scheduler."),
    cfg.IntOpt("reconcile_interval", default=60, min=1,
               help="Seconds between a compute service's checks for live "
                    "migrations from its host that nobody is driving any more "
                    "(a conductor or this service died with them); see "
                    "docs/operations.md, 'Failures'. A dead conductor is only "
                    "seen after service_down_time (60 s) anyway, so checking "
                    "more often mostly costs database round trips: one per host "
                    "per check."),
    cfg.IntOpt("live_migration_handoff_timeout", default=600, min=1,
               help="A live migration that a conductor accepted but did not hand "
                    "to its source compute within this many seconds of its last "
                    "update is rolled back by the source compute (sooner when the "
                    "conductor that took it is reported down)."),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(OPTS, group=GROUP)

"""[fake] options: the simulated hypervisor."""
from oslo_config import cfg

GROUP = cfg.OptGroup("fake", title="Simulated virt driver")

OPTS = [
    cfg.FloatOpt("boot_seconds", default=0.0, min=0, help="Simulated spawn time."),
    cfg.FloatOpt("reboot_seconds", default=0.0, min=0, help="Simulated reboot time."),
    cfg.FloatOpt("power_seconds", default=0.0, min=0,
                 help="Simulated stop/start/pause/unpause/suspend/resume time."),
    cfg.FloatOpt("rescue_seconds", default=0.0, min=0,
                 help="Simulated rescue and unrescue time."),
    cfg.FloatOpt("live_migration_seconds", default=0.0, min=0,
                 help="Simulated duration of a live migration's transfer."),
    cfg.IntOpt("vcpus", default=64, min=1, help="vCPUs of each simulated host."),
    cfg.IntOpt("memory_mb", default=262144, min=1,
               help="Memory (MiB) of each simulated host."),
    cfg.IntOpt("local_gb", default=10240, min=1,
               help="Local disk (GiB) of each simulated host."),
    cfg.ListOpt("hosts_without_rescued_live_migration", default=[],
                help="Hosts whose driver reports "
                     "supports_live_migrate_rescued = False."),
    cfg.ListOpt("hosts_failing_live_migration", default=[],
                help="Incoming live migrations to these hosts fail."),
    cfg.BoolOpt("live_migration_post_copy", default=False,
                help="Force-complete switches a simulated migration to "
                     "post-copy (past the point of no return) instead of "
                     "pausing the guest to converge."),
    cfg.BoolOpt("shared_storage", default=False,
                help="Simulated hosts share instance storage."),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(OPTS, group=GROUP)

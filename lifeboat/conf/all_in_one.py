"""[all_in_one] options for lifeboat-all-in-one."""
from oslo_config import cfg

GROUP = cfg.OptGroup("all_in_one", title="All-in-one process")

OPTS = [
    cfg.ListOpt("compute_hosts", default=["host1", "host2", "host3"],
                help="One compute manager runs per name, each its own "
                     "hypervisor host."),
    cfg.BoolOpt("seed", default=True,
                help="On first start, create the default flavors, a bootable "
                     "image and a rescue image."),
    cfg.IntOpt("timer_workers", default=4, min=1,
               help="Threads that run the compute services' heartbeats, "
                    "periodic tasks and migration reconciliation, shared by "
                    "all the compute hosts of the process (one timer thread "
                    "hands them the jobs that are due: three jobs in all, "
                    "each serving a slice of the hosts with one statement, "
                    "plus the scheduler's and other services' own). A few "
                    "threads bound the background work's share of the "
                    "database pool and leave the rest to the API. Raise it "
                    "if the log warns that the workers cannot keep up."),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(OPTS, group=GROUP)

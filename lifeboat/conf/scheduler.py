"""[filter_scheduler] options."""
from oslo_config import cfg

GROUP = cfg.OptGroup("filter_scheduler", title="Scheduler")

OPTS = [
    cfg.ListOpt("enabled_filters",
                default=["ComputeFilter", "RamFilter", "CoreFilter",
                         "DiskFilter", "HypervisorTypeFilter",
                         "RescuedLiveMigrationFilter"],
                help="Filters applied, in order, to candidate hosts."),
    cfg.FloatOpt("ram_weight_multiplier", default=1.0,
                 help="Positive spreads instances by free RAM; negative stacks."),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(OPTS, group=GROUP)

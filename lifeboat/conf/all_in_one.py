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
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(OPTS, group=GROUP)

"""[upgrade_levels]: RPC version pins for rolling upgrades."""
from oslo_config import cfg

GROUP = cfg.OptGroup("upgrade_levels", title="RPC version pins")

OPTS = [
    cfg.StrOpt("compute", help="Highest compute RPC API version to send."),
    cfg.StrOpt("conductor", help="Highest conductor RPC API version to send."),
    cfg.StrOpt("scheduler", help="Highest scheduler RPC API version to send."),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(OPTS, group=GROUP)

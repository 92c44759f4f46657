"""Configuration: every option is declared once, in the module named after its group.

`CONF` is the one oslo.config object the whole service reads. `parse_args` loads
`--config-file` (repeatable) and registers nothing new: registration happens at import.
"""
from oslo_config import cfg

from lifeboat.conf import (all_in_one, api, compute, database, default, fake,
                           keystone, libvirt, scheduler, upgrade_levels)

CONF = cfg.CONF

for _module in (default, api, database, all_in_one, fake, compute, scheduler,
                libvirt, upgrade_levels, keystone):
    _module.register_opts(CONF)


def parse_args(argv, default_config_files=None):
    """Parse command-line arguments and the config files they name."""
    CONF(argv, project="lifeboat", prog=None,
         default_config_files=default_config_files or [])

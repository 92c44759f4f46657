"""Option listing for oslo-config-generator and `lifeboat-manage config sample`."""
from lifeboat.conf import (all_in_one, api, compute, database, default, fake,
                           keystone, libvirt, scheduler, upgrade_levels)


def list_opts():
    return [
        (None, default.OPTS + default.messaging_opts()),
        (api.GROUP, api.OPTS),
        (database.GROUP, database.OPTS),
        (all_in_one.GROUP, all_in_one.OPTS),
        (compute.GROUP, compute.OPTS),
        (scheduler.GROUP, scheduler.OPTS),
        (fake.GROUP, fake.OPTS),
        (libvirt.GROUP, libvirt.OPTS),
        (upgrade_levels.GROUP, upgrade_levels.OPTS),
        (keystone.GROUP, keystone.sample_opts()),
    ]

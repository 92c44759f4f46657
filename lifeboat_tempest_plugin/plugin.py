"""The Tempest plugin class (entry point group `tempest.test_plugins`)."""
import os

from oslo_config import cfg
from tempest.test_discover import plugins

group = cfg.OptGroup(name="lifeboat", title="Lifeboat (rescued live migration) options")

opts = [
    cfg.BoolOpt("rescued_live_migration", default=False,
                help="The cloud live-migrates rescued servers at microversion "
                     "2.105 (Lifeboat, or Nova with the blueprint "
                     "live-migrate-rescued-instances)."),
    cfg.FloatOpt("migration_wait_timeout", default=120,
                 help="Seconds to wait for a live migration to end."),
]


class LifeboatTempestPlugin(plugins.TempestPlugin):
    def load_tests(self):
        base_path = os.path.split(os.path.dirname(os.path.abspath(__file__)))[0]
        test_dir = "lifeboat_tempest_plugin/tests"
        full_test_dir = os.path.join(base_path, test_dir)
        return full_test_dir, base_path

    def register_opts(self, conf):
        conf.register_group(group)
        conf.register_opts(opts, group=group)

    def get_opt_lists(self):
        return [(group.name, opts)]

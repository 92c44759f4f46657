"""[keystone_authtoken] options: keystonemiddleware's auth_token, as every
OpenStack service configures it (read when [api] auth_strategy = keystone).

The options are keystonemiddleware's own (``keystonemiddleware.auth_token.
list_opts``), registered at import so a config file naming them parses; the
authentication plugin's options (auth_url, username, password, ...) are
registered by auth_token itself once it knows ``auth_type``. The sample config
lists the ``password`` plugin's options, the plugin Lifeboat's docs use.
"""
from keystoneauth1 import loading
from keystonemiddleware import auth_token

GROUP = "keystone_authtoken"


def _middleware_opts():
    return [opt for group, opts in auth_token.list_opts() if group == GROUP
            for opt in opts]


OPTS = _middleware_opts()


def sample_opts():
    """auth_token's options plus the `password` plugin's, for the sample config."""
    names = {opt.dest for opt in OPTS}
    plugin = [opt for opt in loading.get_auth_plugin_conf_options("password")
              if opt.dest not in names]
    return _middleware_opts() + plugin


def register_opts(conf):
    conf.register_opts(OPTS, group=GROUP)

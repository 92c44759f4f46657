"""lifeboat-all-in-one: the whole cloud in one process on embedded defaults."""
import logging
import signal

from lifeboat.cmd import common

LOG = logging.getLogger(__name__)


def main(argv=None):
    common.setup(argv)
    from lifeboat.api.app import create_app
    from lifeboat.cloud import Cloud, serve_api
    from lifeboat.conf import CONF
    cloud = Cloud().start()
    base = "http://%s:%d" % (CONF.api.listen, CONF.api.port)
    print(_BANNER % {"base": base, "hosts": ", ".join(cloud.compute_hosts),
                     "state": CONF.state_path, "auth": CONF.api.auth_strategy},
          flush=True)
    app = create_app()
    common.started()
    # uvicorn shuts the API down on SIGINT or SIGTERM, then raises the signal
    # again with the handler that was there before it: for SIGTERM (systemd's
    # stop, `kill`) the default one would end the process at once, services
    # unstopped. This one makes it the way Ctrl-C goes.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        serve_api(app)
    except KeyboardInterrupt:
        pass  # uvicorn already shut the API down gracefully
    finally:
        cloud.stop()
        print("Lifeboat stopped; state kept in %s" % CONF.state_path, flush=True)
    return 0


def _interrupt(_signum, _frame):
    raise KeyboardInterrupt


_BANNER = """
Lifeboat is serving the Compute API at %(base)s/v2.1 (image API at %(base)s/image)
  compute hosts: %(hosts)s    state: %(state)s    auth: %(auth)s (noauth2 token: user:project)

  curl -s -H 'X-Auth-Token: admin:admin' %(base)s/v2.1/servers
  export OS_AUTH_TYPE=admin_token OS_ENDPOINT=%(base)s/v2.1 OS_TOKEN=admin:admin
  openstack --os-compute-api-version 2.105 server list   (see docs/operator-guide.md)

Ctrl-C stops it; restarting on the same state path keeps every server.
"""

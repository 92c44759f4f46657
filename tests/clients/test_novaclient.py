"""python-novaclient: its Python API through Keystone and through noauth2
(keystoneauth's token_endpoint plugin), and its `nova` CLI, which needs Keystone."""
import pytest

from tests.clients import services
from tests.clients.helpers import Api, run_cli

pytestmark = pytest.mark.clients

API_VERSION = "2.96"  # novaclient's API_MAX_VERSION (its "2.latest")


def _client(stack, cloud):
    from keystoneauth1 import session, token_endpoint
    from novaclient import client
    if cloud == "noauth":
        auth = token_endpoint.Token(stack.lifeboat_noauth.base + "/v2.1", "admin:admin")
        sess = session.Session(auth=auth)
        return client.Client(API_VERSION, session=sess,
                             endpoint_override=stack.lifeboat_noauth.base + "/v2.1")
    return client.Client(API_VERSION, session=stack.keystone.session("admin", "admin"))


def _api(stack, cloud):
    if cloud == "noauth":
        return Api(stack.lifeboat_noauth, "admin:admin")
    return Api(stack.lifeboat_ks, stack.token("admin"))


@pytest.mark.parametrize("cloud", ["admin", "noauth"])
def test_python_api(stack, cloud):
    nova = _client(stack, cloud)
    api = _api(stack, cloud)
    image = api.lifeboat.request("GET", "/image/v2/images?name=cirros",
                                 api.token)[2]["images"][0]["id"]
    server = nova.servers.create("nova-%s" % cloud, image, "1", nics="none")
    api.wait(server.id, "ACTIVE")
    assert server.id in [s.id for s in nova.servers.list()]
    server = nova.servers.get(server.id)
    assert server.name == "nova-%s" % cloud

    # novaclient sends {"rescue": null}
    nova.servers.rescue(server)
    api.wait(server.id, "RESCUE")
    nova.servers.unrescue(server)
    api.wait(server.id, "ACTIVE")

    source = getattr(server, "OS-EXT-SRV-ATTR:host")
    target = "host2" if source == "host1" else "host1"
    nova.servers.live_migrate(server, host=target, block_migration="auto")
    api.wait(server.id, "ACTIVE", host=target)
    migrations = nova.migrations.list(instance_uuid=server.id)
    assert [m.status for m in migrations] == ["completed"]
    assert migrations[0].dest_compute == target

    computes = [s for s in nova.services.list(binary="nova-compute")]
    assert {s.host for s in computes} == {"host1", "host2"}
    hypervisors = nova.hypervisors.list()
    assert {h.hypervisor_hostname for h in hypervisors} == {"host1", "host2"}

    nova.servers.delete(server)
    api.wait(server.id, "DELETED")


def test_nova_cli_through_keystone(stack):
    env = {"OS_AUTH_URL": stack.keystone.url, "OS_USERNAME": "admin",
           "OS_PASSWORD": services.PASSWORD, "OS_PROJECT_NAME": "admin",
           "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default",
           "OS_REGION_NAME": services.REGION, "OS_IDENTITY_API_VERSION": "3"}
    api = _api(stack, "admin")
    sid = api.boot("nova-cli", host="host1")

    def nova(*args):
        return run_cli(stack, "nova", *args, cloud=None, env=env).stdout

    assert sid in nova("list")
    assert "nova-cli" in nova("show", sid)
    nova("rescue", sid)
    api.wait(sid, "RESCUE")
    nova("unrescue", sid)
    api.wait(sid, "ACTIVE")
    nova("live-migration", sid, "host2")
    api.wait(sid, "ACTIVE", host="host2")
    assert sid in nova("migration-list", "--instance-uuid", sid)
    services_out = nova("service-list")
    assert "host1" in services_out and "host2" in services_out
    assert "host1" in nova("hypervisor-list")
    nova("delete", sid)
    api.wait(sid, "DELETED")

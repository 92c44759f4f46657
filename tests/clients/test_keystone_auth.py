"""[api] auth_strategy = keystone: tokens validated by keystonemiddleware's
auth_token against a real Keystone; forged identity headers never count; roles
map to Nova's policy defaults (admin, manager, member, reader; project scope)."""
import pytest

from tests.clients.helpers import Api

pytestmark = pytest.mark.clients

FORGED = {"X-Identity-Status": "Confirmed", "X-Roles": "admin,manager,member,reader",
          "X-User-Id": "forged-user", "X-Project-Id": "admin", "X-Is-Admin-Project": "True",
          "X-Service-Roles": "service", "X-Service-Identity-Status": "Confirmed",
          "X-Tenant-Id": "admin", "X-Role": "admin", "OpenStack-System-Scope": "all"}


def _req(stack, method, path, user=None, **kw):
    token = stack.token(user) if user else kw.pop("token", None)
    return stack.lifeboat_ks.request(method, path, token, **kw)


def test_version_documents_need_no_token(stack):
    for path in ("/", "/v2.1", "/v2.1/", "/v2", "/v2/"):
        status, _, body = _req(stack, "GET", path)
        assert status == 200, (path, body)
    status, _, body = _req(stack, "GET", "/v2.1/")
    assert body["version"]["version"] == "2.105"


@pytest.mark.parametrize("path", ["/v2.1/servers", "/v2.1/os-services",
                                  "/image/v2/images"])
def test_no_token_gets_keystonemiddleware_401(stack, path):
    status, headers, body = _req(stack, "GET", path)
    assert status == 401
    assert headers["WWW-Authenticate"] == 'Keystone uri="%s"' % stack.keystone.url
    assert body == {"error": {"code": 401, "title": "Unauthorized", "message":
                              "The request you have made requires authentication."}}
    assert headers["x-openstack-request-id"].startswith("req-")


def test_invalid_token_gets_401(stack):
    status, headers, body = _req(stack, "GET", "/v2.1/servers", token="not-a-token")
    assert status == 401 and body["error"]["code"] == 401
    assert "WWW-Authenticate" in headers


def test_forged_identity_headers_without_token_get_401(stack):
    status, _, body = _req(stack, "GET", "/v2.1/os-services", headers=FORGED)
    assert status == 401, body


def test_forged_identity_headers_with_a_member_token_are_ignored(stack):
    # a member of project demo forging admin roles, another project, system scope
    status, _, body = _req(stack, "GET", "/v2.1/os-services", "member", headers=FORGED)
    assert status == 403, body
    status, _, body = _req(stack, "GET", "/v2.1/servers?all_tenants=1", "member",
                           headers=FORGED)
    assert status == 403, body
    status, _, body = _req(stack, "GET", "/v2.1/servers", "member", headers=FORGED)
    assert status == 200
    # the token's project, not the forged one: the URL project id must match it
    demo = stack.keystone.ids["projects"]["demo"]
    status, _, body = _req(stack, "GET", "/v2.1/%s/servers" % demo, "member",
                           headers=FORGED)
    assert status == 200, body
    status, _, body = _req(stack, "GET", "/v2.1/admin/servers", "member", headers=FORGED)
    assert status == 400 and "doesn't match" in body["badRequest"]["message"]


def test_roles_map_to_nova_policy(stack):
    admin = Api(stack.lifeboat_ks, stack.token("admin"))
    member = Api(stack.lifeboat_ks, stack.token("member"))
    sid = member.boot("ks-member-server")      # member: create (own project)
    # reader: read, not write
    status, _, body = _req(stack, "GET", "/v2.1/servers/%s" % sid, "reader")
    assert status == 200, body
    status, _, body = _req(stack, "POST", "/v2.1/servers/%s/action" % sid, "reader",
                           body={"os-stop": None})
    assert status == 403, body
    # member: no live migration (manager and above), no admin APIs
    status, _, body = _req(stack, "POST", "/v2.1/servers/%s/action" % sid, "member",
                           version="2.30", body={"os-migrateLive": {
                               "host": None, "block_migration": "auto"}})
    assert status == 403, body
    status, _, _ = _req(stack, "GET", "/v2.1/os-hypervisors", "member")
    assert status == 403
    # manager: live-migrate a server of its project without naming a host...
    status, _, body = _req(stack, "POST", "/v2.1/servers/%s/action" % sid, "manager",
                           version="2.30", body={"os-migrateLive": {
                               "host": "host2", "block_migration": "auto"}})
    assert status == 403, body
    source = admin.server(sid)["OS-EXT-SRV-ATTR:host"]
    status, _, body = _req(stack, "POST", "/v2.1/servers/%s/action" % sid, "manager",
                           version="2.30", body={"os-migrateLive": {
                               "host": None, "block_migration": "auto"}})
    assert status == 202, body
    moved = admin.wait(sid, "ACTIVE", timeout=30)
    while moved["OS-EXT-SRV-ATTR:host"] == source:
        moved = admin.wait(sid, "ACTIVE")
    # ...but not another project's
    status, _, body = _req(stack, "GET", "/v2.1/servers/%s" % sid, "member2")
    assert status == 404, body
    # admin: everything, every project
    status, _, body = _req(stack, "GET", "/v2.1/servers?all_tenants=1", "admin")
    assert status == 200 and sid in [s["id"] for s in body["servers"]]
    status, _, _ = _req(stack, "DELETE", "/v2.1/servers/%s" % sid, "member")
    assert status == 204

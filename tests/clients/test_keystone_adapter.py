"""lifeboat/api/keystone.py without a Keystone: header stripping, the WSGI
environ, and handing auth_token's answers through (unit suite: no marker)."""
import asyncio

import pytest

from lifeboat import exception
from lifeboat.api import keystone


class _Request:
    def __init__(self, headers, path="/v2.1/servers"):
        self.scope = {"type": "http", "method": "GET", "path": path,
                      "query_string": b"limit=1", "headers": headers,
                      "server": ("127.0.0.1", 8774), "client": ("127.0.0.1", 5000),
                      "scheme": "http", "http_version": "1.1", "root_path": ""}


FORGED = [(b"x-identity-status", b"Confirmed"), (b"x-roles", b"admin"),
          (b"x-user-id", b"u"), (b"x-project-id", b"p"), (b"x-service-roles", b"service"),
          (b"x-service-user-id", b"s"), (b"x-tenant-id", b"p"), (b"x-tenant", b"p"),
          (b"x-user", b"u"), (b"x-role", b"admin"), (b"x-is-admin-project", b"True"),
          (b"openstack-system-scope", b"all"), (b"x-service-catalog", b"[]"),
          (b"x-domain-id", b"d"), (b"x-user-domain-name", b"Default"),
          (b"X-Project-Domain-Id", b"default")]
KEPT = [(b"x-auth-token", b"tok"), (b"x-service-token", b"stok"),
        (b"openstack-api-version", b"compute 2.105"), (b"content-type", b"application/json")]


def test_every_identity_header_is_stripped_and_credentials_kept():
    cleaned = keystone.clean_headers(FORGED + KEPT)
    assert cleaned == KEPT


def test_environ_from_scope():
    env = keystone.build_environ(_Request(KEPT + [(b"accept", b"a"), (b"accept", b"b")])
                                 .scope, keystone.clean_headers(KEPT))
    assert env["REQUEST_METHOD"] == "GET" and env["PATH_INFO"] == "/v2.1/servers"
    assert env["QUERY_STRING"] == "limit=1" and env["SERVER_PORT"] == "8774"
    assert env["HTTP_X_AUTH_TOKEN"] == "tok" and env["HTTP_X_SERVICE_TOKEN"] == "stok"
    assert "CONTENT_TYPE" not in env and env["wsgi.url_scheme"] == "http"


class _FakeProtocol:
    """Stands in for AuthProtocol: rejects without a token, else sets headers."""

    def __init__(self, app):
        self.app = app
        self.seen = None

    def __call__(self, environ, start_response):
        self.seen = dict(environ)
        if environ.get("HTTP_X_AUTH_TOKEN") != "good":
            start_response("401 Unauthorized", [
                ("WWW-Authenticate", 'Keystone uri="http://ks/v3"'),
                ("Content-Type", "application/json"), ("Content-Length", "2")])
            return [b"{}"]
        environ.update(HTTP_X_IDENTITY_STATUS="Confirmed", HTTP_X_USER_ID="uid",
                       HTTP_X_PROJECT_ID="pid", HTTP_X_ROLES="member,reader",
                       HTTP_OPENSTACK_SYSTEM_SCOPE=None)
        return self.app(environ, start_response)


@pytest.fixture
def fake_protocol(monkeypatch):
    proto = _FakeProtocol(keystone._mark_authenticated)  # noqa: SLF001
    monkeypatch.setattr(keystone, "get_protocol", lambda: proto)
    return proto


def test_validated_identity_becomes_the_context(fake_protocol):
    request = _Request(FORGED + [(b"x-auth-token", b"good")])
    ctx = asyncio.run(keystone.authenticate(request, "req-1"))
    assert (ctx.user_id, ctx.project_id) == ("uid", "pid")
    assert not ctx.is_admin and "member" in ctx.roles and ctx.system_scope is None
    # auth_token never saw a forged header, and neither does anything downstream
    assert "HTTP_X_ROLES" not in fake_protocol.seen
    assert "HTTP_OPENSTACK_SYSTEM_SCOPE" not in fake_protocol.seen
    headers = dict(request.scope["headers"])
    assert headers[b"x-roles"] == b"member,reader" and headers[b"x-user-id"] == b"uid"
    assert b"openstack-system-scope" not in headers


def test_rejection_is_returned_as_auth_token_gave_it(fake_protocol):
    request = _Request(FORGED)
    with pytest.raises(keystone.Rejected) as error:
        asyncio.run(keystone.authenticate(request, "req-2"))
    assert isinstance(error.value, exception.Unauthorized)
    response = error.value.response
    assert response.status_code == 401 and response.body == b"{}"
    assert response.headers["www-authenticate"] == 'Keystone uri="http://ks/v3"'


def test_config_sample_has_keystone_authtoken():
    from lifeboat.cmd import manage
    sample = manage.sample_config()
    section = sample.split("[keystone_authtoken]", 1)[1]
    for option in ("www_authenticate_uri", "auth_type", "auth_url", "username",
                   "password", "project_name", "memcached_servers"):
        assert "#%s = " % option in section, option

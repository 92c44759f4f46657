"""keystonemiddleware's auth_token in front of the ASGI app ([api] auth_strategy = keystone).

auth_token is WSGI and blocking; the Compute API is ASGI. For each request this
adapter

1. builds a WSGI environ from the ASGI scope, with every identity header a
   client could forge removed FIRST (X-Identity-Status, X-User-*, X-Project-*,
   X-Roles, X-Service-* but X-Service-Token, X-Tenant*, X-Domain-*,
   X-Is-Admin-Project, OpenStack-System-Scope, ...: all the headers auth_token
   sets, and OpenStack-System-Scope, which auth_token itself does not strip);
2. runs the one AuthProtocol (built once from CONF, group [keystone_authtoken])
   around a tiny WSGI app that only marks the environ as authenticated, in a
   worker thread;
3. either hands back auth_token's own response unchanged (401 with its body
   and ``WWW-Authenticate: Keystone uri="..."``), or builds the request context
   from the identity headers auth_token validated and set
   (lifeboat.api.auth.from_keystone_headers). The ASGI scope's headers are
   replaced by the cleaned, validated ones, so nothing downstream can read a
   forged identity header either.
"""
import io
import logging
import sys
import threading

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from lifeboat import exception
from lifeboat.api import auth
from lifeboat.conf import CONF

LOG = logging.getLogger(__name__)

_AUTHENTICATED = "lifeboat.keystone.authenticated"

# Exact names (lower case) auth_token sets or reads as identity.
_IDENTITY_HEADERS = frozenset({
    "x-identity-status", "x-service-identity-status", "x-is-admin-project",
    "x-service-catalog", "openstack-system-scope", "x-roles", "x-role",
    "x-user", "x-tenant", "x-tenant-id", "x-tenant-name",
})
# Prefixes: X-User-*, X-Project-*, X-Domain-*, X-Service-* (X-Service-Roles,
# X-Service-User-Id, X-Service-Project-Id, ...), X-Tenant-*, X-Identity-*.
_IDENTITY_PREFIXES = ("x-user-", "x-project-", "x-domain-", "x-service-",
                      "x-tenant-", "x-identity-", "x-system-")
# Credentials auth_token validates: these are what a client must send.
_KEEP = frozenset({"x-service-token"})


def is_identity_header(name):
    """True for a header only auth_token may set (`name` in any case)."""
    name = name.lower()
    if name in _KEEP:
        return False
    return name in _IDENTITY_HEADERS or name.startswith(_IDENTITY_PREFIXES)


class Rejected(exception.Unauthorized):
    """auth_token refused the request; `response` is its answer, as it gave it."""

    def __init__(self, response):
        super().__init__()
        self.response = response


def _mark_authenticated(environ, start_response):
    environ[_AUTHENTICATED] = True
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b""]


_protocol = None
_lock = threading.Lock()


def get_protocol():
    """The one AuthProtocol, built from CONF [keystone_authtoken] on first use."""
    global _protocol
    if _protocol is None:
        with _lock:
            if _protocol is None:
                from keystonemiddleware import auth_token
                _protocol = auth_token.AuthProtocol(
                    _mark_authenticated, {"oslo_config_config": CONF})
    return _protocol


def reset():
    """Forget the AuthProtocol (tests that change [keystone_authtoken])."""
    global _protocol
    with _lock:
        _protocol = None


def clean_headers(raw_headers):
    """The ASGI header list without identity headers (bytes pairs kept)."""
    return [(k, v) for k, v in raw_headers
            if not is_identity_header(k.decode("latin-1"))]


def build_environ(scope, raw_headers):
    """A WSGI environ for `scope` with `raw_headers` (already cleaned)."""
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client") or ("", 0)
    environ = {
        "REQUEST_METHOD": scope.get("method", "GET"),
        "SCRIPT_NAME": scope.get("root_path", ""),
        "PATH_INFO": scope.get("path", "/"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1] if server[1] is not None else 80),
        "SERVER_PROTOCOL": "HTTP/%s" % scope.get("http_version", "1.1"),
        "REMOTE_ADDR": str(client[0]),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(b""),  # auth_token never reads the body
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in raw_headers:
        key = name.decode("latin-1").upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            continue
        key = "HTTP_" + key
        value = value.decode("latin-1")
        environ[key] = environ[key] + "," + value if key in environ else value
    return environ


def _run(environ):
    """Call auth_token; (status, headers, body) of its response."""
    captured = {}

    def start_response(status, headers, exc_info=None):
        captured["status"], captured["headers"] = status, headers
        return lambda data: None

    result = get_protocol()(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return captured.get("status", "500 Internal Server Error"), \
        captured.get("headers", []), body


def _identity_headers(environ):
    """{lower-case header name: value} of the validated identity in `environ`."""
    out = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = key[5:].replace("_", "-").lower()
            if value is not None and is_identity_header(name):
                out[name] = str(value)
    return out


def authenticate_environ(environ):
    """Blocking: validate the token; the identity headers, or raise Rejected."""
    status, headers, body = _run(environ)
    if not environ.get(_AUTHENTICATED):
        code = int(status.split(" ", 1)[0])
        LOG.debug("auth_token rejected %s %s: %s", environ["REQUEST_METHOD"],
                  environ["PATH_INFO"], status)
        response = Response(content=body, status_code=code)
        for name, value in headers:
            if name.lower() != "content-length":
                response.headers.append(name, value)
        raise Rejected(response)
    return _identity_headers(environ)


async def authenticate(request, request_id):
    """The RequestContext for a keystone-authenticated `request` (or Rejected)."""
    scope = request.scope
    cleaned = clean_headers(scope.get("headers", []))
    environ = build_environ(scope, cleaned)
    identity = await run_in_threadpool(authenticate_environ, environ)
    # Downstream sees the request as auth_token would have passed it on.
    scope["headers"] = cleaned + [(k.encode("latin-1"), v.encode("latin-1"))
                                  for k, v in identity.items()]
    return auth.from_keystone_headers(identity, request_id)

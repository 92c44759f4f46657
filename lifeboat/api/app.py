"""The Compute API application: routing, middleware and fault handling.

Every response carries request ids, the microversion headers (on /v2.1) and an
`X-Lifeboat-Version` header, so clients (our CLI) can tell Lifeboat from Nova
before sending 2.105.
"""
import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

import lifeboat
from lifeboat import context as lb_context
from lifeboat import exception
from lifeboat.api import auth, faults, microversion
from lifeboat.conf import CONF

LOG = logging.getLogger(__name__)

# First path segments under /v2.1 that are collections, not a project id.
_COLLECTIONS = {"servers", "flavors", "os-services", "os-hypervisors",
                "os-migrations", "images", "os-keypairs", "limits", "extensions",
                "os-availability-zone", "os-aggregates", "os-simple-tenant-usage",
                "os-quota-sets", "os-server-groups", "os-instance-usage-audit-log",
                "os-security-groups", "os-networks", "os-volumes", "os-hosts",
                "os-cells", "os-assisted-volume-snapshots", "os-server-external-events",
                "os-quota-class-sets", "os-tenant-networks", "os-floating-ips",
                "os-volumes_boot", "os-snapshots", "os-certificates", "os-agents",
                "os-fixed-ips", "os-floating-ip-pools", "os-cloudpipe",
                "os-fping", "os-baremetal-nodes", "os-security-group-rules",
                "os-floating-ips-bulk", "os-floating-ip-dns", "os-migrations",
                "os-volume-types", "os-console-auth-tokens", "os-instance-actions"}
_UNAUTHENTICATED = {"/", "/v2", "/v2/", "/v2.1", "/v2.1/", "/image", "/image/",
                    "/image/versions"}

LIFEBOAT_HEADER = "X-Lifeboat-Version"


def _split_api(path):
    """('v2.1'|'v2'|'image'|None, normalised path, project id from the URL or None).

    /v2.1/{project_id}/servers is served as /v2.1/servers (Nova accepts both).
    """
    parts = path.split("/")
    if len(parts) > 1 and parts[1] in ("v2", "v2.1"):
        project_id = None
        if len(parts) > 3 and parts[2] and parts[2] not in _COLLECTIONS:
            project_id = parts.pop(2)
        return parts[1], "/".join(parts), project_id
    if len(parts) > 1 and parts[1] == "image":
        return "image", path, None
    return None, path, None


def create_app():
    """Build the FastAPI app with every handler module's router."""
    from lifeboat.api.handlers import ROUTERS, versions

    app = FastAPI(title="Lifeboat Compute API", docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.include_router(versions.router)
    for router, prefixes in ROUTERS:
        for prefix in prefixes:
            app.include_router(router, prefix=prefix)

    @app.exception_handler(exception.LifeboatException)
    async def _domain_error(request, error):
        return faults.from_exception(error)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request, error):
        if error.status_code == 404:
            return faults.fault_response(404, "The resource could not be found.")
        if error.status_code == 405:
            return faults.fault_response(405, "The method specified is not allowed "
                                              "for this resource.")
        return faults.fault_response(error.status_code, str(error.detail))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request, error):
        return faults.fault_response(400, "Invalid input: %s" % error.errors()[:1])

    @app.exception_handler(Exception)
    async def _unexpected(request, error):
        return faults.from_exception(error)

    app.add_middleware(ApiMiddleware)
    return app


class ApiMiddleware:
    """Request ids, microversion, authentication and the URL's project, before
    any handler runs; the same headers on every response.

    A plain ASGI middleware: Starlette's BaseHTTPMiddleware (`@app.middleware`)
    runs the rest of the app in a task group and streams its response through
    a memory channel, about a millisecond per request that a handful of
    requests per operation (POST, then GETs until done) pays over and over.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request = Request(scope, receive)
        request_id = lb_context.generate_request_id()
        headers = {"x-openstack-request-id": request_id,
                   "x-compute-request-id": request_id,
                   LIFEBOAT_HEADER: lifeboat.__version__}
        api, path, url_project = _split_api(scope["path"])
        scope["path"] = path

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                raw = list(message.get("headers", []))
                present = {k.lower() for k, _ in raw}
                raw += [(k.lower().encode("latin-1"), v.encode("latin-1"))
                        for k, v in headers.items()
                        if k.lower().encode("latin-1") not in present]
                message = dict(message, headers=raw)
            await send(message)

        try:
            _check_body_size(request, api)
            request.state.legacy = api == "v2"
            version = microversion.from_headers(request.headers, legacy=api != "v2.1")
            request.state.version = version
            if api == "v2.1":
                headers["OpenStack-API-Version"] = "compute %s" % version
                headers["X-OpenStack-Nova-API-Version"] = str(version)
                headers["Vary"] = "OpenStack-API-Version, X-OpenStack-Nova-API-Version"
            if path not in _UNAUTHENTICATED and api is not None:
                request.state.context = await _authenticate(request, request_id)
                _check_url_project(request.state.context, url_project)
            else:
                request.state.context = None
        except exception.LifeboatException as e:
            # keystonemiddleware's own 401 goes back as it gave it.
            response = getattr(e, "response", None) or faults.from_exception(e)
            return await response(scope, receive, send_with_headers)
        await self.app(scope, receive, send_with_headers)


def _check_body_size(request, api):
    if api == "image":
        return  # image data is streamed to disk
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > CONF.api.max_request_body_size:
        raise exception.RequestTooLarge()


def _check_url_project(context, url_project):
    if url_project is not None and url_project != context.project_id:
        raise exception.Invalid(
            "Malformed request URL: URL's project_id '%s' doesn't match Context's "
            "project_id '%s'" % (url_project, context.project_id))


async def _authenticate(request, request_id):
    if CONF.api.auth_strategy == "keystone":
        # Validated by keystonemiddleware's auth_token; forged identity
        # headers are stripped first (lifeboat/api/keystone.py).
        from lifeboat.api import keystone
        return await keystone.authenticate(request, request_id)
    return auth.noauth2(request.headers, request_id)

"""Connecting to a cloud and choosing the Compute API microversion.

The connection is an ordinary openstacksdk one (clouds.yaml, `--os-cloud`,
the OS_* variables and every `--os-*` option keystoneauth knows), so the CLI
works wherever `openstack` does, Keystone-less `admin_token` clouds included.

The microversion is ours to choose, not the SDK's: openstacksdk's
`live_migrate_server` hard-codes 2.30, which cannot move a rescued server.
One unauthenticated GET of the compute endpoint's version document tells us
both the server's range and whether it is Lifeboat (every Lifeboat response
carries `X-Lifeboat-Version`):

* Lifeboat: 2.105 (live migration of rescued instances), or its max if older;
* anything else (upstream Nova): Nova's own maximum, capped at 2.104, because
  2.105 is Lifeboat's number — a future Nova 2.105 would mean something this
  CLI does not know, and Nova must be asked only for what it documents.
"""
import dataclasses
import re

import openstack
from openstack.config import loader

LIFEBOAT_HEADER = "X-Lifeboat-Version"
LIFEBOAT_MAX = "2.105"
NOVA_MAX = "2.104"


class CliError(Exception):
    """An error to print (without a traceback) before exiting 1."""


class ApiError(CliError):
    """A 4xx/5xx answer; `message` is Nova's fault message when there is one."""

    def __init__(self, status, message):
        super().__init__("HTTP %s: %s" % (status, message))
        self.status = status
        self.message = message


def vtuple(version):
    """'2.105' -> (2, 105), so that 2.105 > 2.99 as numbers, not strings."""
    match = re.fullmatch(r"\s*(\d+)\.(\d+)\s*", str(version or ""))
    if not match:
        raise CliError("Invalid microversion %r (expected X.Y)" % (version,))
    return int(match.group(1)), int(match.group(2))


def vstr(vt):
    return "%d.%d" % vt


def _version_entry(doc):
    """The v2.1 entry of a version document ({"version"} or {"versions"})."""
    if not isinstance(doc, dict):
        return {}
    if isinstance(doc.get("version"), dict):
        return doc["version"]
    versions = [v for v in doc.get("versions") or [] if isinstance(v, dict)]
    for v in versions:
        if v.get("id") == "v2.1":
            return v
    current = [v for v in versions if v.get("status") == "CURRENT"]
    return current[0] if current else {}


def choose_microversion(headers, doc, requested=None):
    """(microversion, is_lifeboat) from one version document response.

    `headers` is any mapping of the response headers (matched without case);
    `doc` the decoded JSON. An explicit `requested` version wins (the server
    will say 406 if it is out of range, as it should).
    """
    lower = {str(k).lower(): v for k, v in dict(headers or {}).items()}
    is_lifeboat = LIFEBOAT_HEADER.lower() in lower
    if requested:
        return vstr(vtuple(requested)), is_lifeboat
    entry = _version_entry(doc)
    server_max = entry.get("version") or ""
    server_min = entry.get("min_version") or "2.1"
    if not server_max:
        return "2.1", is_lifeboat  # no microversions at all: the v2.1 base API
    cap = vtuple(LIFEBOAT_MAX if is_lifeboat else NOVA_MAX)
    chosen = min(vtuple(server_max), cap)
    if chosen < vtuple(server_min):
        raise CliError("The compute API needs at least microversion %s; this "
                       "client speaks up to %s." % (server_min, vstr(cap)))
    return vstr(chosen), is_lifeboat


def version_document_url(endpoint):
    """The version document of a compute endpoint: .../v2.1/ without any
    project id that old catalogs append (.../v2.1/{project_id})."""
    endpoint = endpoint.rstrip("/")
    match = re.match(r"^(.*?/v2(?:\.\d+)?)(?:/.*)?$", endpoint)
    return (match.group(1) if match else endpoint) + "/"


def register_arguments(parser, argv):
    """All the usual --os-* options on `parser`; returns the config loader.

    The SDK peeks at argv (the auth type decides which options exist); it
    also rewrites `--os_foo` to `--os-foo` in place, hence the list copy the
    caller keeps.
    """
    config = loader.OpenStackConfig()
    config.register_argparse_arguments(parser, argv)
    return config


@dataclasses.dataclass
class Cloud:
    """A connection plus the microversion every Compute call uses."""

    conn: openstack.connection.Connection
    microversion: str
    is_lifeboat: bool
    server_version: str | None = None
    lifeboat_version: str | None = None

    def at_least(self, version):
        return vtuple(self.microversion) >= vtuple(version)

    # --- Compute calls through the SDK's compute proxy -------------------
    def request(self, method, url, json=None, ok=(200, 202, 204), microversion=None):
        """One call at our microversion; ApiError (Nova's message) if not ok.

        Goes through `conn.compute` so auth, endpoint overrides, TLS options
        and the microversion headers are exactly the SDK's.
        """
        kwargs = {"microversion": microversion or self.microversion}
        if json is not None:
            kwargs["json"] = json
        response = self.conn.compute.request(url, method, **kwargs)
        if response.status_code not in ok:
            raise ApiError(response.status_code, fault_message(response))
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return None

    def get(self, url, **kw):
        return self.request("GET", url, **kw)

    def post(self, url, json=None, **kw):
        return self.request("POST", url, json=json, **kw)

    def delete(self, url, **kw):
        return self.request("DELETE", url, **kw)


def fault_message(response):
    """Nova's {"<faultName>": {"code", "message"}} message, else the text."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and len(body) == 1:
        fault = next(iter(body.values()))
        if isinstance(fault, dict) and fault.get("message"):
            return str(fault["message"])
    text = (response.text or "").strip()
    return text or response.reason or "HTTP %s" % response.status_code


def connect(config, os_args, requested=None):
    """Build the SDK connection and pick the microversion (one extra GET)."""
    try:
        region = config.get_one(argparse=os_args)
        conn = openstack.connection.Connection(config=region)
        endpoint = conn.compute.get_endpoint()
    except CliError:
        raise
    except Exception as e:  # config, auth plugin or catalog problems
        raise CliError("Cannot connect: %s" % e)
    if not endpoint:
        raise CliError("No compute endpoint in the service catalog.")
    url = version_document_url(endpoint)
    try:
        response = conn.session.get(url, authenticated=False, raise_exc=False,
                                    headers={"Accept": "application/json"})
    except Exception as e:
        raise CliError("Cannot reach the compute API at %s: %s" % (url, e))
    try:
        doc = response.json() if response.status_code == 200 else {}
    except ValueError:
        doc = {}
    microversion, is_lifeboat = choose_microversion(response.headers, doc, requested)
    return Cloud(conn, microversion, is_lifeboat,
                 server_version=_version_entry(doc).get("version") or None,
                 lifeboat_version=response.headers.get(LIFEBOAT_HEADER))

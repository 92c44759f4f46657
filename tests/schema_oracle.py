"""Tempest's response schemas as a test oracle, chosen as Tempest chooses them.

Tempest's compute service clients hold `schema_versions_info` tables mapping
microversion ranges to schema modules and validate every response through
`RestClient.validate_response` (status code, then body with Draft 4 and
Tempest's format checker). This module reads those same tables from the
installed Tempest, so a body that passes here passes a real Tempest run at the
same microversion, and a Tempest upgrade moves the oracle with it.

Only tempest, jsonschema and the standard library are imported.
"""
import copy
import json

from tempest.lib.api_schema.response.compute.v2_1 import servers as servers_v21
from tempest.lib.api_schema.response.compute.v2_1 import versions as versions_v21
from tempest.lib.common import api_version_request
from tempest.lib.common import rest_client
from tempest.lib import exceptions as tempest_exceptions
from tempest.lib.services.compute import flavors_client
from tempest.lib.services.compute import hypervisor_client
from tempest.lib.services.compute import migrations_client
from tempest.lib.services.compute import servers_client
from tempest.lib.services.compute import services_client

_SERVERS = servers_client.ServersClient.schema_versions_info
_FLAVORS = flavors_client.FlavorsClient.schema_versions_info
_SERVICES = services_client.ServicesClient.schema_versions_info
_HYPERVISORS = hypervisor_client.HypervisorClient.schema_versions_info
_MIGRATIONS = migrations_client.MigrationsClient.schema_versions_info

# endpoint -> (versions table or None for a fixed module, module, attribute).
# Each line mirrors the client method named in the comment.
_ENDPOINTS = {
    # ServersClient
    "get_server": (_SERVERS, None, "get_server"),                  # show_server
    "list_servers": (_SERVERS, None, "list_servers"),              # list_servers
    "list_servers_detail": (_SERVERS, None, "list_servers_detail"),
    "update_server": (_SERVERS, None, "update_server"),            # update_server
    "list_instance_actions": (_SERVERS, None, "list_instance_actions"),
    "get_instance_action": (_SERVERS, None, "show_instance_action"),
    "list_server_migrations": (_SERVERS, None, "list_live_migrations"),
    # create_server / rescue_server use the v2.1 module whatever the version;
    # which variant depends on [compute-feature-enabled]
    # enable_instance_password (True by default).
    "create_server": (None, servers_v21, "create_server_with_admin_pass"),
    "create_server_no_admin_pass": (None, servers_v21, "create_server"),
    "rescue_server": (None, servers_v21, "rescue_server_with_admin_pass"),
    "rescue_server_no_admin_pass": (None, servers_v21, "rescue_server"),
    # FlavorsClient
    "list_flavors": (_FLAVORS, None, "list_flavors"),
    "list_flavors_details": (_FLAVORS, None, "list_flavors_details"),
    "get_flavor": (_FLAVORS, None, "create_update_get_flavor_details"),
    # ServicesClient
    "list_services": (_SERVICES, None, "list_services"),
    # HypervisorClient
    "list_hypervisors": (_HYPERVISORS, None, "list_search_hypervisors"),
    "list_hypervisors_detail": (_HYPERVISORS, None, "list_hypervisors_detail"),
    "get_hypervisor": (_HYPERVISORS, None, "get_hypervisor"),
    # MigrationsClient
    "list_migrations": (_MIGRATIONS, None, "list_migrations"),
    # VersionsClient
    "versions_root": (None, versions_v21, "list_versions"),
    "version_v21": (None, versions_v21, "get_one_version"),
}

ENDPOINTS = sorted(set(_ENDPOINTS) | {"get_server_migration"})


def pick_module(versions_info, version):
    """The schema module for `version`, as BaseComputeClient.get_schema picks it.

    `version` None means "no microversion header", which Tempest maps to the
    entry whose min is None.
    """
    requested = api_version_request.APIVersionRequest(version)
    for item in versions_info:
        low = api_version_request.APIVersionRequest(item["min"])
        high = api_version_request.APIVersionRequest(item["max"])
        if requested.is_null() and item["min"] is None:
            return item["schema"]
        if requested.matches(low, high):
            return item["schema"]
    raise tempest_exceptions.JSONSchemaNotFound(
        version=requested.get_string(), schema_versions_info=versions_info)


def _server_migration_schema(version):
    """GET /servers/{id}/migrations/{mid}: Tempest has no client call for it.

    Derived from the list schema Tempest uses at the same version: the body
    is {"migration": <one list item>}, status 200.
    """
    listing = getattr(pick_module(_SERVERS, version), "list_live_migrations")
    item = listing["response_body"]["properties"]["migrations"]["items"]
    return {
        "status_code": [200],
        "response_body": {
            "type": "object",
            "properties": {"migration": copy.deepcopy(item)},
            "additionalProperties": False,
            "required": ["migration"],
        },
    }


def schema_for(endpoint, version):
    """The Tempest response schema dict ({"status_code", "response_body"...})."""
    if endpoint == "get_server_migration":
        return _server_migration_schema(version)
    try:
        table, module, attr = _ENDPOINTS[endpoint]
    except KeyError:
        raise KeyError("unknown endpoint %r; known: %s" % (endpoint, ENDPOINTS))
    if table is not None:
        module = pick_module(table, version)
    return getattr(module, attr)


class _Response(dict):
    """The httplib2-style response Tempest validates: headers mapping + .status."""

    def __init__(self, status, headers=None):
        super().__init__({k.lower(): v for k, v in (headers or {}).items()})
        self.status = status


def assert_valid(endpoint, version, status_code, body, headers=None,
                 allow_error=False):
    """Validate like RestClient.validate_response; raise if Tempest would.

    The body goes through a JSON round trip first, since Tempest validates
    what json.loads gives back (tuples become lists, datetimes would not
    serialise at all). Error statuses (>= 400) fail unless allow_error: the
    Tempest client raises on them before it validates anything.
    """
    if status_code >= 400 and not allow_error:
        raise AssertionError("%s at %s: HTTP %s is an error for Tempest"
                             % (endpoint, version, status_code))
    if body is not None and not isinstance(body, (str, bytes)):
        body = json.loads(json.dumps(body))
    schema = schema_for(endpoint, version)
    resp = _Response(status_code, headers)
    try:
        rest_client.RestClient.validate_response(schema, resp, body)
    except (tempest_exceptions.InvalidHTTPResponseBody,
            tempest_exceptions.InvalidHTTPResponseHeader,
            tempest_exceptions.InvalidHttpSuccessCode) as e:
        raise AssertionError("%s at microversion %s: %s" % (endpoint, version, e))

"""Request schemas for /servers: create, update, list and show queries.

The bodies follow Nova's per-microversion schemas (servers.py in Nova's
compute API). Rather than a chain of deep copies, `_create_body(v)` states
what a POST /servers body may contain at version `v`; `CREATE` lists one
schema per range in which Nova's schema is constant, so `pick_schema` gives
exactly Nova's verdict. Unknown keys are a 400 everywhere (the /v2 legacy
endpoint relaxes that in `wsgi.validate`).
"""
from lifeboat import exception
from lifeboat.api.microversion import APIVersion
from lifeboat.api.schemas import parameter_types as pt
from lifeboat.api.schemas import query


def _obj(properties, required=(), additional=False):
    out = {"type": "object", "properties": properties,
           "additionalProperties": additional}
    if required:
        out["required"] = list(required)
    return out


# --- block device mappings ------------------------------------------------

def _legacy_bdm():
    return _obj({
        "virtual_name": {"type": "string", "maxLength": 255},
        "volume_id": pt.volume_id,
        "snapshot_id": pt.uuid,
        "volume_size": pt.volume_size,
        # No empty names and no spaces (block_device.validate_device_name).
        "device_name": {"type": "string", "minLength": 1, "maxLength": 255,
                        "pattern": "^[a-zA-Z0-9._/-]*$"},
        "delete_on_termination": pt.boolean,
        "no_device": {},
        "connection_info": {"type": "string", "maxLength": 16777215},
    })


def _bdm_v2(tagged, with_volume_type):
    item = _legacy_bdm()
    item["properties"].update({
        "source_type": {"type": "string",
                        "enum": ["volume", "image", "snapshot", "blank"]},
        "uuid": {"type": "string", "minLength": 1, "maxLength": 255,
                 "pattern": "^[a-zA-Z0-9._-]*$"},
        "image_id": pt.image_id,
        "destination_type": {"type": "string", "enum": ["local", "volume"]},
        "guest_format": {"type": "string", "maxLength": 255},
        "device_type": {"type": "string", "maxLength": 255},
        "disk_bus": {"type": "string", "maxLength": 255},
        # null is accepted for compatibility with the v2 API.
        "boot_index": {"type": ["integer", "string", "null"],
                       "pattern": "^-?[0-9]+$"},
    })
    if tagged:
        item["properties"]["tag"] = pt.tag
    if with_volume_type:
        item["properties"]["volume_type"] = pt.volume_type
    return item


# --- networks ---------------------------------------------------------------

def _network_list(uuid_format, tagged):
    props = {
        "fixed_ip": pt.ip_address,
        "port": {"type": ["string", "null"], "format": "uuid"},
        "uuid": ({"type": "string", "format": "uuid"} if uuid_format
                 else {"type": "string"}),
    }
    if tagged:
        props["tag"] = pt.tag
    return {"type": "array", "items": _obj(props)}


def _networks(v):
    """Before 2.37 a list of requests; from 2.37 also "auto" or "none" (and
    the key becomes required). Tags: 2.32-2.36 and 2.42 onwards."""
    if v < "2.37":
        return _network_list(False, tagged=v >= "2.32")
    return {"oneOf": [_network_list(True, tagged=v >= "2.42"),
                      {"type": "string", "enum": ["none", "auto"]}]}


# --- scheduler hints ----------------------------------------------------------

_uuid_list = {"type": "array", "items": pt.server_id}

# Unknown hints are allowed (filters may define their own).
SCHEDULER_HINTS = _obj({
    "group": {"oneOf": [_uuid_list, pt.uuid]},
    "different_host": {"oneOf": [pt.uuid, _uuid_list]},
    "same_host": {"type": ["string", "array"], "items": pt.server_id},
    "query": {"type": ["string", "object"]},
    "target_cell": pt.name,
    "different_cell": {"type": ["string", "array"],
                       "items": {"type": "string"}},
    "build_near_host_ip": pt.ip_address,
    "cidr": {"type": "string", "pattern": "^/[0-9a-f.:]+$"},
}, additional=True)


# --- POST /servers --------------------------------------------------------------

def _create_body(v, legacy=False):
    """The POST /servers body Nova accepts at microversion `v`."""
    v = APIVersion(v)
    name = pt.name_with_leading_trailing_spaces if legacy else pt.name
    server = {
        "name": name,
        "imageRef": pt.image_id_or_empty_string,
        "flavorRef": pt.flavor_ref,
        "adminPass": pt.admin_password,
        "metadata": pt.metadata,
        "networks": _networks(v),
        "OS-DCF:diskConfig": pt.disk_config,
        "accessIPv4": pt.accessIPv4,
        "accessIPv6": pt.accessIPv6,
        "availability_zone": name,
        "block_device_mapping": {"type": "array", "items": _legacy_bdm()},
        # BDM tags existed in 2.32 only, then again from 2.42.
        "block_device_mapping_v2": {"type": "array", "items": _bdm_v2(
            tagged=v == "2.32" or v >= "2.42",
            with_volume_type=v >= "2.67")},
        "config_drive": pt.boolean,
        "key_name": name,
        "min_count": pt.positive_integer,
        "max_count": pt.positive_integer,
        "return_reservation_id": pt.boolean,
        "security_groups": {"type": "array",
                            "items": _obj({"name": name})},
        "user_data": (dict(pt.user_data, type=["string", "null"]) if legacy
                      else pt.user_data),
    }
    if v < "2.57":
        server["personality"] = pt.personality
    if v >= "2.19" and not legacy:
        server["description"] = pt.description
    if v >= "2.52":
        server["tags"] = pt.tags
    if v >= "2.63":
        server["trusted_image_certificates"] = pt.trusted_certs
    if v >= "2.74":
        server["host"] = pt.fqdn
        server["hypervisor_hostname"] = pt.fqdn
    if v >= "2.90":
        server["hostname"] = pt.hostname if v < "2.94" else pt.fqdn
    required = ["name", "flavorRef"] + (["networks"] if v >= "2.37" else [])
    return _obj({
        "server": _obj(server, required),
        "os:scheduler_hints": SCHEDULER_HINTS,
        "OS-SCH-HNT:scheduler_hints": SCHEDULER_HINTS,
    }, required=["server"])


def _ranged(builder, ranges):
    return [(low, high, builder(low)) for low, high in ranges]


# Ranges over which Nova's create schema does not change.
CREATE_RANGES = [
    ("2.1", "2.18"), ("2.19", "2.31"), ("2.32", "2.32"), ("2.33", "2.36"),
    ("2.37", "2.41"), ("2.42", "2.51"), ("2.52", "2.56"), ("2.57", "2.62"),
    ("2.63", "2.66"), ("2.67", "2.73"), ("2.74", "2.89"), ("2.90", "2.93"),
    ("2.94", None),
]
CREATE = _ranged(_create_body, CREATE_RANGES)

# The /v2 legacy endpoint (Nova's create_v20): names may carry leading or
# trailing spaces and user_data may be null.
CREATE_V20 = _create_body("2.1", legacy=True)


# --- PUT /servers/{id} ------------------------------------------------------------

def _update_body(v, legacy=False):
    """The PUT /servers/{id} body Nova accepts at microversion `v`."""
    v = APIVersion(v)
    server = {
        "name": pt.name_with_leading_trailing_spaces if legacy else pt.name,
        "OS-DCF:diskConfig": pt.disk_config,
        "accessIPv4": pt.accessIPv4,
        "accessIPv6": pt.accessIPv6,
    }
    if v >= "2.19" and not legacy:
        server["description"] = pt.description
    if v >= "2.90":
        server["hostname"] = pt.hostname if v < "2.94" else pt.fqdn
    if v >= "2.104":
        # Nova 2.104: unpin (null) or re-pin the server's availability zone.
        server["pinned_availability_zone"] = pt.name_or_none
    return _obj({"server": _obj(server)}, required=["server"])


UPDATE_RANGES = [("2.1", "2.18"), ("2.19", "2.89"), ("2.90", "2.93"),
                 ("2.94", "2.103"), ("2.104", None)]
UPDATE = _ranged(_update_body, UPDATE_RANGES)
UPDATE_V20 = _update_body("2.1", legacy=True)


# --- GET /servers and /servers/detail query ---------------------------------------

# Filters on joined tables: accepted by the schema so that the handler can
# answer "Invalid filter field" instead of silently dropping them.
JOINED_TABLE_PARAMS = ("block_device_mapping", "services", "metadata",
                       "system_metadata", "info_cache", "security_groups",
                       "pci_devices")

# Sort keys that were once accepted and are now ignored (not a 400).
IGNORED_SORT_KEYS = (
    "architecture", "cell_name", "cleaned", "default_ephemeral_device",
    "default_swap_device", "deleted", "deleted_at", "disable_terminate",
    "ephemeral_gb", "ephemeral_key_uuid", "id", "key_data", "launched_on",
    "locked", "memory_mb", "os_type", "reservation_id", "root_gb",
    "shutdown_terminate", "user_data", "vcpus", "vm_mode")

SORT_KEYS = (
    "access_ip_v4", "access_ip_v6", "auto_disk_config", "availability_zone",
    "config_drive", "created_at", "display_description", "display_name",
    "host", "hostname", "image_ref", "instance_type_id", "kernel_id",
    "key_name", "launch_index", "launched_at", "locked_by", "node",
    "power_state", "progress", "project_id", "ramdisk_id",
    "root_device_name", "task_state", "terminated_at", "updated_at",
    "user_id", "uuid", "vm_state")

_PLAIN = ("user_id", "project_id", "tenant_id", "launch_index", "image_ref",
          "image", "vm_state", "task_state", "host", "uuid", "sort_dir",
          "all_tenants", "soft_deleted", "deleted", "status")
_REGEX = ("kernel_id", "ramdisk_id", "hostname", "key_name", "power_state",
          "node", "flavor", "reservation_id", "launched_at", "terminated_at",
          "availability_zone", "name", "display_name", "description",
          "display_description", "locked_by", "root_device_name",
          "config_drive", "access_ip_v4", "access_ip_v6", "auto_disk_config",
          "progress", "ip", "ip6", "created_at")
_TAG_FILTERS = ("tags", "tags-any", "not-tags", "not-tags-any")
_DATE = query.multi({"type": "string", "format": "date-time"})


def ignored_sort_keys(version):
    """Sort keys the handler must drop silently (2.73 made `locked` real;
    from 2.75 the schema rejects them instead, so none remain)."""
    v = query.to_version(version)
    if v >= "2.75":
        return ()
    if v >= "2.73":
        return tuple(k for k in IGNORED_SORT_KEYS if k != "locked")
    return IGNORED_SORT_KEYS


def _list_query(v):
    v = APIVersion(v)
    props = {k: query.common_param for k in _PLAIN + JOINED_TABLE_PARAMS}
    props.update({k: query.common_regex_param for k in _REGEX})
    props.update(query.pagination)
    props["changes-since"] = _DATE
    sort_keys = SORT_KEYS + IGNORED_SORT_KEYS
    if v >= "2.26":
        props.update({k: query.common_regex_param for k in _TAG_FILTERS})
    if v >= "2.66":
        props["changes-before"] = _DATE
    if v >= "2.73":
        props["locked"] = query.common_param
        sort_keys = SORT_KEYS + ("locked",) + ignored_sort_keys(v)
    props["sort_key"] = query.multi({"type": "string",
                                     "enum": sorted(set(sort_keys))})
    # Names starting with "_" survive so the handler can refuse them.
    return query.schema(props, additional=v < "2.75",
                        patterns={"^_": query.common_param})


LIST_QUERY_RANGES = [("2.1", "2.25"), ("2.26", "2.65"), ("2.66", "2.72"),
                     ("2.73", "2.74"), ("2.75", None)]
LIST_QUERY = _ranged(_list_query, LIST_QUERY_RANGES)

# GET /servers/{id}: no parameters; unknown ones ignored until 2.102.
SHOW_QUERY = query.permissive_until({}, "2.101")


def allowed_server_list_params(version):
    """Names GET /servers(/detail) knows at `version` ("X.Y" or APIVersion).
    Names starting with "_" are also let through the schema (see
    `reject_internal_filters`)."""
    chosen = _list_query(query.to_version(version))
    return set(chosen["properties"])


def validate_server_list_query(query_items, version):
    """Validate GET /servers(/detail) parameters as Nova does and return
    ``{name: [values]}``. Before 2.75 unknown names are dropped; from 2.75
    they are a 400 ("Additional properties are not allowed ('x' was
    unexpected)"). Values are checked too (sort_key enum, regex filters,
    ISO 8601 changes-since/changes-before, limit digits)."""
    return query.validate_query(LIST_QUERY, query_items, version)


def validate_server_show_query(query_items, version):
    return query.validate_query(SHOW_QUERY, query_items, version)


def non_admin_server_filters(version):
    """Filters kept for callers without the `allow_all_filters` policy;
    Nova silently drops every other filter for them (before refusing
    joined-table or "_" names, so those are only a 400 for admins)."""
    v = query.to_version(version)
    names = ["reservation_id", "name", "status", "image", "flavor", "ip",
             "changes-since", "all_tenants"]
    if v >= "2.5":
        names.append("ip6")
    if v >= "2.26":
        names.extend(_TAG_FILTERS)
    if v >= "2.66":
        names.append("changes-before")
    if v >= "2.73":
        names.append("locked")
    if v >= "2.83":
        names.extend(["availability_zone", "config_drive", "key_name",
                      "created_at", "launched_at", "terminated_at",
                      "power_state", "task_state", "vm_state", "progress",
                      "user_id"])
    if v >= "2.90":
        names.append("hostname")
    return set(names)


def reject_internal_filters(params):
    """Nova's 400 for joined-table filters and "_"-prefixed names, checked
    after the non-admin filter stripping."""
    for name in params:
        if name in JOINED_TABLE_PARAMS or name.startswith("_"):
            raise exception.ValidationError(
                detail="Invalid filter field: %s." % name)

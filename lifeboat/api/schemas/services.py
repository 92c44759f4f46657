"""Request schemas for os-services, os-migrations and instance actions.

PUT /os-services/{x} changed meaning at 2.53: before, {x} is an action
(enable, disable, disable-log-reason, force-down from 2.11) and the body names
the service by host and binary; from 2.53, {x} is the service uuid and the
body says what to change. `SERVICE_UPDATE` covers both by microversion.
Semantic checks Nova does in code (a missing disabled_reason for
disable-log-reason, "disabled_reason with status enabled", "no updates
requested", non-uuid ids) stay with the handler.
"""
from lifeboat.api.schemas import parameter_types as pt
from lifeboat.api.schemas import query

_reason = {"type": "string", "minLength": 1, "maxLength": 255}
_binary = {"type": "string", "minLength": 1, "maxLength": 255}


def _obj(properties, required=()):
    out = {"type": "object", "properties": properties,
           "additionalProperties": False}
    if required:
        out["required"] = list(required)
    return out


# --- PUT /os-services/... ----------------------------------------------------

# 2.1-2.10: PUT /os-services/{enable,disable,disable-log-reason}.
SERVICE_ACTION_V21 = _obj(
    {"host": pt.fqdn, "binary": _binary, "disabled_reason": _reason},
    ["host", "binary"])

# 2.11-2.52: adds force-down and its forced_down flag.
SERVICE_ACTION_V211 = _obj(
    {"host": pt.fqdn, "binary": _binary, "disabled_reason": _reason,
     "forced_down": pt.boolean},
    ["host", "binary"])

# 2.53+: PUT /os-services/{service_uuid}; nothing is required by schema.
SERVICE_UPDATE_V253 = _obj({
    "status": {"type": "string", "enum": ["enabled", "disabled"]},
    "disabled_reason": _reason,
    "forced_down": pt.boolean,
})

SERVICE_UPDATE = [
    ("2.1", "2.10", SERVICE_ACTION_V21),
    ("2.11", "2.52", SERVICE_ACTION_V211),
    ("2.53", None, SERVICE_UPDATE_V253),
]

# Legacy action names valid in the path before 2.53 (force-down from 2.11).
SERVICE_ACTIONS_V21 = ("enable", "disable", "disable-log-reason")
SERVICE_ACTIONS_V211 = SERVICE_ACTIONS_V21 + ("force-down",)


# --- GET /os-services ----------------------------------------------------------

SERVICES_INDEX_QUERY = query.permissive_until(
    {"host": query.common_param, "binary": query.common_param}, "2.74")


# --- GET /os-migrations -----------------------------------------------------------

_date = query.single({"type": "string", "format": "date-time"})


def _migrations_query(v):
    v = query.to_version(v)
    props = {k: query.common_param for k in (
        "hidden", "host", "instance_uuid", "source_compute", "status",
        "migration_type")}
    if v < "2.59":
        # changes-since/-before are accepted but ignored before 2.59.
        return query.schema(props, additional=True)
    props.update({
        "limit": query.single(pt.non_negative_integer),
        "marker": query.single({"type": "string"}),
        "changes-since": _date,
    })
    if v >= "2.66":
        props["changes-before"] = _date
    if v >= "2.80":
        props["user_id"] = query.single({"type": "string"})
        props["project_id"] = query.single({"type": "string"})
    return query.schema(props, additional=False)


MIGRATIONS_INDEX_QUERY = [
    (low, high, _migrations_query(low))
    for low, high in (("2.1", "2.58"), ("2.59", "2.65"), ("2.66", "2.79"),
                      ("2.80", None))
]


# --- GET /servers/{id}/os-instance-actions ------------------------------------------

def _instance_actions_query(v):
    v = query.to_version(v)
    if v < "2.58":
        # No parameters; anything given is ignored.
        return query.schema({}, additional=True)
    props = {
        "limit": query.single(pt.non_negative_integer),
        "marker": query.single({"type": "string"}),
        "changes-since": _date,
    }
    if v >= "2.66":
        props["changes-before"] = _date
    return query.schema(props, additional=False)


INSTANCE_ACTIONS_INDEX_QUERY = [
    (low, high, _instance_actions_query(low))
    for low, high in (("2.1", "2.57"), ("2.58", "2.65"), ("2.66", None))
]

# GET /servers/{id}/os-instance-actions/{request_id}: no parameters.
INSTANCE_ACTION_SHOW_QUERY = query.permissive_until({}, "2.101")


def validate_query(query_schema, query_items, version):
    """Validate and clean a query string; see `query.validate_query`."""
    return query.validate_query(query_schema, query_items, version)

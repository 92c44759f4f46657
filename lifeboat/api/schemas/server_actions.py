"""Request schemas for POST /servers/{id}/action and the server-migration
sub-resources, per microversion as in Nova.

`ACTIONS` maps the action name (the body's single top-level key) to a schema
or a version-ranged list for `pick_schema`. Several of Nova's actions accept
*any* value for their key ({"os-start": null}, {"pause": {}}, even
{"pause": 42}); those are written with an empty sub-schema on purpose.
Gating an action by microversion (404 when absent) is the handler's job.
"""
from lifeboat.api.schemas import parameter_types as pt
from lifeboat.api.schemas import query


def _action(name, value_schema=None):
    """A body whose only key is `name`; the value is unconstrained unless
    `value_schema` is given."""
    return {
        "type": "object",
        "properties": {name: {} if value_schema is None else value_schema},
        "required": [name],
        "additionalProperties": False,
    }


def _args(properties, required=(), nullable=False):
    out = {"type": ["object", "null"] if nullable else "object",
           "properties": properties, "additionalProperties": False}
    if required:
        out["required"] = list(required)
    return out


# Exactly these six spellings: "hArD" is a 400.
REBOOT = _action("reboot", _args(
    {"type": {"type": "string",
              "enum": ["HARD", "Hard", "hard", "SOFT", "Soft", "soft"]}},
    required=["type"]))

START = _action("os-start")
STOP = _action("os-stop")
PAUSE = _action("pause")
UNPAUSE = _action("unpause")
SUSPEND = _action("suspend")
RESUME = _action("resume")
TRIGGER_CRASH_DUMP = _action("trigger_crash_dump", {"type": "null"})

# 2.73 added an optional reason; the value must then be null or an object.
LOCK = [
    ("2.1", "2.72", _action("lock")),
    ("2.73", None, _action("lock", _args(
        {"locked_reason": {"type": "string", "minLength": 1,
                           "maxLength": 255}},
        nullable=True))),
]

# Nova validates unlock only up to 2.72 and not at all afterwards.
UNLOCK = [
    ("2.1", "2.72", _action("unlock")),
    ("2.73", None, {}),
]

RESCUE = _action("rescue", _args(
    {"adminPass": pt.admin_password, "rescue_image_ref": pt.image_id},
    nullable=True))
UNRESCUE = _action("unrescue")


# --- os-migrateLive ---------------------------------------------------------

# A destination host, or null to let the scheduler pick one.
_live_host = dict(pt.fqdn, type=["string", "null"])
_block_migration_auto = dict(pt.boolean, enum=pt.boolean["enum"] + ["auto"])


def _migrate_live(properties, required):
    return _action("os-migrateLive", _args(properties, required))


# 2.1-2.24: all three keys required, booleans only.
MIGRATE_LIVE_V21 = _migrate_live(
    {"block_migration": pt.boolean, "disk_over_commit": pt.boolean,
     "host": _live_host},
    ["block_migration", "disk_over_commit", "host"])
# 2.25: disk_over_commit removed, block_migration may be "auto".
MIGRATE_LIVE_V225 = _migrate_live(
    {"block_migration": _block_migration_auto, "host": _live_host},
    ["block_migration", "host"])
# 2.30-2.67: optional force.
MIGRATE_LIVE_V230 = _migrate_live(
    {"block_migration": _block_migration_auto, "host": _live_host,
     "force": pt.boolean},
    ["block_migration", "host"])

MIGRATE_LIVE = [
    ("2.1", "2.24", MIGRATE_LIVE_V21),
    ("2.25", "2.29", MIGRATE_LIVE_V225),
    ("2.30", "2.67", MIGRATE_LIVE_V230),
    # 2.68 removed force again.
    ("2.68", None, MIGRATE_LIVE_V225),
]


ACTIONS = {
    "reboot": REBOOT,
    "os-start": START,
    "os-stop": STOP,
    "pause": PAUSE,
    "unpause": UNPAUSE,
    "suspend": SUSPEND,
    "resume": RESUME,
    "lock": LOCK,
    "unlock": UNLOCK,
    "rescue": RESCUE,
    "unrescue": UNRESCUE,
    "os-migrateLive": MIGRATE_LIVE,
    "trigger_crash_dump": TRIGGER_CRASH_DUMP,
}


# --- /servers/{id}/migrations ---------------------------------------------------

# POST /servers/{id}/migrations/{mid}/action (2.22+).
FORCE_COMPLETE = _action("force_complete", {"type": "null"})

# GET /servers/{id}/migrations(/{mid}) take no parameters; Nova ignores
# unknown ones, and from 2.102 rejects them.
SERVER_MIGRATIONS_INDEX_QUERY = query.permissive_until({}, "2.101")
SERVER_MIGRATION_SHOW_QUERY = query.permissive_until({}, "2.101")

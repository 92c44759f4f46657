"""POST /servers/{id}/action: one handler per action, one dispatch table.

Order of checks, as Nova: body schema (400), the server (404), policy (403),
then lock and state (409) inside the compute API.
"""
from fastapi import APIRouter
from oslo_utils import strutils

from lifeboat import exception
from lifeboat.api import policy, wsgi
from lifeboat.api.handlers.common import REQ
from lifeboat.api.schemas import server_actions as action_schemas
from lifeboat.compute import api as compute_api

router = APIRouter()
COMPUTE = compute_api.API()


def _reboot(req, instance, body):
    reboot_type = body["type"].upper()
    COMPUTE.reboot(req.context, instance, reboot_type)


def _simple(action):
    def handler(req, instance, body):
        COMPUTE.simple_action(req.context, instance, action)
    return handler


def _rescue(req, instance, body):
    body = body or {}
    password = COMPUTE.rescue(req.context, instance,
                              rescue_image_ref=_image_id(body.get("rescue_image_ref")),
                              admin_password=body.get("adminPass"))
    return wsgi.respond({"adminPass": password}, 200)


def _image_id(ref):
    return str(ref).rstrip("/").rsplit("/", 1)[-1] if ref else None


def _unrescue(req, instance, body):
    COMPUTE.unrescue(req.context, instance)


def _lock(req, instance, body):
    reason = (body or {}).get("locked_reason") if req.at_least("2.73") else None
    COMPUTE.lock(req.context, instance, reason)


def _unlock(req, instance, body):
    may_override = policy.check(req.context,
                                "os_compute_api:os-lock-server:unlock:unlock_override",
                                {"project_id": instance.project_id})
    COMPUTE.unlock(req.context, instance, may_override)


def _bool(value):
    return value if isinstance(value, bool) else strutils.bool_from_string(value,
                                                                           strict=True)


def _migrate_live(req, instance, body):
    host = body.get("host")
    if host:
        policy.authorize(req.context, "os_compute_api:os-migrate-server:migrate_live:host",
                         {"project_id": instance.project_id})
    block_migration = body["block_migration"]
    if block_migration != "auto":
        block_migration = _bool(block_migration)
    if req.at_least("2.30") and not req.at_least("2.68"):
        force = _bool(body.get("force", False))
        if force and not host:
            raise exception.Invalid("Can't force to a non-provided destination")
    else:
        force = False
    if not req.at_least("2.25") and _bool(body["disk_over_commit"]):
        pass  # accepted and ignored, as Nova's libvirt driver ignores it today
    try:
        COMPUTE.live_migrate(req.context, instance, host, block_migration, force,
                             req.version)
    except (exception.NoValidHost, exception.MigrationError,
            exception.HypervisorError) as e:
        # Only reached below 2.34, where pre-checks answer synchronously.
        raise exception.Invalid(e.message)
    except exception.InstanceInvalidState as e:
        # The conductor's power-state check, reported as Nova's API reports it.
        raise exception.InstanceInvalidState(
            method="os-migrateLive", instance_uuid=instance.uuid,
            attr=e.kwargs.get("attr"), state=e.kwargs.get("state"))


_REBUILD = {
    "type": "object",
    "properties": {
        "imageRef": {"type": "string", "minLength": 1},
        "name": {"type": "string", "minLength": 1, "maxLength": 255},
        "adminPass": {"type": "string"},
        "metadata": {"type": "object"},
        "OS-DCF:diskConfig": {"type": "string", "enum": ["AUTO", "MANUAL"]},
        "accessIPv4": {"type": "string"}, "accessIPv6": {"type": "string"},
        "preserve_ephemeral": {"type": "boolean"},
        "description": {"type": ["string", "null"], "maxLength": 255},
        "key_name": {"type": ["string", "null"]},
        "user_data": {"type": ["string", "null"]},
        "hostname": {"type": "string"},
        "personality": {"type": "array"},
        "trusted_image_certificates": {"type": ["array", "null"]},
    },
    "required": ["imageRef"],
    "additionalProperties": False,
}


def _rebuild(req, instance, body):
    if not isinstance(body, dict):
        raise exception.ValidationError(detail="Invalid input for field/attribute "
                                               "rebuild. Value: %r." % body)
    wsgi.validate(body, _REBUILD, legacy=req.legacy)
    if body.get("key_name"):
        raise exception.Invalid("Invalid key_name provided.")
    values = {}
    if "name" in body:
        values["display_name"] = body["name"]
    if "metadata" in body:
        values["metadata_"] = dict(body["metadata"])
    if "description" in body and req.at_least("2.19"):
        values["display_description"] = body["description"]
    if "accessIPv4" in body:
        values["access_ip_v4"] = body["accessIPv4"]
    if "accessIPv6" in body:
        values["access_ip_v6"] = body["accessIPv6"]
    password = COMPUTE.rebuild(req.context, instance, _image_id(body["imageRef"]),
                               admin_password=body.get("adminPass"), **values)
    from lifeboat.api.handlers import servers
    out = servers.show_body(req, COMPUTE.get(req.context, instance.uuid),
                            trimmed=not req.at_least("2.75"))
    out["server"]["adminPass"] = password
    return wsgi.respond(out, 202)


def _add_security_group(req, instance, body):
    from lifeboat.api.handlers import security_groups
    security_groups.add_security_group(req, instance, body)


def _remove_security_group(req, instance, body):
    from lifeboat.api.handlers import security_groups
    security_groups.remove_security_group(req, instance, body)


# action key -> (policy rule, handler, success status)
ACTIONS = {
    "reboot": ("os_compute_api:servers:reboot", _reboot, 202),
    "os-stop": ("os_compute_api:servers:stop", _simple("stop"), 202),
    "os-start": ("os_compute_api:servers:start", _simple("start"), 202),
    "pause": ("os_compute_api:os-pause-server:pause", _simple("pause"), 202),
    "unpause": ("os_compute_api:os-pause-server:unpause", _simple("unpause"), 202),
    "suspend": ("os_compute_api:os-suspend-server:suspend", _simple("suspend"), 202),
    "resume": ("os_compute_api:os-suspend-server:resume", _simple("resume"), 202),
    "rescue": ("os_compute_api:os-rescue", _rescue, 200),
    "unrescue": ("os_compute_api:os-unrescue", _unrescue, 202),
    "lock": ("os_compute_api:os-lock-server:lock", _lock, 202),
    "unlock": ("os_compute_api:os-lock-server:unlock", _unlock, 202),
    "os-migrateLive": ("os_compute_api:os-migrate-server:migrate_live",
                       _migrate_live, 202),
    "rebuild": ("os_compute_api:servers:rebuild", _rebuild, 202),
    "addSecurityGroup": ("os_compute_api:os-security-groups:add", _add_security_group,
                         202),
    "removeSecurityGroup": ("os_compute_api:os-security-groups:remove",
                            _remove_security_group, 202),
}


@router.post("/servers/{server_id}/action")
def server_action(server_id: str, req=REQ):
    body = req.json()
    if len(body) != 1:
        raise exception.Invalid("Malformed request body")
    name, value = next(iter(body.items()))
    if name not in ACTIONS:
        raise exception.Invalid("There is no such action: %s" % name)
    schema = action_schemas.ACTIONS.get(name)
    if schema is not None:
        wsgi.validate(body, wsgi.pick_schema(schema, req.version), legacy=req.legacy)
    rule, handler, status = ACTIONS[name]
    instance = COMPUTE.get(req.context, server_id)
    policy.authorize(req.context, rule, {"project_id": instance.project_id,
                                         "user_id": instance.user_id})
    response = handler(req, instance, value)
    return response if response is not None else wsgi.respond(None, status)

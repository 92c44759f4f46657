"""os-security-groups (Nova's network proxy API, 2.1 to 2.35) and the servers'
security-group membership (addSecurityGroup/removeSecurityGroup, any version).

Lifeboat has no network service, so security groups do nothing to traffic:
they are recorded, per project, so that clients written against Nova (Tempest
among them) see Nova's answers. Every project has a `default` group, as Neutron
creates one. The records live in one JSON file under [DEFAULT] state_path,
updated under an exclusive file lock, so API workers on one host share them.
"""
import contextlib
import fcntl
import json
import os
import uuid as uuidlib

from fastapi import APIRouter

from lifeboat import exception
from lifeboat.api import policy, wsgi
from lifeboat.api.handlers.common import REQ
from lifeboat.compute import api as compute_api
from lifeboat.conf import CONF

router = APIRouter()
COMPUTE = compute_api.API()

_NAME = {"type": "string", "minLength": 0, "maxLength": 255}
CREATE = {
    "type": "object",
    "properties": {"security_group": {
        "type": "object",
        "properties": {"name": _NAME, "description": _NAME},
        "required": ["name", "description"],
        "additionalProperties": False}},
    "required": ["security_group"],
    "additionalProperties": False,
}
MEMBERSHIP = {
    "type": "object",
    "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 255}},
    "required": ["name"],
    "additionalProperties": False,
}


class SecurityGroupNotFound(exception.NotFound):
    msg_fmt = "Security group %(security_group_id)s not found."


class SecurityGroupNotFoundForProject(exception.NotFound):
    msg_fmt = ("Security group %(security_group_id)s not found for project "
               "%(project_id)s.")


# --- the store ------------------------------------------------------------

def _path():
    return os.path.join(CONF.state_path, "security_groups.json")


@contextlib.contextmanager
def _store(write=False):
    """The records {"groups": {id: group}, "servers": {uuid: [names]}}, locked."""
    os.makedirs(CONF.state_path, exist_ok=True)
    with open(_path() + ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX if write else fcntl.LOCK_SH)
        try:
            with open(_path()) as f:
                data = json.load(f)
        except (OSError, ValueError):
            data = {}
        data.setdefault("groups", {})
        data.setdefault("servers", {})
        yield data
        if write:
            tmp = _path() + ".tmp"
            with open(tmp, "w") as f:
                json.dump(data, f)
            os.replace(tmp, _path())


def _ensure_default(data, project_id):
    for group in data["groups"].values():
        if group["tenant_id"] == project_id and group["name"] == "default":
            return
    gid = str(uuidlib.uuid4())
    data["groups"][gid] = {"id": gid, "name": "default", "tenant_id": project_id,
                           "description": "Default security group", "rules": []}


def _visible(context, group):
    return context.is_admin or group["tenant_id"] == context.project_id


def _by_name(data, project_id, name):
    for group in data["groups"].values():
        if group["tenant_id"] == project_id and group["name"] == name:
            return group
    return None


def _authorize(context, name, project_id=None):
    policy.authorize(context, "os_compute_api:os-security-groups:%s" % name,
                     {"project_id": project_id or context.project_id})


def _proxy_api(req):
    """Nova's network proxy APIs answer 404 from 2.36 on."""
    if req.at_least("2.36"):
        raise exception.NotFound("The resource could not be found.")


# --- os-security-groups ------------------------------------------------------

@router.get("/os-security-groups")
def index(req=REQ):
    _proxy_api(req)
    ctx = req.context
    _authorize(ctx, "get")
    all_tenants = req.query.get("all_tenants", "0").lower() not in ("0", "false", "no")
    with _store(write=True) as data:
        _ensure_default(data, ctx.project_id)
        groups = [g for g in data["groups"].values()
                  if g["tenant_id"] == ctx.project_id or (all_tenants and ctx.is_admin)]
    return wsgi.respond({"security_groups": sorted(groups, key=lambda g: g["name"])})


@router.post("/os-security-groups")
def create(req=REQ):
    _proxy_api(req)
    body = req.validated(CREATE)["security_group"]
    ctx = req.context
    _authorize(ctx, "create")
    if not body["name"].strip():
        raise exception.Invalid("Security group name is a mandatory field")
    with _store(write=True) as data:
        _ensure_default(data, ctx.project_id)
        if body["name"] == "default" and _by_name(data, ctx.project_id, "default"):
            raise exception.Invalid("Security group default already exists")
        gid = str(uuidlib.uuid4())
        group = {"id": gid, "name": body["name"], "description": body["description"],
                 "tenant_id": ctx.project_id, "rules": []}
        data["groups"][gid] = group
    return wsgi.respond({"security_group": group})


@router.get("/os-security-groups/{group_id}")
def show(group_id: str, req=REQ):
    _proxy_api(req)
    with _store() as data:
        group = data["groups"].get(group_id)
    if group is None or not _visible(req.context, group):
        raise SecurityGroupNotFound(security_group_id=group_id)
    _authorize(req.context, "show", group["tenant_id"])
    return wsgi.respond({"security_group": group})


@router.delete("/os-security-groups/{group_id}")
def delete(group_id: str, req=REQ):
    _proxy_api(req)
    with _store(write=True) as data:
        group = data["groups"].get(group_id)
        if group is None or not _visible(req.context, group):
            raise SecurityGroupNotFound(security_group_id=group_id)
        _authorize(req.context, "delete", group["tenant_id"])
        if group["name"] == "default":
            raise exception.Invalid("Removing default security group not allowed.")
        in_use = [u for u, names in data["servers"].items() if group["name"] in names
                  and group["tenant_id"] == data.get("owners", {}).get(u)]
        if in_use:
            raise exception.Invalid("Security group is still in use")
        del data["groups"][group_id]
    return wsgi.respond(None, 202)


@router.get("/servers/{server_id}/os-security-groups")
def server_groups(server_id: str, req=REQ):
    _proxy_api(req)
    instance = COMPUTE.get(req.context, server_id)
    _authorize(req.context, "list", instance.project_id)
    with _store(write=True) as data:
        _ensure_default(data, instance.project_id)
        names = data["servers"].get(instance.uuid, ["default"])
        groups = [g for g in (_by_name(data, instance.project_id, n) for n in names) if g]
    return wsgi.respond({"security_groups": groups})


# --- server actions (registered in server_actions.ACTIONS) -----------------

def add_security_group(req, instance, body):
    _change_membership(req, instance, body, add=True)


def remove_security_group(req, instance, body):
    _change_membership(req, instance, body, add=False)


def _change_membership(req, instance, body, add):
    if not isinstance(body, dict):
        raise exception.ValidationError(detail="Invalid input for field/attribute "
                                               "body. Value: %r." % body)
    wsgi.validate(body, MEMBERSHIP)
    name = body["name"]
    with _store(write=True) as data:
        _ensure_default(data, instance.project_id)
        if _by_name(data, instance.project_id, name) is None:
            raise SecurityGroupNotFoundForProject(security_group_id=name,
                                                  project_id=instance.project_id)
        names = data["servers"].setdefault(instance.uuid, ["default"])
        data.setdefault("owners", {})[instance.uuid] = instance.project_id
        if add:
            if name in names:
                raise exception.Invalid("Security group %s is already associated with "
                                        "the instance %s" % (name, instance.uuid))
            names.append(name)
        else:
            if name not in names:
                raise exception.Invalid("Security group %s not associated with the "
                                        "instance %s" % (name, instance.uuid))
            names.remove(name)

"""/servers/{id}/os-instance-actions: list and show, as Nova's controller.

The server is looked up first, deleted ones included from 2.21, and only
within the caller's project unless they are admin (404 otherwise), so another
project's server ids are never confirmed. Which event keys a caller sees is
decided by the events and events:details policies (see the view module).
"""
from fastapi import APIRouter

from lifeboat import exception
from lifeboat.api import policy, wsgi
from lifeboat.api.handlers.common import REQ, paging
from lifeboat.api.schemas import query
from lifeboat.api.schemas import services as schemas
from lifeboat.api.views import instance_actions as views
from lifeboat.db import actions as db_actions
from lifeboat.db import instances as db_instances

router = APIRouter()
RULE = "os_compute_api:os-instance-actions:%s"


def _instance(req, server_id):
    ctx = req.context
    return db_instances.get(server_id, read_deleted=req.at_least("2.21"),
                            project_id=None if ctx.is_admin else ctx.project_id)


def _time(params, name):
    value = query.last(params, name)
    if value is None:
        return None
    return wsgi.parse_time(value, name)


@router.get("/servers/{server_id}/os-instance-actions")
def index(server_id: str, req=REQ):
    params = schemas.validate_query(schemas.INSTANCE_ACTIONS_INDEX_QUERY, req.query,
                                    req.version)
    instance = _instance(req, server_id)
    policy.authorize(req.context, RULE % "list", {"project_id": instance.project_id})
    if not req.at_least("2.58"):
        actions = db_actions.list_(instance.uuid)
        return wsgi.respond({"instanceActions": [views.action(req, a) for a in actions]})

    since = _time(params, "changes-since")
    before = _time(params, "changes-before")
    if since and before and before < since:
        raise exception.Invalid("The value of changes-since must be less than or "
                                "equal to changes-before.")
    limit, marker = paging(req)
    try:
        actions = db_actions.list_(instance.uuid, limit=limit, marker=marker,
                                   changes_since=since, changes_before=before)
    except exception.InvalidInput:
        raise exception.Invalid("Marker %s could not be found." % marker)
    body = {"instanceActions": [views.action(req, a) for a in actions]}
    links = req.page_links("servers/%s/os-instance-actions" % server_id, actions,
                           limit, lambda a: a.request_id)
    if links:
        body["links"] = links
    return wsgi.respond(body)


@router.get("/servers/{server_id}/os-instance-actions/{request_id}")
def show(server_id: str, request_id: str, req=REQ):
    schemas.validate_query(schemas.INSTANCE_ACTION_SHOW_QUERY, req.query, req.version)
    ctx = req.context
    instance = _instance(req, server_id)
    target = {"project_id": instance.project_id}
    policy.authorize(ctx, RULE % "show", target)
    try:
        act = db_actions.get(instance.uuid, request_id)
    except exception.InstanceActionNotFound:
        raise exception.InstanceActionNotFound("Action %s not found" % request_id)
    body = views.action(req, act)

    # Admins (events policy) see every event key, traceback included, and the
    # host from 2.62; from 2.51 everyone else who may show the action sees the
    # events without traceback or host.
    show_events = show_traceback = show_host = False
    if policy.check(ctx, RULE % "events", target):
        show_events = show_traceback = True
        show_host = req.at_least("2.62")
    elif req.at_least("2.51"):
        show_events = True
    show_details = (req.at_least("2.84")
                    and policy.check(ctx, RULE % "events:details", target))
    if show_events:
        body["events"] = views.events(
            req, act, act.project_id or instance.project_id,
            show_traceback=show_traceback, show_host=show_host,
            show_details=show_details)
    return wsgi.respond({"instanceAction": body})

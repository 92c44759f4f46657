"""/os-services: list, update (two generations of it) and delete.

Before 2.53 a PUT names an action in the path (enable, disable,
disable-log-reason, and force-down from 2.11) and the service by host and binary
in the body; from 2.53 the path holds the service uuid and the body says what
to change. Both follow Nova's services controller, message for message: only
nova-compute services may be updated, a compute service still hosting
instances (or migrations) cannot be deleted.
"""
from fastapi import APIRouter
from oslo_utils import uuidutils

from lifeboat import exception
from lifeboat.api import policy, wsgi
from lifeboat.api.handlers.common import REQ
from lifeboat.api.schemas import query
from lifeboat.api.schemas import services as service_schemas
from lifeboat.api.views import services as views
from lifeboat.db import instances as db_instances
from lifeboat.db import migrations as db_migrations
from lifeboat.db import services as db_services

router = APIRouter()
RULE = "os_compute_api:os-services:%s"
COMPUTE = views.COMPUTE_BINARY


def _bool(value):
    """A boolean the schema already accepted (a JSON bool or Nova's spellings)."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "t", "true", "on", "y", "yes")


@router.get("/os-services")
def index(req=REQ):
    params = service_schemas.validate_query(service_schemas.SERVICES_INDEX_QUERY,
                                            req.query, req.version)
    policy.authorize(req.context, RULE % "list", {})
    services = db_services.list_(host=query.last(params, "host") or None,
                                 binary=query.last(params, "binary") or None)
    return wsgi.respond({"services": [views.service(req, s) for s in services]})


# --- PUT -------------------------------------------------------------------

@router.put("/os-services/{service_id}")
def update(service_id: str, req=REQ):
    body = req.validated(service_schemas.SERVICE_UPDATE)
    if req.at_least("2.53"):
        return _update_v253(req, service_id, body)
    policy.authorize(req.context, RULE % "update", {})
    actions = {"enable": _enable, "disable": _disable,
               "disable-log-reason": _disable_log_reason}
    if req.at_least("2.11"):
        actions["force-down"] = _force_down
    action = actions.get(service_id)
    if action is None:
        raise exception.NotFound("Unknown action")
    return wsgi.respond(action(body))


def _legacy_update(host, binary, **values):
    """Apply `values` to the service named by host and binary (pre-2.53)."""
    if binary != COMPUTE:
        raise exception.Invalid(
            "Updating a %s service is not supported. Only nova-compute services "
            "can be updated." % binary)
    svc = db_services.get_by_host_binary(host, binary)
    if svc is None:
        raise exception.NotFound("Could not find binary %s on host %s." % (binary, host))
    return db_services.update(svc.id, **values)


def _enable(body):
    _legacy_update(body["host"], body["binary"], disabled=False, disabled_reason=None)
    return views.legacy_status(body["host"], body["binary"], "enabled")


def _disable(body, reason=None):
    _legacy_update(body["host"], body["binary"], disabled=True, disabled_reason=reason)
    return views.legacy_status(body["host"], body["binary"], "disabled", reason)


def _disable_log_reason(body):
    if "disabled_reason" not in body:
        raise exception.Invalid("Missing disabled reason field")
    return _disable(body, body["disabled_reason"])


def _force_down(body):
    if "forced_down" not in body:
        raise exception.Invalid("Missing forced_down field")
    forced_down = _bool(body["forced_down"])
    _legacy_update(body["host"], body["binary"], forced_down=forced_down)
    return views.legacy_forced_down(body["host"], body["binary"], forced_down)


def _update_v253(req, service_id, body):
    if not uuidutils.is_uuid_like(service_id):
        raise exception.Invalid("Invalid uuid %s" % service_id)
    policy.authorize(req.context, RULE % "update", {})
    svc = db_services.get_by_uuid(service_id)
    if svc.binary != COMPUTE:
        raise exception.Invalid(
            "Updating a %s service is not supported. Only nova-compute services "
            "can be updated." % svc.binary)
    values = {}
    if "status" in body:
        if body["status"] == "enabled":
            if body.get("disabled_reason"):
                raise exception.Invalid("Specifying 'disabled_reason' with status "
                                        "'enabled' is invalid.")
            values.update(disabled=False, disabled_reason=None)
        else:
            values.update(disabled=True, disabled_reason=body.get("disabled_reason"))
    if "forced_down" in body:
        values["forced_down"] = _bool(body["forced_down"])
    if not values:
        # A disabled_reason alone changes nothing either, as in Nova.
        raise exception.Invalid("No updates were requested. Fields 'status' or "
                                "'forced_down' should be specified.")
    svc = db_services.update(svc.id, **values)
    return wsgi.respond({"service": views.service(req, svc, with_forced_down=True)})


# --- DELETE ----------------------------------------------------------------

@router.delete("/os-services/{service_id}")
def delete(service_id: str, req=REQ):
    policy.authorize(req.context, RULE % "delete", {})
    if req.at_least("2.53"):
        if not uuidutils.is_uuid_like(service_id):
            raise exception.Invalid("Invalid uuid %s" % service_id)
        svc = _find(lambda s: s.uuid == service_id)
    else:
        if not service_id.strip().lstrip("-").isdigit():
            raise exception.InvalidInput(reason="id must be an integer")
        svc = _find(lambda s: s.id == int(service_id))
    if svc is None:
        raise exception.ServiceNotFound("Service %s not found." % service_id)
    if svc.binary == COMPUTE:
        if db_instances.list_(filters={"host": svc.host}, limit=1):
            raise exception.Conflict(
                "Unable to delete compute service that is hosting instances. "
                "Migrate or delete the instances first.")
        if db_migrations.unfinished_for_host(svc.host):
            raise exception.Conflict(
                "Unable to delete compute service that has in-progress "
                "migrations. Complete the migrations or delete the instances "
                "first.")
    db_services.destroy(svc.id)
    return wsgi.respond(None, 204)


def _find(predicate):
    return next((s for s in db_services.list_() if predicate(s)), None)

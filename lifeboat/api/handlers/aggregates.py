"""os-aggregates, read-only: Lifeboat has no host aggregates, so the list is
empty and any aggregate is 404. Clients that look aggregates up on the way to
something else (`openstack hypervisor show` lists them) get Nova's answers."""
from fastapi import APIRouter

from lifeboat import exception
from lifeboat.api import wsgi
from lifeboat.api.handlers.common import REQ

router = APIRouter()


class AggregateNotFound(exception.NotFound):
    msg_fmt = "Aggregate %(aggregate_id)s could not be found."


@router.get("/os-aggregates")
def index(req=REQ):
    req.context.require_admin()  # Nova's default: admin only
    return wsgi.respond({"aggregates": []})


@router.get("/os-aggregates/{aggregate_id}")
def show(aggregate_id: str, req=REQ):
    req.context.require_admin()
    raise AggregateNotFound(aggregate_id=aggregate_id)

"""/flavors: list (brief and detail) and show.

Filters and paging follow Nova's flavors controller: only admins choose
`is_public` (anyone else sees public, enabled flavors); `minRam`/`minDisk` must
be integers; `sort_key`/`sort_dir` are checked against Nova's lists by the query
schema, which from 2.75 also refuses unknown parameters.
"""
from fastapi import APIRouter

from lifeboat import exception
from lifeboat.api import policy, wsgi
from lifeboat.api.handlers.common import REQ, paging
from lifeboat.api.schemas import parameter_types as pt
from lifeboat.api.schemas import query
from lifeboat.api.views import servers as server_views
from lifeboat.db import catalog
from lifeboat.db import engine as db_engine

router = APIRouter()

# Nova's flavors VALID_SORT_KEYS / VALID_SORT_DIR.
SORT_KEYS = ["created_at", "description", "disabled", "ephemeral_gb", "flavorid",
             "id", "is_public", "memory_mb", "name", "root_gb", "rxtx_factor",
             "swap", "updated_at", "vcpu_weight", "vcpus"]
SORT_DIRS = ["asc", "desc"]
# vcpu_weight is a Nova column Lifeboat does not keep; it is NULL for every
# Nova flavor, so ordering by it is ordering by the id tie-breaker.
_SORT_COLUMNS = {"vcpu_weight": "id"}

INDEX_QUERY = query.permissive_until({
    "limit": query.multi(pt.non_negative_integer),
    "marker": query.multi({"type": "string"}),
    "is_public": query.multi({"type": "string"}),
    "minRam": query.multi({"type": "string"}),
    "minDisk": query.multi({"type": "string"}),
    "sort_key": query.multi({"type": "string", "enum": SORT_KEYS}),
    "sort_dir": query.multi({"type": "string", "enum": SORT_DIRS}),
}, "2.74")

_TRUE = ("1", "t", "true", "on", "y", "yes")
_FALSE = ("0", "f", "false", "off", "n", "no")


def _parse_is_public(value):
    """True (default), False, or None for "all" (Nova spells it "none")."""
    if value is None:
        return True
    lowered = value.strip().lower()
    if lowered in ("none", "all"):
        return None
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise exception.Invalid("Invalid is_public filter [%s]" % value)


def _int_filter(params, name):
    value = query.last(params, name)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or not 0 <= number <= db_engine.MAX_INT:
        raise exception.Invalid("Invalid %s filter [%s]" % (name, value))
    return number


def _flavors(req):
    params = query.validate_query(INDEX_QUERY, req.query, req.version)
    if req.context.is_admin:
        is_public = _parse_is_public(query.last(params, "is_public"))
    else:
        is_public = True
    min_ram = _int_filter(params, "minRam")
    min_disk = _int_filter(params, "minDisk")
    sort_key = query.last(params, "sort_key") or "flavorid"
    sort_dir = query.last(params, "sort_dir") or "asc"
    limit, marker = paging(req)
    try:
        flavors = catalog.flavor_list(
            is_public=is_public, min_ram=min_ram, min_disk=min_disk, limit=limit,
            marker=marker, sort_key=_SORT_COLUMNS.get(sort_key, sort_key),
            sort_dir=sort_dir, include_disabled=req.context.is_admin)
    except exception.InvalidInput:
        raise exception.Invalid("marker [%s] not found" % marker)
    return flavors, limit


def _list(req, detail):
    policy.authorize(req.context, "os_compute_api:flavors:index")
    flavors, limit = _flavors(req)
    show_specs = detail and policy.check(req.context,
                                         "os_compute_api:os-flavor-extra-specs:index")
    body = {"flavors": [server_views.flavor(req, f, detail, show_extra_specs=show_specs)
                        for f in flavors]}
    links = req.page_links("flavors/detail" if detail else "flavors", flavors, limit,
                           lambda f: f.flavorid)
    if links:
        body["flavors_links"] = links
    return wsgi.respond(body)


@router.get("/flavors")
def index(req=REQ):
    return _list(req, detail=False)


@router.get("/flavors/detail")
def detail(req=REQ):
    return _list(req, detail=True)


@router.get("/flavors/{flavor_id}")
def show(flavor_id: str, req=REQ):
    policy.authorize(req.context, "os_compute_api:flavors:show")
    flavor = catalog.flavor_get(flavor_id)
    show_specs = policy.check(req.context, "os_compute_api:os-flavor-extra-specs:index")
    return wsgi.respond({"flavor": server_views.flavor(req, flavor, True,
                                                       show_extra_specs=show_specs)})

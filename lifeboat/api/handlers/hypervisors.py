"""/os-hypervisors: list, detail, show, and the calls microversions retired.

Routes and their lifetimes follow Nova's hypervisors controller:

* list/detail page from 2.33 (limit, marker, `hypervisors_links`);
* from 2.53 ids are uuids (a non-uuid id is a 400), and the list takes
  `hypervisor_hostname_pattern` and `with_servers`, replacing
  /os-hypervisors/{pattern}/search and /servers (404 from 2.53);
* /os-hypervisors/statistics and /{id}/uptime end at 2.87 (404 from 2.88).

A compute node whose nova-compute service is gone is left out of lists, as
Nova leaves it out. All calls are admin-only by default policy.

Instances are read only when the response shows them (`servers`, or the
pre-2.88 `current_workload`), and then for all the nodes of the response at
once (db.hypervisor_usage): a list's cost in statements does not grow with the
number of hosts.
"""
from fastapi import APIRouter
from oslo_utils import uuidutils

from lifeboat import exception
from lifeboat.api import policy, wsgi
from lifeboat.api.handlers.common import REQ, paging
from lifeboat.api.schemas import parameter_types as pt
from lifeboat.api.schemas import query
from lifeboat.api.views import hypervisors as views
from lifeboat.db import hypervisor_usage as db_usage
from lifeboat.db import services as db_services

router = APIRouter()
RULE = "os_compute_api:os-hypervisors:%s"
COMPUTE = "nova-compute"

_PAGING = {"limit": query.multi(pt.non_negative_integer),
           "marker": query.multi({"type": "string"})}
_V253 = dict(_PAGING,
             hypervisor_hostname_pattern=query.single(pt.fqdn),
             with_servers=query.single(pt.boolean))
LIST_QUERY = [
    ("2.1", "2.32", query.schema({})),
    ("2.33", "2.52", query.schema(_PAGING)),
    ("2.53", "2.74", query.schema(_V253)),
    ("2.75", None, query.schema(_V253, additional=False)),
]
SHOW_QUERY = [
    ("2.1", "2.52", query.schema({})),
    ("2.53", "2.74", query.schema({"with_servers": query.single(pt.boolean)})),
    ("2.75", None, query.schema({"with_servers": query.single(pt.boolean)},
                                additional=False)),
]


def _unsupported(req):
    """Nova's answer to a call outside its microversion range."""
    return exception.NotFound("API version %s is not supported on this method."
                              % req.version)


def _true(value):
    return str(value).strip().lower() in ("1", "t", "true", "on", "y", "yes")


def _service_of(node):
    """The node's nova-compute service, or None if it was deleted."""
    svc = node.service
    if svc is None or svc.binary != COMPUTE:
        svc = db_services.get_by_host_binary(node.host, COMPUTE)
    return svc


def _with_services(nodes):
    """[(node, its nova-compute service)] in the nodes' order, leaving out the
    nodes whose service is gone. The service is joined to the node; the rare
    node whose joined service is not its nova-compute one costs one statement
    for all of them, not one each."""
    def joined(node):
        svc = node.service
        return svc if svc is not None and svc.binary == COMPUTE else None
    missing = [n.host for n in nodes if joined(n) is None]
    others = db_services.compute_services_by_host(missing) if missing else {}
    pairs = []
    for node in nodes:
        svc = joined(node) or others.get(node.host)
        if svc is not None:
            pairs.append((node, svc))
    return pairs


def _shown_instances(req, hosts, detail, with_servers):
    """What the response shows of the instances on `hosts`, read at once:
    (servers, workloads).

    servers:   {host: [ServerRow]} (id order) when the servers are listed,
               else None; the views count current_workload from them.
    workloads: {host: current_workload}, counted in SQL, when only the count
               is shown (detail below 2.88 without servers), else None.
    """
    if with_servers:
        return db_usage.servers_by_host(hosts), None
    if detail and req.version < "2.88":
        return None, db_usage.count_by_host(views.WORKLOAD_VM_STATES,
                                            views.WORKLOAD_TASK_STATES, hosts)
    return None, None


def _view(req, node, svc, detail, with_servers, servers, workloads):
    rows = servers.get(node.host, []) if servers is not None else ()
    return views.hypervisor(
        req, node, svc, detail, servers=rows if with_servers else None,
        with_servers=with_servers, instances=rows,
        current_workload=None if workloads is None else workloads.get(node.host, 0))


def _matching(pattern):
    """Nodes whose hostname contains `pattern` (SQL LIKE '%pattern%'); 404 if none."""
    wanted = pattern.lower()
    nodes = [n for n in db_services.compute_nodes()
             if wanted in n.hypervisor_hostname.lower()]
    if not nodes:
        raise exception.HypervisorNotFound(
            "No hypervisor matching '%s' could be found." % pattern)
    return nodes


def _page(req, nodes, limit, marker):
    if marker is not None:
        key = (lambda n: n.uuid) if req.at_least("2.53") else (lambda n: str(n.id))
        ids = [key(n) for n in nodes]
        if marker not in ids:
            raise exception.Invalid("marker [%s] not found" % marker)
        nodes = nodes[ids.index(marker) + 1:]
    return nodes[:limit] if limit is not None else nodes


def _list(req, detail):
    params = query.validate_query(LIST_QUERY, req.query, req.version)
    policy.authorize(req.context, RULE % ("list-detail" if detail else "list"), {})
    paged = req.at_least("2.33")
    limit, marker = paging(req) if paged else (None, None)
    pattern = query.last(params, "hypervisor_hostname_pattern")
    with_servers = _true(query.last(params, "with_servers", False))
    links = paged
    if pattern is not None:
        if "limit" in params or marker:
            raise exception.Invalid("Paging over hypervisors with the "
                                    "hypervisor_hostname_pattern query parameter "
                                    "is not supported.")
        links = False
        nodes = _matching(pattern)
    else:
        nodes = _page(req, db_services.compute_nodes(), limit, marker)
    pairs = _with_services(nodes)
    servers, workloads = _shown_instances(req, [n.host for n, _ in pairs], detail,
                                          with_servers)
    body = [_view(req, node, svc, detail, with_servers, servers, workloads)
            for node, svc in pairs]
    result = {"hypervisors": body}
    page = req.page_links("os-hypervisors/detail" if detail else "os-hypervisors",
                          body, limit, lambda h: h["id"]) if links else []
    if page:
        result["hypervisors_links"] = page
    return wsgi.respond(result)


@router.get("/os-hypervisors")
def index(req=REQ):
    return _list(req, detail=False)


@router.get("/os-hypervisors/detail")
def detail(req=REQ):
    return _list(req, detail=True)


@router.get("/os-hypervisors/statistics")
def statistics(req=REQ):
    if req.at_least("2.88"):
        raise _unsupported(req)
    policy.authorize(req.context, RULE % "statistics", {})
    nodes = [n for n, _ in _with_services(db_services.compute_nodes())]
    workloads = db_usage.count_by_host(views.WORKLOAD_VM_STATES,
                                       views.WORKLOAD_TASK_STATES)
    return wsgi.respond(views.statistics(
        (n, workloads.get(n.host, 0)) for n in nodes))


def _node(req, hypervisor_id):
    """The compute node named by the path: uuid from 2.53 (400 otherwise),
    integer before (404 otherwise, as Nova)."""
    not_found = exception.HypervisorNotFound(
        "Hypervisor with ID '%s' could not be found." % hypervisor_id)
    if req.at_least("2.53"):
        if not uuidutils.is_uuid_like(hypervisor_id):
            raise exception.Invalid("Invalid uuid %s" % hypervisor_id)
    elif not hypervisor_id.isdigit():
        raise not_found
    try:
        node = db_services.compute_node_by_id(hypervisor_id)
    except exception.HypervisorNotFound:
        raise not_found
    svc = _service_of(node)
    if svc is None:
        raise not_found
    return node, svc


@router.get("/os-hypervisors/{hypervisor_id}")
def show(hypervisor_id: str, req=REQ):
    params = query.validate_query(SHOW_QUERY, req.query, req.version)
    policy.authorize(req.context, RULE % "show", {})
    node, svc = _node(req, hypervisor_id)
    with_servers = _true(query.last(params, "with_servers", False))
    servers, workloads = _shown_instances(req, [node.host], True, with_servers)
    return wsgi.respond({"hypervisor": _view(req, node, svc, True, with_servers,
                                             servers, workloads)})


@router.get("/os-hypervisors/{hypervisor_id}/uptime")
def uptime(hypervisor_id: str, req=REQ):
    if req.at_least("2.88"):
        raise _unsupported(req)
    policy.authorize(req.context, RULE % "uptime", {})
    node, svc = _node(req, hypervisor_id)
    if not db_services.is_up(svc):
        raise exception.Invalid("Compute service of %s is unavailable at this time."
                                % node.host)
    return wsgi.respond({"hypervisor": views.hypervisor(
        req, node, svc, False, uptime=views.uptime_text(svc))})


@router.get("/os-hypervisors/{pattern}/search")
def search(pattern: str, req=REQ):
    if req.at_least("2.53"):
        raise _unsupported(req)
    policy.authorize(req.context, RULE % "search", {})
    body = [views.hypervisor(req, n, svc, False)
            for n, svc in _with_services(_matching(pattern))]
    return wsgi.respond({"hypervisors": body})


@router.get("/os-hypervisors/{pattern}/servers")
def servers(pattern: str, req=REQ):
    if req.at_least("2.53"):
        raise _unsupported(req)
    policy.authorize(req.context, RULE % "servers", {})
    pairs = _with_services(_matching(pattern))
    servers = db_usage.servers_by_host([n.host for n, _ in pairs])
    body = [views.hypervisor(req, node, svc, False,
                             servers=servers.get(node.host, []))
            for node, svc in pairs]
    return wsgi.respond({"hypervisors": body})

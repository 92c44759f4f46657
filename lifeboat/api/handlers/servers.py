"""/servers: create, list, show, update, delete."""
from fastapi import APIRouter

from lifeboat import exception
from lifeboat.api import policy, wsgi
from lifeboat.api.handlers.common import REQ, paging
from lifeboat.api.schemas import servers as server_schemas
from lifeboat.api.views import servers as server_views
from lifeboat.compute import api as compute_api
from lifeboat.compute import states
from lifeboat.conf import CONF
from lifeboat.db import instances as db_instances
from lifeboat.db import services as db_services

router = APIRouter()
COMPUTE = compute_api.API()


def _list(req, detail):
    ctx = req.context
    rule = "os_compute_api:servers:%s" % ("detail" if detail else "index")
    policy.authorize(ctx, rule)
    server_schemas.validate_server_list_query(list(req.query.multi_items()),
                                              str(req.version))
    limit, marker = paging(req)
    filters, project = _filters(req, detail)
    # Plain rows of the columns the view reads, not Instance objects.
    columns = db_instances.DETAIL_COLUMNS if detail else db_instances.INDEX_COLUMNS
    instances = db_instances.list_(project_id=project, filters=filters, limit=limit,
                                   marker=marker, columns=columns)
    if detail:
        faults = db_instances.latest_faults([i.uuid for i in instances
                                             if i.vm_state == states.ERROR])
        body = server_views.detail_list(req, instances, faults,
                                        _host_statuses(req, instances))
    else:
        body = server_views.basic_list(req, instances)
    result = {"servers": body}
    links = req.page_links("servers/detail" if detail else "servers", instances,
                           limit, lambda i: i.uuid)
    if links:
        result["servers_links"] = links
    return wsgi.respond(result)


def _filters(req, detail):
    """(db filters, project or None) from the query, as Nova applies them."""
    ctx, q = req.context, req.query
    all_tenants_rule = "os_compute_api:servers:%s:get_all_tenants" % (
        "detail" if detail else "index")
    project = ctx.project_id
    all_tenants = q.get("all_tenants")
    if all_tenants is not None and all_tenants.lower() not in ("0", "false", "off", "no"):
        policy.authorize(ctx, all_tenants_rule)
        project = None
    if q.get("project_id") or q.get("tenant_id"):
        if policy.check(ctx, all_tenants_rule):
            project = q.get("project_id") or q.get("tenant_id")
    filters = {}
    if q.get("name"):
        filters["name"] = q["name"]
    if q.get("changes-since"):
        filters["changes_since"] = wsgi.parse_time(q["changes-since"], "changes-since")
        filters["deleted"] = True
    if q.get("changes-before") and req.at_least("2.66"):
        filters["changes_before"] = wsgi.parse_time(q["changes-before"], "changes-before")
    if q.get("image"):
        filters["image"] = q["image"].rsplit("/", 1)[-1]
    if q.get("flavor"):
        from lifeboat.db import catalog
        try:
            filters["flavor_db_id"] = catalog.flavor_get(q["flavor"].rsplit("/", 1)[-1]).id
        except exception.FlavorNotFound:
            filters["uuids"] = []
    if q.get("locked") is not None and req.at_least("2.73"):
        value = q["locked"].lower()
        if value not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
            raise exception.Invalid("Unrecognized value '%s', acceptable values are "
                                    "'true' or 'false'" % q["locked"])
        filters["locked"] = value in ("true", "1", "yes", "on")
    admin_filters = policy.check(ctx, "os_compute_api:servers:allow_all_filters")
    if admin_filters:
        if q.get("host"):
            filters["host"] = q["host"]
        if q.get("node"):
            filters["node"] = q["node"]
        if q.get("deleted", "").lower() in ("true", "1"):
            filters["deleted"] = True
    statuses = q.getlist("status")
    if statuses:
        _status_filter(req, statuses, filters)
    return filters, project


def _status_filter(req, statuses, filters):
    vm_states, pairs, excluded = [], set(), set()
    for status in statuses:
        vms, task_pairs = states.states_from_status(status)
        if not vms and not task_pairs:
            if req.at_least("2.38"):
                raise exception.Invalid("Invalid status value")
            filters["uuids"] = []
            return
        vm_states.extend(vms)
        pairs |= task_pairs
    # A plain vm_state status excludes task states that show something else.
    for vm_state in vm_states:
        for status_task in states._STATE_MAP.get(vm_state, {}):  # noqa: SLF001
            if status_task != "default":
                excluded.add(status_task)
    filters["vm_states"] = vm_states
    filters["exclude_task_states"] = sorted(excluded)
    filters["task_state_pairs"] = pairs


def _host_statuses(req, instances):
    """{host: UP|DOWN|MAINTENANCE} of the instances' hosts, for admins at 2.16+
    (Nova's host_status); one query for the hosts of a whole page."""
    if not (req.at_least("2.16") and req.context.is_admin):
        return {}
    hosts = sorted({i.host for i in instances if i.host})
    if not hosts:
        return {}
    result = {}
    services = db_services.compute_services_by_host(
        hosts, columns=("forced_down", "disabled", "last_seen_up"))
    for host, service in services.items():
        if not db_services.is_up(service):
            result[host] = "DOWN"
        elif service.disabled:
            result[host] = "MAINTENANCE"
        else:
            result[host] = "UP"
    return result


@router.get("/servers")
def index(req=REQ):
    return _list(req, detail=False)


@router.get("/servers/detail")
def detail(req=REQ):
    return _list(req, detail=True)


def show_body(req, instance, trimmed=False):
    # The fault is shown only for ERROR and DELETED servers (as Nova): don't
    # read it for the others, which are most of the GETs a client polls with.
    fault = None
    if instance.vm_state in (states.ERROR, states.DELETED):
        fault = db_instances.latest_faults([instance.uuid]).get(instance.uuid)
    host_status = _host_statuses(req, [instance]).get(instance.host)
    return {"server": server_views.detail(req, instance, fault=fault,
                                          host_status=host_status, trimmed=trimmed)}


@router.get("/servers/{server_id}")
def show(server_id: str, req=REQ):
    server_schemas.validate_server_show_query(list(req.query.multi_items()),
                                              str(req.version))
    instance = COMPUTE.get(req.context, server_id)
    policy.authorize(req.context, "os_compute_api:servers:show",
                     {"project_id": instance.project_id})
    return wsgi.respond(show_body(req, instance))


@router.post("/servers")
def create(req=REQ):
    body = req.validated(server_schemas.CREATE)
    server = body["server"]
    ctx = req.context
    policy.authorize(ctx, "os_compute_api:servers:create")
    requested_host = server.get("host") if req.at_least("2.74") else None
    availability_zone = server.get("availability_zone")
    if availability_zone and ":" in availability_zone:
        policy.authorize(ctx, "os_compute_api:servers:create:forced_host")
        requested_host = availability_zone.split(":")[1] or requested_host
        availability_zone = availability_zone.split(":")[0]
    if requested_host:
        policy.authorize(ctx, "compute:servers:create:requested_destination")
    networks = server.get("networks")
    if isinstance(networks, list) and networks:
        first = networks[0]
        ident = first.get("uuid") or first.get("port")
        raise exception.Invalid("Network %s could not be found." % ident)
    image_ref = server.get("imageRef", "")
    flavor_ref = str(server["flavorRef"]).rstrip("/").rsplit("/", 1)[-1]
    if not image_ref:
        raise exception.Invalid("Can not find requested image")
    image_ref = str(image_ref).rstrip("/").rsplit("/", 1)[-1]
    min_count = int(server.get("min_count", 1))
    max_count = int(server.get("max_count", min_count))
    if max_count < min_count:
        raise exception.Invalid("min_count must be <= max_count")
    allowed = CONF.api.max_instances_per_request
    if min_count > allowed or max_count > allowed:
        raise exception.Forbidden(
            "Quota exceeded for instances: Requested %d, but the most one request "
            "may create is %d." % (max(min_count, max_count), allowed))
    password = server.get("adminPass") or compute_api.generate_password()
    instances = COMPUTE.create(
        ctx, server["name"], image_ref, flavor_ref, admin_password=password,
        metadata=server.get("metadata"), requested_host=requested_host,
        description=server.get("description"), tags=server.get("tags"),
        min_count=min_count, max_count=max_count, key_name=server.get("key_name"),
        user_data=server.get("user_data"), availability_zone=availability_zone,
        access_ip_v4=server.get("accessIPv4"), access_ip_v6=server.get("accessIPv6"),
        config_drive=server.get("config_drive"), hostname=server.get("hostname"))
    if server.get("return_reservation_id"):
        return wsgi.respond({"reservation_id": instances[0].reservation_id}, 202)
    first = instances[0]
    out = {"id": first.uuid, "links": req.links("servers", first.uuid),
           "OS-DCF:diskConfig": server.get("OS-DCF:diskConfig", "MANUAL"),
           "security_groups": [{"name": "default"}], "adminPass": password}
    return wsgi.respond({"server": out}, 202)


@router.put("/servers/{server_id}")
def update(server_id: str, req=REQ):
    body = req.validated(server_schemas.UPDATE)
    instance = COMPUTE.get(req.context, server_id)
    policy.authorize(req.context, "os_compute_api:servers:update",
                     {"project_id": instance.project_id})
    server = body["server"]
    values = {}
    if "name" in server:
        values["display_name"] = server["name"]
    if "description" in server:
        values["display_description"] = server["description"]
    if "hostname" in server:
        values["hostname"] = server["hostname"]
    if "accessIPv4" in server:
        values["access_ip_v4"] = server["accessIPv4"]
    if "accessIPv6" in server:
        values["access_ip_v6"] = server["accessIPv6"]
    if values:
        instance = db_instances.transition(instance.uuid, **values)
    # Below 2.75 Nova answers an update with the trimmed server body.
    return wsgi.respond(show_body(req, instance, trimmed=not req.at_least("2.75")))


@router.delete("/servers/{server_id}")
def delete(server_id: str, req=REQ):
    instance = COMPUTE.get(req.context, server_id)
    policy.authorize(req.context, "os_compute_api:servers:delete",
                     {"project_id": instance.project_id})
    COMPUTE.delete(req.context, instance)
    return wsgi.respond(None, 204)

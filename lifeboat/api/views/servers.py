"""Server and flavor bodies, shaped as Nova 34 shapes them for each microversion.

Clients (Tempest's response schemas above all) check these bodies key by key,
with `additionalProperties: False`, so a key shown one microversion too early
or to the wrong caller breaks them. Every gate below therefore names the
version (or the policy) that brings a key in, following Nova's
api/openstack/compute/views/servers.py and views/flavors.py:

* 2.3   admin-only extended attributes grow (reservation_id ... user_data);
        volumes_attached items gain delete_on_termination.
* 2.9   `locked`;  2.16 `host_status` (admin);  2.19 `description`;
* 2.26  `tags`;  2.47 the flavor is embedded instead of linked;
* 2.63  `trusted_image_certificates`;  2.71 `server_groups` (show only);
* 2.73  `locked_reason`;  2.90 `OS-EXT-SRV-ATTR:hostname` for everyone;
* 2.96  `pinned_availability_zone`;  2.98 image `properties`;
* 2.100 `scheduler_hints` (show and detail list, as Nova's own schemas say).
* Flavors: 2.55 `description`, 2.61 `extra_specs`, 2.75 `swap` is 0 not "".

Nothing after 2.100 changes these bodies; Lifeboat's 2.105 renders as 2.104.

Policy decisions are inputs (`show_extended`, `show_host_status`,
`show_extra_specs`); when a caller leaves them None the defaults of Nova's
policy rules apply (admin, admin, project reader or admin).
"""
import hashlib
import re

from lifeboat.api.views import common
from lifeboat.compute import states

# Statuses for which Nova shows `progress`, and those for which it shows `fault`.
_PROGRESS_STATUSES = ("ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE",
                      "MIGRATING")
_FAULT_STATUSES = ("ERROR", "DELETED")

# Image property keys Nova's 2.98 schema accepts; values are capped like Nova's
# system metadata (255 characters).
_IMAGE_PROP_KEY = re.compile(r"^[a-zA-Z0-9_:. ]{1,255}$")
_IMAGE_PROP_MAX = 255


def _get(obj, key, default=None):
    """Attribute or mapping lookup, so views take models and plain dicts alike."""
    if obj is None:
        return default
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _isotime(when):
    """common.isotime(), without strftime for the usual naive UTC stamp."""
    if when is not None and when.tzinfo is None and when.year >= 1000:
        return when.isoformat(timespec="seconds") + "Z"
    return common.isotime(when)


def _strtime(when):
    """common.strtime(), without strftime for the usual naive UTC stamp."""
    if when is not None and when.tzinfo is None and when.year >= 1000:
        return when.isoformat(timespec="microseconds")
    return common.strtime(when)


def _is_admin(req):
    return bool(getattr(req.context, "is_admin", False))


# --- servers ---------------------------------------------------------------

def basic(req, instance):
    """One entry of GET /servers: id, name and links only."""
    return {"id": instance.uuid,
            "name": instance.display_name,
            "links": req.links("servers", instance.uuid)}


def status(instance):
    """The API status; a deleted row is DELETED whatever its states say (as Nova)."""
    if instance.deleted:
        return "DELETED"
    return states.status_from_state(instance.vm_state, instance.task_state)


def host_id(instance):
    """Opaque per-project host identifier: sha224(project_id + host), "" with no host."""
    if not instance.host:
        return ""
    data = (str(instance.project_id) + instance.host).encode("utf-8")
    return hashlib.sha224(data).hexdigest()


def instance_name(instance):
    """The hypervisor-level name, from Nova's default instance_name_template."""
    return "instance-%08x" % (instance.id or 0)


class Shape:
    """What a request decides once for every server it renders: the
    microversion gates, the caller's admin flag and the link prefixes.

    A list page renders hundreds of servers for one request; deciding these
    per server (a dozen version comparisons, a config lookup per link) used to
    cost as much as the rest of the view.
    """

    __slots__ = ("admin", "project_id", "v2_3", "v2_9", "v2_16", "v2_19",
                 "v2_26", "v2_47", "v2_63", "v2_71", "v2_73", "v2_90", "v2_96",
                 "v2_98", "v2_100", "servers_self", "servers_bookmark",
                 "images_bookmark", "flavors_bookmark")

    def __init__(self, req):
        version = req.version
        self.admin = _is_admin(req)
        self.project_id = getattr(req.context, "project_id", None)
        for gate in ("2.3", "2.9", "2.16", "2.19", "2.26", "2.47", "2.63", "2.71",
                     "2.73", "2.90", "2.96", "2.98", "2.100"):
            setattr(self, "v" + gate.replace(".", "_"), version >= gate)
        # req.link(collection, ident) is "<prefix>/<ident>" for every ident.
        self.servers_self = req.link("servers", "")
        self.servers_bookmark = req.link("servers", "", bookmark=True)
        self.images_bookmark = req.link("images", "", bookmark=True)
        self.flavors_bookmark = req.link("flavors", "", bookmark=True)

    def server_links(self, uuid):
        return [{"rel": "self", "href": self.servers_self + uuid},
                {"rel": "bookmark", "href": self.servers_bookmark + uuid}]


def detail_list(req, instances, faults=None, host_statuses=None):
    """The "servers" of GET /servers/detail: detail() of each instance (in_list),
    with its fault from `faults` ({uuid: fault}) and its host's status from
    `host_statuses` ({host: status}), deciding per-request things once."""
    shape = Shape(req)
    faults = faults or {}
    host_statuses = host_statuses or {}
    host_ids = {}
    return [detail(req, i, fault=faults.get(i.uuid),
                   host_status=host_statuses.get(i.host), in_list=True,
                   shape=shape, host_ids=host_ids)
            for i in instances]


def basic_list(req, instances):
    """The "servers" of GET /servers: basic() of each instance."""
    shape = Shape(req)
    return [{"id": i.uuid, "name": i.display_name, "links": shape.server_links(i.uuid)}
            for i in instances]


def detail(req, instance, fault=None, show_extended=None, image=None, *,
           host_status=None, show_host_status=None, show_extra_specs=None,
           in_list=False, addresses=None, security_groups=None, volumes=None,
           server_groups=None, pinned_az=None, scheduler_hints=None, trimmed=False,
           shape=None, host_ids=None):
    """The "server" value of GET /servers/{id}, or one entry of /servers/detail.

    fault:            the instance's latest InstanceFault (model or dict), or None.
    show_extended:    OS-EXT-SRV-ATTR policy outcome (default: admin).
    image:            the Image (model or dict) the server was booted from, for the
                      2.98 image properties; None shows only base_image_ref.
    host_status:      "UP"/"DOWN"/"MAINTENANCE"/"UNKNOWN"/"" for 2.16+ callers
                      allowed to see it (default: "" without a host, else UNKNOWN).
    in_list:          True for /servers/detail entries (no server_groups there).
    security_groups:  names; Nova shows the key only when there are some.
    volumes:          [{"id", "delete_on_termination"}] attached volumes.
    trimmed:          the body PUT /servers/{id} answers below 2.75: none of the
                      extension keys (OS-EXT-*, OS-SRV-USG, config_drive, ...).
    shape:            Shape(req), when the caller renders many servers.
    host_ids:         a dict to memoize hostId per (project, host) across a page.
    """
    if shape is None:
        shape = Shape(req)
    admin = shape.admin
    if show_extended is None:
        show_extended = admin
    if show_host_status is None:
        show_host_status = admin
    if show_extra_specs is None:
        # Nova's os-flavor-extra-specs:index default: project reader or admin.
        show_extra_specs = admin or shape.project_id == instance.project_id

    uuid = instance.uuid
    server_status = status(instance)
    if host_ids is None:
        host_ident = host_id(instance)
    else:
        key = (instance.project_id, instance.host)
        host_ident = host_ids.get(key)
        if host_ident is None:
            host_ident = host_ids[key] = host_id(instance)
    server = {
        "id": uuid,
        "name": instance.display_name,
        "status": server_status,
        "tenant_id": instance.project_id or "",
        "user_id": instance.user_id or "",
        "metadata": dict(instance.metadata_ or {}),
        "hostId": host_ident,
        "image": _image(shape, instance, image),
        "flavor": _flavor(shape, instance, show_extra_specs),
        "created": _isotime(instance.created_at),
        # A row never updated has no updated_at; Nova would print "now".
        "updated": _isotime(instance.updated_at or instance.created_at),
        "addresses": dict(addresses or {}),
        "accessIPv4": instance.access_ip_v4 or "",
        "accessIPv6": instance.access_ip_v6 or "",
        "links": shape.server_links(uuid),
        "OS-DCF:diskConfig": "MANUAL",
    }
    if server_status in _FAULT_STATUSES and fault is not None:
        server["fault"] = _fault(req, fault)
    if server_status in _PROGRESS_STATUSES:
        server["progress"] = instance.progress or 0

    if trimmed:
        server = _common_tail(server, instance, shape)
        if shape.v2_71:
            server["server_groups"] = list(server_groups or [])
        return server
    server["OS-EXT-AZ:availability_zone"] = instance.availability_zone or ""
    server["config_drive"] = instance.config_drive or ""
    server["key_name"] = instance.key_name
    server["OS-SRV-USG:launched_at"] = _strtime(instance.launched_at)
    server["OS-SRV-USG:terminated_at"] = _strtime(instance.terminated_at)
    if security_groups:
        server["security_groups"] = [{"name": name} for name in security_groups]

    if show_extended:
        server["OS-EXT-SRV-ATTR:host"] = instance.host
        server["OS-EXT-SRV-ATTR:instance_name"] = instance_name(instance)
        server["OS-EXT-SRV-ATTR:hypervisor_hostname"] = instance.node
        if shape.v2_3:
            server["OS-EXT-SRV-ATTR:reservation_id"] = instance.reservation_id
            server["OS-EXT-SRV-ATTR:launch_index"] = instance.launch_index or 0
            server["OS-EXT-SRV-ATTR:hostname"] = instance.hostname or ""
            server["OS-EXT-SRV-ATTR:kernel_id"] = instance.kernel_id
            server["OS-EXT-SRV-ATTR:ramdisk_id"] = instance.ramdisk_id
            server["OS-EXT-SRV-ATTR:root_device_name"] = instance.root_device_name
            server["OS-EXT-SRV-ATTR:user_data"] = instance.user_data
    elif shape.v2_90:
        server["OS-EXT-SRV-ATTR:hostname"] = instance.hostname or ""

    server["OS-EXT-STS:task_state"] = instance.task_state
    server["OS-EXT-STS:vm_state"] = instance.vm_state
    server["OS-EXT-STS:power_state"] = instance.power_state or states.NOSTATE
    server["os-extended-volumes:volumes_attached"] = (
        _volumes(req, volumes) if volumes else [])

    if shape.v2_16 and show_host_status:
        if host_status is None:
            host_status = "UNKNOWN" if instance.host else ""
        server["host_status"] = host_status
    server = _common_tail(server, instance, shape)
    if shape.v2_71 and not in_list:
        server["server_groups"] = list(server_groups or [])
    if shape.v2_96:
        server["pinned_availability_zone"] = pinned_az
    if shape.v2_100:
        server["scheduler_hints"] = dict(scheduler_hints or {})
    return server


def _common_tail(server, instance, shape):
    """Keys every server body has from their microversion on, trimmed or not."""
    if shape.v2_9:
        server["locked"] = bool(instance.locked)
    if shape.v2_73:
        server["locked_reason"] = instance.locked_reason if instance.locked else None
    if shape.v2_19:
        server["description"] = instance.display_description
    if shape.v2_26:
        server["tags"] = list(instance.tags or [])
    if shape.v2_63:
        server["trusted_image_certificates"] = None
    return server


def _volumes(req, volumes):
    """volumes_attached; delete_on_termination exists from 2.3 on."""
    with_dot = req.version >= "2.3"
    out = []
    for volume in volumes or []:
        entry = {"id": _get(volume, "id") or _get(volume, "volume_id")}
        if with_dot:
            entry["delete_on_termination"] = bool(
                _get(volume, "delete_on_termination", False))
        out.append(entry)
    return out


def _image_id(image_ref):
    """The id at the end of an image href (Nova accepts hrefs as image refs)."""
    return str(image_ref).rstrip("/").rsplit("/", 1)[-1]


def _image(shape, instance, image):
    """{"id", "links"} (+ "properties" at 2.98), or "" for a volume-backed server."""
    if not instance.image_ref:
        return ""
    image_id = _image_id(instance.image_ref)
    out = {"id": image_id,
           "links": [{"rel": "bookmark", "href": shape.images_bookmark + image_id}]}
    if shape.v2_98:
        out["properties"] = image_properties(image_id, image)
    return out


def image_properties(image_id, image=None):
    """What Nova keeps of the boot image as image_* system metadata (2.98 view).

    That is the image's own properties plus base_image_ref, container/disk
    format and min_disk/min_ram, all as strings of at most 255 characters.
    Keys outside Nova's schema pattern are left out rather than shown broken.
    """
    props = {"base_image_ref": image_id}
    if image is not None:
        for key in ("container_format", "disk_format", "min_disk", "min_ram"):
            value = _get(image, key)
            if value is not None:
                props[key] = value
        props.update(_get(image, "properties") or {})
    out = {}
    for key, value in props.items():
        if value is None or not _IMAGE_PROP_KEY.match(str(key)):
            continue
        if isinstance(value, bool):
            value = "True" if value else "False"
        out[str(key)] = str(value)[:_IMAGE_PROP_MAX]
    return out


def _flavor(shape, instance, show_extra_specs):
    """Linked flavor before 2.47, the embedded boot-time snapshot from 2.47 on."""
    snap = instance.flavor
    if not snap:
        return {}
    if shape.v2_47:
        out = {"vcpus": snap.get("vcpus") or 0,
               "ram": snap.get("memory_mb") or 0,
               "disk": snap.get("root_gb") or 0,
               "ephemeral": snap.get("ephemeral_gb") or 0,
               "swap": snap.get("swap") or 0,
               "original_name": snap.get("name") or ""}
        if show_extra_specs:
            out["extra_specs"] = {str(k): str(v) for k, v in
                                  (snap.get("extra_specs") or {}).items()}
        return out
    flavorid = str(snap.get("flavorid"))
    return {"id": flavorid,
            "links": [{"rel": "bookmark", "href": shape.flavors_bookmark + flavorid}]}


def _fault(req, fault):
    """The fault dict; details only for admins or for non-500 faults (as Nova)."""
    code = _get(fault, "code")
    out = {"code": code,
           "created": common.isotime(_get(fault, "created_at")),
           "message": _get(fault, "message") or ""}
    details = _get(fault, "details")
    if details and (_is_admin(req) or code != 500):
        out["details"] = details
    return out


# --- flavors ---------------------------------------------------------------

def flavor(req, flavor, detail, show_extra_specs=None):
    """One flavor for GET /flavors (detail False) or /flavors/detail and show.

    show_extra_specs is the os-flavor-extra-specs:index policy outcome (2.61+);
    its default rule admits any project reader, so None means shown.
    """
    version = req.version
    flavorid = str(flavor.flavorid)
    out = {"id": flavorid, "name": flavor.name,
           "links": req.links("flavors", flavorid)}
    if detail:
        swap = flavor.swap or 0
        rxtx = flavor.rxtx_factor
        out.update({
            "ram": flavor.memory_mb,
            "disk": flavor.root_gb or 0,
            # Before 2.75 Nova shows no swap as "", from 2.75 as 0.
            "swap": swap if (swap or version >= "2.75") else "",
            "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral_gb or 0,
            "OS-FLV-DISABLED:disabled": bool(flavor.disabled),
            "vcpus": flavor.vcpus,
            "os-flavor-access:is_public": (True if flavor.is_public is None
                                           else bool(flavor.is_public)),
            "rxtx_factor": 1.0 if rxtx is None else rxtx,
        })
        if version >= "2.61" and (show_extra_specs is None or show_extra_specs):
            out["extra_specs"] = {str(k): str(v) for k, v in
                                  (flavor.extra_specs or {}).items()}
    if version >= "2.55":
        out["description"] = flavor.description
    return out

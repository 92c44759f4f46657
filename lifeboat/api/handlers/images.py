"""The Glance v2 subset under /image: versions, images CRUD, data, tags, schemas.

Mounted without a prefix (absolute /image paths) because clients discover it as
a separate `image` endpoint. Bodies are Glance's; errors use the Nova fault
format the rest of the API produces. Everything real happens in
lifeboat.image.api; this module only speaks HTTP.
"""
import json
import os
from urllib.parse import urlencode

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from lifeboat import exception
from lifeboat.api import faults, wsgi
from lifeboat.conf import CONF
from lifeboat.image import api as image_api

router = APIRouter()

PATCH_TYPES = ("application/openstack-images-v2.1-json-patch",
               "application/openstack-images-v2.0-json-patch")
DEFAULT_LIMIT = 25  # Glance's limit_param_default
# Query parameters that are not image filters.
_NOT_FILTERS = ("limit", "marker", "sort", "sort_key", "sort_dir", "member_status")
_BOOL_FILTERS = ("os_hidden", "protected")


async def _raw_body(request: Request) -> bytes:
    return await request.body()


BODY = Depends(_raw_body)


def _base(request):
    if CONF.api.public_endpoint:
        return CONF.api.public_endpoint.rstrip("/")
    return str(request.base_url).rstrip("/")


def _ts(value):
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def image_view(image):
    """Glance's image document: core attributes, then custom properties flat."""
    props = dict(image.properties or {})
    body = {
        "id": image.id, "name": image.name, "status": image.status,
        "visibility": image.visibility, "protected": bool(image.protected),
        "os_hidden": bool(props.pop("os_hidden", False)), "owner": image.owner,
        "disk_format": image.disk_format, "container_format": image.container_format,
        "size": image.size, "virtual_size": image.virtual_size,
        "checksum": image.checksum, "os_hash_algo": image.os_hash_algo,
        "os_hash_value": image.os_hash_value, "min_disk": image.min_disk or 0,
        "min_ram": image.min_ram or 0, "tags": list(image.tags or []),
        "created_at": _ts(image.created_at),
        "updated_at": _ts(image.updated_at or image.created_at),
        "self": "/v2/images/%s" % image.id, "file": "/v2/images/%s/file" % image.id,
        "schema": "/v2/schemas/image",
    }
    for key, value in props.items():
        body.setdefault(key, value)
    return body


def _json(body, kind=dict):
    value = wsgi.parse_json(body) if body else None
    if not isinstance(value, kind):
        raise exception.Invalid("The request body must be a JSON %s"
                                % ("object" if kind is dict else "array"))
    return value


def _bool(name, value):
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise exception.Invalid("Invalid value '%s' for parameter %s" % (value, name))


# --- versions ---------------------------------------------------------------
_VERSIONS = [("v2.7", "CURRENT")] + [("v2.%d" % n, "SUPPORTED") for n in range(6, -1, -1)]


def _versions(request):
    href = _base(request) + "/image/v2/"
    return {"versions": [{"id": ident, "status": status,
                          "links": [{"rel": "self", "href": href}]}
                         for ident, status in _VERSIONS]}


@router.get("/image")
@router.get("/image/")
def image_root(request: Request):
    """Glance answers its bare root with 300 Multiple Choices."""
    return JSONResponse(_versions(request), status_code=300)


@router.get("/image/versions")
def image_versions(request: Request):
    return JSONResponse(_versions(request))


# --- images -----------------------------------------------------------------
def _sort(query):
    """[(key, dir)] from `sort=k:dir,k2` or repeated sort_key/sort_dir."""
    if "sort" in query and ("sort_key" in query or "sort_dir" in query):
        raise exception.Invalid("The 'sort' parameter cannot be combined with "
                                "'sort_key' or 'sort_dir'.")
    if "sort" in query:
        out = []
        for item in query["sort"].split(","):
            key, _, direction = item.strip().partition(":")
            out.append((key, direction or "desc"))
        return out
    keys = query.getlist("sort_key") or ["created_at"]
    dirs = query.getlist("sort_dir")
    if len(dirs) > 1 and len(dirs) != len(keys):
        raise exception.Invalid("The number of sort_dir and sort_key values "
                                "does not match.")
    if len(dirs) <= 1:
        dirs = [dirs[0] if dirs else "desc"] * len(keys)
    return list(zip(keys, dirs))


def _int(name, raw):
    try:
        value = int(raw)
    except ValueError:
        raise exception.Invalid("%s param must be an integer" % name)
    if value < 0:
        raise exception.Invalid("%s param must be positive" % name)
    return value


def _limit(query):
    raw = query.get("limit")
    return DEFAULT_LIMIT if raw is None else min(_int("limit", raw), CONF.api.max_limit)


@router.get("/image/v2/images")
def list_images(request: Request):
    query = request.query_params
    filters = {}
    for key, value in query.multi_items():
        if key in _NOT_FILTERS:
            continue
        if key == "tag":
            filters.setdefault("tags", []).append(value)
        elif key in _BOOL_FILTERS:
            filters[key] = _bool(key, value)
        elif key in ("size_min", "size_max"):
            filters[key] = _int(key, value)
        else:
            filters[key] = value
    limit = _limit(query)
    images = image_api.list_(request.state.context, filters, limit=limit,
                             marker=query.get("marker"), sort=_sort(query))
    params = [(k, v) for k, v in query.multi_items() if k != "marker"]
    body = {"images": [image_view(i) for i in images], "schema": "/v2/schemas/images",
            "first": "/v2/images" + ("?" + urlencode(params) if params else "")}
    if images and len(images) == limit:
        body["next"] = "/v2/images?" + urlencode(params + [("marker", images[-1].id)])
    return JSONResponse(body)


@router.post("/image/v2/images")
def create_image(request: Request, body: bytes = BODY):
    image = image_api.create(request.state.context, **_json(body))
    return JSONResponse(image_view(image), status_code=201, headers={
        "Location": "%s/image/v2/images/%s" % (_base(request), image.id)})


@router.get("/image/v2/images/{image_id}")
def show_image(image_id: str, request: Request):
    return JSONResponse(image_view(image_api.get(request.state.context, image_id)))


def _patch_ops(changes):
    """Glance's v2.0 form {"replace": "/x", "value": v} to v2.1 {op, path}."""
    out = []
    for change in changes:
        if not isinstance(change, dict):
            raise exception.Invalid("Each change must be a JSON object")
        if "op" not in change:
            ops = [op for op in ("add", "replace", "remove") if op in change]
            if len(ops) != 1:
                raise exception.Invalid("Unable to find a valid operation in the "
                                        "change: %s" % json.dumps(change)[:200])
            change = dict(change, op=ops[0], path=change[ops[0]])
        out.append(change)
    return out


@router.patch("/image/v2/images/{image_id}")
def update_image(image_id: str, request: Request, body: bytes = BODY):
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in PATCH_TYPES:
        return _unsupported_patch(ctype)
    image = image_api.update(request.state.context, image_id,
                             _patch_ops(_json(body, list)))
    return JSONResponse(image_view(image))


def _unsupported_patch(ctype):
    return faults.fault_response(
        415, "Unsupported Content-Type %s" % (ctype or "(none)"),
        headers={"Accept-Patch": ", ".join(PATCH_TYPES)})


@router.delete("/image/v2/images/{image_id}")
def delete_image(image_id: str, request: Request):
    image_api.delete(request.state.context, image_id)
    return Response(status_code=204)


# --- tags -------------------------------------------------------------------
@router.put("/image/v2/images/{image_id}/tags/{tag}")
def add_tag(image_id: str, tag: str, request: Request):
    ctx = request.state.context
    tags = list(image_api.get(ctx, image_id).tags or [])
    if tag not in tags:
        image_api.update(ctx, image_id, [{"op": "replace", "path": "/tags",
                                          "value": tags + [tag]}])
    return Response(status_code=204)


@router.delete("/image/v2/images/{image_id}/tags/{tag}")
def delete_tag(image_id: str, tag: str, request: Request):
    ctx = request.state.context
    tags = list(image_api.get(ctx, image_id).tags or [])
    if tag not in tags:
        raise exception.NotFound("Tag %s not found." % tag)
    image_api.update(ctx, image_id, [{"op": "replace", "path": "/tags",
                                      "value": [t for t in tags if t != tag]}])
    return Response(status_code=204)


# --- data -------------------------------------------------------------------
@router.put("/image/v2/images/{image_id}/file")
async def upload_image(image_id: str, request: Request):
    """Stream the body to disk: the domain upload runs in a worker thread and
    pulls each chunk from the event loop, so no image is held in memory."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/octet-stream":
        raise exception.UnsupportedMediaType()
    stream = request.stream().__aiter__()

    async def _next():
        try:
            return await stream.__anext__()
        except StopAsyncIteration:
            return None

    def chunks():
        while (chunk := anyio.from_thread.run(_next)) is not None:
            yield chunk

    await anyio.to_thread.run_sync(image_api.upload, request.state.context,
                                   image_id, chunks())
    return Response(status_code=204)


@router.get("/image/v2/images/{image_id}/file")
def download_image(image_id: str, request: Request):
    """200 with the bits and Content-MD5; 204 when the image has no data."""
    ctx = request.state.context
    image = image_api.get(ctx, image_id)
    path = image_api.open_data(ctx, image_id)
    try:
        # Open now: a concurrent delete unlinks the name, not our descriptor.
        f = open(path, "rb") if path else None
    except FileNotFoundError:
        f = None
    if f is None:
        return Response(status_code=204)
    size = os.fstat(f.fileno()).st_size

    def body():
        with f:
            while chunk := f.read(64 * 1024):
                yield chunk

    headers = {"Content-Length": str(size)}
    if image.checksum:
        headers["Content-MD5"] = image.checksum
    return StreamingResponse(body(), media_type="application/octet-stream",
                             headers=headers)


# --- schemas ----------------------------------------------------------------
def _image_schema():
    string_or_null = {"type": ["null", "string"]}
    props = {
        "id": {"type": "string", "format": "uuid", "readOnly": True},
        "name": dict(string_or_null, maxLength=255),
        "status": {"type": "string", "readOnly": True,
                   "enum": ["queued", "saving", "active", "killed", "deleted",
                            "uploading", "importing", "pending_delete",
                            "deactivated"]},
        "visibility": {"type": "string", "enum": list(image_api.VISIBILITIES)},
        "protected": {"type": "boolean"}, "os_hidden": {"type": "boolean"},
        "owner": dict(string_or_null, maxLength=255),
        "disk_format": {"type": ["null", "string"],
                        "enum": [None] + list(image_api.DISK_FORMATS)},
        "container_format": {"type": ["null", "string"],
                             "enum": [None] + list(image_api.CONTAINER_FORMATS)},
        "size": {"type": ["null", "integer"], "readOnly": True},
        "virtual_size": {"type": ["null", "integer"], "readOnly": True},
        "checksum": dict(string_or_null, readOnly=True, maxLength=32),
        "os_hash_algo": dict(string_or_null, readOnly=True),
        "os_hash_value": dict(string_or_null, readOnly=True),
        "min_disk": {"type": "integer"}, "min_ram": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 255}},
        "created_at": {"type": "string", "readOnly": True},
        "updated_at": {"type": "string", "readOnly": True},
        "self": {"type": "string", "readOnly": True},
        "file": {"type": "string", "readOnly": True},
        "schema": {"type": "string", "readOnly": True},
        "kernel_id": string_or_null, "ramdisk_id": string_or_null,
    }
    return {"name": "image", "properties": props,
            "additionalProperties": {"type": "string"},
            "links": [{"rel": "self", "href": "{self}"},
                      {"rel": "enclosure", "href": "{file}"},
                      {"rel": "describedby", "href": "{schema}"}]}


@router.get("/image/v2/schemas/image")
def image_schema():
    return JSONResponse(_image_schema())


@router.get("/image/v2/schemas/images")
def images_schema():
    return JSONResponse({
        "name": "images", "properties": {
            "images": {"type": "array", "items": _image_schema()},
            "schema": {"type": "string"}, "first": {"type": "string"},
            "next": {"type": "string"}},
        "links": [{"rel": "first", "href": "{first}"},
                  {"rel": "next", "href": "{next}"},
                  {"rel": "describedby", "href": "{schema}"}]})

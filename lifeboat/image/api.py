"""Image domain API with Glance v2 semantics; records in the DB, bits on disk.

Why here and not in the handlers: the compute side boots from the same images,
so visibility, status transitions and the file layout must have one owner.
A context of None means "the service itself" and sees every image.
Returned images are detached `models.Image` rows (the HTTP layer renders them).
`os_hidden` is kept in `properties` (the table has no column for it) and is
handled as a core attribute everywhere.
"""
import contextlib
import functools
import hashlib
import os
import struct
import uuid

import sqlalchemy as sa

from lifeboat import context as lb_context
from lifeboat import exception
from lifeboat.conf import CONF
from lifeboat.db import models
from lifeboat.db.engine import transaction

DISK_FORMATS = ("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2",
                "vdi", "iso", "ploop")
CONTAINER_FORMATS = ("ami", "ari", "aki", "bare", "ovf", "ova", "docker",
                     "compressed")
VISIBILITIES = ("public", "community", "shared", "private")
# Settable by clients (create and PATCH); everything else Glance computes.
CORE = ("name", "visibility", "protected", "os_hidden", "owner", "disk_format",
        "container_format", "min_disk", "min_ram", "tags")
READ_ONLY = ("id", "status", "size", "virtual_size", "checksum", "os_hash_algo",
             "os_hash_value", "created_at", "updated_at", "self", "file",
             "schema", "direct_url", "locations", "stores")
RESERVED = ("deleted", "deleted_at", "location", "owner_id")
SORT_KEYS = ("name", "status", "container_format", "disk_format", "size", "id",
             "created_at", "updated_at", "min_disk", "min_ram", "owner",
             "protected", "visibility", "virtual_size")
NULLABLE_PROPS = ("kernel_id", "ramdisk_id")


# --- access rules ----------------------------------------------------------
def _is_admin(context):
    return context is None or context.is_admin


def _visible(context, image):
    """Glance's rule: public/community for all, shared/private for owner+admin."""
    if image is None or image.deleted:
        return False
    return (_is_admin(context) or image.visibility in ("public", "community")
            or image.owner == context.project_id)


def _may_modify(context, image):
    return _is_admin(context) or image.owner == context.project_id


def _require_owner(context, image, action):
    """Seeing an image (e.g. a public one) is not owning it: 403 as Glance."""
    if not _may_modify(context, image):
        raise exception.Forbidden("You are not permitted to %s image %s."
                                  % (action, image.id))


def _canonical_id(image_id):
    try:
        return str(uuid.UUID(str(image_id)))
    except ValueError:
        raise exception.ImageNotFound(image_id=image_id)


def _load(session, context, image_id):
    image = session.get(models.Image, _canonical_id(image_id))
    if not _visible(context, image):
        raise exception.ImageNotFound(image_id=image_id)
    return image


# --- validation ------------------------------------------------------------
def _bad(key, value, why):
    raise exception.Invalid("Invalid value %r for attribute '%s': %s" % (value, key, why))


def _validate_core(context, key, value, status="queued"):
    """The normalised value of a settable core attribute (400/403 as Glance)."""
    if key == "name":
        if value is not None and (not isinstance(value, str) or len(value) > 255):
            _bad(key, value, "must be a string of at most 255 characters")
    elif key == "visibility":
        if value not in VISIBILITIES:
            _bad(key, value, "must be one of %s" % ", ".join(VISIBILITIES))
        if value == "public" and not _is_admin(context):
            raise exception.Forbidden("You are not authorized to complete "
                                      "publicize_image action.")
    elif key in ("protected", "os_hidden"):
        if not isinstance(value, bool):
            _bad(key, value, "must be a boolean")
    elif key == "owner":
        if value is not None and not isinstance(value, str):
            _bad(key, value, "must be a string")
        if not _is_admin(context) and value != context.project_id:
            raise exception.Forbidden("You are not permitted to create or "
                                      "modify images owned by '%s'." % value)
    elif key in ("disk_format", "container_format"):
        allowed = DISK_FORMATS if key == "disk_format" else CONTAINER_FORMATS
        if value is not None and value not in allowed:
            _bad(key, value, "must be one of %s" % ", ".join(allowed))
        if status != "queued":
            raise exception.Forbidden("Attribute %s can be only replaced for a "
                                      "queued image." % key)
    elif key in ("min_disk", "min_ram"):
        # Glance stores these as 32-bit integers.
        if isinstance(value, bool) or not isinstance(value, int) \
                or not 0 <= value <= 2 ** 31 - 1:
            _bad(key, value, "must be a non-negative 32-bit integer")
    elif key == "tags":
        if not isinstance(value, list) or not all(
                isinstance(t, str) and 0 < len(t) <= 255 for t in value):
            _bad(key, value, "must be a list of strings")
        value = list(dict.fromkeys(value))
    return value


def _validate_prop(key, value):
    if key in RESERVED:
        raise exception.Forbidden("Attribute '%s' is reserved." % key)
    if key in READ_ONLY:
        raise exception.Forbidden("Attribute '%s' is read-only." % key)
    if not key or len(key) > 255:
        raise exception.Invalid("Property names must be 1 to 255 characters.")
    if value is None and key in NULLABLE_PROPS:
        return
    if not isinstance(value, str) or len(value) > 65535:
        _bad(key, value, "custom properties must be strings")


def _set(context, image, props, key, value):
    """Set core attribute `key` on the row (os_hidden goes into `props`)."""
    value = _validate_core(context, key, value, image.status)
    if key == "os_hidden":
        props["os_hidden"] = value
    else:
        setattr(image, key, value)


# --- CRUD ------------------------------------------------------------------
def create(context, /, **fields):
    """A queued image owned by the caller's project; 400/403/409 as Glance."""
    image_id = fields.pop("id", None) or str(uuid.uuid4())
    try:
        image_id = str(uuid.UUID(str(image_id)))
    except ValueError:
        _bad("id", image_id, "must be a UUID")
    image = models.Image(
        id=image_id, status="queued", visibility="shared",
        protected=False, owner=None if context is None else context.project_id,
        min_disk=0, min_ram=0, tags=[], properties={}, deleted=False)
    props = {}
    for key, value in fields.items():
        if key in CORE:
            _set(context, image, props, key, value)
        else:
            _validate_prop(key, value)
            props[key] = value
    image.properties = props
    with transaction() as s:
        if s.get(models.Image, image.id) is not None:
            raise exception.ImageConflict(
                reason="Image with identifier %s already exists!" % image.id)
        s.add(image)
        try:
            s.flush()
        except sa.exc.IntegrityError:  # a concurrent create with the same id
            raise exception.ImageConflict(
                reason="Image with identifier %s already exists!" % image.id)
    return image


def get(context, image_id):
    """The image if `context` may see it, else ImageNotFound (404)."""
    with transaction(read_only=True) as s:
        return _load(s, context, image_id)


def _listed(context, image, visibility, hidden):
    """Glance's list scoping: by default public images and the caller's own."""
    if not _visible(context, image) or bool(
            (image.properties or {}).get("os_hidden")) != hidden:
        return False
    if visibility is None:
        return _may_modify(context, image) or image.visibility == "public"
    return visibility in ("all", image.visibility)


def _matches(image, filters):
    for key, want in filters.items():
        if key in ("visibility", "os_hidden") or want is None:
            continue
        if key == "tags":
            if not set(want) <= set(image.tags or []):
                return False
        elif key in ("size_min", "size_max"):
            if image.size is None or (image.size < want if key == "size_min"
                                      else image.size > want):
                return False
        else:
            have = (getattr(image, key) if key in SORT_KEYS
                    else (image.properties or {}).get(key))
            allowed = (want[3:].split(",") if isinstance(want, str)
                       and want.startswith("in:") else [want])
            if not any(have == w or str(have) == str(w) for w in allowed):
                return False
    return True


def _compare(sort, a, b):
    for key, direction in sort:
        x, y = getattr(a, key), getattr(b, key)
        if x == y:
            continue
        if x is None or y is None:
            result = -1 if x is None else 1
        else:
            result = -1 if x < y else 1
        return -result if direction == "desc" else result
    return 0


def list_(context, filters=None, limit=None, marker=None, sort=None):
    """Visible images matching `filters`, Glance-ordered, after `marker`.

    filters: column names, `tags` (all must match), size_min/size_max,
    visibility (one of VISIBILITIES or 'all'), os_hidden (default: hidden
    images excluded) and any other key as a custom-property equality; string
    values may be 'in:a,b'. With no visibility filter a non-admin sees public
    images and its own project's. sort: [(key, 'asc'|'desc')], default
    created_at desc; id desc always breaks ties. An unknown marker is 400.
    Filtering happens in Python: catalogues are small and custom properties
    live in a JSON column that SQLite/MySQL/PostgreSQL query differently.
    """
    filters = dict(filters or {})
    visibility = filters.get("visibility")
    if visibility is not None and visibility not in VISIBILITIES + ("all",):
        raise exception.Invalid("Invalid visibility value: %s" % visibility)
    sort = list(sort or [("created_at", "desc")])
    for key, direction in sort:
        if key not in SORT_KEYS or direction not in ("asc", "desc"):
            raise exception.Invalid("Invalid sort key or direction: %s:%s"
                                    % (key, direction))
    if "id" not in [k for k, _ in sort]:
        sort.append(("id", "desc"))
    hidden = bool(filters.get("os_hidden", False))
    with transaction(read_only=True) as s:
        rows = list(s.scalars(sa.select(models.Image).where(
            models.Image.deleted.is_(False))))
        try:
            marker_row = _load(s, context, marker) if marker is not None else None
        except exception.ImageNotFound:
            raise exception.Invalid("Invalid marker. Image %s could not be found."
                                    % marker)
    out = [i for i in rows
           if _listed(context, i, visibility, hidden) and _matches(i, filters)]
    out.sort(key=functools.cmp_to_key(functools.partial(_compare, sort)))
    if marker_row is not None:
        out = [i for i in out if _compare(sort, i, marker_row) > 0]
    return out if limit is None else out[:limit]


def update(context, image_id, changes):
    """Apply JSON-patch `changes` [{op, path, value}] (Glance v2.1 semantics).

    path is '/<attr>'. add sets (core or custom), replace needs the custom
    property to exist (409), remove of a core attribute is 403 and of a missing
    property 409; read-only/reserved attributes are 403. Non-owners get 403.
    """
    with transaction() as s:
        image = _load(s, context, image_id)
        _require_owner(context, image, "modify")
        props = dict(image.properties or {})
        for change in changes:
            op, key = change.get("op"), _path_key(change.get("path"))
            if op not in ("add", "replace", "remove"):
                raise exception.Invalid("Unsupported JSON-patch operation: %s" % op)
            if op != "remove" and "value" not in change:
                raise exception.Invalid("Operation '%s' requires a value." % op)
            if key in CORE:
                if op == "remove":
                    raise exception.Forbidden("Property %s may not be removed." % key)
                _set(context, image, props, key, change["value"])
                continue
            _validate_prop(key, change.get("value", ""))
            if op in ("replace", "remove") and key not in props:
                raise exception.ImageConflict(reason="Property %s does not exist." % key)
            if op == "remove":
                del props[key]
            else:
                props[key] = change["value"]
        image.properties = props
        image.updated_at = models.utcnow()
        s.flush()
    return image


def _path_key(path):
    """'/name' -> 'name' with JSON-pointer unescaping; nested paths are 400."""
    if not isinstance(path, str) or not path.startswith("/") or "/" in path[1:]:
        raise exception.Invalid("Invalid JSON pointer for this resource: '%s'" % path)
    return path[1:].replace("~1", "/").replace("~0", "~")


def delete(context, image_id):
    """Soft-delete the record and remove its data; protected images are 403."""
    with transaction() as s:
        image = _load(s, context, image_id)
        _require_owner(context, image, "delete")
        if image.protected:
            raise exception.Forbidden("Image %s is protected and cannot be "
                                      "deleted." % image.id)
        image.deleted, image.status = True, "deleted"
    _unlink(data_path(image.id))


# --- data ------------------------------------------------------------------
def images_dir():
    return os.path.join(CONF.state_path, "images")


def data_path(image_id):
    """Where the image's bits live: <state_path>/images/<canonical uuid>."""
    return os.path.join(images_dir(), _canonical_id(image_id))


def _unlink(path):
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _write_temp(image_id, chunks, disk_format):
    """Stream chunks to a temp file beside the target: (temp path, row values)."""
    os.makedirs(images_dir(), exist_ok=True)
    temp = os.path.join(images_dir(), ".%s.%s.part" % (image_id, uuid.uuid4().hex))
    md5, sha512, size, head = hashlib.md5(usedforsecurity=False), hashlib.sha512(), 0, b""
    try:
        with open(temp, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
                md5.update(chunk)
                sha512.update(chunk)
                size += len(chunk)
                head += bytes(chunk[:max(0, 32 - len(head))])
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        _unlink(temp)
        raise
    # Guest-visible size: the qcow2 header's field, the file size for raw/iso.
    if head[:4] == b"QFI\xfb" and len(head) >= 32:
        virtual_size = struct.unpack(">Q", head[24:32])[0]
    else:
        virtual_size = size if disk_format in ("raw", "iso") else None
    return temp, {"size": size, "checksum": md5.hexdigest(), "os_hash_algo": "sha512",
                  "os_hash_value": sha512.hexdigest(), "virtual_size": virtual_size}


def _transition(image_id, expected, new, on_success=None, **values):
    """Compare-and-swap the status; `on_success` runs inside the transaction."""
    I = models.Image
    with transaction() as s:
        done = s.execute(sa.update(I).where(
            I.id == image_id, I.status == expected, I.deleted.is_(False)).values(
                status=new, updated_at=models.utcnow(), **values)).rowcount == 1
        if done and on_success is not None:
            on_success()
    return done


def upload(context, image_id, chunks):
    """Store the image's data from an iterable of bytes; returns the image.

    queued -> saving (compare-and-swap, so concurrent uploads conflict) ->
    active. Data goes to a temp file renamed into place, so readers never see
    a partial image; any failure removes it and puts the image back to queued.
    Uploading to a non-queued image is 409, as Glance. The rename happens in
    the saving -> active transaction, so a racing delete either wins first
    (this upload then fails with 409) or waits and removes the file after.
    """
    image = get(context, image_id)
    _require_owner(context, image, "upload data to")
    if not _transition(image.id, "queued", "saving"):
        current = get(context, image.id)
        raise exception.ImageConflict(reason="Image status transition from %s to "
                                             "saving is not allowed" % current.status)
    temp = None
    try:
        temp, values = _write_temp(image.id, chunks, image.disk_format)
        done = _transition(image.id, "saving", "active", **values,
                           on_success=lambda: os.replace(temp, data_path(image.id)))
    except BaseException:
        if temp:
            _unlink(temp)
        _transition(image.id, "saving", "queued")
        raise
    if not done:
        _unlink(temp)
        raise exception.ImageConflict(reason="Image %s was deleted during the "
                                             "upload." % image.id)
    return get(context, image.id)


def open_data(context, image_id):
    """The data file's path for download, or None when the image has no data."""
    image = get(context, image_id)
    path = data_path(image.id)
    if image.status != "active" or not os.path.exists(path):
        return None
    return path


# --- seeding ----------------------------------------------------------------
def _seed_bytes(label, virtual_size, length=16 * 1024):
    """Deterministic qcow2-looking bytes: a v3 header, then a hash chain."""
    header = struct.pack(">4sIQIIQ", b"QFI\xfb", 3, 0, 0, 16, virtual_size)
    out, block = bytearray(header), label.encode()
    while len(out) < length:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:length])


def ensure_seed_images():
    """On first start (no image row at all) create "cirros" and the rescue image.

    Both are public qcow2/bare, active, owned by the service project, with a
    few KiB of deterministic data so the fake driver can boot from them.
    Returns the created ids [cirros, rescue], or [] if images already existed.
    """
    ctx = lb_context.get_admin_context()
    seeds = [("cirros", 117440512), (CONF.default_rescue_image_name, 117440512)]
    staged = []
    try:
        for name, vsize in seeds:
            image_id = str(uuid.uuid4())
            staged.append((image_id, name) + _write_temp(
                image_id, [_seed_bytes(name, vsize)], "qcow2"))
        with transaction() as s:
            if s.scalars(sa.select(models.Image.id).limit(1)).first() is not None:
                return []
            for image_id, name, _temp, values in staged:
                s.add(models.Image(
                    id=image_id, name=name, status="active", visibility="public",
                    protected=False, owner=ctx.project_id, disk_format="qcow2",
                    container_format="bare", min_disk=0, min_ram=0, tags=[],
                    properties={}, deleted=False, **values))
            s.flush()
            for image_id, _name, temp, _values in staged:
                os.replace(temp, data_path(image_id))
        return [image_id for image_id, *_ in staged]
    finally:
        for _id, _name, temp, _values in staged:
            _unlink(temp)

"""Instance queries, and the one function that moves an instance's state.

`transition()` is the compare-and-swap every state change goes through: an
UPDATE whose WHERE clause names the task_state (and optionally vm_state) the
caller expects, so of two racing actions exactly one matches a row.
"""
import collections
import datetime
import functools
import json

import sqlalchemy as sa

from lifeboat import exception
from lifeboat.db import models
from lifeboat.db.engine import changed_between, in_chunks, transaction

_UNSET = object()


def create(values):
    with transaction() as s:
        inst = models.Instance(**values)
        s.add(inst)
        s.flush()
        return inst


def get(uuid, read_deleted=False, project_id=None):
    """An instance by uuid; InstanceNotFound if missing or not visible."""
    with transaction(read_only=True) as s:
        q = sa.select(models.Instance).where(models.Instance.uuid == uuid)
        if not read_deleted:
            q = q.where(models.Instance.deleted == 0)
        inst = s.scalars(q).first()
    if inst is None or (project_id is not None and inst.project_id != project_id):
        raise exception.InstanceNotFound(instance_id=uuid)
    return inst


def _state_clause(column, expected):
    if isinstance(expected, (list, tuple, set, frozenset)):
        values = [v for v in expected if v is not None]
        clauses = [column.in_(values)] if values else []
        if None in expected:
            clauses.append(column.is_(None))
        return sa.or_(*clauses)
    return column.is_(None) if expected is None else column == expected


def transition(uuid, expected_task_state=_UNSET, expected_vm_state=_UNSET,
               load=True, **values):
    """Apply `values` to a live instance iff its states are what the caller expects.

    `expected_*` may be one value (None included) or a collection. Raises
    UnexpectedTaskState / UnexpectedVMState when another action got there first,
    InstanceNotFound when the instance is gone. Returns the updated instance,
    or None with `load=False`: the end of a compute action, which needs no
    copy, then commits without reading the row back (one statement less
    while it holds the write lock, and the client polling for the new state
    sees it that much sooner).
    """
    table = models.Instance.__table__
    where = [table.c.uuid == uuid, table.c.deleted == 0]
    if expected_task_state is not _UNSET:
        where.append(_state_clause(table.c.task_state, expected_task_state))
    if expected_vm_state is not _UNSET:
        where.append(_state_clause(table.c.vm_state, expected_vm_state))
    values.setdefault("updated_at", models.utcnow())
    if "metadata" in values:
        values["metadata_"] = values.pop("metadata")
    columns = {models.Instance.__mapper__.attrs[k].columns[0].name: v
               for k, v in values.items()}
    with transaction() as s:
        result = s.execute(table.update().where(*where).values(**columns))
        if result.rowcount == 1 and not load:
            return None
        inst = s.scalars(sa.select(models.Instance).where(
            models.Instance.uuid == uuid)).first()
        if result.rowcount == 1:
            return inst
    if inst is None or inst.deleted:
        raise exception.InstanceNotFound(instance_id=uuid)
    if (expected_task_state is not _UNSET
            and not _matches(inst.task_state, expected_task_state)):
        raise exception.UnexpectedTaskState(expected=expected_task_state,
                                            actual=inst.task_state)
    raise exception.UnexpectedVMState(expected=expected_vm_state,
                                      actual=inst.vm_state)


def _matches(actual, expected):
    if isinstance(expected, (list, tuple, set, frozenset)):
        return actual in expected
    return actual == expected


def soft_delete(uuid):
    """Mark the instance deleted (keeps the row for os-instance-actions etc.)."""
    now = models.utcnow()
    with transaction() as s:
        inst = s.scalars(sa.select(models.Instance).where(
            models.Instance.uuid == uuid, models.Instance.deleted == 0)).first()
        if inst is None:
            return None
        inst.deleted = inst.id
        inst.deleted_at = now
        inst.terminated_at = now
        inst.vm_state = "deleted"
        inst.task_state = None
        inst.power_state = 0
        return inst


# What the server views (lifeboat.api.views.servers) read of an instance, for
# list_(columns=...): the index shows id and name; the detail everything else
# except the flavor sizes, the rescue columns and deleted_at/locked_by.
INDEX_COLUMNS = ("uuid", "display_name")
DETAIL_COLUMNS = (
    "id", "uuid", "display_name", "display_description", "hostname", "project_id",
    "user_id", "image_ref", "kernel_id", "ramdisk_id", "flavor", "host", "node",
    "vm_state", "task_state", "power_state", "progress", "launched_at",
    "terminated_at", "deleted", "metadata_", "tags", "key_name", "user_data",
    "config_drive", "availability_zone", "access_ip_v4", "access_ip_v6",
    "launch_index", "reservation_id", "root_device_name", "locked", "locked_reason",
    "created_at", "updated_at")


@functools.lru_cache(maxsize=16)
def _row_type(columns):
    """A named tuple class for rows of `columns`, and the positions of the JSON
    ones among them."""
    json_at = tuple(i for i, name in enumerate(columns)
                    if isinstance(getattr(models.Instance, name).type, sa.JSON))
    return collections.namedtuple("InstanceRow", columns), json_at


def _select_columns(columns):
    """The select list of list_(columns=...): JSON columns come as their text
    (decoded once per distinct value by _rows, not once per row by the driver)."""
    I = models.Instance
    out = []
    for name in columns:
        col = getattr(I, name)
        if isinstance(col.type, sa.JSON):
            col = sa.cast(col, sa.Text)
        out.append(col.label(name))
    return out


def _rows(result, columns):
    """Named tuples of a list_(columns=...) result. The JSON values of a page
    repeat (one flavor snapshot per flavor, {} and [] for most metadata and
    tags), so each distinct text is decoded once per page; rows of a page may
    therefore share a decoded value: treat them as read-only."""
    row_type, json_at = _row_type(columns)
    if not json_at:
        return [row_type._make(row) for row in result]
    decoded = {None: None}
    out = []
    for row in result:
        values = list(row)
        for i in json_at:
            text = values[i]
            try:
                values[i] = decoded[text]
            except KeyError:
                values[i] = decoded[text] = json.loads(text)
        out.append(row_type._make(values))
    return out


def list_(project_id=None, filters=None, limit=None, marker=None,
          sort_keys=("created_at", "id"), sort_dirs=("desc", "desc"), columns=None):
    """Instances matching `filters`, newest first, paged by `marker` (a uuid).

    filters: host, name (regex-free substring, as Nova's default on SQLite),
    vm_states (list), task_state_pairs (set of (vm_state, task_state)),
    exclude_task_states (list), deleted (bool), changes_since, changes_before,
    image, flavor_id, locked, uuids.

    columns: attribute names of Instance (e.g. DETAIL_COLUMNS); the result is
    then read-only named tuples with just those attributes (no ORM objects:
    several times cheaper for a page of 1,000) instead of Instance objects.

    The default order walks ix_instances_deleted_created_id (or the project
    variant) and a marker continues it with a row-value comparison, so any
    page is an index range scan, however deep.
    """
    filters = filters or {}
    I = models.Instance
    if columns is None:
        q = sa.select(I)
    else:
        columns = tuple(columns)
        q = sa.select(*_select_columns(columns))
    if project_id is not None:
        q = q.where(I.project_id == project_id)
    if not filters.get("deleted"):
        q = q.where(I.deleted == 0)
    if filters.get("host"):
        q = q.where(I.host == filters["host"])
    if filters.get("node"):
        q = q.where(I.node == filters["node"])
    if filters.get("name"):
        q = q.where(I.display_name.contains(filters["name"]))
    if filters.get("uuids") is not None:
        q = q.where(I.uuid.in_(filters["uuids"]))
    if filters.get("image"):
        q = q.where(I.image_ref == filters["image"])
    if filters.get("flavor_db_id") is not None:
        q = q.where(I.flavor_id == filters["flavor_db_id"])
    if filters.get("locked") is not None:
        q = q.where(I.locked == filters["locked"])
    q = changed_between(q, I, filters)
    status_clauses = []
    if "vm_states" in filters:
        plain = [I.vm_state.in_(filters["vm_states"])]
        excluded = filters.get("exclude_task_states")
        if excluded:
            plain.append(sa.or_(I.task_state.is_(None), I.task_state.notin_(excluded)))
        status_clauses.append(sa.and_(*plain))
    for vm_state, task_state in filters.get("task_state_pairs", ()):
        status_clauses.append(sa.and_(I.vm_state == vm_state, I.task_state == task_state))
    if "vm_states" in filters or "task_state_pairs" in filters:
        q = q.where(sa.or_(*status_clauses) if status_clauses else sa.false())
    order = []
    for key, direction in zip(sort_keys, sort_dirs):
        col = getattr(I, key)
        order.append(col.desc() if direction == "desc" else col.asc())
    q = q.order_by(*order)
    with transaction(read_only=True) as s:
        if marker:
            m = s.execute(sa.select(*[getattr(I, k) for k in sort_keys])
                          .where(I.uuid == marker)).first()
            if m is None:
                raise exception.InvalidInput(reason="marker [%s] not found" % marker)
            q = q.where(_after_marker(I, m, sort_keys, sort_dirs))
        if limit is not None:
            q = q.limit(limit)
        if columns is None:
            return list(s.scalars(q))
        return _rows(s.execute(q), columns)


def _after_marker(model, marker, sort_keys, sort_dirs):
    """Keyset pagination: rows strictly after `marker` in the given order.

    With one direction for every key (the default created_at DESC, id DESC) a
    row value, `(created_at, id) < (:created_at, :id)`, which PostgreSQL,
    MariaDB and SQLite (3.15+) answer as one range of the list index; mixed
    directions need the OR expansion (a < x) OR (a = x AND b > y) ...
    """
    cols = [getattr(model, k) for k in sort_keys]
    values = [sa.literal(getattr(marker, k), col.type) for k, col in zip(sort_keys, cols)]
    if len(set(sort_dirs)) == 1:
        if len(cols) == 1:
            left, right = cols[0], values[0]
        else:
            left, right = sa.tuple_(*cols), sa.tuple_(*values)
        return left < right if sort_dirs[0] == "desc" else left > right
    clauses = []
    for i, direction in enumerate(sort_dirs):
        equal = [c == v for c, v in zip(cols[:i], values[:i])]
        col, value = cols[i], values[i]
        clauses.append(sa.and_(*equal, col < value if direction == "desc" else col > value))
    return sa.or_(*clauses)


# The usage of a host with nothing on it or heading to it: (instances, vcpus,
# memory_mb, disk_gb), as usage_by_host gives it.
NO_USAGE = (0, 0, 0, 0)


def usage_by_host(host=None, hosts=None):
    """{host: (instances, vcpus, memory_mb, disk_gb)} of live instances, summed in
    SQL, plus what in-progress migrations have claimed on their destinations.

    With `host` (a compute's audit) or `hosts` (a slice of the all-in-one's
    computes, lifeboat/host_jobs.py), only those are summed, which stays cheap
    however many instances the cloud holds."""
    I, M = models.Instance, models.Migration
    if host is not None:
        hosts = [host]
    on_host = [I.host.in_(hosts)] if hosts is not None else [I.host.isnot(None)]
    to_host = [M.dest_compute.in_(hosts)] if hosts is not None \
        else [M.dest_compute.isnot(None)]
    with transaction(read_only=True) as s:
        rows = s.execute(sa.select(
            I.host, sa.func.count(), sa.func.sum(I.vcpus), sa.func.sum(I.memory_mb),
            sa.func.sum(I.root_gb + I.ephemeral_gb))
            .where(I.deleted == 0, *on_host).group_by(I.host)).all()
        claims = s.execute(sa.select(
            M.dest_compute, sa.func.count(), sa.func.sum(I.vcpus), sa.func.sum(I.memory_mb),
            sa.func.sum(I.root_gb + I.ephemeral_gb))
            .join(I, I.uuid == M.instance_uuid)
            .where(M.status.in_(("queued", "preparing", "running", "post-migrating")),
                   I.deleted == 0, *to_host)
            .group_by(M.dest_compute)).all()
    usage = {}
    for host, *values in list(rows) + list(claims):
        old = usage.get(host, NO_USAGE)
        usage[host] = tuple(a + int(b or 0) for a, b in zip(old, values))
    return usage


def add_fault(uuid, code, message, details=None, host=None):
    with transaction() as s:
        s.add(models.InstanceFault(instance_uuid=uuid, code=code,
                                   message=str(message)[:255], details=details,
                                   host=host))


def latest_faults(uuids):
    """{instance_uuid: newest fault} for the given instances: read-only rows
    with the InstanceFault columns, only the newest of each instance loaded
    (one query per engine.IN_CHUNK instances)."""
    F = models.InstanceFault
    out = {}
    chunks = in_chunks(uuids)
    if not chunks:
        return out
    with transaction(read_only=True) as s:
        for chunk in chunks:
            newest = (sa.select(sa.func.max(F.id))
                      .where(F.instance_uuid.in_(chunk))
                      .group_by(F.instance_uuid))
            for row in s.execute(sa.select(*F.__table__.columns)
                                 .where(F.id.in_(newest))):
                out[row.instance_uuid] = row
    return out


def rescued_longer_than(host, seconds):
    cutoff = models.utcnow() - datetime.timedelta(seconds=seconds)
    I = models.Instance
    with transaction(read_only=True) as s:
        return list(s.scalars(sa.select(I).where(
            I.host == host, I.deleted == 0, I.vm_state == "rescued",
            I.task_state.is_(None), I.rescued_at < cutoff)))

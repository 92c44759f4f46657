"""Instance queries, and the one function that moves an instance's state.

`transition()` is the compare-and-swap every state change goes through: an
UPDATE whose WHERE clause names the task_state (and optionally vm_state) the
caller expects, so of two racing actions exactly one matches a row.
"""
import datetime

import sqlalchemy as sa

from lifeboat import exception
from lifeboat.db import models
from lifeboat.db.engine import changed_between, transaction

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
               **values):
    """Apply `values` to a live instance iff its states are what the caller expects.

    `expected_*` may be one value (None included) or a collection. Raises
    UnexpectedTaskState / UnexpectedVMState when another action got there first,
    InstanceNotFound when the instance is gone. Returns the updated instance.
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


def list_(project_id=None, filters=None, limit=None, marker=None,
          sort_keys=("created_at", "id"), sort_dirs=("desc", "desc")):
    """Instances matching `filters`, newest first, paged by `marker` (a uuid).

    filters: host, name (regex-free substring, as Nova's default on SQLite),
    vm_states (list), task_state_pairs (set of (vm_state, task_state)),
    exclude_task_states (list), deleted (bool), changes_since, changes_before,
    image, flavor_id, locked, uuids.
    """
    filters = filters or {}
    I = models.Instance
    q = sa.select(I)
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
            m = s.scalars(sa.select(I).where(I.uuid == marker)).first()
            if m is None:
                raise exception.InvalidInput(reason="marker [%s] not found" % marker)
            q = q.where(_after_marker(I, m, sort_keys, sort_dirs))
        if limit is not None:
            q = q.limit(limit)
        return list(s.scalars(q))


def _after_marker(model, marker, sort_keys, sort_dirs):
    """Keyset pagination: rows strictly after `marker` in the given order."""
    clauses = []
    for i, (key, direction) in enumerate(zip(sort_keys, sort_dirs)):
        equal = [getattr(model, k) == getattr(marker, k) for k in sort_keys[:i]]
        col, value = getattr(model, key), getattr(marker, key)
        clauses.append(sa.and_(*equal, col < value if direction == "desc" else col > value))
    return sa.or_(*clauses)


def usage_by_host(host=None):
    """{host: (instances, vcpus, memory_mb, disk_gb)} of live instances, summed in
    SQL, plus what in-progress migrations have claimed on their destinations.

    With `host`, only that host is summed (a compute's heartbeat), which stays
    cheap however many instances the cloud holds."""
    I, M = models.Instance, models.Migration
    on_host = [I.host == host] if host is not None else [I.host.isnot(None)]
    to_host = [M.dest_compute == host] if host is not None else [M.dest_compute.isnot(None)]
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
        old = usage.get(host, (0, 0, 0, 0))
        usage[host] = tuple(a + int(b or 0) for a, b in zip(old, values))
    return usage


def add_fault(uuid, code, message, details=None, host=None):
    with transaction() as s:
        s.add(models.InstanceFault(instance_uuid=uuid, code=code,
                                   message=str(message)[:255], details=details,
                                   host=host))


def latest_faults(uuids):
    """{instance_uuid: newest fault} for the given instances."""
    if not uuids:
        return {}
    F = models.InstanceFault
    with transaction(read_only=True) as s:
        rows = s.scalars(sa.select(F).where(F.instance_uuid.in_(list(uuids)))
                         .order_by(F.id)).all()
    return {f.instance_uuid: f for f in rows}


def rescued_longer_than(host, seconds):
    cutoff = models.utcnow() - datetime.timedelta(seconds=seconds)
    I = models.Instance
    with transaction(read_only=True) as s:
        return list(s.scalars(sa.select(I).where(
            I.host == host, I.deleted == 0, I.vm_state == "rescued",
            I.task_state.is_(None), I.rescued_at < cutoff)))

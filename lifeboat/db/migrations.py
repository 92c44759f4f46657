"""Migration records (the `migrations` table) and their status moves."""
import uuid as uuidlib

import sqlalchemy as sa

from lifeboat import exception
from lifeboat.db import models
from lifeboat.db.engine import MAX_INT, changed_between, transaction

IN_PROGRESS = ("accepted", "queued", "preparing", "running", "post-migrating")
FINAL = ("completed", "failed", "error", "cancelled")


def create(**values):
    values.setdefault("uuid", str(uuidlib.uuid4()))
    with transaction() as s:
        m = models.Migration(**values)
        s.add(m)
        s.flush()
        return m


def get(migration_id):
    """By integer id or uuid."""
    M = models.Migration
    if str(migration_id).isdigit() and int(migration_id) > MAX_INT:
        raise exception.MigrationNotFound(migration_id=migration_id)
    with transaction(read_only=True) as s:
        col = M.id if str(migration_id).isdigit() else M.uuid
        value = int(migration_id) if str(migration_id).isdigit() else migration_id
        m = s.scalars(sa.select(M).where(col == value)).first()
    if m is None:
        raise exception.MigrationNotFound(migration_id=migration_id)
    return m


def update(migration_id, expected_status=None, **values):
    """Update a migration; with expected_status, only if its status is one of them.

    Returns True, or None when the status did not match (another actor already
    moved it on). The row is not read back: no caller needs it, and a live
    migration updates its record six to eight times (status and progress).
    """
    M = models.Migration
    where = [M.id == migration_id]
    if expected_status is not None:
        where.append(M.status.in_(list(expected_status)))
    with transaction() as s:
        result = s.execute(sa.update(M).where(*where)
                           .values(updated_at=models.utcnow(), **values))
        return True if result.rowcount == 1 else None


def in_progress_for_instance(instance_uuid):
    M = models.Migration
    with transaction(read_only=True) as s:
        return s.scalars(sa.select(M).where(
            M.instance_uuid == instance_uuid, M.status.in_(IN_PROGRESS))
            .order_by(M.id.desc())).first()


def list_(filters=None, limit=None, marker=None):
    """Migrations newest first; filters: instance_uuid, host (source or dest),
    source_compute, status, migration_type, changes_since, changes_before,
    user_id, project_id, in_progress (bool)."""
    filters = filters or {}
    M = models.Migration
    q = sa.select(M).where(M.deleted.is_(False))
    for key in ("instance_uuid", "source_compute", "status", "migration_type",
                "user_id", "project_id"):
        if filters.get(key) is not None:
            q = q.where(getattr(M, key) == filters[key])
    if filters.get("host"):
        q = q.where(sa.or_(M.source_compute == filters["host"],
                           M.dest_compute == filters["host"]))
    if filters.get("in_progress"):
        q = q.where(M.status.in_(IN_PROGRESS))
    q = changed_between(q, M, filters)
    q = q.order_by(M.created_at.desc(), M.id.desc())
    with transaction(read_only=True) as s:
        if marker is not None:
            m = s.scalars(sa.select(M).where(M.uuid == marker)).first()
            if m is None:
                raise exception.MigrationNotFound(migration_id=marker)
            q = q.where(sa.or_(M.created_at < m.created_at,
                               sa.and_(M.created_at == m.created_at, M.id < m.id)))
        if limit is not None:
            q = q.limit(limit)
        return list(s.scalars(q))


def unfinished_for_host(host):
    """In-progress migrations whose source or destination is `host`."""
    return list_({"host": host, "in_progress": True})


def unfinished_from_hosts(hosts):
    """{source host: [its in-progress migrations]} for `hosts`, in one query (a
    slice of the all-in-one's computes, lifeboat/host_jobs.py)."""
    M = models.Migration
    found = {}
    with transaction(read_only=True) as s:
        for m in s.scalars(sa.select(M).where(
                M.deleted.is_(False), M.status.in_(IN_PROGRESS),
                M.source_compute.in_(list(hosts)))
                .order_by(M.created_at.desc(), M.id.desc())):
            found.setdefault(m.source_compute, []).append(m)
    return found

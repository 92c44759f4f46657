"""Migration bodies, shaped as Nova shapes them for each microversion.

Two APIs show migration records, each its own way (clients such as Tempest
check both with `additionalProperties: False`):

* GET /servers/{id}/migrations[/{mid}] (nova/api/openstack/compute/
  server_migrations.py `output`): `server_uuid` and the transfer counters
  (`memory_*_bytes`, `disk_*_bytes`); `uuid` from 2.59, `user_id` and
  `project_id` from 2.80.
* GET /os-migrations (nova/api/openstack/compute/migrations.py `_output`):
  `instance_uuid` and the flavor ids, no counters; `migration_type` and,
  for in-progress live migrations only, `links` from 2.23; `uuid` from 2.59;
  `user_id`/`project_id` from 2.80.

Both always carry the host fields, but since Nova 2025.2 their values are
null unless the caller passes the `...:index:host` policy (admin by default),
so project managers can follow their migrations without learning hosts.

Times are the naive UTC datetime as Nova's JSON serialiser writes it
("2024-05-01T10:00:00.000000", no zone): that is what Nova returns here.
"""
from lifeboat.api.views import common

# Nova's in-progress statuses for these APIs ("accepted" is not among them).
IN_PROGRESS = ("queued", "preparing", "running", "post-migrating")

HOST_FIELDS = ("source_compute", "source_node", "dest_compute", "dest_node",
               "dest_host")


def _hosts(migration, include_host):
    return {k: (getattr(migration, k) if include_host else None) for k in HOST_FIELDS}


def server_migration(migration, version, include_host=True):
    """One item of GET /servers/{id}/migrations (and the show body)."""
    body = {
        "id": migration.id,
        "server_uuid": migration.instance_uuid,
        "status": migration.status,
        "memory_total_bytes": migration.memory_total,
        "memory_processed_bytes": migration.memory_processed,
        "memory_remaining_bytes": migration.memory_remaining,
        "disk_total_bytes": migration.disk_total,
        "disk_processed_bytes": migration.disk_processed,
        "disk_remaining_bytes": migration.disk_remaining,
        "created_at": common.strtime(migration.created_at),
        "updated_at": common.strtime(migration.updated_at),
    }
    body.update(_hosts(migration, include_host))
    if version >= "2.59":
        body["uuid"] = migration.uuid
    if version >= "2.80":
        body["user_id"] = migration.user_id
        body["project_id"] = migration.project_id
    return body


def os_migration(req, migration, include_host=True):
    """One item of GET /os-migrations at the request's microversion."""
    body = {
        "id": migration.id,
        "instance_uuid": migration.instance_uuid,
        "status": migration.status,
        "old_instance_type_id": migration.old_instance_type_id,
        "new_instance_type_id": migration.new_instance_type_id,
        "created_at": common.strtime(migration.created_at),
        "updated_at": common.strtime(migration.updated_at),
    }
    body.update(_hosts(migration, include_host))
    version = req.version
    if version >= "2.23":
        body["migration_type"] = migration.migration_type
        if is_in_progress_live(migration):
            body["links"] = req.links(
                "servers/%s/migrations" % migration.instance_uuid, migration.id)
    if version >= "2.59":
        body["uuid"] = migration.uuid
    if version >= "2.80":
        body["user_id"] = migration.user_id
        body["project_id"] = migration.project_id
    return body


def is_in_progress_live(migration):
    """True for the migrations the servers/{id}/migrations API can show."""
    return (migration.migration_type == "live-migration"
            and migration.status in IN_PROGRESS)

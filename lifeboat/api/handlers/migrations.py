"""Migrations: GET /os-migrations and /servers/{id}/migrations[/{mid}[/action]].

Follows Nova 2025.2 (api/openstack/compute/migrations.py and
server_migrations.py), including its order of checks, because clients and
Tempest tell errors apart by status:

* a route below its microversion is Nova's "resource not found" 404 before
  anything else is looked at (force-complete 2.22, list/show 2.23, abort 2.24);
* then body/query/path validation (400), then the server (404), then policy
  (403), then the compute API's lock/state/migration checks (409/400/404);
* the server's migrations API shows only in-progress live migrations
  (queued, preparing, running, post-migrating: not "accepted");
* force-complete answers 400, not 404, for a migration that is not the
  server's (Nova maps MigrationNotFoundForInstance to 400 there, and to 404
  for abort);
* /os-migrations: a caller without `index:all_projects` (admin by default)
  must name their own project with `project_id` (2.80+) or gets 403 — Nova
  2025.2 chose a 403 over silently narrowing the list, pending a microversion;
  host fields are null without `index:host`.

Lifeboat's `servers:migrations:show` default is project manager (Nova's is
admin), so show hides the host fields behind `servers:migrations:index:host`
exactly as the list does; for an admin the body is Nova's.
"""

from fastapi import APIRouter

from lifeboat import exception
from lifeboat.api import policy, wsgi
from lifeboat.api.handlers.common import REQ, paging
from lifeboat.api.schemas import query as query_schemas
from lifeboat.api.schemas import services as service_schemas
from lifeboat.api.views import migrations as views
from lifeboat.compute import api as compute_api
from lifeboat.db import migrations as db_migrations

router = APIRouter()
COMPUTE = compute_api.API()

SM = "os_compute_api:servers:migrations:%s"
OSM = "os_compute_api:os-migrations:%s"

FORCE_COMPLETE = {
    "type": "object",
    "properties": {"force_complete": {"type": "null"}},
    "required": ["force_complete"],
    "additionalProperties": False,
}


def _require(req, version):
    """Nova's VersionNotFoundForAPIMethod: a plain 404 itemNotFound."""
    if not req.at_least(version):
        raise exception.NotFound("The resource could not be found.")


def _migration_id(value):
    """The path's migration id as an int; 400 otherwise (Nova's path check)."""
    if not value.isdigit() or not value.isascii():
        raise exception.ValidationError(
            detail="Invalid input for field/attribute migration_id. Value: %s. "
                   "'%s' is not a valid migration id (an integer)" % (value, value))
    return int(value)


def _server(req, server_id, rule):
    """The server (404), then `rule` against its project (403), as Nova."""
    instance = COMPUTE.get(req.context, server_id)
    target = {"project_id": instance.project_id}
    policy.authorize(req.context, SM % rule, target)
    return instance, target


# --- /servers/{server_id}/migrations -----------------------------------------------

@router.get("/servers/{server_id}/migrations")
def server_migrations_index(server_id: str, req=REQ):
    _require(req, "2.23")
    instance, target = _server(req, server_id, "index")
    include_host = policy.check(req.context, SM % "index:host", target)
    migrations = db_migrations.list_({"instance_uuid": instance.uuid,
                                      "migration_type": "live-migration"})
    # Nova lists them in database order (oldest first).
    migrations = sorted((m for m in migrations if views.is_in_progress_live(m)),
                        key=lambda m: m.id)
    return wsgi.respond({"migrations": [
        views.server_migration(m, req.version, include_host) for m in migrations]})


@router.get("/servers/{server_id}/migrations/{migration_id}")
def server_migration_show(server_id: str, migration_id: str, req=REQ):
    _require(req, "2.23")
    instance, target = _server(req, server_id, "show")
    migration = None
    if migration_id.isdigit() and migration_id.isascii():
        try:
            migration = db_migrations.get(int(migration_id))
        except exception.MigrationNotFound:
            migration = None
    if migration is None or migration.instance_uuid != instance.uuid:
        raise exception.NotFound("In-progress live migration %s is not found for "
                                 "server %s." % (migration_id, server_id))
    if migration.migration_type != "live-migration":
        raise exception.NotFound("Migration %s for server %s is not live-migration."
                                 % (migration_id, server_id))
    if migration.status not in views.IN_PROGRESS:
        raise exception.NotFound("Live migration %s for server %s is not in "
                                 "progress." % (migration_id, server_id))
    include_host = policy.check(req.context, SM % "index:host", target)
    return wsgi.respond({"migration": views.server_migration(
        migration, req.version, include_host)})


@router.delete("/servers/{server_id}/migrations/{migration_id}")
def server_migration_abort(server_id: str, migration_id: str, req=REQ):
    """Abort; queued/preparing ones too from 2.65 (the compute API decides)."""
    _require(req, "2.24")
    mid = _migration_id(migration_id)
    instance, _target = _server(req, server_id, "delete")
    COMPUTE.live_migration_abort(req.context, instance, mid, req.version)
    return wsgi.respond(None, 202)


@router.post("/servers/{server_id}/migrations/{migration_id}/action")
def server_migration_action(server_id: str, migration_id: str, req=REQ):
    """The one action, force_complete, dispatched like Nova's action routing."""
    _require(req, "2.22")
    body = req.json()
    if len(body) != 1:
        raise exception.Invalid("Malformed request body: too many body keys")
    name = next(iter(body))
    if name != "force_complete":
        raise exception.Invalid("There is no such action: %s" % name)
    wsgi.validate(body, FORCE_COMPLETE, legacy=req.legacy)
    mid = _migration_id(migration_id)
    instance, _target = _server(req, server_id, "force_complete")
    try:
        COMPUTE.live_migration_force_complete(req.context, instance, mid)
    except exception.MigrationNotFoundForInstance as e:
        raise exception.Invalid(e.message)
    return wsgi.respond(None, 202)


# --- /os-migrations -------------------------------------------------------------

@router.get("/os-migrations")
def os_migrations_index(req=REQ):
    ctx = req.context
    params = service_schemas.validate_query(service_schemas.MIGRATIONS_INDEX_QUERY,
                                            req.query, req.version)
    policy.authorize(ctx, OSM % "index")
    project_id = query_schemas.last(params, "project_id")
    if not project_id or project_id != ctx.project_id:
        policy.authorize(ctx, OSM % "index:all_projects")
    include_host = policy.check(ctx, OSM % "index:host")
    filters = _filters(req, params)
    limit = marker = None
    if req.at_least("2.59"):
        limit, marker = paging(req)
    try:
        migrations = db_migrations.list_(filters, limit=limit, marker=marker)
    except exception.MigrationNotFound:
        raise exception.Invalid("Marker %s could not be found." % marker)
    body = {"migrations": [views.os_migration(req, m, include_host)
                           for m in migrations]}
    if req.at_least("2.59"):
        links = req.page_links("os-migrations", migrations, limit, lambda m: m.uuid)
        if links:
            body["migrations_links"] = links
    return wsgi.respond(body)


def _filters(req, params):
    """Database filters from the validated query (the last of repeated values).

    The schema has already dropped what the microversion does not know
    (changes-since below 2.59, changes-before below 2.66, user_id and
    project_id below 2.80), as Nova ignores them there. `hidden` is accepted
    and ignored: Lifeboat never hides migrations.
    """
    filters = {}
    for key in ("instance_uuid", "host", "source_compute", "status",
                "migration_type", "user_id", "project_id"):
        value = query_schemas.last(params, key)
        if value is not None:
            filters[key] = value
    since = query_schemas.last(params, "changes-since")
    before = query_schemas.last(params, "changes-before")
    if since is not None:
        filters["changes_since"] = wsgi.parse_time(since, "changes-since")
    if before is not None:
        filters["changes_before"] = wsgi.parse_time(before, "changes-before")
        if since is not None and filters["changes_before"] < filters["changes_since"]:
            raise exception.Invalid("The value of changes-since must be less than "
                                    "or equal to changes-before.")
    return filters



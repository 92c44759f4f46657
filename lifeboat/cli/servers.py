"""`server live-migrate` and `server migration list/abort/force-complete`.

Requests go through the SDK's compute proxy at the chosen microversion
(see connection.py): the SDK's own live_migrate_server would send 2.30.

Waiting follows what the API shows, as Nova defines it:

* the server's task_state is `migrating` from the moment the POST answers 202
  until the migration ends (completed, failed or cancelled), so the server is
  what tells us we are done;
* GET /servers/{id}/migrations lists in-progress live migrations only, and
  `accepted` is not in progress: a migration missing there has merely not
  started yet (or already ended), so we keep polling rather than give up;
* a finished migration is only in /os-migrations, which is where the final
  status (and `migration list`) comes from.
"""
import json
import sys
import time

from rich.console import Console
from rich.progress import (BarColumn, DownloadColumn, Progress, TaskProgressColumn,
                           TextColumn, TimeElapsedColumn)
from rich.table import Table

from lifeboat.cli.connection import ApiError, CliError

HOST = "OS-EXT-SRV-ATTR:host"
TASK_STATE = "OS-EXT-STS:task_state"

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def find_server(cloud, ref):
    """The server's id, by name or id (the SDK's find: id first, then name)."""
    try:
        return cloud.conn.compute.find_server(ref, ignore_missing=False).id
    except Exception as e:  # ResourceNotFound, DuplicateResource, HTTP errors
        raise CliError(str(e).strip() or "No server %s" % ref)


def get_server(cloud, server_id):
    return cloud.get("/servers/%s" % server_id)["server"]


def os_migrations(cloud, server_id):
    """Every migration record of the server (newest first), following pages."""
    url = "/os-migrations?instance_uuid=%s" % server_id
    found = []
    for _page in range(100):
        body = cloud.get(url)
        found.extend(body.get("migrations", []))
        nexts = [link["href"] for link in body.get("migrations_links", [])
                 if link.get("rel") == "next"]
        if not nexts:
            break
        url = nexts[0]
    return sorted(found, key=lambda m: m["id"], reverse=True)


def in_progress(cloud, server_id):
    """GET /servers/{id}/migrations (2.23+); [] below, where it does not exist."""
    if not cloud.at_least("2.23"):
        return []
    return cloud.get("/servers/%s/migrations" % server_id).get("migrations", [])


def _known_migration_ids(cloud, server_id):
    try:
        return {m["id"] for m in os_migrations(cloud, server_id)}
    except ApiError:
        return None  # not allowed to list: we will do without the record


def live_migration_body(cloud, host, block_migration):
    """os-migrateLive as the chosen microversion wants it.

    2.25 brought block_migration "auto" and dropped disk_over_commit; below
    it "auto" has no meaning, so it becomes False (Nova's own default).
    `force` is never sent: it exists only in 2.30-2.67 and bypasses the
    scheduler's checks, which an operator tool should not do silently.
    """
    if cloud.at_least("2.25"):
        return {"host": host, "block_migration": block_migration}
    return {"host": host, "block_migration": block_migration is True,
            "disk_over_commit": False}


def live_migrate(cloud, ref, host=None, block_migration="auto", wait=False,
                 timeout=1800.0, interval=0.5):
    """Start a live migration; with `wait`, follow it. Returns the exit code."""
    server_id = find_server(cloud, ref)
    before = get_server(cloud, server_id)
    source = before.get(HOST)
    known = _known_migration_ids(cloud, server_id) if wait else None
    cloud.post("/servers/%s/action" % server_id,
               json={"os-migrateLive": live_migration_body(cloud, host,
                                                           block_migration)})
    out.print("Live migration of server %s (%s) from %s%s accepted (compute API %s)."
              % (before.get("name"), server_id, source or "?",
                 " to %s" % host if host else "", cloud.microversion), markup=False)
    if not wait:
        return 0
    migration = _follow(cloud, server_id, known, timeout, interval)
    return _report(before, get_server(cloud, server_id), migration)


def _follow(cloud, server_id, known, timeout, interval):
    """Poll with a progress bar until the server's task is over; returns the
    migration's final record (None if we may not list migrations)."""
    deadline = time.monotonic() + timeout
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
               DownloadColumn(binary_units=True), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=False) as progress:
        task = progress.add_task("accepted: waiting for the migration to start",
                                 total=None)
        while True:
            server = get_server(cloud, server_id)
            if server.get(TASK_STATE) is None and server.get("status") != "MIGRATING":
                break
            if time.monotonic() > deadline:
                raise CliError("Timed out after %ss; the server is still %s (task "
                               "state %s)." % (timeout, server.get("status"),
                                               server.get(TASK_STATE)))
            current = [m for m in in_progress(cloud, server_id)
                       if known is None or m["id"] not in known]
            if current:
                m = current[-1]
                total = m.get("memory_total_bytes") or None
                progress.update(task, total=total,
                                completed=m.get("memory_processed_bytes") or 0,
                                description="%s: %s -> %s" % (
                                    m.get("status"), m.get("source_compute") or "?",
                                    m.get("dest_compute") or "?"))
            time.sleep(interval)
        migration = _our_migration(cloud, server_id, known)
        status = migration.get("status") if migration else "ended"
        total = progress.tasks[0].total
        if status == "completed" and total:
            progress.update(task, completed=total, description=status)
        else:
            progress.update(task, description=status)
    return migration


def _our_migration(cloud, server_id, known):
    """The newest live migration that was not there before we started."""
    try:
        records = os_migrations(cloud, server_id)
    except ApiError:
        return None
    for m in records:
        if m.get("migration_type", "live-migration") == "live-migration" and \
                (known is None or m["id"] not in known):
            return m
    return None


def _report(before, after, migration):
    """Print where the server ended; 0 only if it moved and kept its status."""
    source, dest = before.get(HOST), after.get(HOST)
    moved = dest is not None and dest != source
    same = after.get("status") == before.get("status")
    table = Table(show_header=False, box=None)
    table.add_row("server", "%s (%s)" % (after.get("name"), after.get("id")))
    table.add_row("host", "%s -> %s" % (source, dest) if moved else "%s (unchanged)"
                  % dest)
    table.add_row("status", "%s (was %s)" % (after.get("status"), before.get("status")))
    if migration is not None:
        table.add_row("migration", "%s %s" % (migration.get("id"),
                                              migration.get("status")))
    out.print(table)
    if moved and same:
        return 0
    why = ["the server did not move" if not moved else
           "the server is %s, not %s" % (after.get("status"), before.get("status"))]
    if migration is not None and migration.get("status") not in ("completed", None):
        why.append("migration %s is %s" % (migration["id"], migration["status"]))
    fault = after.get("fault") or {}
    if fault.get("message"):
        why.append("fault: %s" % fault["message"])
    err.print("Live migration failed: %s." % "; ".join(why), markup=False)
    return 1


# --- server migration ... ------------------------------------------------------

def _memory(m):
    total, done = m.get("memory_total_bytes"), m.get("memory_processed_bytes")
    if not total:
        return None
    return round(100.0 * (done or 0) / total, 1)


def migration_rows(cloud, server_id):
    """/os-migrations records, with the memory counters of in-progress ones."""
    records = os_migrations(cloud, server_id)
    live = {m["id"]: m for m in in_progress(cloud, server_id)}
    rows = []
    for m in records:
        counters = live.get(m["id"], {})
        rows.append({
            "id": m["id"], "uuid": m.get("uuid"), "status": m.get("status"),
            "type": m.get("migration_type"), "source": m.get("source_compute"),
            "dest": m.get("dest_compute"),
            "memory_total_bytes": counters.get("memory_total_bytes"),
            "memory_processed_bytes": counters.get("memory_processed_bytes"),
            "memory_percent": _memory(counters),
            "created_at": m.get("created_at"), "updated_at": m.get("updated_at"),
        })
    return rows


def migration_list(cloud, ref, fmt="table"):
    server_id = find_server(cloud, ref)
    rows = migration_rows(cloud, server_id)
    if fmt == "json":
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return 0
    table = Table(title="Migrations of server %s" % server_id)
    for name in ("ID", "UUID", "Status", "Type", "Source", "Dest", "Memory",
                 "Created"):
        table.add_column(name, overflow="fold")
    for r in rows:
        memory = "-" if r["memory_percent"] is None else "%s%%" % r["memory_percent"]
        table.add_row(*(str(v) if v is not None else "-" for v in (
            r["id"], r["uuid"], r["status"], r["type"], r["source"], r["dest"],
            memory, r["created_at"])))
    out.print(table)
    return 0


def _migration_id(cloud, server_id, ref):
    """A migration id from an id or a uuid (uuids are shown from 2.59)."""
    if str(ref).isdigit():
        return int(ref)
    for m in os_migrations(cloud, server_id):
        if m.get("uuid") == ref:
            return m["id"]
    raise CliError("No migration %s for server %s." % (ref, server_id))


def migration_abort(cloud, ref, migration):
    server_id = find_server(cloud, ref)
    mid = _migration_id(cloud, server_id, migration)
    cloud.delete("/servers/%s/migrations/%s" % (server_id, mid))
    out.print("Abort of migration %s of server %s requested." % (mid, server_id),
              markup=False)
    return 0


def migration_force_complete(cloud, ref, migration):
    server_id = find_server(cloud, ref)
    mid = _migration_id(cloud, server_id, migration)
    cloud.post("/servers/%s/migrations/%s/action" % (server_id, mid),
               json={"force_complete": None})
    out.print("Force-complete of migration %s of server %s requested."
              % (mid, server_id), markup=False)
    return 0

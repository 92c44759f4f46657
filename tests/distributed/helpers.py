"""Assertions and waits shared by the distributed tests (HTTP + the database)."""
import time

from tests.blueprint.helpers import LM, migrations_of  # noqa: F401

FINAL = ("completed", "failed", "error", "cancelled")


def live_migrate(client, server_id, host=None, version="2.105"):
    body = {"host": host, "block_migration": "auto"}
    if tuple(int(x) for x in version.split(".")) < (2, 25):
        body = {"host": host, "block_migration": False, "disk_over_commit": False}
    return client.at(version).action(server_id, {LM: body})


def server(client, server_id):
    r = client.get("/servers/%s" % server_id)
    assert r.status_code == 200, r.text
    return r.json()["server"]


def state(s):
    return (s["status"], s["OS-EXT-STS:vm_state"], s["OS-EXT-STS:task_state"],
            s["OS-EXT-SRV-ATTR:host"])


def wait_until(predicate, what, timeout=30.0, interval=0.05):
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("timed out after %.0fs waiting for %s (last: %r)"
                         % (timeout, what, value))


def wait_settled(client, server_id, timeout=30.0):
    """Wait until the server has no task_state; returns it."""
    return wait_until(lambda: (lambda s: s if s["OS-EXT-STS:task_state"] is None
                               else None)(server(client, server_id)),
                      "%s to have no task_state" % server_id, timeout)


def last_migration(client, server_id):
    migrations = migrations_of(client, server_id)
    assert migrations, "no migration recorded for %s" % server_id
    return migrations[0]


def wait_migration_final(client, server_id, timeout=30.0):
    return wait_until(lambda: (lambda m: m if m["status"] in FINAL else None)(
        last_migration(client, server_id)),
        "migration of %s to be final" % server_id, timeout)


def faults(db, server_id):
    return [r[0] for r in db.query(
        "select message from instance_faults where instance_uuid = :u order by id",
        u=server_id)]


def events(db, server_id, event=None):
    """[(action, event, host, result)] oldest first."""
    rows = db.query(
        "select a.action, e.event, e.host, e.result from instance_actions_events e "
        "join instance_actions a on a.id = e.action_id where a.instance_uuid = :u "
        "order by e.id", u=server_id)
    return [r for r in rows if event is None or r[1] == event]


def boot(client, host=None, name="vm", wait=True, timeout=30.0):
    return client.boot(name=name, host=host, wait=False) if not wait else \
        _boot_wait(client, host, name, timeout)


def _boot_wait(client, host, name, timeout):
    sid = client.boot(name=name, host=host, wait=False)
    client.wait_for(sid, status="ACTIVE", task_state=None, timeout=timeout)
    return sid


def rescue(client, server_id, timeout=30.0):
    r = client.action(server_id, {"rescue": {}})
    assert r.status_code == 200, r.text
    return client.wait_for(server_id, status="RESCUE", task_state=None, timeout=timeout)

"""Helpers for live-migration tests: start a migration, find its record, and
look inside the simulated hypervisors (the driver interface's own view)."""
from tests.schema_oracle import assert_valid

LM = "os-migrateLive"


def migrate(client, server_id, host=None, version="2.105", block_migration="auto"):
    """POST os-migrateLive at `version` with the body that version requires."""
    body = {"host": host, "block_migration": block_migration}
    if _v(version) < (2, 25):
        body = {"host": host, "block_migration": False, "disk_over_commit": False}
    return client.at(version).action(server_id, {LM: body})


def _v(version):
    major, minor = version.split(".")
    return int(major), int(minor)


def migrations_of(client, server_id):
    r = client.at("2.80").get("/os-migrations?instance_uuid=%s" % server_id)
    assert r.status_code == 200, r.text
    assert_valid("list_migrations", "2.80", 200, r.json())
    return r.json()["migrations"]


def last_migration(client, server_id):
    migrations = migrations_of(client, server_id)
    assert migrations, "no migration recorded for %s" % server_id
    return migrations[0]


def wait_migration_status(client, server_id, statuses, timeout=10.0):
    statuses = set(statuses)
    return client.wait_until(
        lambda: (lambda m: m if m and m["status"] in statuses else None)(
            (migrations_of(client, server_id) or [None])[0]),
        "migration of %s to reach %s" % (server_id, statuses), timeout)


def guests(cloud, host):
    """{uuid: FakeGuest} on a simulated host."""
    return cloud.cloud.computes[host].driver.guests


def rescue(client, server_id):
    r = client.action(server_id, {"rescue": {}})
    assert r.status_code == 200, r.text
    return client.wait_for(server_id, status="RESCUE", task_state=None)


def host_of(server):
    return server["OS-EXT-SRV-ATTR:host"]

"""Helpers for the end-to-end libvirt tests: boot, migrate, wait, look inside."""
import os

from tests.blueprint.helpers import migrations_of
from tests.libvirt.console import Console

BOOT_TIMEOUT = 120
MIGRATION_TIMEOUT = 120
KEYS = {"lbA": "A", "lbB": "B"}


def boot(client, image, flavor="lb128", host="lbA", name="lbvm"):
    r = client.at("2.74").post("/servers", json={"server": {
        "name": name, "imageRef": image, "flavorRef": flavor, "networks": "none",
        "host": host}})
    assert r.status_code == 202, r.text
    sid = r.json()["server"]["id"]
    client.wait_for(sid, status="ACTIVE", task_state=None, timeout=BOOT_TIMEOUT)
    return sid


def console(two_hosts, host, sid):
    return Console(os.path.join(two_hosts.instances_dir(KEYS[host]), sid, "console.log"))


def instance_dir(two_hosts, host, sid):
    return os.path.join(two_hosts.instances_dir(KEYS[host]), sid)


def domains(two_hosts, host):
    """{uuid: libvirt state} of the domains defined on `host`."""
    import libvirt
    conn = libvirt.open(two_hosts.uri(KEYS[host]))
    try:
        return {d.UUIDString(): d.state()[0] for d in conn.listAllDomains()}
    finally:
        conn.close()


def domain_call(two_hosts, host, sid, method, *args):
    import libvirt
    conn = libvirt.open(two_hosts.uri(KEYS[host]))
    try:
        return getattr(conn.lookupByUUIDString(sid), method)(*args)
    finally:
        conn.close()


def migrate(client, sid, host, block_migration="auto", version="2.105"):
    r = client.at(version).action(sid, {"os-migrateLive": {
        "host": host, "block_migration": block_migration}})
    assert r.status_code == 202, r.text


def wait_migration(client, sid, statuses, timeout=MIGRATION_TIMEOUT):
    statuses = set(statuses)
    return client.wait_until(
        lambda: (lambda m: m if m and m["status"] in statuses else None)(
            (migrations_of(client, sid) or [None])[0]),
        "migration of %s to reach %s" % (sid, statuses), timeout)


def shared_check_markers(two_hosts):
    """The shared-storage check files (the destination's marker) left on
    either host's instances directory."""
    from lifeboat.virt.libvirt.driver import SHARED_CHECK_PREFIX
    return [(key, name) for key in ("A", "B")
            for name in os.listdir(two_hosts.instances_dir(key))
            if name.startswith(SHARED_CHECK_PREFIX)]


def delete(client, sid, timeout=60):
    r = client.delete("/servers/%s" % sid)
    assert r.status_code in (204, 404), r.text
    client.wait_for(sid, status="DELETED", timeout=timeout)



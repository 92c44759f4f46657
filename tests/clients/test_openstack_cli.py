"""The real `openstack` CLI (python-openstackclient) against Lifeboat.

Commands run through OSC's own entry point in this process (helpers.openstack:
same argv parsing, clouds.yaml, keystoneauth and openstacksdk, no 2 s of imports
each); `test_console_script` runs the installed `openstack` script itself.

Through Keystone (cloud `admin`: password auth, catalog lookup, token validated
by keystonemiddleware in Lifeboat) and through noauth2 (cloud `noauth`:
admin_token with endpoint overrides). Microversions are whatever OSC/openstacksdk
negotiate from Lifeboat's version document; nothing is forced.
"""
import pytest

from tests.clients.helpers import Api, openstack, osc, run_cli

pytestmark = [pytest.mark.clients,
              # osc_lib's ClientCache warns once per command run in process
              pytest.mark.filterwarnings("ignore::DeprecationWarning")]

CLOUDS = ["admin", "noauth"]


# Live migrations through `admin` take [fake] live_migration_seconds = 1.5.
def _api(stack, cloud):
    if cloud == "noauth":
        return Api(stack.lifeboat_noauth, "admin:admin")
    return Api(stack.lifeboat_ks, stack.token("admin"))


@pytest.mark.parametrize("cloud", CLOUDS)
def test_server_lifecycle_and_rescue(stack, cloud):
    api = _api(stack, cloud)
    server = osc(stack, "server", "create", "--image", "cirros", "--flavor", "1",
                 "--nic", "none", "osc-%s" % cloud, cloud=cloud)
    sid = server["id"]
    api.wait(sid, "ACTIVE")
    listed = osc(stack, "server", "list", cloud=cloud)
    assert sid in [s["ID"] for s in listed]
    shown = osc(stack, "server", "show", sid, cloud=cloud)
    assert shown["name"] == "osc-%s" % cloud and shown["status"] == "ACTIVE"

    openstack(stack, "server", "reboot", "--hard", sid, cloud=cloud)
    api.wait(sid, "ACTIVE")
    openstack(stack, "server", "stop", sid, cloud=cloud)
    api.wait(sid, "SHUTOFF")
    openstack(stack, "server", "start", sid, cloud=cloud)
    api.wait(sid, "ACTIVE")
    openstack(stack, "server", "pause", sid, cloud=cloud)
    api.wait(sid, "PAUSED")
    openstack(stack, "server", "unpause", sid, cloud=cloud)
    api.wait(sid, "ACTIVE")

    # rescue without an image: the server's own image
    openstack(stack, "server", "rescue", sid, cloud=cloud)
    api.wait(sid, "RESCUE")
    # openstacksdk sends os-migrateLive at 2.30: Nova's 409 for a rescued server
    result = openstack(stack, "server", "migrate", "--live-migration", sid,
                       cloud=cloud, check=False)
    assert result.returncode != 0
    assert "409" in result.stderr and "vm_state rescued" in result.stderr, result.stderr
    assert api.server(sid)["status"] == "RESCUE"
    openstack(stack, "server", "unrescue", sid, cloud=cloud)
    api.wait(sid, "ACTIVE")

    # rescue with --image (OSC resolves the name through the image API)
    openstack(stack, "server", "rescue", "--image", "cirros-rescue", sid,
            cloud=cloud)
    api.wait(sid, "RESCUE")
    openstack(stack, "server", "unrescue", sid, cloud=cloud)
    api.wait(sid, "ACTIVE")

    openstack(stack, "server", "delete", sid, cloud=cloud)
    api.wait(sid, "DELETED")


@pytest.mark.parametrize("cloud", CLOUDS)
def test_live_migration_with_and_without_host(stack, cloud):
    api = _api(stack, cloud)
    sid = api.boot("osc-lm-%s" % cloud, host="host1")
    openstack(stack, "server", "migrate", "--live-migration", "--host",
            "host2", "--block-migration", sid, cloud=cloud)
    api.wait(sid, "ACTIVE", host="host2")
    openstack(stack, "server", "migrate", "--live-migration", sid,
            cloud=cloud)
    api.wait(sid, "ACTIVE", host="host1")
    migrations = osc(stack, "server", "migration", "list", "--server", sid, cloud=cloud)
    assert [m["Status"] for m in migrations] == ["completed", "completed"]
    openstack(stack, "server", "delete", sid, cloud=cloud)


def test_migration_list_abort_force_complete(stack):
    """Slow migrations (noauth cloud: [fake] live_migration_seconds = 8)."""
    api = _api(stack, "noauth")
    sid = api.boot("osc-ctl", host="host1")

    openstack(stack, "server", "migrate", "--live-migration", sid,
            cloud="noauth")
    running = api.wait_running_migration(sid)
    listed = osc(stack, "server", "migration", "list", "--server", sid, cloud="noauth")
    assert [m["Id"] for m in listed if m["Status"] == "running"] == [running["id"]]
    # `openstack server migration show` in OSC 10.5 swaps its arguments (client
    # bug), so show goes through openstacksdk.
    conn = stack.sdk("noauth")
    shown = conn.compute.get_server_migration(running["id"], sid)
    assert shown.status == "running" and shown.server_id == sid
    openstack(stack, "server", "migration", "abort", sid, running["id"],
            cloud="noauth")
    api.wait(sid, "ACTIVE", host="host1")

    openstack(stack, "server", "migrate", "--live-migration", sid,
            cloud="noauth")
    running = api.wait_running_migration(sid)
    openstack(stack, "server", "migration", "force", "complete", sid,
            running["id"], cloud="noauth")
    api.wait(sid, "ACTIVE", host="host2", timeout=30)
    statuses = {m["id"]: m["status"] for m in api.all_migrations(sid)}
    assert sorted(statuses.values()) == ["cancelled", "completed"]
    openstack(stack, "server", "delete", sid, cloud="noauth")


@pytest.mark.parametrize("cloud", CLOUDS)
def test_services_hypervisors_flavors(stack, cloud):
    services = osc(stack, "compute", "service", "list", cloud=cloud)
    computes = {s["Host"]: s for s in services if s["Binary"] == "nova-compute"}
    assert set(computes) == {"host1", "host2"}
    assert all(s["State"] == "up" and s["Status"] == "enabled"
               for s in computes.values())
    openstack(stack, "compute", "service", "set", "--disable",
            "--disable-reason", "maintenance", "host2", "nova-compute", cloud=cloud)
    try:
        services = osc(stack, "compute", "service", "list", "--long", cloud=cloud)
        host2 = [s for s in services if s["Host"] == "host2"
                 and s["Binary"] == "nova-compute"][0]
        assert host2["Status"] == "disabled"
        assert host2["Disabled Reason"] == "maintenance"
    finally:
        openstack(stack, "compute", "service", "set", "--enable", "host2",
                "nova-compute", cloud=cloud)
    services = osc(stack, "compute", "service", "list", cloud=cloud)
    assert all(s["Status"] == "enabled" for s in services
               if s["Binary"] == "nova-compute")

    hypervisors = osc(stack, "hypervisor", "list", cloud=cloud)
    names = {h["Hypervisor Hostname"]: h for h in hypervisors}
    assert set(names) == {"host1", "host2"}
    shown = osc(stack, "hypervisor", "show", names["host1"]["ID"], cloud=cloud)
    assert shown["hypervisor_hostname"] == "host1" and shown["state"] == "up"

    flavors = osc(stack, "flavor", "list", cloud=cloud)
    assert {"1", "2"} <= {f["ID"] for f in flavors}


@pytest.mark.parametrize("cloud", CLOUDS)
def test_images(stack, cloud, tmp_path):
    images = osc(stack, "image", "list", cloud=cloud)
    assert {"cirros", "cirros-rescue"} <= {i["Name"] for i in images}
    data = tmp_path / "disk.img"
    data.write_bytes(b"\0" * 65536)
    created = osc(stack, "image", "create", "--file", str(data), "--disk-format", "raw",
                  "--container-format", "bare", "osc-image-%s" % cloud, cloud=cloud)
    assert created["status"] == "active"
    shown = osc(stack, "image", "show", created["id"], cloud=cloud)
    assert shown["name"] == "osc-image-%s" % cloud and shown["size"] == 65536
    openstack(stack, "image", "delete", created["id"], cloud=cloud)


@pytest.mark.parametrize("cloud", CLOUDS)
def test_console_script(stack, cloud):
    """The installed `openstack` script, as a user runs it."""
    import json
    result = run_cli(stack, "openstack", "flavor", "list", "-f", "json", cloud=cloud)
    assert {"1", "2"} <= {f["ID"] for f in json.loads(result.stdout)}

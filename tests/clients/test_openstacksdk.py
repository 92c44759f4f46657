"""openstacksdk (conn.compute.*, conn.image.*) against Lifeboat, through Keystone
(cloud `admin`) and noauth2 (cloud `noauth`), microversions negotiated by the sdk."""
import pytest
from openstack import exceptions as sdk_exc

from tests.clients.helpers import Api

pytestmark = pytest.mark.clients

CLOUDS = ["admin", "noauth"]


def _api(stack, cloud):
    if cloud == "noauth":
        return Api(stack.lifeboat_noauth, "admin:admin")
    return Api(stack.lifeboat_ks, stack.token("admin"))


def _image(conn, name="cirros"):
    return next(iter(conn.image.images(name=name)))


@pytest.mark.parametrize("cloud", CLOUDS)
def test_server_operations(stack, cloud):
    conn = stack.sdk(cloud)
    api = _api(stack, cloud)
    image = _image(conn)
    server = conn.compute.create_server(name="sdk-%s" % cloud, image_id=image.id,
                                        flavor_id="1", networks="none")
    server = conn.compute.wait_for_server(server, interval=0.2, wait=60)
    assert server.status == "ACTIVE"
    assert server.id in [s.id for s in conn.compute.servers()]
    assert conn.compute.get_server(server.id).name == "sdk-%s" % cloud

    conn.compute.reboot_server(server, "HARD")
    api.wait(server.id, "ACTIVE")
    conn.compute.stop_server(server)
    api.wait(server.id, "SHUTOFF")
    conn.compute.start_server(server)
    api.wait(server.id, "ACTIVE")
    conn.compute.pause_server(server)
    api.wait(server.id, "PAUSED")
    conn.compute.unpause_server(server)
    api.wait(server.id, "ACTIVE")

    rescue_image = _image(conn, "cirros-rescue")
    conn.compute.rescue_server(server, image=rescue_image.id)
    api.wait(server.id, "RESCUE")
    # live_migrate_server is pinned to 2.30 in openstacksdk: Nova's 409.
    with pytest.raises(sdk_exc.ConflictException) as error:
        conn.compute.live_migrate_server(server, host=None, block_migration="auto")
    assert "vm_state rescued" in str(error.value)
    conn.compute.unrescue_server(server)
    api.wait(server.id, "ACTIVE")

    source = api.server(server.id)["OS-EXT-SRV-ATTR:host"]
    conn.compute.live_migrate_server(server, host=None, block_migration="auto")
    moved = api.wait(server.id, "ACTIVE", timeout=60)
    while moved["OS-EXT-SRV-ATTR:host"] == source:  # until the move lands
        moved = api.wait(server.id, "ACTIVE")
    migrations = list(conn.compute.server_migrations(server))
    # a completed migration is no longer listed under the server (Nova lists
    # only in-progress ones there); the global list has it.
    assert migrations == []
    assert server.id in [m.server_id for m in conn.compute.migrations()]

    conn.compute.delete_server(server)
    conn.compute.wait_for_delete(server, interval=0.2, wait=60)


def test_migration_show_abort_force_complete(stack):
    """noauth cloud: migrations take 8 s, time to act on one."""
    conn = stack.sdk("noauth")
    api = _api(stack, "noauth")
    sid = api.boot("sdk-ctl", host="host1")
    server = conn.compute.get_server(sid)
    conn.compute.live_migrate_server(server, host="host2", block_migration=True)
    running = api.wait_running_migration(sid)
    listed = list(conn.compute.server_migrations(server))
    assert [m.id for m in listed] == [running["id"]]
    shown = conn.compute.get_server_migration(running["id"], server)
    assert shown.status == "running" and shown.dest_compute == "host2"
    conn.compute.abort_server_migration(running["id"], server)
    api.wait(sid, "ACTIVE", host="host1")

    conn.compute.live_migrate_server(server, host=None, block_migration="auto")
    running = api.wait_running_migration(sid)
    conn.compute.force_complete_server_migration(running["id"], server)
    api.wait(sid, "ACTIVE", host="host2", timeout=30)
    conn.compute.delete_server(server)


@pytest.mark.parametrize("cloud", CLOUDS)
def test_services_hypervisors_flavors_images(stack, cloud, tmp_path):
    conn = stack.sdk(cloud)
    computes = {s.host: s for s in conn.compute.services() if s.binary == "nova-compute"}
    assert set(computes) == {"host1", "host2"}
    disabled = conn.compute.disable_service(computes["host2"], "host2", "nova-compute",
                                            disabled_reason="sdk maintenance")
    assert disabled.status == "disabled"
    try:
        again = {s.host: s for s in conn.compute.services() if s.binary == "nova-compute"}
        assert again["host2"].status == "disabled"
        assert again["host2"].disabled_reason == "sdk maintenance"
    finally:
        conn.compute.enable_service(computes["host2"], "host2", "nova-compute")
    hypervisors = {h.name: h for h in conn.compute.hypervisors(details=True)}
    assert set(hypervisors) == {"host1", "host2"}
    assert conn.compute.get_hypervisor(hypervisors["host1"].id).state == "up"
    assert {"1", "2"} <= {f.id for f in conn.compute.flavors()}

    assert {"cirros", "cirros-rescue"} <= {i.name for i in conn.image.images()}
    data = tmp_path / "sdk.img"
    data.write_bytes(b"\1" * 4096)
    image = conn.image.create_image(name="sdk-image-%s" % cloud, filename=str(data),
                                    disk_format="raw", container_format="bare")
    assert conn.image.get_image(image.id).status == "active"
    conn.image.delete_image(image)


@pytest.mark.timeout(400)
def test_pagination_follows_next_links_across_thousands(stack):
    """2,100 servers (fake driver, max_count batches, booted in the background
    since the session started): the sdk follows the servers_links next hrefs
    across pages of [api] max_limit = 1000."""
    from tests.clients import conftest
    stack.bulk.join(300)
    bulk = stack.bulk.lifeboat
    status, _, first = bulk.request("GET", "/v2.1/servers?name=page-", "admin:admin")
    assert len(first["servers"]) == 1000
    assert first["servers_links"][0]["href"].startswith(bulk.base + "/v2.1/servers?")
    conn = stack.sdk("bulk")
    ids = [s.id for s in conn.compute.servers(details=False, name="page-")]
    assert len(ids) == conftest.BULK_SERVERS == len(set(ids))
    detailed = list(conn.compute.servers(details=True, name="page-"))
    assert len({s.id for s in detailed}) == conftest.BULK_SERVERS

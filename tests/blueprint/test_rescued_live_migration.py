"""The blueprint's rules for live-migrating rescued instances (microversion 2.105)."""
import pytest

from tests.blueprint.helpers import (guests, host_of, last_migration, migrate,
                                     migrations_of, rescue, wait_migration_status)
from tests.schema_oracle import assert_valid


@pytest.fixture
def rescued(admin):
    server_id = admin.boot(host="host1")
    rescue(admin, server_id)
    return server_id


def test_rescued_at_2_104_gets_nova_409_and_no_migration(admin, rescued):
    for version in ("2.1", "2.30", "2.104"):
        r = migrate(admin, rescued, version=version)
        assert r.status_code == 409, r.text
        assert r.json() == {"conflictingRequest": {
            "code": 409, "message": "Cannot 'os-migrateLive' instance %s while it is "
                                    "in vm_state rescued" % rescued}}
    assert migrations_of(admin, rescued) == []
    assert admin.server(rescued)["status"] == "RESCUE"


def test_rescued_at_2_105_moves_stays_rescued_and_unrescues_there(cloud, admin, rescued):
    r = migrate(admin, rescued)
    assert r.status_code == 202 and r.content == b""
    admin.wait_for(rescued, status="RESCUE", task_state=None, host="host2")
    server = admin.at("2.105").server(rescued)
    assert_valid("get_server", "2.105", 200, {"server": server})
    assert server["OS-EXT-STS:vm_state"] == "rescued"
    migration = last_migration(admin, rescued)
    assert (migration["status"], migration["source_compute"],
            migration["dest_compute"]) == ("completed", "host1", "host2")
    assert migration["migration_type"] == "live-migration"
    # The rescue guest now runs on host2 only, still rescued.
    assert rescued not in guests(cloud, "host1")
    assert guests(cloud, "host2")[rescued].rescued
    # Unrescue on the destination rebuilds the normal guest from the database.
    assert admin.action(rescued, {"unrescue": None}).status_code == 202
    server = admin.wait_for(rescued, status="ACTIVE", task_state=None, host="host2")
    guest = guests(cloud, "host2")[rescued]
    assert not guest.rescued and list(guest.disks) == ["disk"]


def test_status_is_migrating_while_a_rescued_instance_moves(make_cloud):
    cloud = make_cloud(fake__live_migration_seconds=1.5)
    admin = cloud.client("admin")
    sid = admin.boot(host="host1")
    rescue(admin, sid)
    assert migrate(admin, sid).status_code == 202
    server = admin.wait_for(sid, status="MIGRATING")
    assert server["OS-EXT-STS:vm_state"] == "rescued"
    assert server["OS-EXT-STS:task_state"] == "migrating"
    listed = admin.get("/servers?status=MIGRATING").json()["servers"]
    assert [s["id"] for s in listed] == [sid]
    assert admin.get("/servers?status=RESCUE").json()["servers"] == []
    admin.wait_for(sid, status="RESCUE", task_state=None, host="host2", timeout=15)


def test_source_without_support_is_400_naming_the_source(make_cloud):
    cloud = make_cloud(fake__hosts_without_rescued_live_migration=["host1"])
    admin = cloud.client("admin")
    sid = admin.boot(host="host1")
    rescue(admin, sid)
    for version in ("2.105",):
        for host in (None, "host2"):
            r = migrate(admin, sid, host=host, version=version)
            assert r.status_code == 400, r.text
            assert r.json()["badRequest"]["message"] == (
                "Live migration of rescued instances is not supported by the source "
                "compute node host1.")
    assert migrations_of(admin, sid) == []
    assert admin.server(sid)["status"] == "RESCUE"
    # An ACTIVE instance on the same host is not affected by the capability.
    other = admin.boot(host="host1")
    assert migrate(admin, other, version="2.105").status_code == 202
    admin.wait_for(other, status="ACTIVE", task_state=None)
    assert host_of(admin.server(other)) != "host1"


def test_named_destination_without_support_is_400_naming_it(make_cloud):
    cloud = make_cloud(fake__hosts_without_rescued_live_migration=["host3"])
    admin = cloud.client("admin")
    sid = admin.boot(host="host1")
    rescue(admin, sid)
    r = migrate(admin, sid, host="host3")
    assert r.status_code == 400, r.text
    assert r.json()["badRequest"]["message"] == (
        "Live migration of rescued instances is not supported by the destination "
        "compute node host3.")
    assert admin.server(sid)["OS-EXT-STS:task_state"] is None


def test_not_yet_upgraded_compute_counts_as_lacking_support(make_cloud):
    cloud = make_cloud(compute__report_service_version=1,
                       compute__report_service_version_hosts=["host2"])
    admin = cloud.client("admin")
    services = admin.at("2.53").get("/os-services?binary=nova-compute").json()
    assert {s["host"] for s in services["services"]} == {"host1", "host2", "host3"}
    on1 = admin.boot(host="host1")
    on2 = admin.boot(host="host2")
    rescue(admin, on1)
    rescue(admin, on2)
    r = migrate(admin, on1, host="host2")
    assert r.status_code == 400
    assert "destination compute node host2" in r.json()["badRequest"]["message"]
    r = migrate(admin, on2, host="host3")
    assert r.status_code == 400
    assert "source compute node host2" in r.json()["badRequest"]["message"]
    # The scheduler skips the old host too.
    assert migrate(admin, on1).status_code == 202
    admin.wait_for(on1, status="RESCUE", task_state=None, host="host3")


def test_scheduler_never_picks_a_host_lacking_support(make_cloud):
    cloud = make_cloud(fake__hosts_without_rescued_live_migration=["host2"])
    admin = cloud.client("admin")
    sid = admin.boot(host="host1")
    rescue(admin, sid)
    seen = []
    for _ in range(6):
        assert migrate(admin, sid).status_code == 202
        server = admin.wait_for(sid, status="RESCUE", task_state=None)
        seen.append(host_of(server))
    assert "host2" not in seen and set(seen) == {"host1", "host3"}


def test_no_capable_destination_ends_in_error_and_instance_unchanged(make_cloud):
    cloud = make_cloud(fake__hosts_without_rescued_live_migration=["host2", "host3"])
    admin = cloud.client("admin")
    sid = admin.boot(host="host1")
    rescue(admin, sid)
    assert migrate(admin, sid).status_code == 202
    migration = wait_migration_status(admin, sid, {"error"})
    assert migration["dest_compute"] is None
    server = admin.wait_for(sid, status="RESCUE", task_state=None, host="host1")
    assert server["OS-EXT-STS:vm_state"] == "rescued"
    assert guests(cloud, "host1")[sid].rescued
    actions = admin.get("/servers/%s/os-instance-actions" % sid).json()
    assert actions["instanceActions"][0]["action"] == "live-migration"


def test_unrescue_during_migration_is_409(make_cloud):
    cloud = make_cloud(fake__live_migration_seconds=2.0)
    admin = cloud.client("admin")
    sid = admin.boot(host="host1")
    rescue(admin, sid)
    assert migrate(admin, sid, host="host2").status_code == 202
    admin.wait_for(sid, status="MIGRATING")
    r = admin.action(sid, {"unrescue": None})
    assert r.status_code == 409
    assert r.json()["conflictingRequest"]["message"] == (
        "Cannot 'unrescue' instance %s while it is in task_state migrating" % sid)
    r = migrate(admin, sid, host="host3")
    assert r.status_code == 409
    admin.wait_for(sid, status="RESCUE", task_state=None, host="host2", timeout=15)
    assert admin.action(sid, {"unrescue": None}).status_code == 202
    admin.wait_for(sid, status="ACTIVE", task_state=None, host="host2")


def test_failed_migration_leaves_rescued_instance_rescued_on_source(make_cloud):
    cloud = make_cloud(fake__hosts_failing_live_migration=["host2"],
                       fake__live_migration_seconds=0.2)
    admin = cloud.client("admin")
    sid = admin.boot(host="host1")
    rescue(admin, sid)
    assert migrate(admin, sid, host="host2").status_code == 202
    wait_migration_status(admin, sid, {"failed"})
    server = admin.wait_for(sid, status="RESCUE", task_state=None, host="host1")
    assert server["OS-EXT-STS:vm_state"] == "rescued"
    assert guests(cloud, "host1")[sid].rescued
    assert sid not in guests(cloud, "host2")
    action = admin.get("/servers/%s/os-instance-actions" % sid).json()[
        "instanceActions"][0]
    detail = admin.get("/servers/%s/os-instance-actions/%s" % (
        sid, action["request_id"])).json()["instanceAction"]
    assert any(e["result"] == "Error" for e in detail["events"])

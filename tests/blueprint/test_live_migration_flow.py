"""Live migration outcomes for every state: success, failure, abort, force-complete,
the point of no return, delete during a migration, and Nova's pre-check rules."""
import threading
import time

import pytest

from lifeboat.virt import fake as fake_driver
from tests.blueprint.helpers import (guests, host_of, last_migration, migrate,
                                     migrations_of, rescue, wait_migration_status)
from tests.schema_oracle import assert_valid


def _start(admin, state):
    sid = admin.boot(host="host1")
    if state == "RESCUE":
        rescue(admin, sid)
    elif state == "PAUSED":
        assert admin.action(sid, {"pause": None}).status_code == 202
        admin.wait_for(sid, status="PAUSED", task_state=None)
    return sid


@pytest.mark.parametrize("state", ["ACTIVE", "PAUSED", "RESCUE"])
def test_success_keeps_the_state(cloud, admin, state):
    sid = _start(admin, state)
    assert migrate(admin, sid, host="host3").status_code == 202
    server = admin.wait_for(sid, status=state, task_state=None, host="host3")
    assert server["OS-EXT-SRV-ATTR:hypervisor_hostname"] == "host3"
    assert sid in guests(cloud, "host3") and sid not in guests(cloud, "host1")
    expected_power = 3 if state == "PAUSED" else 1
    assert server["OS-EXT-STS:power_state"] == expected_power


@pytest.mark.parametrize("state", ["ACTIVE", "PAUSED", "RESCUE"])
def test_abort_rolls_back_to_the_source(make_cloud, state):
    cloud = make_cloud(fake__live_migration_seconds=3.0)
    admin = cloud.client("admin").at("2.80")
    sid = _start(admin, state)
    assert migrate(admin, sid, host="host2").status_code == 202
    running = wait_migration_status(admin, sid, {"running"})
    r = admin.get("/servers/%s/migrations" % sid)
    assert_valid("list_server_migrations", "2.80", 200, r.json())
    assert admin.delete("/servers/%s/migrations/%s" % (sid, running["id"])).status_code == 202
    assert wait_migration_status(admin, sid, {"cancelled"})["id"] == running["id"]
    admin.wait_for(sid, status=state, task_state=None, host="host1")
    assert sid in guests(cloud, "host1") and sid not in guests(cloud, "host2")


def test_abort_on_shared_storage_keeps_the_disks(make_cloud):
    cloud = make_cloud(fake__live_migration_seconds=3.0, fake__shared_storage=True)
    admin = cloud.client("admin").at("2.80")
    sid = _start(admin, "RESCUE")
    disks = dict(fake_driver._SHARED_DISKS[sid])
    assert migrate(admin, sid, host="host2").status_code == 202
    migration = wait_migration_status(admin, sid, {"running"})
    admin.delete("/servers/%s/migrations/%s" % (sid, migration["id"]))
    wait_migration_status(admin, sid, {"cancelled"})
    admin.wait_for(sid, status="RESCUE", task_state=None, host="host1")
    assert fake_driver._SHARED_DISKS[sid] == disks


@pytest.mark.parametrize("state", ["ACTIVE", "RESCUE", "PAUSED"])
def test_force_complete_finishes(make_cloud, state):
    cloud = make_cloud(fake__live_migration_seconds=20.0)
    admin = cloud.client("admin").at("2.80")
    sid = _start(admin, state)
    assert migrate(admin, sid, host="host2").status_code == 202
    migration = wait_migration_status(admin, sid, {"running"})
    r = admin.post("/servers/%s/migrations/%s/action" % (sid, migration["id"]),
                   json={"force_complete": None})
    assert r.status_code == 202, r.text
    wait_migration_status(admin, sid, {"completed"}, timeout=5)
    admin.wait_for(sid, status=state, task_state=None, host="host2")


def test_failure_after_point_of_no_return_is_error_on_destination(make_cloud):
    cloud = make_cloud(fake__live_migration_seconds=20.0, fake__live_migration_post_copy=True,
                       fake__hosts_failing_live_migration=["host2"])
    admin = cloud.client("admin").at("2.80")
    sid = _start(admin, "RESCUE")
    assert migrate(admin, sid, host="host2").status_code == 202
    migration = wait_migration_status(admin, sid, {"running"})
    admin.post("/servers/%s/migrations/%s/action" % (sid, migration["id"]),
               json={"force_complete": None})
    wait_migration_status(admin, sid, {"failed"})
    server = admin.wait_for(sid, status="ERROR", task_state=None, host="host2")
    assert "failed" in server["fault"]["message"]


def test_delete_during_migration_leaves_nothing_anywhere(make_cloud):
    cloud = make_cloud(fake__live_migration_seconds=3.0)
    admin = cloud.client("admin").at("2.80")
    sid = _start(admin, "RESCUE")
    assert migrate(admin, sid, host="host2").status_code == 202
    wait_migration_status(admin, sid, {"running"})
    assert sid in guests(cloud, "host2")  # prepared on the destination
    assert admin.delete("/servers/%s" % sid).status_code == 204
    admin.wait_for(sid, status="DELETED")
    assert wait_migration_status(admin, sid, {"cancelled"})
    for host in ("host1", "host2", "host3"):
        assert sid not in guests(cloud, host)


def test_concurrent_live_migrations_one_wins(make_cloud):
    # The transfer lasts long enough that the loser always meets a migration
    # in progress, never one already finished.
    admin = make_cloud(fake__live_migration_seconds=0.5).client("admin")
    sid = _start(admin, "RESCUE")
    for _round in range(5):
        barrier = threading.Barrier(2)
        codes = []

        def go():
            barrier.wait()
            codes.append(migrate(admin, sid).status_code)
        threads = [threading.Thread(target=go) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(codes) == [202, 409]
        admin.wait_for(sid, status="RESCUE", task_state=None)


def test_unknown_host_is_400_at_every_version(admin):
    sid = _start(admin, "ACTIVE")
    for version in ("2.1", "2.30", "2.34", "2.104", "2.105"):
        r = migrate(admin, sid, host="nosuchhost", version=version)
        assert r.status_code == 400, (version, r.text)
        assert r.json()["badRequest"]["message"] == \
            "Compute host nosuchhost could not be found."


def test_prechecks_are_synchronous_below_2_34_and_async_after(admin):
    sid = _start(admin, "ACTIVE")
    r = migrate(admin, sid, host="host1", version="2.30")
    assert r.status_code == 400
    assert "to current host (host1)" in r.json()["badRequest"]["message"]
    assert admin.server(sid)["OS-EXT-STS:task_state"] is None
    r = migrate(admin, sid, host="host1", version="2.34")
    assert r.status_code == 202
    wait_migration_status(admin, sid, {"error"})
    admin.wait_for(sid, status="ACTIVE", task_state=None, host="host1")


def test_disabled_destination_refused(admin):
    sid = _start(admin, "ACTIVE")
    service = admin.at("2.53").get("/os-services?host=host2&binary=nova-compute").json()
    service_id = service["services"][0]["id"]
    r = admin.at("2.53").put("/os-services/%s" % service_id,
                             json={"status": "disabled", "disabled_reason": "maint"})
    assert r.status_code == 200, r.text
    for _ in range(4):  # the scheduler never picks host2 now
        assert migrate(admin, sid).status_code == 202
        assert host_of(admin.wait_for(sid, status="ACTIVE", task_state=None)) != "host2"


def test_power_state_sync_waits_for_its_interval(make_cloud):
    """The periodic tasks run every second here, but the power-state sync only
    every sync_power_state_interval (the first one at start-up)."""
    cloud = make_cloud(periodic_interval=1, sync_power_state_interval=3600)
    admin = cloud.client("admin")
    sid = admin.boot(host="host1")
    time.sleep(1.5)                               # the first sync has run
    guests(cloud, "host1")[sid].power_state = 4   # the guest powered itself off
    time.sleep(3)                                 # three more periodic runs
    assert admin.server(sid)["OS-EXT-STS:power_state"] == 1


def test_guest_shut_down_from_inside_is_refused(make_cloud):
    cloud = make_cloud(periodic_interval=1, sync_power_state_interval=0)
    admin = cloud.client("admin")
    sid = _start(admin, "RESCUE")
    guests(cloud, "host1")[sid].power_state = 4   # the guest powered itself off
    admin.wait_until(lambda: admin.server(sid)["OS-EXT-STS:power_state"] == 4,
                     "power state sync")
    r = migrate(admin, sid, version="2.105")
    assert r.status_code == 202
    wait_migration_status(admin, sid, {"error"})
    admin.wait_for(sid, status="RESCUE", task_state=None, host="host1")
    admin84 = admin.at("2.84")
    action = admin84.get("/servers/%s/os-instance-actions" % sid).json()[
        "instanceActions"][0]
    assert action["action"] == "live-migration"
    events = admin84.get("/servers/%s/os-instance-actions/%s" % (
        sid, action["request_id"])).json()["instanceAction"]["events"]
    failed = [e for e in events if e["result"] == "Error"]
    assert failed and "while it is in power_state shutdown" in failed[0]["details"]


def test_policy_manager_may_migrate_without_host_member_may_not(cloud):
    owner = cloud.client("alice", "projecta", roles=["manager"])
    member = cloud.client("bob", "projecta", roles=["member"])
    sid = owner.boot()
    r = migrate(member, sid)
    assert r.status_code == 403 and "forbidden" in r.json()
    r = migrate(owner, sid, host="host2")
    assert r.status_code == 403
    assert migrate(owner, sid).status_code == 202
    owner.wait_for(sid, status="ACTIVE", task_state=None)
    assert last_migration(cloud.client("admin"), sid)["status"] == "completed"
    other = cloud.client("eve", "projectb", roles=["manager"])
    assert migrate(other, sid).status_code == 404
    assert len(migrations_of(cloud.client("admin"), sid)) == 1


def test_named_disabled_destination_refused_unless_forced(admin):
    sid = _start(admin, "ACTIVE")
    admin.at("2.11").put("/os-services/disable", json={"host": "host2",
                                                        "binary": "nova-compute"})
    r = migrate(admin, sid, host="host2", version="2.30")
    assert r.status_code == 400, r.text
    assert r.json()["badRequest"]["message"].startswith("No valid host was found.")
    r = admin.at("2.30").action(sid, {"os-migrateLive": {
        "host": "host2", "block_migration": "auto", "force": True}})
    assert r.status_code == 202, r.text
    admin.wait_for(sid, status="ACTIVE", task_state=None, host="host2")


def test_guest_shut_down_below_2_34_is_nova_409(make_cloud):
    cloud = make_cloud(periodic_interval=1, sync_power_state_interval=0)
    admin = cloud.client("admin")
    sid = _start(admin, "ACTIVE")
    guests(cloud, "host1")[sid].power_state = 4
    admin.wait_until(lambda: admin.server(sid)["OS-EXT-STS:power_state"] == 4,
                     "power state sync")
    r = migrate(admin, sid, version="2.30")
    assert r.status_code == 409
    assert r.json()["conflictingRequest"]["message"] == (
        "Cannot 'os-migrateLive' instance %s while it is in power_state shutdown" % sid)
    assert admin.server(sid)["OS-EXT-STS:task_state"] is None

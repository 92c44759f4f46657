"""The scheduler's kept host states (lifeboat/scheduler/host_state.py,
snapshot.py), seen through the API of an all-in-one cloud.

Every host holds exactly two m1.tiny servers (1 GiB of disk each, 2 GiB per
host, disk not overcommitted), so a boot either fits or the server ends in ERROR
with Nova's "No valid host was found" fault. Most tests set the usage re-read interval
far beyond the test's length, so what they show is the scheduler counting its
own placements (boots faster than any re-read never overfill a host) and its
re-read before answering NoValidHost (a host freed a moment ago is used at once),
not a lucky re-read.
"""
import collections

import pytest

from lifeboat.compute.manager import ComputeManager
from tests.blueprint.helpers import host_of, migrate

PER_HOST = 2
SMALL = {"fake__local_gb": 2, "compute__disk_allocation_ratio": 1.0}
NEVER = {"filter_scheduler__host_usage_refresh_seconds": 3600.0,
         "filter_scheduler__compute_node_refresh_seconds": 3600.0}
# Re-reads in the background and in line all through a burst: placements made
# while a re-read runs, or just before it, must still count.
OFTEN = {"filter_scheduler__host_usage_refresh_seconds": 0.05,
         "filter_scheduler__compute_node_refresh_seconds": 0.05}
ALWAYS = {"filter_scheduler__host_usage_refresh_seconds": 0.0,
          "filter_scheduler__compute_node_refresh_seconds": 0.0}
SETTINGS = pytest.mark.parametrize("settings", [NEVER, {}, OFTEN, ALWAYS],
                                   ids=["no-reread", "defaults", "often", "always"])


def _cloud(make_cloud, hosts=("host1", "host2"), **overrides):
    return make_cloud(hosts=hosts, **dict(SMALL, **overrides))


def _hosts(admin, ids):
    return collections.Counter(host_of(admin.wait_for(sid, status="ACTIVE",
                                                      task_state=None))
                               for sid in ids)


def _assert_no_valid_host(admin, sid):
    server = admin.wait_for(sid, status="ERROR", task_state=None)
    assert server["fault"]["message"].startswith("No valid host was found"), server
    assert host_of(server) is None


def _compute_service(admin, host):
    r = admin.at("2.53").get("/os-services?host=%s&binary=nova-compute" % host)
    assert r.status_code == 200, r.text
    return r.json()["services"][0]["id"]


def _set_service(admin, host, **body):
    r = admin.at("2.53").put("/os-services/%s" % _compute_service(admin, host),
                             json=body)
    assert r.status_code == 200, r.text


# --- (a) placements count at once ------------------------------------------------

@SETTINGS
def test_burst_fills_every_host_exactly_then_no_valid_host(make_cloud, settings):
    admin = _cloud(make_cloud, hosts=("host1", "host2", "host3"),
                   **settings).client("admin")
    ids = [admin.boot(name="b%d" % i, wait=False) for i in range(3 * PER_HOST)]
    assert _hosts(admin, ids) == {"host1": PER_HOST, "host2": PER_HOST,
                                  "host3": PER_HOST}
    _assert_no_valid_host(admin, admin.boot(name="one-too-many", wait=False))


def test_sequential_boots_fill_a_host_then_go_elsewhere(make_cloud):
    admin = _cloud(make_cloud, **NEVER).client("admin")
    on1 = [admin.boot(name="on1-%d" % i, host="host1") for i in range(PER_HOST)]
    assert _hosts(admin, on1) == {"host1": PER_HOST}
    # host1 is full (by the scheduler's own count: no re-read since), so the
    # next boots go to host2 until it is full too.
    rest = [admin.boot(name="r%d" % i) for i in range(PER_HOST)]
    assert _hosts(admin, rest) == {"host2": PER_HOST}
    _assert_no_valid_host(admin, admin.boot(name="full", wait=False))


def test_requested_full_host_is_no_valid_host(make_cloud):
    admin = _cloud(make_cloud, **NEVER).client("admin")
    for i in range(PER_HOST):
        admin.boot(name="on1-%d" % i, host="host1")
    _assert_no_valid_host(admin, admin.boot(name="more", host="host1", wait=False))


# --- (b) freed capacity is usable at once ----------------------------------------

@SETTINGS
def test_delete_on_a_full_cloud_then_boot_at_once(make_cloud, settings):
    admin = _cloud(make_cloud, **settings).client("admin")
    ids = [admin.boot(name="f%d" % i, wait=False) for i in range(2 * PER_HOST)]
    hosts = _hosts(admin, ids)
    assert hosts == {"host1": PER_HOST, "host2": PER_HOST}
    victim = ids[0]
    freed = host_of(admin.server(victim))
    assert admin.delete("/servers/%s" % victim).status_code == 204
    admin.wait_for(victim, status="DELETED")
    server = admin.wait_for(admin.boot(name="again", wait=False), status="ACTIVE",
                            task_state=None)
    assert host_of(server) == freed
    # and that was the last free slot
    _assert_no_valid_host(admin, admin.boot(name="full", wait=False))


def test_each_delete_frees_a_slot_for_the_next_boot(make_cloud):
    admin = _cloud(make_cloud, **NEVER).client("admin")
    ids = [admin.boot(name="f%d" % i, wait=False) for i in range(2 * PER_HOST)]
    _hosts(admin, ids)
    for i in range(3):
        victim = ids.pop(0)
        assert admin.delete("/servers/%s" % victim).status_code == 204
        admin.wait_for(victim, status="DELETED")
        ids.append(admin.boot(name="again%d" % i))
    assert _hosts(admin, ids) == {"host1": PER_HOST, "host2": PER_HOST}


def test_host_freed_by_a_finished_live_migration_is_usable_at_once(make_cloud):
    admin = _cloud(make_cloud, **NEVER).client("admin")
    on1 = [admin.boot(name="on1-%d" % i, host="host1") for i in range(PER_HOST)]
    admin.boot(name="on2", host="host2")
    assert migrate(admin, on1[0], host="host2").status_code == 202
    admin.wait_for(on1[0], status="ACTIVE", task_state=None, host="host2")
    # host1 has one free slot now, host2 none: the scheduler still counts the
    # moved server on host1 until it re-reads, which it does when nothing fits.
    server = admin.wait_for(admin.boot(name="next", wait=False), status="ACTIVE",
                            task_state=None)
    assert host_of(server) == "host1"


# --- (c) disabled / forced down seen by the very next decision -------------------

def test_disabled_service_is_avoided_by_the_next_boot(make_cloud):
    admin = make_cloud(hosts=("host1", "host2"), **NEVER).client("admin")
    admin.boot(name="warm")            # the scheduler has its host states now
    _set_service(admin, "host1", status="disabled", disabled_reason="maint")
    assert _hosts(admin, [admin.boot(name="a%d" % i) for i in range(3)]) == \
        {"host2": 3}
    _set_service(admin, "host1", status="enabled")
    _set_service(admin, "host2", status="disabled", disabled_reason="maint")
    assert _hosts(admin, [admin.boot(name="b%d" % i) for i in range(3)]) == \
        {"host1": 3}
    _set_service(admin, "host1", status="disabled", disabled_reason="maint")
    _assert_no_valid_host(admin, admin.boot(name="nowhere", wait=False))


def test_forced_down_service_is_avoided_by_the_next_boot(make_cloud):
    admin = make_cloud(hosts=("host1", "host2"), **NEVER).client("admin")
    admin.boot(name="warm")
    _set_service(admin, "host2", forced_down=True)
    assert _hosts(admin, [admin.boot(name="a%d" % i) for i in range(3)]) == \
        {"host1": 3}
    _set_service(admin, "host2", forced_down=False)
    _set_service(admin, "host1", forced_down=True)
    assert _hosts(admin, [admin.boot(name="b%d" % i) for i in range(3)]) == \
        {"host2": 3}


def test_legacy_disable_is_seen_at_once(make_cloud):
    admin = make_cloud(hosts=("host1", "host2"), **NEVER).client("admin")
    admin.boot(name="warm")
    r = admin.at("2.11").put("/os-services/disable",
                             json={"host": "host2", "binary": "nova-compute"})
    assert r.status_code == 200, r.text
    assert _hosts(admin, [admin.boot(name="a%d" % i) for i in range(3)]) == \
        {"host1": 3}


# --- (d) a compute host that appears is used --------------------------------------

def test_new_compute_host_is_used(make_cloud):
    cloud = _cloud(make_cloud, hosts=("host1",), **NEVER)
    admin = cloud.client("admin")
    full = [admin.boot(name="f%d" % i) for i in range(PER_HOST)]
    assert _hosts(admin, full) == {"host1": PER_HOST}
    cloud.cloud.start_compute("host9", ComputeManager("host9"))
    ids = [admin.boot(name="n%d" % i, wait=False) for i in range(PER_HOST)]
    assert _hosts(admin, ids) == {"host9": PER_HOST}
    _assert_no_valid_host(admin, admin.boot(name="full", wait=False))


def test_new_compute_host_is_used_when_others_have_room(make_cloud):
    # Spread by free RAM: the empty new host is the best one at the very next
    # decision, not after [filter_scheduler] compute_node_refresh_seconds.
    cloud = make_cloud(hosts=("host1",), **NEVER)
    admin = cloud.client("admin")
    admin.boot(name="first")
    cloud.cloud.start_compute("host9", ComputeManager("host9"))
    assert host_of(admin.server(admin.boot(name="second"))) == "host9"

"""A server's life over HTTP: boot, show, every power action, rescue, lock,
rename, list filters, paging, multi-create and delete, against a whole cloud.

After each step the server body (show, list, detail) is checked with Tempest's
own response schemas at several microversions (tests/schema_oracle.py), and the
step's instance action is checked in os-instance-actions.
"""
from urllib.parse import parse_qs, urlsplit

import pytest

from tests import schema_oracle

# Microversions at which the server views change shape (2.105 is Lifeboat's).
SHOW_VERSIONS = ("2.1", "2.47", "2.73", "2.96", "2.100", "2.104", "2.105")
LIST_VERSIONS = ("2.1", "2.73", "2.100", "2.105")


def check_views(client, sid, expect_status=None):
    """GET /servers/{id}, /servers and /servers/detail are what Tempest expects."""
    for version in SHOW_VERSIONS:
        r = client.at(version).get("/servers/%s" % sid)
        assert r.status_code == 200, r.text
        schema_oracle.assert_valid("get_server", version, 200, r.json())
        server = r.json()["server"]
        assert server["id"] == sid
        if expect_status:
            assert server["status"] == expect_status, (version, server["status"])
    for version in LIST_VERSIONS:
        r = client.at(version).get("/servers")
        assert r.status_code == 200, r.text
        schema_oracle.assert_valid("list_servers", version, 200, r.json())
        assert sid in [s["id"] for s in r.json()["servers"]]
        r = client.at(version).get("/servers/detail")
        assert r.status_code == 200, r.text
        schema_oracle.assert_valid("list_servers_detail", version, 200, r.json())
        (entry,) = [s for s in r.json()["servers"] if s["id"] == sid]
        if expect_status:
            assert entry["status"] == expect_status


def actions(client, sid):
    """Action names of the server's instance actions, oldest first."""
    r = client.get("/servers/%s/os-instance-actions" % sid)
    assert r.status_code == 200, r.text
    schema_oracle.assert_valid("list_instance_actions", client.version or "2.1", 200,
                               r.json())
    listed = r.json()["instanceActions"]
    return [a["action"] for a in sorted(listed, key=lambda a: a["start_time"])]


def act(client, sid, body, status=202):
    r = client.action(sid, body)
    assert r.status_code == status, r.text
    return r


def states_of(server):
    return (server["status"], server["OS-EXT-STS:vm_state"],
            server["OS-EXT-STS:task_state"], server["OS-EXT-STS:power_state"])


# --- boot and show ----------------------------------------------------------------

def test_boot_show_and_delete(admin):
    body = {"server": {"name": "web", "imageRef": admin.image_id(), "flavorRef": "1"}}
    r = admin.post("/servers", json=body)
    assert r.status_code == 202, r.text
    schema_oracle.assert_valid("create_server", "2.1", 202, r.json())
    created = r.json()["server"]
    sid = created["id"]
    assert created["adminPass"]
    assert created["links"][0]["href"].startswith("http://lifeboat.test/v2.1/servers/")

    server = admin.wait_for(sid, status="ACTIVE", task_state=None)
    assert server["OS-EXT-SRV-ATTR:host"] in ("host1", "host2", "host3")
    assert server["OS-EXT-SRV-ATTR:hypervisor_hostname"] == server["OS-EXT-SRV-ATTR:host"]
    assert states_of(server) == ("ACTIVE", "active", None, 1)
    assert server["name"] == "web"
    assert server["hostId"]
    check_views(admin, sid, "ACTIVE")
    assert actions(admin, sid) == ["create"]

    r = admin.delete("/servers/%s" % sid)
    assert r.status_code == 204, r.text
    assert r.content == b""
    admin.wait_for(sid, status="DELETED")
    r = admin.get("/servers/%s" % sid)
    assert r.status_code == 404
    assert "itemNotFound" in r.json()
    assert sid not in [s["id"] for s in admin.get("/servers").json()["servers"]]


def test_admin_boot_on_requested_host(admin):
    # ApiClient.boot sends this at 2.74 with networks "none"; the host is honoured.
    sid = admin.boot(name="pinned", host="host2")
    server = admin.wait_for(sid, status="ACTIVE", task_state=None, host="host2")
    assert server["OS-EXT-SRV-ATTR:host"] == "host2"
    check_views(admin, sid, "ACTIVE")


def test_non_admin_view_hides_host(user):
    sid = user.boot(name="mine")
    for version in SHOW_VERSIONS:
        r = user.at(version).get("/servers/%s" % sid)
        assert r.status_code == 200, r.text
        schema_oracle.assert_valid("get_server", version, 200, r.json())
        assert "OS-EXT-SRV-ATTR:host" not in r.json()["server"]
        assert r.json()["server"]["tenant_id"] == "projecta"
    check_views(user, sid, "ACTIVE")


# --- power actions -------------------------------------------------------------------

@pytest.mark.parametrize("reboot_type", ["SOFT", "HARD"])
def test_reboot(admin, reboot_type):
    sid = admin.boot()
    act(admin, sid, {"reboot": {"type": reboot_type}})
    server = admin.wait_for(sid, status="ACTIVE", task_state=None)
    assert states_of(server) == ("ACTIVE", "active", None, 1)
    check_views(admin, sid, "ACTIVE")
    assert actions(admin, sid) == ["create", "reboot"]


def test_stop_and_start(admin):
    sid = admin.boot()
    act(admin, sid, {"os-stop": None})
    server = admin.wait_for(sid, status="SHUTOFF", task_state=None)
    assert states_of(server) == ("SHUTOFF", "stopped", None, 4)
    check_views(admin, sid, "SHUTOFF")

    act(admin, sid, {"os-start": None})
    server = admin.wait_for(sid, status="ACTIVE", task_state=None)
    assert states_of(server) == ("ACTIVE", "active", None, 1)
    check_views(admin, sid, "ACTIVE")
    assert actions(admin, sid) == ["create", "stop", "start"]


def test_pause_and_unpause(admin):
    sid = admin.boot()
    act(admin, sid, {"pause": None})
    server = admin.wait_for(sid, status="PAUSED", task_state=None)
    assert states_of(server) == ("PAUSED", "paused", None, 3)
    check_views(admin, sid, "PAUSED")

    act(admin, sid, {"unpause": None})
    server = admin.wait_for(sid, status="ACTIVE", task_state=None)
    assert states_of(server) == ("ACTIVE", "active", None, 1)
    assert actions(admin, sid) == ["create", "pause", "unpause"]


def test_suspend_and_resume(admin):
    sid = admin.boot()
    act(admin, sid, {"suspend": None})
    server = admin.wait_for(sid, status="SUSPENDED", task_state=None)
    assert states_of(server) == ("SUSPENDED", "suspended", None, 7)
    check_views(admin, sid, "SUSPENDED")

    act(admin, sid, {"resume": None})
    server = admin.wait_for(sid, status="ACTIVE", task_state=None)
    assert states_of(server) == ("ACTIVE", "active", None, 1)
    assert actions(admin, sid) == ["create", "suspend", "resume"]


def test_owner_drives_own_server(user):
    """A project member (not admin) may run the whole power cycle."""
    sid = user.boot()
    for body, status in (({"os-stop": None}, "SHUTOFF"), ({"os-start": None}, "ACTIVE"),
                         ({"pause": {}}, "PAUSED"), ({"unpause": {}}, "ACTIVE"),
                         ({"reboot": {"type": "soft"}}, "ACTIVE")):
        act(user, sid, body)
        user.wait_for(sid, status=status, task_state=None)
    assert actions(user, sid) == ["create", "stop", "start", "pause", "unpause",
                                  "reboot"]


# --- rescue ----------------------------------------------------------------------

@pytest.mark.parametrize("unrescue_value", [None, {}], ids=["null", "empty"])
def test_rescue_with_password_and_rescue_image(admin, unrescue_value):
    sid = admin.boot()
    host = admin.server(sid)["OS-EXT-SRV-ATTR:host"]
    rescue_image = admin.image_id("cirros-rescue")
    r = admin.action(sid, {"rescue": {"adminPass": "s3cret-Pass",
                                      "rescue_image_ref": rescue_image}})
    assert r.status_code == 200, r.text
    schema_oracle.assert_valid("rescue_server", "2.1", 200, r.json())
    assert r.json() == {"adminPass": "s3cret-Pass"}
    server = admin.wait_for(sid, status="RESCUE", task_state=None)
    assert server["OS-EXT-STS:vm_state"] == "rescued"
    assert server["OS-EXT-SRV-ATTR:host"] == host
    check_views(admin, sid, "RESCUE")

    r = admin.action(sid, {"unrescue": unrescue_value})
    assert r.status_code == 202, r.text
    assert r.content == b""
    server = admin.wait_for(sid, status="ACTIVE", task_state=None)
    assert states_of(server) == ("ACTIVE", "active", None, 1)
    assert server["OS-EXT-SRV-ATTR:host"] == host
    check_views(admin, sid, "ACTIVE")
    assert actions(admin, sid) == ["create", "rescue", "unrescue"]


@pytest.mark.parametrize("rescue_value", [None, {}], ids=["null", "empty"])
def test_rescue_without_password_generates_one(admin, rescue_value):
    sid = admin.boot()
    r = admin.action(sid, {"rescue": rescue_value})
    assert r.status_code == 200, r.text
    schema_oracle.assert_valid("rescue_server", "2.1", 200, r.json())
    password = r.json()["adminPass"]
    assert isinstance(password, str) and len(password) >= 8
    server = admin.wait_for(sid, status="RESCUE", task_state=None)
    assert server["OS-EXT-STS:vm_state"] == "rescued"
    # A second rescue of another server gets another password.
    other = admin.boot()
    rescue_image = admin.image_id("cirros-rescue")
    r = admin.action(other, {"rescue": {"rescue_image_ref": rescue_image}})
    assert r.status_code == 200, r.text
    assert r.json()["adminPass"] != password
    admin.wait_for(other, status="RESCUE", task_state=None)
    for s in (sid, other):
        act(admin, s, {"unrescue": None})
    for s in (sid, other):
        admin.wait_for(s, status="ACTIVE", task_state=None)


def test_rescue_by_owner_and_unknown_rescue_image(user):
    sid = user.boot()
    r = user.action(sid, {"rescue": {"rescue_image_ref":
                                     "7b2f1c9e-0000-4000-8000-000000000000"}})
    assert r.status_code == 400, r.text
    assert "badRequest" in r.json()
    assert user.server(sid)["status"] == "ACTIVE"
    r = user.action(sid, {"rescue": None})
    assert r.status_code == 200, r.text
    user.wait_for(sid, status="RESCUE", task_state=None)
    check_views(user, sid, "RESCUE")


def test_rescue_stopped_server(admin):
    """Nova allows rescue from SHUTOFF; unrescue brings it back ACTIVE."""
    sid = admin.boot()
    act(admin, sid, {"os-stop": None})
    admin.wait_for(sid, status="SHUTOFF", task_state=None)
    act(admin, sid, {"rescue": None}, status=200)
    admin.wait_for(sid, status="RESCUE", task_state=None)
    act(admin, sid, {"unrescue": None})
    server = admin.wait_for(sid, status="ACTIVE", task_state=None)
    assert server["OS-EXT-STS:power_state"] == 1


# --- lock ----------------------------------------------------------------------

def test_lock_with_reason_and_unlock(admin):
    sid = admin.boot()
    a273 = admin.at("2.73")
    act(a273, sid, {"lock": {"locked_reason": "maintenance window"}})
    server = a273.server(sid)
    assert server["locked"] is True
    assert server["locked_reason"] == "maintenance window"
    check_views(admin, sid, "ACTIVE")
    # Before 2.73 only `locked` shows, and before 2.9 neither.
    assert "locked_reason" not in admin.at("2.72").server(sid)
    assert admin.at("2.9").server(sid)["locked"] is True
    assert "locked" not in admin.at("2.8").server(sid)
    r = a273.get("/servers/detail", params={"locked": "true"})
    assert r.status_code == 200, r.text
    assert [s["id"] for s in r.json()["servers"]] == [sid]

    act(a273, sid, {"unlock": None})
    server = a273.server(sid)
    assert server["locked"] is False
    assert server["locked_reason"] is None
    check_views(admin, sid, "ACTIVE")
    assert actions(admin, sid) == ["create", "lock", "unlock"]


def test_lock_without_reason(admin):
    sid = admin.boot()
    act(admin.at("2.73"), sid, {"lock": None})
    server = admin.at("2.73").server(sid)
    assert (server["locked"], server["locked_reason"]) == (True, None)
    act(admin.at("2.1"), sid, {"lock": {}})  # any value before 2.73
    act(admin.at("2.1"), sid, {"unlock": None})
    assert admin.at("2.73").server(sid)["locked"] is False


# --- rename --------------------------------------------------------------------

def test_rename(admin):
    sid = admin.boot(name="old-name")
    r = admin.put("/servers/%s" % sid, json={"server": {"name": "new-name"}})
    assert r.status_code == 200, r.text
    assert r.json()["server"]["name"] == "new-name"
    assert admin.server(sid)["name"] == "new-name"
    # From 2.75 the PUT answer is the whole server, as GET shows it.
    for version in ("2.75", "2.100", "2.105"):
        r = admin.at(version).put("/servers/%s" % sid,
                                  json={"server": {"description": "tier " + version}})
        assert r.status_code == 200, r.text
        schema_oracle.assert_valid("update_server", version, 200, r.json())
        assert r.json()["server"]["description"] == "tier " + version
    assert admin.at("2.19").server(sid)["description"] == "tier 2.105"
    r = admin.put("/servers/%s" % sid, json={"server": {"name": "x", "bogus": 1}})
    assert r.status_code == 400, r.text
    assert admin.server(sid)["name"] == "new-name"
    check_views(admin, sid, "ACTIVE")


@pytest.mark.parametrize("version", ["2.1", "2.19", "2.73"])
def test_rename_body_before_275_is_trimmed(admin, version):
    sid = admin.boot(name="old-name")
    r = admin.at(version).put("/servers/%s" % sid, json={"server": {"name": "renamed"}})
    assert r.status_code == 200, r.text
    assert r.json()["server"]["name"] == "renamed"
    schema_oracle.assert_valid("update_server", version, 200, r.json())


# --- list filters ------------------------------------------------------------------

def _ids(client, path="/servers/detail", **params):
    r = client.get(path, params=params)
    assert r.status_code == 200, r.text
    return {s["id"] for s in r.json()["servers"]}


def test_list_filters(admin, user):
    web = admin.boot(name="web-1", host="host1")
    db = admin.boot(name="db-1", host="host2")
    stopped = admin.boot(name="batch", host="host3")
    act(admin, stopped, {"os-stop": None})
    act(admin, db, {"rescue": None}, status=200)
    admin.wait_for(stopped, status="SHUTOFF", task_state=None)
    admin.wait_for(db, status="RESCUE", task_state=None)
    mine = user.boot(name="web-alice")

    assert _ids(admin, name="web") == {web}
    assert _ids(admin, path="/servers", name="db") == {db}
    assert _ids(admin, all_tenants="1", name="web") == {web, mine}
    assert _ids(admin, status="ACTIVE") == {web}
    assert _ids(admin, status="RESCUE") == {db}
    assert _ids(admin, status="SHUTOFF") == {stopped}
    assert _ids(admin, status=["SHUTOFF", "RESCUE"]) == {stopped, db}
    assert _ids(admin, host="host2") == {db}
    assert _ids(admin, host="host3", status="SHUTOFF") == {stopped}
    assert _ids(admin, host="nowhere") == set()
    r = admin.at("2.38").get("/servers", params={"status": "NOPE"})
    assert r.status_code == 400, r.text

    # A non-admin sees their project only, and `host` is silently dropped.
    assert _ids(user) == {mine}
    assert _ids(user, host="host1") == {mine}
    assert _ids(user, host="nowhere") == {mine}
    assert _ids(user, status="ACTIVE", name="alice") == {mine}
    # all_tenants needs the admin-only get_all_tenants policy (Nova: 403).
    r = user.get("/servers", params={"all_tenants": "1"})
    assert r.status_code == 403, r.text
    assert "forbidden" in r.json()


def test_paging_with_limit_and_next_links(admin):
    created = {admin.boot(name="page-%d" % i, wait=False) for i in range(5)}
    for sid in created:
        admin.wait_for(sid, status="ACTIVE", task_state=None)
    for path, endpoint in (("/servers", "list_servers"),
                           ("/servers/detail", "list_servers_detail")):
        seen = []
        r = admin.get(path, params={"limit": 2})
        pages = 0
        while True:
            assert r.status_code == 200, r.text
            body = r.json()
            schema_oracle.assert_valid(endpoint, "2.1", 200, body)
            pages += 1
            assert len(body["servers"]) <= 2
            seen.extend(s["id"] for s in body["servers"])
            links = body.get("servers_links")
            if not links:
                break
            (link,) = links
            assert link["rel"] == "next"
            href = link["href"]
            assert href.startswith("http://lifeboat.test/v2.1" + path + "?"), href
            query = parse_qs(urlsplit(href).query)
            assert query["limit"] == ["2"]
            assert query["marker"] == [seen[-1]]
            r = admin.get(href)
            assert pages < 10, "paging does not end"
        assert sorted(seen) == sorted(created), seen
        assert len(seen) == len(set(seen)) == 5
        # 5 servers in pages of 2: 2, 2, 1 (the last page has no next link).
        assert pages == 3
    # An unknown marker is a 400.
    r = admin.get("/servers", params={"marker": "no-such-server"})
    assert r.status_code == 400, r.text


def test_multi_create(admin):
    body = {"server": {"name": "fleet", "imageRef": admin.image_id(), "flavorRef": "1",
                       "min_count": 2, "max_count": 3}}
    r = admin.post("/servers", json=body)
    assert r.status_code == 202, r.text
    schema_oracle.assert_valid("create_server", "2.1", 202, r.json())
    first = r.json()["server"]["id"]
    r = admin.get("/servers/detail", params={"name": "fleet"})
    fleet = r.json()["servers"]
    assert len(fleet) == 3
    assert first in {s["id"] for s in fleet}
    assert sorted(s["name"] for s in fleet) == ["fleet-1", "fleet-2", "fleet-3"]
    for s in fleet:
        admin.wait_for(s["id"], status="ACTIVE", task_state=None)
    # All in one reservation.
    reservations = {admin.at("2.3").server(s["id"])["OS-EXT-SRV-ATTR:reservation_id"]
                    for s in fleet}
    assert len(reservations) == 1

    r = admin.post("/servers", json={"server": dict(body["server"], name="rid",
                                                    return_reservation_id=True)})
    assert r.status_code == 202, r.text
    assert set(r.json()) == {"reservation_id"}
    r = admin.post("/servers", json={"server": dict(body["server"], name="bad",
                                                    min_count=3, max_count=2)})
    assert r.status_code == 400, r.text
    assert _ids(admin, name="bad") == set()

"""os-migrations and /servers/{id}/migrations over HTTP, against a whole cloud.

Live migrations take 3 s in the fake driver here, so a migration stays
`running` long enough to be listed, shown, aborted or force-completed. Bodies
are checked with Tempest's own response schemas (tests/schema_oracle.py).
"""
import time

import pytest

from tests import schema_oracle

LIVE = {"os-migrateLive": {"host": None, "block_migration": "auto"}}
NOT_FOUND = {"itemNotFound": {"code": 404,
                              "message": "The resource could not be found."}}
HOSTS = ("source_compute", "source_node", "dest_compute", "dest_node", "dest_host")


@pytest.fixture
def cloud(make_cloud):
    return make_cloud(fake__live_migration_seconds=3.0)


@pytest.fixture
def admin(cloud):
    return cloud.client("admin")


def live_migrate(client, sid, version="2.80", host=None):
    body = {"os-migrateLive": {"host": host, "block_migration": "auto"}}
    r = client.at(version).action(sid, body)
    assert r.status_code == 202, r.text


def os_migrations(admin, version="2.80", **params):
    r = admin.at(version).get("/os-migrations", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def wait_migration(admin, sid, status):
    """The server's newest migration once it has `status` (via /os-migrations)."""
    def newest():
        found = os_migrations(admin, instance_uuid=sid)["migrations"]
        return found[0] if found and found[0]["status"] == status else None
    return admin.wait_until(newest, "migration of %s to be %s" % (sid, status))


def start_running(admin, sid, version="2.80", host=None):
    live_migrate(admin, sid, version, host)
    return wait_migration(admin, sid, "running")


def force_complete(client, sid, mid, version="2.22"):
    return client.at(version).post("/servers/%s/migrations/%s/action" % (sid, mid),
                                   json={"force_complete": None})


def abort(client, sid, mid, version="2.24"):
    return client.at(version).delete("/servers/%s/migrations/%s" % (sid, mid))


# --- list, show, force-complete ---------------------------------------------------

def test_list_and_show_running_migration(admin):
    sid = admin.boot(host="host1")
    mig = start_running(admin, sid)
    running_since = time.monotonic()
    mid = mig["id"]
    for version in ("2.23", "2.59", "2.80"):
        # Tempest's ServersClient table maps 2.58-2.61 to its v2_58 module (no
        # `uuid`), skipping its own v2_59 one; Nova adds `uuid` at 2.59, so the
        # 2.59 body is checked against the first entry that has it (2.62).
        oracle = "2.62" if version == "2.59" else version
        r = admin.at(version).get("/servers/%s/migrations" % sid)
        assert r.status_code == 200, r.text
        schema_oracle.assert_valid("list_server_migrations", oracle, 200, r.json())
        (item,) = r.json()["migrations"]
        assert (item["id"], item["server_uuid"], item["status"]) == (mid, sid, "running")
        assert item["source_compute"] == "host1" and item["dest_compute"]
        assert item["memory_total_bytes"] > 0
        assert ("uuid" in item) == (version != "2.23")
        assert ("user_id" in item) == (version == "2.80")
        r = admin.at(version).get("/servers/%s/migrations/%s" % (sid, mid))
        assert r.status_code == 200, r.text
        schema_oracle.assert_valid("get_server_migration", oracle, 200, r.json())
        assert r.json()["migration"]["id"] == mid
    item = admin.at("2.80").get("/servers/%s/migrations" % sid).json()["migrations"][0]
    assert (item["uuid"], item["user_id"], item["project_id"]) == (
        mig["uuid"], "admin", "admin")
    assert item["created_at"].count(".") == 1 and not item["created_at"].endswith("Z")

    # os-migrations at each shape; links only from 2.23, for in-progress ones.
    for version in ("2.1", "2.23", "2.59", "2.80"):
        body = os_migrations(admin, version)
        schema_oracle.assert_valid("list_migrations", version, 200, body)
        (item,) = body["migrations"]
        assert ("migration_type" in item) == (version != "2.1")
        assert ("links" in item) == (version != "2.1")
        assert ("uuid" in item) == (version in ("2.59", "2.80"))
    links = os_migrations(admin)["migrations"][0]["links"]
    assert links[0]["href"].endswith("/v2.1/servers/%s/migrations/%d" % (sid, mid))
    assert links[1]["rel"] == "bookmark" and "/v2.1/" not in links[1]["href"]

    r = force_complete(admin, sid, mid)
    assert r.status_code == 202, r.text
    done = wait_migration(admin, sid, "completed")
    assert time.monotonic() - running_since < 3.0  # the transfer alone takes 3 s
    assert "links" not in done
    server = admin.wait_for(sid, status="ACTIVE", task_state=None)
    assert server["OS-EXT-SRV-ATTR:host"] == mig["dest_compute"] != "host1"
    assert admin.at("2.23").get("/servers/%s/migrations" % sid).json() == {"migrations": []}
    r = admin.at("2.23").get("/servers/%s/migrations/%s" % (sid, mid))
    assert r.status_code == 404
    assert r.json()["itemNotFound"]["message"] == (
        "Live migration %s for server %s is not in progress." % (mid, sid))


def test_rescued_server_migration_at_2_105(admin):
    sid = admin.boot(host="host1")
    r = admin.action(sid, {"rescue": {}})
    assert r.status_code == 200, r.text
    admin.wait_for(sid, status="RESCUE", task_state=None)
    mig = start_running(admin, sid, version="2.105")
    for version in ("2.80", "2.105"):
        r = admin.at(version).get("/servers/%s/migrations" % sid)
        schema_oracle.assert_valid("list_server_migrations", version, 200, r.json())
        assert [m["id"] for m in r.json()["migrations"]] == [mig["id"]]
    assert admin.at("2.105").get("/servers/%s/migrations/%s" % (
        sid, mig["id"])).json()["migration"]["status"] == "running"
    assert force_complete(admin, sid, mig["id"]).status_code == 202
    wait_migration(admin, sid, "completed")
    server = admin.wait_for(sid, status="RESCUE", task_state=None)
    assert server["OS-EXT-SRV-ATTR:host"] == mig["dest_compute"] != "host1"


# --- abort --------------------------------------------------------------------------

def test_abort_running_migration(admin):
    sid = admin.boot(host="host1")
    mig = start_running(admin, sid)
    r = abort(admin, sid, mig["id"])
    assert r.status_code == 202, r.text
    assert r.content == b""
    cancelled = wait_migration(admin, sid, "cancelled")
    assert cancelled["id"] == mig["id"]
    server = admin.wait_for(sid, status="ACTIVE", task_state=None)
    assert server["OS-EXT-SRV-ATTR:host"] == "host1"
    assert admin.at("2.24").get("/servers/%s/migrations" % sid).json() == {"migrations": []}


def test_abort_and_force_complete_errors(admin):
    sid = admin.boot(host="host1")
    first = start_running(admin, sid)
    assert force_complete(admin, sid, first["id"]).status_code == 202
    wait_migration(admin, sid, "completed")
    admin.wait_for(sid, status="ACTIVE", task_state=None)
    # Not migrating: the server's state decides first (409), as Nova.
    r = abort(admin, sid, first["id"])
    assert r.status_code == 409, r.text
    assert "task_state" in r.json()["conflictingRequest"]["message"]

    second = start_running(admin, sid)
    r = abort(admin, sid, first["id"])
    assert r.status_code == 400, r.text
    assert r.json()["badRequest"]["message"] == (
        "Migration %s state of instance %s is completed. Cannot abort live "
        "migration while the migration is in this state." % (first["id"], sid))
    r = force_complete(admin, sid, first["id"])
    assert r.status_code == 400, r.text
    assert "Cannot force complete" in r.json()["badRequest"]["message"]
    # Unknown migration: 404 to abort, 400 to force-complete (Nova's mapping).
    r = abort(admin, sid, 999)
    assert r.status_code == 404, r.text
    assert r.json()["itemNotFound"]["message"] == (
        "Migration 999 not found for instance %s" % sid)
    assert force_complete(admin, sid, 999).status_code == 400
    assert abort(admin, sid, "abc").status_code == 400
    assert force_complete(admin, sid, "abc").status_code == 400
    for bad in ({"force_complete": {}}, {"force_complete": None, "x": 1}, {"other": None}):
        r = admin.at("2.22").post("/servers/%s/migrations/%s/action" % (
            sid, second["id"]), json=bad)
        assert r.status_code == 400, (bad, r.text)
    assert abort(admin, sid, second["id"]).status_code == 202
    wait_migration(admin, sid, "cancelled")


def test_show_unknown_or_other_servers_migration_is_404(admin):
    sid = admin.boot(host="host1")
    other = admin.boot(host="host1")
    mig = start_running(admin, sid)
    for server, mid in ((sid, 999), (other, mig["id"]), (sid, "abc")):
        r = admin.at("2.23").get("/servers/%s/migrations/%s" % (server, mid))
        assert r.status_code == 404, r.text
        assert r.json()["itemNotFound"]["message"] == (
            "In-progress live migration %s is not found for server %s." % (mid, server))
    r = admin.at("2.23").get("/servers/%s/migrations" % "no-such-server")
    assert r.status_code == 404
    assert admin.at("2.23").get("/servers/%s/migrations" % other).json() == {
        "migrations": []}
    assert force_complete(admin, sid, mig["id"]).status_code == 202
    wait_migration(admin, sid, "completed")


def test_routes_below_their_microversion_are_404(admin):
    sid = admin.boot(host="host1")
    mig = start_running(admin, sid)
    path = "/servers/%s/migrations" % sid
    responses = [admin.at("2.22").get(path),
                 admin.at("2.22").get("%s/%s" % (path, mig["id"])),
                 abort(admin, sid, mig["id"], version="2.23"),
                 force_complete(admin, sid, mig["id"], version="2.21"),
                 admin.get(path)]  # no header: 2.1
    for r in responses:
        assert (r.status_code, r.json()) == (404, NOT_FOUND)
    assert wait_migration(admin, sid, "running")["id"] == mig["id"]  # untouched
    assert force_complete(admin, sid, mig["id"]).status_code == 202
    wait_migration(admin, sid, "completed")


# --- policy -------------------------------------------------------------------------

def test_member_is_forbidden_and_manager_sees_no_hosts(cloud, admin):
    member = cloud.client("alice", "projecta")
    manager = cloud.client("mgr", "projecta", roles=["manager"])
    outsider = cloud.client("eve", "projectb", roles=["manager"])
    sid = member.boot()
    source = admin.server(sid)["OS-EXT-SRV-ATTR:host"]
    r = member.at("2.80").action(sid, LIVE)
    assert r.status_code == 403, r.text
    live_migrate(manager, sid)
    mig = wait_migration(admin, sid, "running")
    assert mig["project_id"] == "projecta" and mig["user_id"] == "mgr"
    path = "/servers/%s/migrations" % sid
    item_path = "%s/%s" % (path, mig["id"])
    for r in (member.at("2.80").get(path), member.at("2.80").get(item_path),
              abort(member, sid, mig["id"]), force_complete(member, sid, mig["id"]),
              member.at("2.80").get("/os-migrations",
                                    params={"project_id": "projecta"})):
        assert r.status_code == 403, r.text
        assert "forbidden" in r.json()
    for r in (outsider.at("2.80").get(path), outsider.at("2.80").get(item_path)):
        assert r.status_code == 404, r.text

    listed = manager.at("2.80").get(path).json()
    schema_oracle.assert_valid("list_server_migrations", "2.80", 200, listed)
    shown = manager.at("2.80").get(item_path).json()["migration"]
    for item in (listed["migrations"][0], shown):
        assert all(item[k] is None for k in HOSTS), item
        assert item["status"] == "running"
    admin_item = admin.at("2.80").get(path).json()["migrations"][0]
    assert admin_item["source_compute"] == source and admin_item["dest_host"]

    # /os-migrations: a manager must name their own project (2.80+).
    own = manager.at("2.80").get("/os-migrations", params={"project_id": "projecta"})
    assert own.status_code == 200, own.text
    schema_oracle.assert_valid("list_migrations", "2.80", 200, own.json())
    (item,) = own.json()["migrations"]
    assert all(item[k] is None for k in HOSTS) and item["id"] == mig["id"]
    for version, params in (("2.80", {}), ("2.80", {"project_id": "projectb"}),
                            ("2.59", {}), ("2.1", {"project_id": "projecta"})):
        r = manager.at(version).get("/os-migrations", params=params)
        assert r.status_code == 403, (version, params, r.text)
    r = manager.at("2.59").get("/os-migrations", params={"project_id": "projecta"})
    assert r.status_code == 400  # not a 2.59 parameter
    assert outsider.at("2.80").get("/os-migrations", params={
        "project_id": "projectb"}).json() == {"migrations": []}

    assert force_complete(manager, sid, mig["id"]).status_code == 202
    wait_migration(admin, sid, "completed")


# --- /os-migrations filters and paging ------------------------------------------------

def _three_migrations(admin):
    """a: host1->host2 completed; b: host1->host3 completed; c: host3->host2 cancelled."""
    a, b = admin.boot(name="a", host="host1"), admin.boot(name="b", host="host1")
    c = admin.boot(name="c", host="host3")
    migs = {}
    for sid, dest in ((a, "host2"), (b, "host3"), (c, "host2")):
        migs[sid] = start_running(admin, sid, host=dest)
    assert force_complete(admin, a, migs[a]["id"]).status_code == 202
    assert force_complete(admin, b, migs[b]["id"]).status_code == 202
    assert abort(admin, c, migs[c]["id"]).status_code == 202
    wait_migration(admin, a, "completed")
    wait_migration(admin, b, "completed")
    wait_migration(admin, c, "cancelled")
    return a, b, c, migs


def test_os_migrations_filters_and_paging(admin):
    a, b, c, migs = _three_migrations(admin)

    def uuids(version="2.80", **params):
        return [m["instance_uuid"] for m in os_migrations(admin, version, **params)
                ["migrations"]]

    assert uuids() == [c, b, a]  # newest first
    assert uuids(instance_uuid=a) == [a]
    assert uuids(host="host1") == [b, a]
    assert uuids(host="host3") == [c, b]
    assert uuids(source_compute="host3") == [c]
    assert uuids(status="completed") == [b, a]
    assert uuids(status="cancelled") == [c]
    assert uuids(migration_type="live-migration") == [c, b, a]
    assert uuids(migration_type="resize") == []
    assert uuids(user_id="admin", project_id="admin") == [c, b, a]
    assert uuids(user_id="nobody") == []
    assert uuids(**{"changes-since": "2000-01-01T00:00:00Z"}) == [c, b, a]
    assert uuids(**{"changes-since": "2999-01-01T00:00:00Z"}) == []
    assert uuids(**{"changes-before": "2000-01-01T00:00:00Z"}) == []
    assert uuids("2.58", **{"changes-since": "2999-01-01T00:00:00Z"}) == [c, b, a]
    assert uuids("2.58", limit="1", marker="nonsense") == [c, b, a]
    assert uuids("2.58", foo="bar", user_id="nobody") == [c, b, a]  # dropped
    body = os_migrations(admin, "2.58", limit="1")
    assert "migrations_links" not in body

    # Paging by limit, following migrations_links to the end.
    seen, url = [], "/os-migrations?limit=1"
    while url:
        r = admin.at("2.80").get(url)
        assert r.status_code == 200, r.text
        # Tempest's list_migrations schemas know no `migrations_links` (Nova
        # has sent it since 2.59): check the rest of the body with them.
        schema_oracle.assert_valid("list_migrations", "2.80", 200,
                                   {"migrations": r.json()["migrations"]})
        seen += [m["uuid"] for m in r.json()["migrations"]]
        links = r.json().get("migrations_links")
        if links:
            assert links[0]["rel"] == "next"
            assert "limit=1" in links[0]["href"]
            assert "marker=%s" % seen[-1] in links[0]["href"]
        url = links[0]["href"] if links else None
    assert seen == [migs[c]["uuid"], migs[b]["uuid"], migs[a]["uuid"]]
    page = os_migrations(admin, status="completed", limit="1")
    assert "status=completed" in page["migrations_links"][0]["href"]
    rest = os_migrations(admin, status="completed", limit="5",
                         marker=page["migrations"][0]["uuid"])
    assert [m["instance_uuid"] for m in rest["migrations"]] == [a]
    assert "migrations_links" not in rest


@pytest.mark.parametrize("version, params, fragment", [
    ("2.80", {"marker": "no-such-uuid"}, "Marker no-such-uuid could not be found."),
    ("2.80", {"changes-since": "2020-01-02T00:00:00Z",
              "changes-before": "2020-01-01T00:00:00Z"}, "changes-since must be less"),
    ("2.65", {"changes-before": "2020-01-01T00:00:00Z"}, "changes-before"),
    ("2.79", {"user_id": "admin"}, "user_id"),
    ("2.59", {"foo": "bar"}, "foo"),
    ("2.80", {"limit": "-1"}, "limit"),
    ("2.80", {"changes-since": "yesterday"}, "changes-since"),
])
def test_os_migrations_bad_query_is_400(admin, version, params, fragment):
    r = admin.at(version).get("/os-migrations", params=params)
    assert r.status_code == 400, r.text
    assert fragment in r.json()["badRequest"]["message"]


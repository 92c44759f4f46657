"""/os-hypervisors over HTTP at each microversion that reshapes it.

Bodies go through tests/schema_oracle (Tempest's HypervisorClient schemas).
Tempest stops at its 2.53 schemas, which still require the usage fields Nova
drops at 2.88, so 2.88+ detail bodies are checked against that schema with
exactly Nova's 2.88 change applied (fields removed, `uptime` added).
"""
import contextlib
import copy
import threading
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from tempest.lib.common import rest_client

from lifeboat.api.microversion import APIVersion
from lifeboat.db import engine as db_engine
from tests import schema_oracle
from tests.schema_oracle import assert_valid

VERSIONS = ["2.1", "2.11", "2.28", "2.33", "2.52", "2.53", "2.58", "2.62", "2.75",
            "2.84", "2.87", "2.88", "2.104"]
REMOVED_AT_288 = ("vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used",
                  "local_gb_used", "free_ram_mb", "free_disk_gb", "current_workload",
                  "running_vms", "disk_available_least", "cpu_info")


def _validate(attr, version, response):
    module = schema_oracle.pick_module(schema_oracle._HYPERVISORS, version)  # noqa: SLF001
    rest_client.RestClient.validate_response(
        getattr(module, attr), schema_oracle._Response(response.status_code),  # noqa: SLF001
        response.json())


def _schema_288(endpoint):
    """Tempest's 2.53 detail schema with Nova's 2.88 change applied."""
    schema = copy.deepcopy(schema_oracle.schema_for(endpoint, "2.53"))
    body = schema["response_body"]["properties"]
    item = body["hypervisor"] if "hypervisor" in body else body["hypervisors"]["items"]
    for field in REMOVED_AT_288:
        item["properties"].pop(field)
        item["required"].remove(field)
    item["properties"]["uptime"] = {"type": ["string", "null"]}
    item["required"].append("uptime")
    return schema


def assert_detail_valid(endpoint, version, response):
    if APIVersion(version) >= "2.88":
        rest_client.RestClient.validate_response(
            _schema_288(endpoint), schema_oracle._Response(response.status_code),  # noqa: SLF001
            response.json())
    else:
        assert_valid(endpoint, version, response.status_code, response.json())


def _list(client, path="/os-hypervisors"):
    r = client.get(path)
    assert r.status_code == 200, r.text
    return r.json()["hypervisors"]


@pytest.mark.parametrize("version", VERSIONS)
def test_bodies_match_tempest_schemas(admin, version):
    client = admin.at(version)
    v = APIVersion(version)
    r = client.get("/os-hypervisors")
    assert_valid("list_hypervisors", version, r.status_code, r.json())
    nodes = r.json()["hypervisors"]
    assert [n["hypervisor_hostname"] for n in nodes] == ["host1", "host2", "host3"]
    assert all((n["state"], n["status"]) == ("up", "enabled") for n in nodes)

    r = client.get("/os-hypervisors/detail")
    assert_detail_valid("list_hypervisors_detail", version, r)
    detail = r.json()["hypervisors"][0]
    r = client.get("/os-hypervisors/%s" % nodes[0]["id"])
    assert_detail_valid("get_hypervisor", version, r)
    show = r.json()["hypervisor"]
    assert detail.keys() == show.keys()

    assert (show["hypervisor_type"], show["hypervisor_hostname"]) == ("fake", "host1")
    assert show["service"]["host"] == "host1"
    if v >= "2.53":
        assert str(uuid.UUID(show["id"])) == show["id"]
        assert str(uuid.UUID(show["service"]["id"])) == show["service"]["id"]
    else:
        assert isinstance(show["id"], int) and isinstance(show["service"]["id"], int)
    if v >= "2.88":
        assert not set(REMOVED_AT_288) & set(show)
        assert " up " in show["uptime"]
    else:
        assert "uptime" not in show
        assert show["vcpus"] > 0 and show["free_ram_mb"] == \
            show["memory_mb"] - show["memory_mb_used"]
        assert isinstance(show["cpu_info"], dict if v >= "2.28" else str)


def test_uptime_and_statistics(admin):
    node = _list(admin)[0]
    for version in ("2.1", "2.53", "2.87"):
        client = admin.at(version)
        ident = node["id"] if version == "2.1" else _list(client)[0]["id"]
        r = client.get("/os-hypervisors/%s/uptime" % ident)
        assert r.status_code == 200, r.text
        _validate("get_hypervisor_uptime", version, r)
        assert r.json()["hypervisor"]["hypervisor_hostname"] == "host1"
        assert " up " in r.json()["hypervisor"]["uptime"]
        r = client.get("/os-hypervisors/statistics")
        _validate("get_hypervisor_statistics", version, r)
        stats = r.json()["hypervisor_statistics"]
        assert stats["count"] == 3 and stats["vcpus"] > 0
    client = admin.at("2.88")
    ident = _list(client)[0]["id"]
    assert client.get("/os-hypervisors/%s/uptime" % ident).status_code == 404
    r = client.get("/os-hypervisors/statistics")
    assert r.status_code == 404
    assert "itemNotFound" in r.json()


def test_uptime_of_a_down_host(admin):
    admin.at("2.11").put("/os-services/force-down",
                         json={"host": "host2", "binary": "nova-compute",
                               "forced_down": True})
    node = [n for n in _list(admin) if n["hypervisor_hostname"] == "host2"][0]
    assert node["state"] == "down"
    r = admin.get("/os-hypervisors/%s/uptime" % node["id"])
    assert r.status_code == 400
    assert r.json()["badRequest"]["message"] == \
        "Compute service of host2 is unavailable at this time."
    r = admin.at("2.88").get("/os-hypervisors/detail")
    down = [n for n in r.json()["hypervisors"] if n["hypervisor_hostname"] == "host2"]
    assert down[0]["uptime"] is None


def test_status_follows_service(admin):
    admin.put("/os-services/disable-log-reason",
              json={"host": "host3", "binary": "nova-compute",
                    "disabled_reason": "retiring"})
    node = _list(admin.at("2.53"), "/os-hypervisors/detail")[2]
    assert (node["status"], node["service"]["disabled_reason"]) == \
        ("disabled", "retiring")


def test_show_errors(admin):
    r = admin.get("/os-hypervisors/abc")
    assert r.status_code == 404
    assert r.json()["itemNotFound"]["message"] == \
        "Hypervisor with ID 'abc' could not be found."
    assert admin.get("/os-hypervisors/9999").status_code == 404
    r = admin.at("2.53").get("/os-hypervisors/1")
    assert r.status_code == 400
    assert r.json()["badRequest"]["message"] == "Invalid uuid 1"
    assert admin.at("2.53").get("/os-hypervisors/%s" % uuid.uuid4()).status_code == 404
    assert admin.at("2.53").get("/os-hypervisors/1/uptime").status_code == 400
    ident = _list(admin.at("2.75"))[0]["id"]
    assert admin.at("2.75").get("/os-hypervisors/%s?foo=1" % ident).status_code == 400
    assert admin.at("2.74").get("/os-hypervisors/%s?foo=1" % ident).status_code == 200
    assert admin.at("2.53").get(
        "/os-hypervisors/%s?with_servers=maybe" % ident).status_code == 400


def test_non_admin_is_forbidden(admin, user):
    node = _list(admin)[0]
    for path in ("/os-hypervisors", "/os-hypervisors/detail",
                 "/os-hypervisors/%s" % node["id"], "/os-hypervisors/statistics",
                 "/os-hypervisors/%s/uptime" % node["id"],
                 "/os-hypervisors/host/search", "/os-hypervisors/host/servers"):
        r = user.get(path)
        assert r.status_code == 403, (path, r.text)
        assert r.json()["forbidden"]["code"] == 403


def test_search_and_servers_before_253(admin):
    server = admin.boot(name="guest", host="host2")
    client = admin.at("2.52")
    r = client.get("/os-hypervisors/host2/search")
    _validate("list_search_hypervisors", "2.52", r)
    assert [n["hypervisor_hostname"] for n in r.json()["hypervisors"]] == ["host2"]
    r = client.get("/os-hypervisors/host/search")
    assert len(r.json()["hypervisors"]) == 3
    r = client.get("/os-hypervisors/host/servers")
    _validate("get_hypervisors_servers", "2.52", r)
    by_host = {n["hypervisor_hostname"]: n for n in r.json()["hypervisors"]}
    assert by_host["host2"]["servers"] == [{"name": "guest", "uuid": server}]
    assert "servers" not in by_host["host1"]
    r = client.get("/os-hypervisors/nothing/search")
    assert r.status_code == 404
    assert r.json()["itemNotFound"]["message"] == \
        "No hypervisor matching 'nothing' could be found."
    assert client.get("/os-hypervisors/nothing/servers").status_code == 404
    assert admin.at("2.53").get("/os-hypervisors/host2/search").status_code == 404
    assert admin.at("2.53").get("/os-hypervisors/host2/servers").status_code == 404


@pytest.mark.parametrize("version", ["2.53", "2.75", "2.104"])
def test_with_servers_and_pattern(admin, version):
    server = admin.boot(name="guest", host="host1")
    client = admin.at(version)
    r = client.get("/os-hypervisors?with_servers=true")
    assert_valid("list_hypervisors", version, r.status_code, r.json())
    by_host = {n["hypervisor_hostname"]: n for n in r.json()["hypervisors"]}
    assert by_host["host1"]["servers"] == [{"name": "guest", "uuid": server}]
    if APIVersion(version) >= "2.75":
        assert by_host["host2"]["servers"] == []
    else:
        assert "servers" not in by_host["host2"]
    r = client.get("/os-hypervisors/detail?with_servers=1")
    assert_detail_valid("list_hypervisors_detail", version, r)
    ident = by_host["host1"]["id"]
    r = client.get("/os-hypervisors/%s?with_servers=yes" % ident)
    assert_detail_valid("get_hypervisor", version, r)
    assert r.json()["hypervisor"]["servers"] == [{"name": "guest", "uuid": server}]
    assert "servers" not in client.get("/os-hypervisors/%s" % ident).json()["hypervisor"]

    r = client.get("/os-hypervisors?hypervisor_hostname_pattern=host3")
    assert [n["hypervisor_hostname"] for n in r.json()["hypervisors"]] == ["host3"]
    assert "hypervisors_links" not in r.json()
    r = client.get("/os-hypervisors/detail?hypervisor_hostname_pattern=nope")
    assert r.status_code == 404
    r = client.get("/os-hypervisors?hypervisor_hostname_pattern=host&limit=1")
    assert r.status_code == 400
    assert "Paging over hypervisors" in r.json()["badRequest"]["message"]


@pytest.mark.parametrize("version", ["2.33", "2.53", "2.88"])
def test_paging(admin, version):
    client = admin.at(version)
    r = client.get("/os-hypervisors?limit=2")
    assert_valid("list_hypervisors", version, r.status_code, r.json())
    first = r.json()["hypervisors"]
    assert [n["hypervisor_hostname"] for n in first] == ["host1", "host2"]
    href = r.json()["hypervisors_links"][0]["href"]
    assert href.startswith("http://lifeboat.test/v2.1/os-hypervisors?")
    assert "marker=%s" % first[-1]["id"] in href
    r = client.get(href)
    assert [n["hypervisor_hostname"] for n in r.json()["hypervisors"]] == ["host3"]
    assert "hypervisors_links" not in r.json()
    r = client.get("/os-hypervisors/detail?limit=1")
    assert_detail_valid("list_hypervisors_detail", version, r)
    assert "/os-hypervisors/detail?" in r.json()["hypervisors_links"][0]["href"]
    r = client.get("/os-hypervisors?marker=nope")
    assert r.status_code == 400
    assert r.json()["badRequest"]["message"] == "marker [nope] not found"
    assert client.get("/os-hypervisors?limit=-1").status_code == 400


def test_no_paging_before_233(admin):
    r = admin.at("2.32").get("/os-hypervisors?limit=1&marker=zzz")
    assert r.status_code == 200
    assert len(r.json()["hypervisors"]) == 3 and "hypervisors_links" not in r.json()
    assert admin.at("2.75").get("/os-hypervisors?foo=1").status_code == 400
    assert admin.at("2.74").get("/os-hypervisors?foo=1").status_code == 200


def test_usage_after_boot(admin):
    admin.boot(host="host1", flavor="2")

    def host1():
        node = _list(admin, "/os-hypervisors/detail")[0]
        return node if node["running_vms"] == 1 else None
    node = admin.wait_until(host1, "host1 to report the new server")
    assert (node["vcpus_used"], node["memory_mb_used"], node["local_gb_used"]) == \
        (1, 2048, 20)
    stats = admin.get("/os-hypervisors/statistics").json()["hypervisor_statistics"]
    assert stats["running_vms"] == 1



def _running_vms(client):
    return {n["hypervisor_hostname"]: n["running_vms"]
            for n in _list(client, "/os-hypervisors/detail")}


def test_usage_follows_migration_and_delete(admin):
    """Each host's heartbeat re-audits its usage after it handled an instance
    arriving or leaving (not only at the periodic audit)."""
    sid = admin.boot(host="host1")
    admin.wait_until(lambda: _running_vms(admin)["host1"] == 1, "host1 to count it")
    r = admin.at("2.30").action(sid, {"os-migrateLive": {
        "host": "host2", "block_migration": "auto"}})
    assert r.status_code == 202
    admin.wait_for(sid, status="ACTIVE", task_state=None, host="host2")
    admin.wait_until(lambda: _running_vms(admin) == {"host1": 0, "host2": 1, "host3": 0},
                     "both hosts to report the move")
    assert admin.delete("/servers/%s" % sid).status_code == 204
    admin.wait_until(lambda: _running_vms(admin)["host2"] == 0, "host2 to drop it")


def test_periodic_audit_counts_what_no_rpc_announced(make_cloud):
    """A change no RPC of the host announced (here: rows written straight to
    the database, as a local delete would) shows at the periodic audit."""
    cloud = make_cloud(periodic_interval=1)
    admin = cloud.client()
    sid = admin.boot(host="host1")
    admin.wait_until(lambda: _running_vms(admin)["host1"] == 1, "host1 to count it")
    with db_engine.transaction() as s:
        s.execute(sa.text("UPDATE instances SET deleted = id WHERE uuid = :u"),
                  {"u": sid})
    admin.wait_until(lambda: _running_vms(admin)["host1"] == 0,
                     "the periodic audit to drop it")

# --- statements per request ----------------------------------------------------------

@contextlib.contextmanager
def _api_statements():
    """SQL statements the API's request threads run meanwhile (transaction
    control left out); the cloud's own services run theirs on other threads."""
    found = []

    def before(_conn, _cursor, statement, *_args):
        if threading.current_thread().name.startswith("AnyIO worker") and \
                statement.split(None, 1)[0].upper() not in ("BEGIN", "COMMIT",
                                                            "ROLLBACK"):
            found.append(statement)
    engine = db_engine.get_engine()
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield found
    finally:
        event.remove(engine, "before_cursor_execute", before)


SIX_HOSTS = tuple("host%d" % i for i in range(1, 7))


@pytest.fixture
def admin6(make_cloud):
    return make_cloud(hosts=SIX_HOSTS).client("admin")


def test_statements_do_not_grow_with_hosts(admin6):
    """Instances are read once per request for all its hosts (and only when the
    response shows them): never one statement per compute node."""
    on = {h: admin6.boot(name="on-" + h, host=h) for h in ("host1", "host4", "host6")}
    ident = {v: _list(admin6.at(v))[3]["id"] for v in ("2.1", "2.87", "2.88")}
    calls = [
        # (version, path, most statements: nodes [+ instances])
        ("2.1", "/os-hypervisors", 1),
        ("2.1", "/os-hypervisors/detail", 2),
        ("2.87", "/os-hypervisors/detail", 2),
        ("2.87", "/os-hypervisors/detail?with_servers=true", 2),
        ("2.88", "/os-hypervisors/detail", 1),
        ("2.105", "/os-hypervisors/detail?with_servers=1", 2),
        ("2.105", "/os-hypervisors?with_servers=yes", 2),
        ("2.53", "/os-hypervisors?with_servers=true&limit=4", 2),
        ("2.87", "/os-hypervisors/statistics", 2),
        ("2.1", "/os-hypervisors/host/search", 1),
        ("2.1", "/os-hypervisors/host/servers", 2),
        ("2.87", "/os-hypervisors/%s" % ident["2.87"], 2),
        ("2.88", "/os-hypervisors/%s" % ident["2.88"], 1),
        ("2.88", "/os-hypervisors/%s?with_servers=1" % ident["2.88"], 2),
        ("2.1", "/os-hypervisors/%s" % ident["2.1"], 2),
    ]
    for version, path, most in calls:
        with _api_statements() as statements:
            r = admin6.at(version).get(path)
        assert r.status_code == 200, (path, r.text)
        assert len(statements) <= most, (version, path, statements)
    body = admin6.at("2.105").get("/os-hypervisors?with_servers=1").json()
    shown = {n["hypervisor_hostname"]: n["servers"] for n in body["hypervisors"]}
    assert shown == {h: [{"name": "on-" + h, "uuid": on[h]}] if h in on else []
                     for h in SIX_HOSTS}
    r = admin6.at("2.1").get("/os-hypervisors/host/servers")
    assert [n.get("servers") for n in r.json()["hypervisors"]] == [
        [{"name": "on-" + h, "uuid": on[h]}] if h in on else None for h in SIX_HOSTS]


def test_current_workload_counts_busy_instances(admin):
    """current_workload (below 2.88): instances building or in an I/O-heavy
    task state, the same whether counted in SQL or from the listed servers."""
    busy = admin.boot(name="busy", host="host2")
    admin.boot(name="idle", host="host2")
    with db_engine.get_engine().begin() as conn:
        conn.execute(sa.text("UPDATE instances SET task_state = 'image_snapshot' "
                             "WHERE uuid = :u"), {"u": busy})
    client = admin.at("2.87")
    for query in ("", "?with_servers=true"):
        nodes = _list(client, "/os-hypervisors/detail" + query)
        assert [n["current_workload"] for n in nodes] == [0, 1, 0], query
        ident = nodes[1]["id"]
        r = client.get("/os-hypervisors/%s%s" % (ident, query))
        assert r.json()["hypervisor"]["current_workload"] == 1, query
    stats = client.get("/os-hypervisors/statistics").json()["hypervisor_statistics"]
    assert stats["current_workload"] == 1

"""Version discovery, microversion negotiation and the request plumbing every
response shares (request ids, the Lifeboat header, auth, body size), over HTTP.
"""
import json

import pytest

import lifeboat
from tests import schema_oracle
from tests.fixtures import ApiClient

TOKEN = {"X-Auth-Token": "admin:admin"}
VERSION_HEADERS = ("openstack-api-version", "x-openstack-nova-api-version")
VARY = "OpenStack-API-Version, X-OpenStack-Nova-API-Version"


def create_body(client, name="vm", **extra):
    return {"server": {"name": name, "imageRef": client.image_id(), "flavorRef": "1",
                       **extra}}


# --- version documents -----------------------------------------------------------

def test_versions_root_without_token(cloud):
    r = cloud.http.get("/")
    assert r.status_code == 200, r.text
    schema_oracle.assert_valid("versions_root", None, 200, r.json())
    versions = {v["id"]: v for v in r.json()["versions"]}
    assert set(versions) == {"v2.0", "v2.1"}
    v21 = versions["v2.1"]
    assert (v21["status"], v21["version"], v21["min_version"]) == ("CURRENT", "2.105",
                                                                   "2.1")
    assert v21["links"] == [{"rel": "self", "href": "http://lifeboat.test/v2.1/"}]
    assert versions["v2.0"]["status"] == "SUPPORTED"
    assert versions["v2.0"]["links"][0]["href"] == "http://lifeboat.test/v2/"


@pytest.mark.parametrize("path", ["/v2.1", "/v2.1/"])
def test_v21_document_without_token(cloud, path):
    r = cloud.http.get(path)
    assert r.status_code == 200, r.text
    schema_oracle.assert_valid("version_v21", None, 200, r.json())
    version = r.json()["version"]
    assert (version["id"], version["version"], version["min_version"]) == (
        "v2.1", "2.105", "2.1")
    assert {"rel": "self", "href": "http://lifeboat.test/v2.1/"} in version["links"]
    assert version["media-types"][0]["type"] == \
        "application/vnd.openstack.compute+json;version=2.1"


@pytest.mark.parametrize("path", ["/v2", "/v2/"])
def test_v2_document_without_token(cloud, path):
    r = cloud.http.get(path)
    assert r.status_code == 200, r.text
    schema_oracle.assert_valid("version_v21", None, 200, r.json())
    version = r.json()["version"]
    assert (version["id"], version["status"]) == ("v2.0", "SUPPORTED")
    assert {"rel": "self", "href": "http://lifeboat.test/v2/"} in version["links"]
    assert not set(VERSION_HEADERS) & set(r.headers)


# --- negotiation -------------------------------------------------------------------

@pytest.mark.parametrize("headers", [
    {"OpenStack-API-Version": "compute 2.60"},
    {"X-OpenStack-Nova-API-Version": "2.60"},
    {"OpenStack-API-Version": "compute 2.60", "X-OpenStack-Nova-API-Version": "2.60"},
], ids=["new", "legacy", "both"])
def test_either_header_selects_the_version(cloud, headers):
    r = cloud.http.get("/v2.1/servers/detail", headers={**TOKEN, **headers})
    assert r.status_code == 200, r.text
    assert r.headers["OpenStack-API-Version"] == "compute 2.60"
    assert r.headers["X-OpenStack-Nova-API-Version"] == "2.60"
    assert r.headers["Vary"] == VARY


def test_version_changes_the_body(cloud):
    admin = cloud.client("admin")
    sid = admin.boot()
    assert "locked" not in admin.at("2.8").server(sid)
    assert admin.at("2.9").server(sid)["locked"] is False
    # The header really selects the view: 2.47 embeds the flavor.
    assert "original_name" in admin.at("2.47").server(sid)["flavor"]
    assert "id" in admin.at("2.46").server(sid)["flavor"]
    r = cloud.http.get("/v2.1/servers/%s" % sid,
                       headers={**TOKEN, "X-OpenStack-Nova-API-Version": "2.73"})
    assert "locked_reason" in r.json()["server"]


def test_new_header_wins_over_legacy(cloud):
    r = cloud.http.get("/v2.1/servers", headers={
        **TOKEN, "OpenStack-API-Version": "compute 2.60",
        "X-OpenStack-Nova-API-Version": "2.10"})
    assert r.status_code == 200, r.text
    assert r.headers["OpenStack-API-Version"] == "compute 2.60"


def test_no_header_is_21(cloud):
    r = cloud.http.get("/v2.1/servers", headers=TOKEN)
    assert r.status_code == 200, r.text
    assert r.headers["OpenStack-API-Version"] == "compute 2.1"
    assert r.headers["X-OpenStack-Nova-API-Version"] == "2.1"
    assert r.headers["Vary"] == VARY


@pytest.mark.parametrize("headers", [
    {"OpenStack-API-Version": "compute latest"},
    {"X-OpenStack-Nova-API-Version": "latest"},
], ids=["new", "legacy"])
def test_latest_is_2105(cloud, headers):
    r = cloud.http.get("/v2.1/servers", headers={**TOKEN, **headers})
    assert r.status_code == 200, r.text
    assert r.headers["OpenStack-API-Version"] == "compute 2.105"
    assert r.headers["X-OpenStack-Nova-API-Version"] == "2.105"


@pytest.mark.parametrize("headers", [
    {"OpenStack-API-Version": "compute 2.106"},
    {"X-OpenStack-Nova-API-Version": "2.106"},
], ids=["new", "legacy"])
def test_above_maximum_is_406(cloud, headers):
    r = cloud.http.get("/v2.1/servers", headers={**TOKEN, **headers})
    assert r.status_code == 406, r.text
    assert r.json() == {"computeFault": {
        "code": 406,
        "message": "Version 2.106 is not supported by the API. Minimum is 2.1 and "
                   "maximum is 2.105."}}


@pytest.mark.parametrize("headers", [
    {"OpenStack-API-Version": "compute 2.x"},
    {"X-OpenStack-Nova-API-Version": "2.x"},
    {"OpenStack-API-Version": "compute 3"},
], ids=["new", "legacy", "no-minor"])
def test_malformed_version_is_400(cloud, headers):
    r = cloud.http.get("/v2.1/servers", headers={**TOKEN, **headers})
    assert r.status_code == 400, r.text
    message = r.json()["badRequest"]["message"]
    assert "is of invalid format. Must be of format MajorNum.MinorNum." in message


# --- /v2 legacy mode -----------------------------------------------------------------

def test_v2_legacy_ignores_versions_and_tolerates_unknown_keys(cloud):
    admin = cloud.client("admin")
    v2 = ApiClient(cloud.http, "admin", "admin", prefix="/v2")
    # Headers that would be 406 or 400 on /v2.1 are ignored here.
    for headers in ({"OpenStack-API-Version": "compute 2.106"},
                    {"X-OpenStack-Nova-API-Version": "2.x"},
                    {"X-OpenStack-Nova-API-Version": "2.73"}):
        r = v2.get("/servers", headers=headers)
        assert r.status_code == 200, r.text
        assert not set(VERSION_HEADERS) & {k.lower() for k in r.headers}
        assert "vary" not in {k.lower() for k in r.headers}

    body = create_body(admin, name="legacy", some_unknown_key="tolerated")
    r = v2.post("/servers", json=body)
    assert r.status_code == 202, r.text
    assert not set(VERSION_HEADERS) & {k.lower() for k in r.headers}
    sid = r.json()["server"]["id"]
    assert r.json()["server"]["links"][0]["href"] == \
        "http://lifeboat.test/v2/servers/%s" % sid
    admin.wait_for(sid, status="ACTIVE", task_state=None)
    # The same body is a 400 on /v2.1.
    r = admin.post("/servers", json=body)
    assert r.status_code == 400, r.text
    assert "some_unknown_key" in r.json()["badRequest"]["message"]

    # /v2 renders as 2.1 whatever the header says.
    r = v2.get("/servers/%s" % sid, headers={"X-OpenStack-Nova-API-Version": "2.73"})
    assert r.status_code == 200, r.text
    assert "locked" not in r.json()["server"]
    schema_oracle.assert_valid("get_server", None, 200, r.json())
    r = v2.action(sid, {"pause": None})
    assert r.status_code == 202, r.text
    admin.wait_for(sid, status="PAUSED", task_state=None)


# --- request plumbing ------------------------------------------------------------------

@pytest.mark.parametrize("method,path,status", [
    ("GET", "/", 200), ("GET", "/v2.1/", 200), ("GET", "/v2.1/servers", 200),
    ("GET", "/v2/servers", 200), ("GET", "/v2.1/servers/nope", 404),
    ("GET", "/v2.1/os-services", 200), ("GET", "/v2.1/flavors", 200),
    ("POST", "/v2.1/servers", 400),
])
def test_request_ids_and_lifeboat_header(cloud, method, path, status):
    r = cloud.http.request(method, path, headers=TOKEN, json={} if method == "POST"
                           else None)
    assert r.status_code == status, r.text
    rid = r.headers["x-openstack-request-id"]
    assert rid.startswith("req-") and len(rid) == len("req-") + 36
    assert r.headers["x-compute-request-id"] == rid
    assert r.headers["X-Lifeboat-Version"] == lifeboat.__version__


def test_request_ids_are_unique_and_recorded(cloud):
    admin = cloud.client("admin")
    sid = admin.boot()
    r = admin.action(sid, {"pause": None})
    assert r.status_code == 202
    rid = r.headers["x-openstack-request-id"]
    other = admin.get("/servers").headers["x-openstack-request-id"]
    assert other != rid
    r = admin.get("/servers/%s/os-instance-actions" % sid)
    assert rid in [a["request_id"] for a in r.json()["instanceActions"]]


def test_missing_token_is_401(cloud):
    for path in ("/v2.1/servers", "/v2/servers", "/v2.1/os-services"):
        r = cloud.http.get(path)
        assert r.status_code == 401, r.text
        assert r.json() == {"unauthorized": {"code": 401,
                                             "message": "Authentication required"}}
        assert r.headers["x-openstack-request-id"].startswith("req-")
    r = cloud.http.post("/v2.1/servers", json={"server": {}})
    assert r.status_code == 401, r.text


def test_project_id_in_url(cloud, user):
    sid = user.boot()
    headers = {"X-Auth-Token": "alice:projecta", "OpenStack-API-Version": "compute 2.73"}
    r = cloud.http.get("/v2.1/projecta/servers", headers=headers)
    assert r.status_code == 200, r.text
    assert [s["id"] for s in r.json()["servers"]] == [sid]
    r = cloud.http.get("/v2.1/projecta/servers/%s" % sid, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["server"]["id"] == sid
    schema_oracle.assert_valid("get_server", "2.73", 200, r.json())
    r = cloud.http.post("/v2.1/projecta/servers/%s/action" % sid, headers=headers,
                        json={"pause": None})
    assert r.status_code == 202, r.text
    user.wait_for(sid, status="PAUSED", task_state=None)
    r = cloud.http.get("/v2/projecta/servers/detail", headers=headers)
    assert r.status_code == 200, r.text
    assert [s["status"] for s in r.json()["servers"]] == ["PAUSED"]


def test_foreign_project_id_in_url_is_400(cloud, user):
    user.boot()
    r = cloud.http.get("/v2.1/projectb/servers",
                       headers={"X-Auth-Token": "alice:projecta"})
    assert r.status_code == 400, r.text
    assert "doesn't match Context's project_id" in r.json()["badRequest"]["message"]


# --- query parameters of GET /servers/{id} -----------------------------------------

def test_show_ignores_unknown_query_until_2101(admin):
    sid = admin.boot()
    for version in ("2.1", "2.75", "2.101"):
        r = admin.at(version).get("/servers/%s" % sid, params={"bogus": "1"})
        assert r.status_code == 200, (version, r.text)
        assert r.json()["server"]["id"] == sid


@pytest.mark.parametrize("version", ["2.102", "2.105"])
def test_show_rejects_unknown_query_from_2102(admin, version):
    sid = admin.boot()
    r = admin.at(version).get("/servers/%s" % sid, params={"bogus": "1"})
    assert r.status_code == 400, r.text
    assert "Additional properties are not allowed ('bogus' was unexpected)" in \
        r.json()["badRequest"]["message"]


# --- request body size ----------------------------------------------------------------

def test_body_over_max_request_body_size_is_413(make_cloud):
    cloud = make_cloud(api__max_request_body_size=4096)
    admin = cloud.client("admin")
    small = create_body(admin, metadata={"k": "v" * 200})
    big = create_body(admin, metadata={"k%d" % i: "v" * 200 for i in range(30)})
    r = admin.post("/servers", json=big)
    assert r.status_code == 413, r.text
    assert r.json() == {"overLimit": {"code": 413, "message": "Request is too large."}}
    assert admin.get("/servers").json()["servers"] == []
    r = admin.post("/servers", json=small)
    assert r.status_code == 202, r.text


def test_default_body_limit_is_nova_size(cloud):
    admin = cloud.client("admin")
    sid = admin.boot()
    padding = "x" * (114688 + 1)
    r = admin.put("/servers/%s" % sid, json={"server": {"name": padding}})
    assert r.status_code == 413, r.text
    assert "overLimit" in r.json()
    # Without a Content-Length (chunked) the limit holds too.
    def chunks():
        data = json.dumps({"server": {"name": padding}}).encode()
        for i in range(0, len(data), 8192):
            yield data[i:i + 8192]
    r = cloud.http.put("/v2.1/servers/%s" % sid, content=chunks(),
                       headers={**TOKEN, "Content-Type": "application/json"})
    assert r.status_code == 413, r.text
    assert admin.server(sid)["name"] == "vm"

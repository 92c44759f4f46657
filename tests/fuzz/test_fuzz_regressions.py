"""One deterministic test per 5xx the API fuzzer (test_fuzz_api.py) found.

Each test sends the smallest request that reproduces one bug and asserts what
point 8 of the core issue asks for: a 4xx in Nova's fault format (never a
500), and no state changed behind a failed request. They fail until the bug
they name is fixed; the docstring says where the exception comes from.
"""
import json
import logging
import time

import pytest
from fastapi.testclient import TestClient

from lifeboat.api.app import create_app
from tests.fixtures import ApiClient, CloudFixture
from tests.fuzz.test_fuzz_api import Req, _Tracebacks, check_response

pytestmark = pytest.mark.fuzz

BIG = "99999999999999999999"          # > 2**64: too large for an SQLite INTEGER
EARLY = "0001-01-01T00:00:00%2B05:00"   # valid ISO 8601; in UTC it is year 0
LATE = "9999-12-31T23:59:59-05:00"      # in UTC it is year 10000
DEEP = b"[" * 5000 + b"]" * 5000        # parses only with unbounded recursion
PATCH_TYPE = "application/openstack-images-v2.1-json-patch"


class Api:
    """Raw requests against one cloud; every response checked like the fuzzer
    checks it (status < 500, Nova fault body on a 4xx), with the server's
    traceback in the failure message."""

    def __init__(self, fixture):
        self.http = TestClient(create_app(), base_url="http://lifeboat.test",
                               raise_server_exceptions=False)
        self.admin = ApiClient(self.http, "admin", "admin")
        self.tracebacks = _Tracebacks()
        logging.getLogger("lifeboat").addHandler(self.tracebacks)

    def close(self):
        logging.getLogger("lifeboat").removeHandler(self.tracebacks)
        self.http.close()

    def send(self, method, url, body=None, version=None, ctype="application/json",
             token="admin:admin"):
        headers = [("X-Auth-Token", token)]
        if version:
            headers.append(("OpenStack-API-Version", "compute %s" % version))
        if body is not None:
            headers.append(("Content-Type", ctype))
        if isinstance(body, str):
            body = body.encode()
        elif body is not None and not isinstance(body, bytes):
            body = json.dumps(body).encode()
        req = Req(method, url, headers, body)
        self.tracebacks.take()
        resp = req.send(self.http)
        check_response(req, resp, self.tracebacks.take())
        return resp

    def refused(self, *args, **kwargs):
        """The request must be refused with a clean 4xx."""
        resp = self.send(*args, **kwargs)
        assert 400 <= resp.status_code < 500, (resp.status_code, resp.text)
        return resp


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    fixture = CloudFixture(tmp_path_factory.mktemp("fuzz-regressions")).start()
    try:
        yield fixture
    finally:
        fixture.stop()


@pytest.fixture(scope="module")
def api(cloud):
    api = Api(cloud)
    try:
        yield api
    finally:
        api.close()


@pytest.fixture(scope="module")
def server(cloud):
    return cloud.client("admin").boot("regression")


@pytest.fixture(scope="module")
def image(cloud):
    return cloud.client("admin").image_id()


# --- 1. deep JSON: RecursionError from json.loads ---------------------------------

@pytest.mark.parametrize("method,path,version", [
    ("POST", "/v2.1/servers", None),
    ("POST", "/v2.1/servers/{server}/action", None),
    ("PUT", "/v2.1/servers/{server}", None),
    ("PUT", "/v2.1/os-services/disable", None),
    ("POST", "/v2.1/servers/{server}/migrations/1/action", "2.22"),
    ("POST", "/v2/servers", None),
])
def test_deeply_nested_json_body_is_a_400(api, server, method, path, version):
    """wsgi.ApiRequest.json() catches ValueError and UnicodeDecodeError but
    not the RecursionError json.loads raises for 5000 nested arrays (5 KB,
    well under the body limit): 500 computeFault on every compute route that
    reads a body."""
    api.refused(method, path.format(server=server), DEEP, version=version)


@pytest.mark.parametrize("method,path,ctype", [
    ("POST", "/image/v2/images", "application/json"),
    ("PATCH", "/image/v2/images/{image}", PATCH_TYPE),
])
def test_deeply_nested_json_image_body_is_a_400(api, image, method, path, ctype):
    """images._json() has the same gap (RecursionError from json.loads)."""
    api.refused(method, path.format(image=image), DEEP, ctype=ctype)


# --- 2. integers beyond 64 bits reaching SQLite: OverflowError ----------------------

@pytest.mark.parametrize("param", ["minRam", "minDisk"])
def test_flavor_filter_beyond_64_bits_is_a_400(api, param):
    """flavors._int_filter() accepts any int(); db/catalog.flavor_list() then
    binds it: OverflowError "Python int too large to convert to SQLite
    INTEGER"."""
    api.refused("GET", "/v2.1/flavors/detail?%s=%s" % (param, BIG))


@pytest.mark.parametrize("suffix", ["", "/uptime"])
def test_hypervisor_id_beyond_64_bits_is_a_404(api, suffix):
    """Before 2.53 hypervisors._node() checks isdigit() only, and
    db/services.compute_node_by_id() binds the huge int: OverflowError.
    Nova answers 404 for an unknown hypervisor id."""
    resp = api.refused("GET", "/v2.1/os-hypervisors/%s%s" % (BIG, suffix))
    assert resp.status_code == 404, resp.text


def test_server_migration_id_beyond_64_bits_is_a_404(api, server):
    """migrations.server_migration_show() passes int(migration_id) to
    db/migrations.get(): OverflowError. (Abort and force_complete check the
    server's task state first, so they answer 409 here.)"""
    resp = api.refused("GET", "/v2.1/servers/%s/migrations/%s" % (server, BIG),
                       version="2.23")
    assert resp.status_code == 404, resp.text


@pytest.mark.parametrize("field", ["min_ram", "min_disk"])
def test_image_create_integer_beyond_64_bits_is_a_400(api, field):
    """image/api.create() stores min_ram/min_disk unchecked: OverflowError on
    INSERT."""
    api.refused("POST", "/image/v2/images", {"name": "big", field: 2 ** 70})


def test_image_patch_integer_beyond_64_bits_is_a_400(api, image):
    """image/api.update() likewise on UPDATE."""
    api.refused("PATCH", "/image/v2/images/%s" % image,
                [{"op": "replace", "path": "/min_ram", "value": 2 ** 70}],
                ctype=PATCH_TYPE)


# --- 3. dates whose timezone moves them out of datetime's range ---------------------

@pytest.mark.parametrize("query,version", [
    ("changes-since=%s" % EARLY, None),
    ("changes-since=%s" % LATE, None),
    ("changes-before=%s" % EARLY, "2.66"),
])
def test_server_list_changes_since_out_of_range_is_a_400(api, query, version):
    """servers._parse_time(): fromisoformat() accepts the value, then
    astimezone(timezone.utc) raises OverflowError "date value out of range"."""
    for path in ("/v2.1/servers", "/v2.1/servers/detail"):
        api.refused("GET", "%s?%s" % (path, query), version=version)


@pytest.mark.parametrize("param", ["changes-since", "changes-before"])
def test_os_migrations_changes_since_out_of_range_is_a_400(api, param):
    """migrations._parse_time(): the same astimezone() OverflowError."""
    api.refused("GET", "/v2.1/os-migrations?%s=%s" % (param, EARLY), version="2.66")


@pytest.mark.parametrize("param", ["changes-since", "changes-before"])
def test_instance_actions_changes_since_out_of_range_is_a_400(api, server, param):
    """instance_actions._time(): oslo's normalize_time() raises OverflowError,
    and only ValueError is caught."""
    api.refused("GET", "/v2.1/servers/%s/os-instance-actions?%s=%s"
                % (server, param, EARLY), version="2.66")


# --- 4. lone surrogates in JSON strings: UnicodeEncodeError -------------------------
# "\ud800" is a valid JSON escape that json.loads turns into a str that cannot
# be encoded as UTF-8: not by sqlite3 when it is bound, not by JSONResponse when
# it is echoed in a response or in an error message.

@pytest.mark.parametrize("method,path,body,version", [
    pytest.param("POST", "/v2.1/servers",
                 '{"server": {"name": "x", "imageRef": "{image}", "flavorRef": "\\udc80"}}',
                 None, id="create-flavorRef-bound-in-a-query"),
    pytest.param("POST", "/v2.1/servers/{server}/action", '{"\\ud800": null}', None,
                 id="action-name-echoed-in-the-400-message"),
    pytest.param("POST", "/v2.1/servers/{server}/action",
                 '{"lock": {"locked_reason": "\\ud800"}}', "2.73",
                 id="lock-reason-stored"),
    pytest.param("PUT", "/v2.1/os-services/disable-log-reason",
                 '{"host": "host3", "binary": "nova-compute", '
                 '"disabled_reason": "\\ud800"}', None,
                 id="service-disabled-reason-stored"),
    pytest.param("POST", "/image/v2/images", '{"name": "\\ud800"}', None,
                 id="image-name-stored"),
])
def test_lone_surrogate_in_json_is_a_4xx(api, server, image, method, path, body,
                                         version):
    """A lone surrogate must be refused at the JSON boundary (400), not raise
    UnicodeEncodeError deeper down."""
    body = body.replace("{image}", image)
    api.refused(method, path.format(server=server), body, version=version)
    if "lock" in body:  # undo, should it ever succeed
        api.send("POST", "/v2.1/servers/%s/action" % server, {"unlock": None})


def test_lone_surrogate_service_reason_253_is_a_4xx(api):
    """The 2.53 form of the same (db/services.update() binds the reason)."""
    services = api.admin.at("2.53").get("/os-services").json()["services"]
    target = next(s for s in services if s["binary"] == "nova-compute")
    try:
        api.refused("PUT", "/v2.1/os-services/%s" % target["id"],
                    '{"status": "disabled", "disabled_reason": "\\ud800"}',
                    version="2.53")
    finally:
        api.send("PUT", "/v2.1/os-services/%s" % target["id"], {"status": "enabled"},
                 version="2.53")


def test_lone_surrogate_image_patch_is_a_4xx(api, image):
    api.refused("PATCH", "/image/v2/images/%s" % image,
                '[{"op": "replace", "path": "/name", "value": "\\ud800"}]',
                ctype=PATCH_TYPE)


def test_lone_surrogate_metadata_does_not_poison_the_server_list(api, image):
    """POST /servers with metadata {"k": "\\ud800"} is accepted (202) and
    stored; from then on GET /servers/{id} and GET /servers/detail answer
    500 for everyone who can see the server (JSONResponse cannot encode it)
    until it is deleted. The create must be refused instead."""
    resp = api.send("POST", "/v2.1/servers", '{"server": {"name": "poison", '
                    '"imageRef": "%s", "flavorRef": "1", "metadata": {"k": "\\ud800"}}}'
                    % image)
    created = resp.json()["server"]["id"] if resp.status_code == 202 else None
    try:
        if created:
            api.send("GET", "/v2.1/servers/%s" % created)
        api.send("GET", "/v2.1/servers/detail")
        assert 400 <= resp.status_code < 500, (resp.status_code, resp.text)
    finally:
        if created:
            api.admin.delete("/servers/%s" % created)
            api.admin.wait_for(created, status="DELETED")


def test_rescue_with_surrogate_password_fails_before_rescuing(api, cloud):
    """The worst of the surrogate cases: rescue() runs, the server goes to
    RESCUE, and only then does the 200 body {"adminPass": "\\ud800"} fail to
    encode, so the caller gets a 500 for an action that happened."""
    admin = cloud.client("admin")
    sid = admin.boot("rescue-regression")
    try:
        resp = api.send("POST", "/v2.1/servers/%s/action" % sid,
                        '{"rescue": {"adminPass": "\\ud800"}}')
        assert 400 <= resp.status_code < 500, (resp.status_code, resp.text)
        time.sleep(0.2)
        assert admin.server(sid)["status"] == "ACTIVE"
    finally:
        admin.wait_for(sid, task_state=None)
        admin.delete("/servers/%s" % sid)


# --- 5. unbounded work: max_count ---------------------------------------------------

@pytest.mark.parametrize("field", ["max_count", "min_count"])
def test_huge_max_count_is_refused_before_creating_anything(api, image, monkeypatch,
                                                            field):
    """POST /servers with max_count (or min_count alone) = 10**20 passes the
    schema (a positive integer) and compute.api.API.create() then loops
    `for index in range(max_count)`, inserting an instance row and casting a
    build each time: the request never answers and the table grows until
    the disk is full. (Nova refuses it with 403 "Quota exceeded".) The test
    stops the loop after 50 rows, so it fails fast instead of hanging."""
    from lifeboat.db import instances as db_instances

    created = []
    real_create = db_instances.create

    def create(values):
        if len(created) >= 50:
            raise RuntimeError("one POST /servers created 50 instances and went on")
        created.append(values["uuid"])
        return real_create(values)

    monkeypatch.setattr(db_instances, "create", create)
    body = {"server": {"name": "many", "imageRef": image, "flavorRef": "1",
                       field: str(10 ** 20)}}
    try:
        api.refused("POST", "/v2.1/servers", body)
        assert not created, "%d instance rows written before the refusal" % len(created)
    finally:
        monkeypatch.undo()
        for uuid in created:
            api.admin.delete("/servers/%s" % uuid)

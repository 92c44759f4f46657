"""/os-services over HTTP: the list at each microversion that reshapes it, the
pre-2.53 action PUTs, the 2.53 uuid PUT, and DELETE, with Nova's error rules.

List bodies go through tests/schema_oracle; PUT answers through the schema the
same Tempest services client applies (enable_service, disable_log_reason,
update_forced_down, update_service) picked from its own version table.
"""
import uuid

import pytest
from tempest.lib.common import rest_client

from lifeboat.api.microversion import APIVersion
from tests import schema_oracle
from tests.schema_oracle import assert_valid

VERSIONS = ["2.1", "2.11", "2.28", "2.33", "2.53", "2.58", "2.62", "2.75", "2.84",
            "2.88", "2.104"]
BINARIES = {"nova-conductor", "nova-scheduler", "nova-compute"}


def assert_put_valid(attr, version, response):
    """Validate a PUT answer as ServicesClient.<method> would at `version`."""
    module = schema_oracle.pick_module(schema_oracle._SERVICES, version)  # noqa: SLF001
    rest_client.RestClient.validate_response(
        getattr(module, attr), schema_oracle._Response(response.status_code),  # noqa: SLF001
        response.json())


def _services(client, query=""):
    r = client.get("/os-services" + query)
    assert r.status_code == 200, r.text
    return r.json()["services"]


def _compute(client, host="host1"):
    return next(s for s in _services(client.at("2.53"), "?host=%s" % host)
                if s["binary"] == "nova-compute")


def _forbidden(r):
    assert r.status_code == 403, r.text
    assert r.json()["forbidden"]["code"] == 403


@pytest.mark.parametrize("version", VERSIONS)
def test_list_matches_tempest_schema(admin, version):
    r = admin.at(version).get("/os-services")
    assert_valid("list_services", version, r.status_code, r.json())
    services = r.json()["services"]
    assert {s["binary"] for s in services} == BINARIES
    assert sorted(s["host"] for s in services if s["binary"] == "nova-compute") == \
        ["host1", "host2", "host3"]
    for s in services:
        assert s["zone"] == ("nova" if s["binary"] == "nova-compute" else "internal")
        assert (s["status"], s["state"]) == ("enabled", "up")
        assert ("forced_down" in s) == (APIVersion(version) >= "2.11")
        if APIVersion(version) < "2.53":
            assert isinstance(s["id"], int)
        else:
            assert str(uuid.UUID(s["id"])) == s["id"]


def test_list_filters(admin):
    assert [s["host"] for s in _services(admin, "?binary=nova-compute")] == \
        ["host1", "host2", "host3"]
    assert [s["binary"] for s in _services(admin, "?host=host2")] == ["nova-compute"]
    assert _services(admin, "?host=host2&binary=nova-scheduler") == []
    assert len(_services(admin, "?host=")) == len(_services(admin))
    # Unknown parameters: ignored up to 2.74, refused from 2.75.
    assert admin.at("2.74").get("/os-services?foo=1").status_code == 200
    assert admin.at("2.75").get("/os-services?foo=1").status_code == 400


def test_non_admin_is_forbidden(admin, user):
    svc = _compute(admin)
    _forbidden(user.get("/os-services"))
    _forbidden(user.at("2.53").get("/os-services"))
    _forbidden(user.put("/os-services/disable",
                        json={"host": "host1", "binary": "nova-compute"}))
    _forbidden(user.at("2.53").put("/os-services/%s" % svc["id"],
                                   json={"status": "disabled"}))
    _forbidden(user.at("2.53").delete("/os-services/%s" % svc["id"]))
    _forbidden(user.delete("/os-services/1"))


@pytest.mark.parametrize("version", ["2.1", "2.11", "2.52"])
def test_legacy_enable_disable(admin, version):
    client = admin.at(version)
    body = {"host": "host1", "binary": "nova-compute"}
    r = client.put("/os-services/disable", json=body)
    assert r.json() == {"service": {"host": "host1", "binary": "nova-compute",
                                    "status": "disabled"}}
    assert_put_valid("enable_disable_service", version, r)
    assert _compute(admin)["status"] == "disabled"
    assert _compute(admin)["disabled_reason"] is None

    r = client.put("/os-services/disable-log-reason",
                   json=dict(body, disabled_reason="maintenance"))
    assert r.json()["service"] == {"host": "host1", "binary": "nova-compute",
                                   "status": "disabled",
                                   "disabled_reason": "maintenance"}
    assert_put_valid("disable_log_reason", version, r)
    assert _compute(admin)["disabled_reason"] == "maintenance"

    r = client.put("/os-services/enable", json=body)
    assert r.json()["service"]["status"] == "enabled"
    assert_put_valid("enable_disable_service", version, r)
    svc = _compute(admin)
    assert (svc["status"], svc["disabled_reason"]) == ("enabled", None)


def test_legacy_force_down(admin):
    body = {"host": "host2", "binary": "nova-compute"}
    # force-down does not exist before 2.11
    r = admin.at("2.10").put("/os-services/force-down", json=body)
    assert r.status_code == 404
    r = admin.at("2.11").put("/os-services/force-down", json=dict(body, forced_down=True))
    assert r.status_code == 200, r.text
    assert r.json() == {"service": {"host": "host2", "binary": "nova-compute",
                                    "forced_down": True}}
    assert_put_valid("update_forced_down", "2.11", r)
    svc = _compute(admin, "host2")
    assert (svc["forced_down"], svc["state"]) == (True, "down")
    r = admin.at("2.11").put("/os-services/force-down",
                             json=dict(body, forced_down="false"))
    assert r.json()["service"]["forced_down"] is False
    assert _compute(admin, "host2")["state"] == "up"
    r = admin.at("2.11").put("/os-services/force-down", json=body)
    assert r.status_code == 400
    assert r.json()["badRequest"]["message"] == "Missing forced_down field"


def test_legacy_errors(admin):
    client = admin.at("2.1")
    body = {"host": "host1", "binary": "nova-compute"}
    r = client.put("/os-services/disable-log-reason", json=body)
    assert r.status_code == 400
    assert r.json()["badRequest"]["message"] == "Missing disabled reason field"
    r = client.put("/os-services/disable", json={"host": "host1",
                                                 "binary": "nova-scheduler"})
    assert r.status_code == 400
    assert "Only nova-compute services can be updated" in r.text
    r = client.put("/os-services/disable", json={"host": "nohost",
                                                 "binary": "nova-compute"})
    assert r.status_code == 404
    r = client.put("/os-services/reboot", json=body)
    assert r.status_code == 404
    for bad in ({"host": "host1"}, dict(body, status="disabled"),
                dict(body, disabled_reason=""), {}):
        r = client.put("/os-services/disable", json=bad)
        assert r.status_code == 400, bad
        assert "badRequest" in r.json()
    assert admin.at("2.1").put("/os-services/disable").status_code == 400


@pytest.mark.parametrize("version", ["2.53", "2.75", "2.104"])
def test_update_by_uuid(admin, version):
    client = admin.at(version)
    svc = _compute(admin)
    path = "/os-services/%s" % svc["id"]
    r = client.put(path, json={"status": "disabled", "disabled_reason": "patching"})
    assert r.status_code == 200, r.text
    assert_put_valid("update_service", version, r)
    out = r.json()["service"]
    assert (out["id"], out["status"], out["disabled_reason"], out["state"],
            out["forced_down"], out["zone"]) == \
        (svc["id"], "disabled", "patching", "up", False, "nova")

    r = client.put(path, json={"forced_down": True})
    assert_put_valid("update_service", version, r)
    assert (r.json()["service"]["forced_down"], r.json()["service"]["state"],
            r.json()["service"]["status"]) == (True, "down", "disabled")

    r = client.put(path, json={"status": "enabled", "forced_down": "no"})
    assert_put_valid("update_service", version, r)
    out = r.json()["service"]
    assert (out["status"], out["disabled_reason"], out["forced_down"], out["state"]) == \
        ("enabled", None, False, "up")
    assert _services(admin, "?host=host1")[0]["status"] == "enabled"


def test_update_by_uuid_errors(admin):
    client = admin.at("2.53")
    svc = _compute(admin)
    path = "/os-services/%s" % svc["id"]

    def bad(body, path=path, code=400):
        r = client.put(path, json=body)
        assert r.status_code == code, (body, r.text)
        return r.json()[{400: "badRequest", 404: "itemNotFound"}[code]]["message"]

    assert bad({}).startswith("No updates were requested")
    assert bad({"disabled_reason": "why"}).startswith("No updates were requested")
    assert bad({"status": "enabled", "disabled_reason": "why"}) == \
        "Specifying 'disabled_reason' with status 'enabled' is invalid."
    bad({"status": "off"})
    bad({"forced_down": "maybe"})
    bad({"status": "disabled", "host": "host1"})
    bad({"status": "disabled", "disabled_reason": ""})
    assert bad({"status": "disabled"}, path="/os-services/disable") == \
        "Invalid uuid disable"
    assert bad({"status": "disabled"}, path="/os-services/%s" % uuid.uuid4(),
               code=404)
    scheduler = next(s for s in _services(client) if s["binary"] == "nova-scheduler")
    assert bad({"status": "disabled"}, path="/os-services/%s" % scheduler["id"]) == \
        ("Updating a nova-scheduler service is not supported. Only nova-compute "
         "services can be updated.")
    assert _compute(admin)["status"] == "enabled"


def test_delete(admin):
    server = admin.boot(host="host1")
    svc = _compute(admin, "host1")
    r = admin.at("2.53").delete("/os-services/%s" % svc["id"])
    assert r.status_code == 409
    assert r.json()["conflictingRequest"]["message"].startswith(
        "Unable to delete compute service that is hosting instances.")

    # A compute service without instances goes, and its hypervisor with it.
    host3 = _compute(admin, "host3")
    r = admin.at("2.53").delete("/os-services/%s" % host3["id"])
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert _services(admin, "?host=host3") == []
    nodes = admin.at("2.53").get("/os-hypervisors").json()["hypervisors"]
    assert "host3" not in [n["hypervisor_hostname"] for n in nodes]

    # Before 2.53 the id is the integer one.
    scheduler = next(s for s in _services(admin) if s["binary"] == "nova-scheduler")
    assert admin.delete("/os-services/%d" % scheduler["id"]).status_code == 204
    assert "nova-scheduler" not in {s["binary"] for s in _services(admin)}
    assert admin.get("/servers/%s" % server).status_code == 200


def test_delete_errors(admin):
    r = admin.delete("/os-services/abc")
    assert r.status_code == 400
    assert r.json()["badRequest"]["message"] == "Invalid input received: id must be an integer"
    r = admin.delete("/os-services/9999")
    assert r.status_code == 404
    assert r.json()["itemNotFound"]["message"] == "Service 9999 not found."
    r = admin.at("2.53").delete("/os-services/17")
    assert r.status_code == 400
    assert r.json()["badRequest"]["message"] == "Invalid uuid 17"
    missing = str(uuid.uuid4())
    assert admin.at("2.53").delete("/os-services/%s" % missing).status_code == 404

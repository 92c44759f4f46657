"""/servers/{id}/os-instance-actions over HTTP: a booted and rebooted server's
actions and events, shaped per microversion and per caller, every body checked
against Tempest's schemas (tests/schema_oracle), plus paging, time filters,
deleted servers and project isolation."""
import datetime
import hashlib

import pytest

from lifeboat.api.microversion import APIVersion
from tests.schema_oracle import assert_valid

VERSIONS = ["2.1", "2.11", "2.21", "2.28", "2.33", "2.51", "2.53", "2.58", "2.62",
            "2.66", "2.84", "2.88", "2.104"]
ACTION_KEYS = {"action", "instance_uuid", "request_id", "user_id", "project_id",
               "start_time", "message"}
EVENT_KEYS = {"event", "start_time", "finish_time", "result"}


@pytest.fixture
def rebooted(admin):
    """An admin's server, booted and hard-rebooted (two actions)."""
    sid = admin.boot(host="host1")
    r = admin.action(sid, {"reboot": {"type": "HARD"}})
    assert r.status_code == 202, r.text
    admin.wait_for(sid, status="ACTIVE", task_state=None)
    return sid


def _actions(client, sid, query=""):
    r = client.get("/servers/%s/os-instance-actions%s" % (sid, query))
    assert r.status_code == 200, r.text
    return r.json()


def _time(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f")


@pytest.mark.parametrize("version", VERSIONS)
def test_admin_view(admin, rebooted, version):
    v = APIVersion(version)
    client = admin.at(version)
    body = _actions(client, rebooted)
    assert_valid("list_instance_actions", version, 200, body)
    actions = body["instanceActions"]
    assert [a["action"] for a in actions] == ["reboot", "create"]
    for a in actions:
        assert set(a) == ACTION_KEYS | ({"updated_at"} if v >= "2.58" else set())
        assert (a["instance_uuid"], a["user_id"], a["project_id"], a["message"]) == \
            (rebooted, "admin", "admin", None)
        _time(a["start_time"])
    assert "links" not in body

    for a in actions:
        r = client.get("/servers/%s/os-instance-actions/%s" % (rebooted, a["request_id"]))
        assert r.status_code == 200, r.text
        assert_valid("get_instance_action", version, 200, r.json())
        shown = r.json()["instanceAction"]
        events = shown.pop("events")
        assert shown == a
        assert events, a["action"]
        expected = EVENT_KEYS | {"traceback"}
        if v >= "2.62":
            expected |= {"host", "hostId"}
        if v >= "2.84":
            expected |= {"details"}
        for ev in events:
            assert set(ev) == expected
            assert ev["result"] == "Success" and ev["traceback"] is None
            assert _time(ev["finish_time"]) >= _time(ev["start_time"])
        starts = [ev["start_time"] for ev in events]
        assert starts == sorted(starts, reverse=True)
        if a["action"] == "reboot":
            assert [ev["event"] for ev in events] == ["compute_reboot_instance"]
            if v >= "2.62":
                assert events[0]["host"] == "host1"
                assert events[0]["hostId"] == hashlib.sha224(b"adminhost1").hexdigest()


@pytest.mark.parametrize("version", ["2.1", "2.50", "2.51", "2.62", "2.84", "2.104"])
def test_member_view(admin, user, version):
    v = APIVersion(version)
    sid = user.boot()
    host = admin.server(sid)["OS-EXT-SRV-ATTR:host"]
    client = user.at(version)
    body = _actions(client, sid)
    assert_valid("list_instance_actions", version, 200, body)
    create = body["instanceActions"][0]
    assert (create["action"], create["user_id"], create["project_id"]) == \
        ("create", "alice", "projecta")
    r = client.get("/servers/%s/os-instance-actions/%s" % (sid, create["request_id"]))
    assert_valid("get_instance_action", version, 200, r.json())
    shown = r.json()["instanceAction"]
    if v < "2.51":
        assert "events" not in shown
        return
    for ev in shown["events"]:
        # no traceback, host or details for non-admins; hostId from 2.62
        assert set(ev) == EVENT_KEYS | ({"hostId"} if v >= "2.62" else set())
    if v >= "2.62":
        compute = [ev for ev in shown["events"]
                   if ev["event"] == "compute__do_build_and_run_instance"][0]
        assert compute["hostId"] == \
            hashlib.sha224(("projecta" + host).encode()).hexdigest()


def test_project_isolation(admin, user, rebooted):
    r = user.get("/servers/%s/os-instance-actions" % rebooted)
    assert r.status_code == 404
    assert "itemNotFound" in r.json()
    request_id = _actions(admin, rebooted)["instanceActions"][0]["request_id"]
    r = user.get("/servers/%s/os-instance-actions/%s" % (rebooted, request_id))
    assert r.status_code == 404
    other = user.as_user("bob", "projectb")
    sid = user.boot()
    assert other.get("/servers/%s/os-instance-actions" % sid).status_code == 404
    # admins see anyone's
    assert _actions(admin, sid)["instanceActions"][0]["user_id"] == "alice"


def test_not_found(admin, rebooted):
    r = admin.get("/servers/%s/os-instance-actions/req-nope" % rebooted)
    assert r.status_code == 404
    assert r.json()["itemNotFound"]["message"] == "Action req-nope not found"
    r = admin.get("/servers/00000000-0000-0000-0000-000000000000/os-instance-actions")
    assert r.status_code == 404


@pytest.mark.parametrize("version", ["2.58", "2.66", "2.104"])
def test_paging(admin, rebooted, version):
    client = admin.at(version)
    body = _actions(client, rebooted, "?limit=1")
    assert_valid("list_instance_actions", version, 200, body)
    assert [a["action"] for a in body["instanceActions"]] == ["reboot"]
    link = body["links"][0]
    assert link["rel"] == "next"
    marker = body["instanceActions"][0]["request_id"]
    assert link["href"].startswith(
        "http://lifeboat.test/v2.1/servers/%s/os-instance-actions?" % rebooted)
    assert "marker=%s" % marker in link["href"]
    r = client.get(link["href"])
    assert [a["action"] for a in r.json()["instanceActions"]] == ["create"]
    body = _actions(client, rebooted, "?marker=%s" % marker)
    assert [a["action"] for a in body["instanceActions"]] == ["create"]
    assert "links" not in body
    r = client.get("/servers/%s/os-instance-actions?marker=req-nope" % rebooted)
    assert r.status_code == 400
    assert r.json()["badRequest"]["message"] == "Marker req-nope could not be found."
    r = client.get("/servers/%s/os-instance-actions?limit=-1" % rebooted)
    assert r.status_code == 400


def test_no_paging_before_258(admin, rebooted):
    body = _actions(admin.at("2.57"), rebooted, "?limit=1&changes-since=2999-01-01T00:00:00Z")
    assert [a["action"] for a in body["instanceActions"]] == ["reboot", "create"]
    assert "links" not in body


def test_changes_since_and_before(admin, rebooted):
    client = admin.at("2.66")
    actions = _actions(client, rebooted)["instanceActions"]
    reboot_updated = actions[0]["updated_at"]
    body = _actions(client, rebooted, "?changes-since=%sZ" % reboot_updated)
    assert [a["action"] for a in body["instanceActions"]] == ["reboot"]
    body = _actions(client, rebooted, "?changes-since=2999-01-01T00:00:00Z")
    assert body["instanceActions"] == []
    body = _actions(client, rebooted, "?changes-before=2000-01-01T00:00:00Z")
    assert body["instanceActions"] == []
    body = _actions(client, rebooted, "?changes-before=2999-01-01T00:00:00%2B00:00")
    assert len(body["instanceActions"]) == 2
    r = client.get("/servers/%s/os-instance-actions?changes-since=2020-01-02T00:00:00Z"
                   "&changes-before=2020-01-01T00:00:00Z" % rebooted)
    assert r.status_code == 400
    assert r.json()["badRequest"]["message"] == \
        "The value of changes-since must be less than or equal to changes-before."
    r = client.get("/servers/%s/os-instance-actions?changes-since=yesterday" % rebooted)
    assert r.status_code == 400
    # changes-before arrives at 2.66; unknown parameters are refused from 2.58
    r = admin.at("2.65").get(
        "/servers/%s/os-instance-actions?changes-before=2999-01-01T00:00:00Z" % rebooted)
    assert r.status_code == 400
    assert admin.at("2.58").get(
        "/servers/%s/os-instance-actions?foo=1" % rebooted).status_code == 400


def test_deleted_server(admin, rebooted):
    assert admin.delete("/servers/%s" % rebooted).status_code == 204
    admin.wait_for(rebooted, status="DELETED")
    assert admin.at("2.20").get(
        "/servers/%s/os-instance-actions" % rebooted).status_code == 404
    body = _actions(admin.at("2.21"), rebooted)
    assert_valid("list_instance_actions", "2.21", 200, body)
    assert [a["action"] for a in body["instanceActions"]] == ["delete", "reboot", "create"]
    request_id = body["instanceActions"][0]["request_id"]
    r = admin.at("2.84").get("/servers/%s/os-instance-actions/%s" % (rebooted, request_id))
    assert r.status_code == 200, r.text
    assert_valid("get_instance_action", "2.84", 200, r.json())

"""Requests the compute API must refuse, with Nova's status codes and messages.

Every action in a state Nova does not allow is a 409 `conflictingRequest` with
`Cannot '<method>' instance <uuid> while it is in vm_state|task_state <state>`;
a locked server refuses its non-admin owner with `Instance <uuid> is locked`;
lookups, policy and malformed requests give 404/403/400 with Nova's fault
names. Two requests racing on one server: exactly one wins, every time.
"""
import threading

import pytest

LIVE = {"os-migrateLive": {"host": None, "block_migration": "auto"}}
NO_SERVER = "7f0c1a52-4a37-4a8e-9d43-000000000000"


def live_body(version):
    """os-migrateLive with the scheduler choosing, as `version` wants it."""
    if version == "2.1":
        return {"os-migrateLive": {"host": None, "block_migration": False,
                                   "disk_over_commit": False}}
    return LIVE


def conflict(sid, method, attr, state):
    return {"conflictingRequest": {
        "code": 409,
        "message": "Cannot '%s' instance %s while it is in %s %s" % (
            method, sid, attr, state)}}


def locked(sid):
    return {"conflictingRequest": {"code": 409,
                                   "message": "Instance %s is locked" % sid}}


def bad_request(message):
    return {"badRequest": {"code": 400, "message": message}}


def assert_refused(client, sid, body, expected, status=409):
    r = client.action(sid, body)
    assert r.status_code == status, (body, r.status_code, r.text)
    assert r.json() == expected, body


def actions(client, sid):
    r = client.get("/servers/%s/os-instance-actions" % sid)
    assert r.status_code == 200, r.text
    return sorted(a["action"] for a in r.json()["instanceActions"])


def rescued(admin, sid):
    r = admin.action(sid, {"rescue": None})
    assert r.status_code == 200, r.text
    return admin.wait_for(sid, status="RESCUE", task_state=None)


def stopped(admin, sid):
    r = admin.action(sid, {"os-stop": None})
    assert r.status_code == 202, r.text
    return admin.wait_for(sid, status="SHUTOFF", task_state=None)


# --- wrong vm_state ------------------------------------------------------------------

def test_rescued_server_refuses(admin):
    sid = admin.boot()
    rescued(admin, sid)
    before = actions(admin, sid)
    assert_refused(admin, sid, {"rescue": None}, conflict(sid, "rescue", "vm_state",
                                                          "rescued"))
    # Tempest's test_rescued_vm_reboot: a HARD reboot of a rescued server is 409.
    assert_refused(admin, sid, {"reboot": {"type": "HARD"}},
                   conflict(sid, "reboot", "vm_state", "rescued"))
    assert_refused(admin, sid, {"reboot": {"type": "SOFT"}},
                   conflict(sid, "reboot", "vm_state", "rescued"))
    for action, method in (("pause", "pause"), ("suspend", "suspend"),
                           ("os-start", "start"), ("os-stop", "stop")):
        assert_refused(admin, sid, {action: None},
                       conflict(sid, method, "vm_state", "rescued"))
    # Nova's answer up to 2.104 (2.105 may move rescued servers).
    for version in ("2.1", "2.104"):
        assert_refused(admin.at(version), sid, live_body(version),
                       conflict(sid, "os-migrateLive", "vm_state", "rescued"))
    server = admin.server(sid)
    assert (server["status"], server["OS-EXT-STS:task_state"]) == ("RESCUE", None)
    assert actions(admin, sid) == before, "a refused request must not record an action"
    r = admin.at("2.59").get("/os-migrations", params={"instance_uuid": sid})
    assert r.status_code == 200, r.text
    assert r.json()["migrations"] == []


def test_active_server_refuses(admin):
    sid = admin.boot()
    assert_refused(admin, sid, {"unrescue": None},
                   conflict(sid, "unrescue", "vm_state", "active"))
    assert_refused(admin, sid, {"os-start": None},
                   conflict(sid, "start", "vm_state", "active"))
    assert_refused(admin, sid, {"unpause": None},
                   conflict(sid, "unpause", "vm_state", "active"))
    assert_refused(admin, sid, {"resume": None},
                   conflict(sid, "resume", "vm_state", "active"))
    assert admin.server(sid)["status"] == "ACTIVE"
    assert actions(admin, sid) == ["create"]


def test_paused_server_refuses(admin):
    sid = admin.boot()
    assert admin.action(sid, {"pause": None}).status_code == 202
    admin.wait_for(sid, status="PAUSED", task_state=None)
    assert_refused(admin, sid, {"pause": None}, conflict(sid, "pause", "vm_state",
                                                         "paused"))
    assert_refused(admin, sid, {"suspend": None},
                   conflict(sid, "suspend", "vm_state", "paused"))
    assert_refused(admin, sid, {"reboot": {"type": "SOFT"}},
                   conflict(sid, "reboot", "vm_state", "paused"))
    assert_refused(admin, sid, {"rescue": None},
                   conflict(sid, "rescue", "vm_state", "paused"))
    assert admin.server(sid)["status"] == "PAUSED"


def test_stopped_server_refuses(admin):
    sid = admin.boot()
    stopped(admin, sid)
    assert_refused(admin, sid, {"os-stop": None}, conflict(sid, "stop", "vm_state",
                                                           "stopped"))
    assert_refused(admin, sid, {"pause": None}, conflict(sid, "pause", "vm_state",
                                                         "stopped"))
    assert_refused(admin, sid, {"reboot": {"type": "SOFT"}},
                   conflict(sid, "reboot", "vm_state", "stopped"))
    for version in ("2.1", "2.25", "2.104", "2.105"):
        assert_refused(admin.at(version), sid, live_body(version),
                       conflict(sid, "os-migrateLive", "vm_state", "stopped"))
    server = admin.server(sid)
    assert (server["status"], server["OS-EXT-STS:power_state"]) == ("SHUTOFF", 4)
    # A HARD reboot of a SHUTOFF server is allowed (Nova: it starts it).
    assert admin.action(sid, {"reboot": {"type": "HARD"}}).status_code == 202
    admin.wait_for(sid, status="ACTIVE", task_state=None)


# --- wrong task_state ----------------------------------------------------------------

def test_actions_during_hard_reboot(make_cloud):
    cloud = make_cloud(fake__reboot_seconds=1.0)
    admin = cloud.client("admin")
    sid = admin.boot()
    assert admin.action(sid, {"reboot": {"type": "HARD"}}).status_code == 202
    server = admin.server(sid)
    assert (server["status"], server["OS-EXT-STS:task_state"]) == (
        "HARD_REBOOT", "rebooting_hard")
    for body, method in (({"pause": None}, "pause"), ({"suspend": None}, "suspend"),
                         ({"os-stop": None}, "stop"), ({"rescue": None}, "rescue"),
                         ({"reboot": {"type": "SOFT"}}, "reboot"),
                         (LIVE, "os-migrateLive")):
        client = admin.at("2.104") if method == "os-migrateLive" else admin
        assert_refused(client, sid, body,
                       conflict(sid, method, "task_state", "rebooting_hard"))
    # A vm_state check fails first when both are wrong, as in Nova.
    assert_refused(admin, sid, {"os-start": None},
                   conflict(sid, "start", "vm_state", "active"))
    assert_refused(admin, sid, {"unrescue": None},
                   conflict(sid, "unrescue", "vm_state", "active"))
    # Everything above happened while the reboot was still running.
    assert admin.server(sid)["OS-EXT-STS:task_state"] == "rebooting_hard"
    server = admin.wait_for(sid, status="ACTIVE", task_state=None)
    assert server["OS-EXT-STS:power_state"] == 1
    assert actions(admin, sid) == ["create", "reboot"]
    # And once it is over the same requests work again.
    assert admin.action(sid, {"pause": None}).status_code == 202
    admin.wait_for(sid, status="PAUSED", task_state=None)


# --- locks ------------------------------------------------------------------------

def test_admin_lock_refuses_owner_but_not_admin(admin, user):
    sid = user.boot()
    r = admin.at("2.73").action(sid, {"lock": {"locked_reason": "forensics"}})
    assert r.status_code == 202, r.text
    for body in ({"pause": None}, {"suspend": None}, {"os-stop": None},
                 {"reboot": {"type": "SOFT"}}, {"reboot": {"type": "HARD"}},
                 {"rescue": None}):
        assert_refused(user, sid, body, locked(sid))
    r = user.delete("/servers/%s" % sid)
    assert r.status_code == 409, r.text
    assert r.json() == locked(sid)
    # The owner may not lift an admin's lock (unlock_override is admin-only).
    r = user.action(sid, {"unlock": None})
    assert r.status_code == 403, r.text
    assert "forbidden" in r.json()
    server = user.at("2.73").server(sid)
    assert (server["status"], server["locked"], server["locked_reason"]) == (
        "ACTIVE", True, "forensics")
    assert actions(admin, sid) == ["create", "lock"]

    # The admin is not held by the lock.
    assert admin.action(sid, {"pause": None}).status_code == 202
    admin.wait_for(sid, status="PAUSED", task_state=None)
    assert admin.action(sid, {"unpause": None}).status_code == 202
    admin.wait_for(sid, status="ACTIVE", task_state=None)
    assert admin.action(sid, {"unlock": None}).status_code == 202
    assert user.action(sid, {"pause": None}).status_code == 202
    user.wait_for(sid, status="PAUSED", task_state=None)


def test_owner_lock(user):
    sid = user.boot()
    assert user.action(sid, {"lock": None}).status_code == 202
    assert_refused(user, sid, {"os-stop": None}, locked(sid))
    assert user.action(sid, {"unlock": None}).status_code == 202
    assert user.action(sid, {"os-stop": None}).status_code == 202
    user.wait_for(sid, status="SHUTOFF", task_state=None)


def test_lock_is_checked_before_state_for_reboot(admin, user):
    sid = user.boot()
    rescued(admin, sid)
    assert admin.action(sid, {"lock": None}).status_code == 202
    assert_refused(user, sid, {"rescue": None}, locked(sid))  # rescue: lock first
    assert_refused(user, sid, {"reboot": {"type": "HARD"}}, locked(sid))


# --- lookups, policy and malformed requests ---------------------------------------------

def test_unknown_and_foreign_servers_are_404(cloud, user):
    not_found = {"itemNotFound": {"code": 404, "message": "Instance %s could not be "
                                                          "found." % NO_SERVER}}
    for client in (cloud.client("admin"), user):
        r = client.get("/servers/%s" % NO_SERVER)
        assert (r.status_code, r.json()) == (404, not_found)
        r = client.action(NO_SERVER, {"pause": None})
        assert (r.status_code, r.json()) == (404, not_found)
        r = client.delete("/servers/%s" % NO_SERVER)
        assert (r.status_code, r.json()) == (404, not_found)

    sid = user.boot()
    bob = cloud.client("bob", "projectb")
    foreign = {"itemNotFound": {"code": 404, "message": "Instance %s could not be "
                                                        "found." % sid}}
    for method, args in (("get", ("/servers/%s" % sid,)),
                         ("delete", ("/servers/%s" % sid,)),
                         ("put", ("/servers/%s" % sid, {"server": {"name": "x"}})),
                         ("action", (sid, {"pause": None})),
                         ("action", (sid, {"rescue": None}))):
        r = getattr(bob, method)(*args)
        assert (r.status_code, r.json()) == (404, foreign), (method, r.text)
    assert sid not in [s["id"] for s in bob.get("/servers").json()["servers"]]
    server = user.server(sid)
    assert (server["name"], server["status"]) == ("vm", "ACTIVE")


def test_non_admin_os_services_is_403(admin, user):
    r = user.get("/os-services")
    assert r.status_code == 403, r.text
    assert r.json() == {"forbidden": {
        "code": 403,
        "message": "Policy doesn't allow os_compute_api:os-services:list to be "
                   "performed."}}
    assert admin.get("/os-services").status_code == 200
    sid = user.boot()
    # os-migrateLive is admin-only too.
    r = user.at("2.104").action(sid, LIVE)
    assert r.status_code == 403, r.text
    assert "forbidden" in r.json()


def test_malformed_action_requests_are_400(admin):
    sid = admin.boot()
    r = admin.action(sid, {"x": None})
    assert (r.status_code, r.json()) == (400, bad_request("There is no such action: x"))
    r = admin.action(sid, {"pause": None, "suspend": None})
    assert r.status_code == 400, r.text
    assert r.json()["badRequest"]["message"].startswith("Malformed request body")
    r = admin.post("/servers/%s/action" % sid, content=b'{"pause": nul',
                   headers={"Content-Type": "application/json"})
    assert (r.status_code, r.json()) == (400, bad_request("Malformed request body"))
    r = admin.action(sid, {"reboot": {"type": "bogus"}})
    assert r.status_code == 400, r.text
    assert "bogus" in r.json()["badRequest"]["message"]
    r = admin.action(sid, {"reboot": {}})
    assert r.status_code == 400, r.text
    assert "'type' is a required property" in r.json()["badRequest"]["message"]
    r = admin.action(sid, {"rescue": {"adminPass": "x", "bogus": 1}})
    assert r.status_code == 400, r.text
    # The body is checked before the server is looked up, as in Nova.
    r = admin.action(NO_SERVER, {"x": None})
    assert r.status_code == 400, r.text
    server = admin.server(sid)
    assert (server["status"], server["OS-EXT-STS:task_state"]) == ("ACTIVE", None)
    assert actions(admin, sid) == ["create"]


@pytest.mark.parametrize("body", [{"pause": None, "suspend": None}, {}],
                         ids=["two-keys", "no-key"])
def test_action_body_key_count_message(admin, body):
    sid = admin.boot()
    r = admin.action(sid, body)
    assert (r.status_code, r.json()) == (400, bad_request("Malformed request body"))


# --- races ------------------------------------------------------------------------

def _race(client, sid, bodies):
    """Send `bodies` at the same moment from one thread each; the responses."""
    barrier = threading.Barrier(len(bodies))
    results = [None] * len(bodies)

    def send(i, body):
        barrier.wait()
        results[i] = client.action(sid, body)
    threads = [threading.Thread(target=send, args=(i, b)) for i, b in enumerate(bodies)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert all(r is not None for r in results), "a racing request did not finish"
    return results


def _one_winner(sid, results, methods):
    codes = sorted(r.status_code for r in results)
    assert codes[1] == 409 and codes[0] in (200, 202), [r.text for r in results]
    (winner,) = [i for i, r in enumerate(results) if r.status_code < 300]
    loser = results[1 - winner].json()["conflictingRequest"]
    assert loser["code"] == 409
    method = methods[1 - winner]
    assert loser["message"].startswith("Cannot '%s' instance %s while it is in "
                                       % (method, sid)), loser
    return winner


def test_racing_pause_and_suspend_one_wins(admin):
    sid = admin.boot()
    wins = [0, 0]
    for _ in range(20):
        results = _race(admin, sid, [{"pause": None}, {"suspend": None}])
        winner = _one_winner(sid, results, ["pause", "suspend"])
        wins[winner] += 1
        status, undo = (("PAUSED", {"unpause": None}) if winner == 0
                        else ("SUSPENDED", {"resume": None}))
        admin.wait_for(sid, status=status, task_state=None)
        assert admin.action(sid, undo).status_code == 202
        admin.wait_for(sid, status="ACTIVE", task_state=None)
    names = actions(admin, sid)
    # One recorded action per accepted request, none for the refused ones.
    assert names.count("pause") == wins[0] and names.count("suspend") == wins[1]
    assert names.count("unpause") + names.count("resume") == 20


def test_racing_rescues_one_wins(admin):
    sid = admin.boot()
    for _ in range(20):
        results = _race(admin, sid, [{"rescue": None}, {"rescue": None}])
        winner = _one_winner(sid, results, ["rescue", "rescue"])
        assert results[winner].status_code == 200
        assert results[winner].json()["adminPass"]
        admin.wait_for(sid, status="RESCUE", task_state=None)
        assert admin.action(sid, {"unrescue": None}).status_code == 202
        admin.wait_for(sid, status="ACTIVE", task_state=None)
    names = actions(admin, sid)
    assert names.count("rescue") == 20 and names.count("unrescue") == 20

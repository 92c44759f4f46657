"""What survives a restart of the whole cloud, and what the periodic tasks do
on their own (rescue_timeout), observed over HTTP.
"""
import pytest

from tests.fixtures import CloudFixture

STATE_KEYS = ("status", "OS-EXT-STS:vm_state", "OS-EXT-STS:task_state",
              "OS-EXT-SRV-ATTR:host", "name")


@pytest.fixture
def clouds(tmp_path):
    """Start clouds one after another on one state directory; stops them all."""
    state = tmp_path / "state"
    started = []

    def start(**overrides):
        if started and started[-1].cloud is not None:
            started[-1].stop()
            started[-1].cloud = started[-1].http = None
        fixture = CloudFixture(state, **overrides).start()
        started.append(fixture)
        return fixture
    yield start
    for fixture in reversed(started):
        if fixture.cloud is not None:
            fixture.stop()


def snapshot(admin, sid):
    server = admin.server(sid)
    return {k: server[k] for k in STATE_KEYS}


def action_names(client, sid):
    r = client.get("/servers/%s/os-instance-actions" % sid)
    assert r.status_code == 200, r.text
    return sorted(a["action"] for a in r.json()["instanceActions"])


def _prepare(admin):
    """Three servers on three hosts: one ACTIVE, one rescued, one stopped."""
    active = admin.boot(name="active", host="host1")
    rescued = admin.boot(name="rescued", host="host2")
    stopped = admin.boot(name="stopped", host="host3")
    r = admin.action(rescued, {"rescue": None})
    assert r.status_code == 200, r.text
    r = admin.action(stopped, {"os-stop": None})
    assert r.status_code == 202, r.text
    admin.wait_for(rescued, status="RESCUE", task_state=None)
    admin.wait_for(stopped, status="SHUTOFF", task_state=None)
    return active, rescued, stopped


def test_restart_keeps_servers(clouds):
    first = clouds()
    admin = first.client("admin")
    active, rescued, stopped = _prepare(admin)
    before = {sid: snapshot(admin, sid) for sid in (active, rescued, stopped)}
    assert [before[s]["status"] for s in (active, rescued, stopped)] == [
        "ACTIVE", "RESCUE", "SHUTOFF"]
    assert [before[s]["OS-EXT-SRV-ATTR:host"] for s in (active, rescued, stopped)] == [
        "host1", "host2", "host3"]
    actions_before = {sid: action_names(admin, sid) for sid in before}

    second = clouds()
    admin = second.client("admin")
    after = {sid: snapshot(admin, sid) for sid in before}
    assert after == before
    assert {sid: action_names(admin, sid) for sid in before} == actions_before
    assert admin.server(stopped)["OS-EXT-STS:power_state"] == 4
    r = admin.get("/servers/detail")
    assert {s["id"] for s in r.json()["servers"]} == set(before)
    assert admin.get("/os-services").json()["services"]  # services re-registered


def test_restarted_cloud_boots_and_deletes(clouds):
    admin = clouds().client("admin")
    active, rescued, stopped = _prepare(admin)

    admin = clouds().client("admin")
    new = admin.boot(name="after-restart")
    assert admin.server(new)["OS-EXT-SRV-ATTR:host"] in ("host1", "host2", "host3")
    assert admin.delete("/servers/%s" % active).status_code == 204
    admin.wait_for(active, status="DELETED")
    assert {s["id"] for s in admin.get("/servers").json()["servers"]} == {
        rescued, stopped, new}
    # State checks still hold for the old servers.
    r = admin.action(rescued, {"rescue": None})
    assert r.status_code == 409, r.text
    r = admin.action(stopped, {"os-stop": None})
    assert r.status_code == 409, r.text


def test_restarted_cloud_acts_on_old_servers(clouds):
    admin = clouds().client("admin")
    active, rescued, stopped = _prepare(admin)

    admin = clouds().client("admin")
    for sid, body in ((rescued, {"unrescue": None}), (stopped, {"os-start": None}),
                      (active, {"pause": None})):
        r = admin.action(sid, body)
        assert r.status_code == 202, r.text
    # Each of these takes milliseconds in the fake driver; 3 s is generous.
    expected = {rescued: ("ACTIVE", "host2", 1), stopped: ("ACTIVE", "host3", 1),
                active: ("PAUSED", "host1", 3)}

    def settled():
        seen = {}
        for sid in expected:
            server = admin.server(sid)
            if server["OS-EXT-STS:task_state"] is not None:
                return None
            seen[sid] = (server["status"], server["OS-EXT-SRV-ATTR:host"],
                         server["OS-EXT-STS:power_state"])
        return seen
    assert admin.wait_until(settled, "the three actions to finish", timeout=3) == \
        expected


def test_rescue_timeout_unrescues_by_itself(make_cloud):
    cloud = make_cloud(rescue_timeout=1, periodic_interval=1)
    admin = cloud.client("admin")
    sid = admin.boot()
    kept = admin.boot(name="never-rescued")
    r = admin.action(sid, {"rescue": None})
    assert r.status_code == 200, r.text
    admin.wait_for(sid, status="RESCUE", task_state=None)
    server = admin.wait_for(sid, status="ACTIVE", task_state=None, timeout=6)
    assert (server["OS-EXT-STS:vm_state"], server["OS-EXT-STS:power_state"]) == (
        "active", 1)
    assert action_names(admin, sid) == ["create", "rescue", "unrescue"]
    assert action_names(admin, kept) == ["create"]
    assert admin.server(kept)["status"] == "ACTIVE"

"""Test fixtures: a whole cloud in the test process, driven over HTTP.

`CloudFixture` starts the same services `lifeboat-all-in-one` runs (same code,
same in-process RPC) on a fresh state directory, and `ApiClient` speaks HTTP to
the real ASGI app, with helpers that wait on state with a deadline.
"""
import time

from fastapi.testclient import TestClient

from lifeboat import conf
from lifeboat.conf import CONF
from lifeboat.db import engine as db_engine

DEFAULT_TIMEOUT = 10.0


class ApiClient:
    """HTTP client for one user; every call returns the httpx Response."""

    def __init__(self, http, user="admin", project="admin", version=None, roles=None,
                 prefix="/v2.1"):
        self.http = http
        self.user = user
        self.project = project
        self.version = version
        self.roles = roles
        self.prefix = prefix

    def as_user(self, user, project=None, version=None, roles=None):
        return ApiClient(self.http, user, project or user, version or self.version,
                         roles, self.prefix)

    def at(self, version):
        return ApiClient(self.http, self.user, self.project, version, self.roles,
                         self.prefix)

    def headers(self, extra=None):
        h = {"X-Auth-Token": "%s:%s" % (self.user, self.project)}
        if self.version:
            h["OpenStack-API-Version"] = "compute %s" % self.version
            h["X-OpenStack-Nova-API-Version"] = self.version
        if self.roles:
            h["X-Roles"] = ",".join(self.roles)
        h.update(extra or {})
        return h

    def request(self, method, path, json=None, headers=None, **kw):
        url = path if path.startswith("/image") or path.startswith("http") \
            else self.prefix + path
        return self.http.request(method, url, json=json,
                                 headers=self.headers(headers), **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, json=None, **kw):
        return self.request("POST", path, json=json, **kw)

    def put(self, path, json=None, **kw):
        return self.request("PUT", path, json=json, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def action(self, server_id, body, **kw):
        return self.post("/servers/%s/action" % server_id, json=body, **kw)

    # --- conveniences --------------------------------------------------
    def image_id(self, name="cirros"):
        r = self.get("/image/v2/images?name=%s" % name)
        assert r.status_code == 200, r.text
        return r.json()["images"][0]["id"]

    def server(self, server_id):
        r = self.get("/servers/%s" % server_id)
        assert r.status_code == 200, r.text
        return r.json()["server"]

    def boot(self, name="vm", flavor="1", host=None, wait=True, **extra):
        version = self.version or "2.1"
        if host:
            version = max(version, "2.74", key=_vkey)
        body = {"server": {"name": name, "imageRef": self.image_id(),
                           "flavorRef": flavor, **extra}}
        if host:
            body["server"]["host"] = host
        if _vkey(version) >= (2, 37):
            body["server"].setdefault("networks", "none")
        r = self.at(version).post("/servers", json=body)
        assert r.status_code == 202, r.text
        server_id = r.json()["server"]["id"]
        if wait:
            self.wait_for(server_id, status="ACTIVE", task_state=None)
        return server_id

    def wait_for(self, server_id, status=None, task_state="any", host=None,
                 timeout=DEFAULT_TIMEOUT):
        """Wait until the server shows `status` (and task_state/host if given)."""
        deadline = time.monotonic() + timeout
        admin = self.as_user("admin", "admin", self.version)
        last = None
        while time.monotonic() < deadline:
            r = admin.get("/servers/%s" % server_id)
            if r.status_code == 404 and status == "DELETED":
                return None
            last = r.json().get("server", r.json())
            ok = (status is None or last.get("status") == status) and \
                (task_state == "any" or last.get("OS-EXT-STS:task_state") == task_state) \
                and (host is None or last.get("OS-EXT-SRV-ATTR:host") == host)
            if ok:
                return last
            time.sleep(0.01)
        raise AssertionError("server %s did not reach status=%s task_state=%s host=%s "
                             "within %.1fs; last seen: %s" % (
                                 server_id, status, task_state, host, timeout,
                                 {k: last.get(k) for k in (
                                     "status", "OS-EXT-STS:vm_state",
                                     "OS-EXT-STS:task_state", "OS-EXT-SRV-ATTR:host",
                                     "fault")} if last else None))

    def wait_until(self, predicate, what, timeout=DEFAULT_TIMEOUT):
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.01)
        raise AssertionError("timed out after %.1fs waiting for %s (last: %r)"
                             % (timeout, what, value))


def _vkey(v):
    major, minor = v.split(".")
    return int(major), int(minor)


class CloudFixture:
    """A running all-in-one cloud on `state_path` with `overrides` applied."""

    def __init__(self, state_path, hosts=("host1", "host2", "host3"), **overrides):
        self.state_path = str(state_path)
        self.hosts = list(hosts)
        self.overrides = overrides
        self.cloud = None
        self.http = None

    def start(self):
        from lifeboat.api import policy
        from lifeboat.api.app import create_app
        from lifeboat.cloud import Cloud
        conf.parse_args([])
        CONF.set_override("state_path", self.state_path)
        CONF.set_override("compute_hosts", self.hosts, group="all_in_one")
        CONF.set_override("report_interval", 1)
        for key, value in self.overrides.items():
            group, _, name = key.rpartition("__")
            CONF.set_override(name, value, group=group or None)
        db_engine.dispose()
        policy.reset()
        self.cloud = Cloud().start()
        self.http = TestClient(create_app(), base_url="http://lifeboat.test")
        return self

    def client(self, user="admin", project=None, version=None, roles=None):
        return ApiClient(self.http, user, project or user, version, roles)

    def stop(self):
        if self.http is not None:
            self.http.close()
        if self.cloud is not None:
            self.cloud.stop()
        db_engine.dispose()
        CONF.reset()
        CONF.clear_override("state_path")
        for key in list(self.overrides) + ["all_in_one__compute_hosts",
                                           "report_interval"]:
            group, _, name = key.rpartition("__")
            CONF.clear_override(name, group=group or None)

"""The `lifeboat` CLI against a real all-in-one cloud served over HTTP.

The CLI runs in a subprocess (the installed console script) so argv, the
environment, clouds.yaml and openstacksdk's own HTTP stack are all real; the
cloud runs in this process (CloudFixture's services plus uvicorn in a thread)
so tests can set up servers through the fixture's client and tune the
simulated hypervisor between tests.
"""
import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from lifeboat.cli import connection
from lifeboat.conf import CONF
from tests.blueprint.helpers import migrations_of, rescue
from tests.fixtures import CloudFixture

LIFEBOAT = str(Path(sys.prefix) / "bin" / "lifeboat")
FAST = ("--poll-interval", "0.05")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_answering(url, timeout=15.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.05)


class Live:
    """The running cloud: `admin` (in-process client), `base`, and the CLI."""

    def __init__(self, fixture, base, config_dir):
        self.fixture = fixture
        self.admin = fixture.client("admin")
        self.base = base
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        self.env.update(OS_CLIENT_CONFIG_FILE=str(config_dir / "clouds.yaml"),
                        COLUMNS="250", NO_COLOR="1")

    def cli(self, *args, env=None, cloud="test", timeout=60):
        argv = [LIFEBOAT] + (["--os-cloud", cloud] if cloud else []) + list(args)
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              env=dict(self.env, **(env or {})))


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    from lifeboat.api.app import create_app
    from lifeboat.cloud import serve_api
    port = _free_port()
    fixture = CloudFixture(tmp_path_factory.mktemp("cli-state"),
                           api__listen="127.0.0.1", api__port=port).start()
    stop = threading.Event()
    thread = threading.Thread(target=serve_api, args=(create_app(), stop),
                              daemon=True)
    thread.start()
    base = "http://127.0.0.1:%d" % port
    config_dir = tmp_path_factory.mktemp("cli-config")
    (config_dir / "clouds.yaml").write_text(
        "clouds:\n"
        "  test:\n"
        "    auth_type: admin_token\n"
        "    auth:\n"
        "      endpoint: %(base)s/v2.1\n"
        "      token: \"admin:admin\"\n"
        "    compute_endpoint_override: %(base)s/v2.1\n"
        "    image_endpoint_override: %(base)s/image\n" % {"base": base})
    try:
        _wait_answering(base + "/v2.1/")
        yield Live(fixture, base, config_dir)
    finally:
        stop.set()
        thread.join(10)
        fixture.stop()


@contextlib.contextmanager
def fake(**values):
    """Tune the simulated hypervisor ([fake] options are read per migration)."""
    for name, value in values.items():
        CONF.set_override(name, value, group="fake")
    try:
        yield
    finally:
        for name in values:
            CONF.clear_override(name, group="fake")


def _ok(result):
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result


def _running_migration(admin, server_id):
    """Wait until the server's migration is listed in progress (not accepted)."""
    return admin.wait_until(
        lambda: [m for m in admin.at("2.80").get(
            "/servers/%s/migrations" % server_id).json()["migrations"]
            if m["status"] == "running"],
        "a running migration of %s" % server_id)[0]


# --- live-migrate --------------------------------------------------------------

def test_rescued_server_moves_at_2_105_and_stays_rescued(live):
    admin = live.admin
    sid = admin.boot(name="cli-rescued", host="host1")
    rescue(admin, sid)
    with fake(live_migration_seconds=0.6):
        r = _ok(live.cli("server", "live-migrate", sid, "--wait", *FAST))
    assert "2.105" in r.stdout
    server = admin.server(sid)
    assert server["status"] == "RESCUE" and server["OS-EXT-STS:task_state"] is None
    assert server["OS-EXT-SRV-ATTR:host"] != "host1"
    assert "host1 -> %s" % server["OS-EXT-SRV-ATTR:host"] in r.stdout
    assert "completed" in r.stdout


def test_host_option_and_lookup_by_name(live):
    admin = live.admin
    sid = admin.boot(name="cli-by-name", host="host1")
    _ok(live.cli("server", "live-migrate", "cli-by-name", "--host", "host3",
                 "--block-migration", "true", "--wait", *FAST))
    server = admin.wait_for(sid, status="ACTIVE", task_state=None, host="host3")
    assert server["OS-EXT-SRV-ATTR:host"] == "host3"


def test_without_wait_returns_once_accepted(live):
    admin = live.admin
    sid = admin.boot(name="cli-nowait", host="host1")
    r = _ok(live.cli("server", "live-migrate", sid, "--host", "host2"))
    assert "accepted" in r.stdout
    admin.wait_for(sid, status="ACTIVE", task_state=None, host="host2")


def test_shutoff_server_is_nova_409_and_exit_1(live):
    admin = live.admin
    sid = admin.boot(name="cli-shutoff", host="host1")
    assert admin.action(sid, {"os-stop": None}).status_code == 202
    admin.wait_for(sid, status="SHUTOFF", task_state=None)
    r = live.cli("server", "live-migrate", sid, "--wait", *FAST)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "HTTP 409" in r.stderr
    assert ("Cannot 'os-migrateLive' instance %s while it is in vm_state stopped"
            % sid) in r.stderr.replace("\n", "")
    assert migrations_of(admin, sid) == []


def test_rescued_at_nova_microversion_gets_nova_409(live):
    """What the CLI does against Nova (max 2.104): Nova's refusal, exit 1."""
    admin = live.admin
    sid = admin.boot(name="cli-nova", host="host1")
    rescue(admin, sid)
    r = live.cli("--microversion", "2.104", "server", "live-migrate", sid, "--wait")
    assert r.returncode == 1
    assert "HTTP 409" in r.stderr and "vm_state rescued" in r.stderr
    assert admin.server(sid)["OS-EXT-SRV-ATTR:host"] == "host1"


def test_failed_migration_exits_1_and_says_why(live):
    admin = live.admin
    sid = admin.boot(name="cli-fails", host="host1")
    with fake(hosts_failing_live_migration=["host2"]):
        r = live.cli("server", "live-migrate", sid, "--host", "host2", "--wait", *FAST)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "did not move" in r.stderr
    server = admin.server(sid)
    assert (server["status"], server["OS-EXT-SRV-ATTR:host"]) == ("ACTIVE", "host1")


def test_unknown_server_exits_1(live):
    r = live.cli("server", "live-migrate", "no-such-server")
    assert r.returncode == 1 and "no-such-server" in r.stderr


# --- server migration ... -------------------------------------------------------

def test_migration_list_shows_the_completed_migration(live):
    admin = live.admin
    sid = admin.boot(name="cli-list", host="host1")
    _ok(live.cli("server", "live-migrate", sid, "--host", "host2", "--wait", *FAST))
    rows = json.loads(_ok(live.cli("server", "migration", "list", sid,
                                   "--format", "json")).stdout)
    assert len(rows) == 1
    row = rows[0]
    assert (row["status"], row["type"], row["source"], row["dest"]) == (
        "completed", "live-migration", "host1", "host2")
    assert row["uuid"] == migrations_of(admin, sid)[0]["uuid"]
    table = _ok(live.cli("server", "migration", "list", sid)).stdout
    assert "completed" in table and row["uuid"] in table


def test_abort_cancels_and_the_server_stays_on_its_source(live):
    admin = live.admin
    sid = admin.boot(name="cli-abort", host="host1")
    with fake(live_migration_seconds=30):
        _ok(live.cli("server", "live-migrate", sid, "--host", "host2"))
        migration = _running_migration(admin, sid)
        rows = json.loads(_ok(live.cli("server", "migration", "list", sid,
                                       "--format", "json")).stdout)
        assert rows[0]["status"] == "running"
        assert rows[0]["memory_total_bytes"] > 0
        _ok(live.cli("server", "migration", "abort", sid, str(migration["id"])))
        server = admin.wait_for(sid, status="ACTIVE", task_state=None)
    assert server["OS-EXT-SRV-ATTR:host"] == "host1"
    assert migrations_of(admin, sid)[0]["status"] == "cancelled"


def test_force_complete_by_uuid_finishes_early(live):
    admin = live.admin
    sid = admin.boot(name="cli-force", host="host1")
    rescue(admin, sid)
    with fake(live_migration_seconds=20):
        _ok(live.cli("server", "live-migrate", sid, "--host", "host3"))
        migration = _running_migration(admin, sid)
        _ok(live.cli("server", "migration", "force-complete", sid, migration["uuid"]))
        admin.wait_for(sid, status="RESCUE", task_state=None, host="host3")
    assert migrations_of(admin, sid)[0]["status"] == "completed"


def test_abort_of_a_finished_migration_is_the_apis_error(live):
    admin = live.admin
    sid = admin.boot(name="cli-late-abort", host="host1")
    _ok(live.cli("server", "live-migrate", sid, "--wait", *FAST))
    mid = migrations_of(admin, sid)[0]["id"]
    r = live.cli("server", "migration", "abort", sid, str(mid))
    assert r.returncode == 1 and "HTTP 409" in r.stderr


def test_os_environment_variables_without_clouds_yaml(live):
    admin = live.admin
    sid = admin.boot(name="cli-env", host="host1")
    env = {"OS_CLIENT_CONFIG_FILE": os.devnull, "OS_AUTH_TYPE": "admin_token",
           "OS_ENDPOINT": live.base + "/v2.1", "OS_TOKEN": "admin:admin"}
    rows = json.loads(_ok(live.cli("server", "migration", "list", sid, "--format",
                                   "json", env=env, cloud=None)).stdout)
    assert rows == []


# --- microversion choice (no real Nova needed) ------------------------------------

NOVA_DOC = {"version": {"id": "v2.1", "status": "CURRENT", "version": "2.100",
                        "min_version": "2.1"}}


def _doc(max_version, min_version="2.1"):
    return {"version": dict(NOVA_DOC["version"], version=max_version,
                            min_version=min_version)}


@pytest.mark.parametrize("server_max, expected", [
    ("2.100", "2.100"), ("2.104", "2.104"), ("2.105", "2.104"), ("2.120", "2.104"),
    ("2.96", "2.96")])
def test_nova_gets_its_own_maximum_never_beyond_2_104(server_max, expected):
    headers = {"Content-Type": "application/json", "OpenStack-API-Version":
               "compute 2.1"}
    assert connection.choose_microversion(headers, _doc(server_max)) == (expected,
                                                                        False)


@pytest.mark.parametrize("server_max, expected", [
    ("2.105", "2.105"), ("2.104", "2.104"), ("2.110", "2.105")])
def test_lifeboat_gets_2_105(server_max, expected):
    headers = {"x-lifeboat-version": "0.1.0"}
    assert connection.choose_microversion(headers, _doc(server_max)) == (expected, True)


def test_version_list_document_and_explicit_choice():
    doc = {"versions": [{"id": "v2.0", "status": "SUPPORTED", "version": "",
                         "min_version": ""},
                        {"id": "v2.1", "status": "CURRENT", "version": "2.99",
                         "min_version": "2.1"}]}
    assert connection.choose_microversion({}, doc) == ("2.99", False)
    assert connection.choose_microversion({}, doc, requested="2.60") == ("2.60", False)
    assert connection.choose_microversion({}, {}) == ("2.1", False)
    with pytest.raises(connection.CliError):
        connection.choose_microversion({}, _doc("2.110", min_version="2.105"))
    with pytest.raises(connection.CliError):
        connection.choose_microversion({}, NOVA_DOC, requested="latest")


def test_version_document_url_drops_project_id():
    assert connection.version_document_url("http://n:8774/v2.1") == "http://n:8774/v2.1/"
    assert connection.version_document_url(
        "https://n/compute/v2.1/0123abcd/") == "https://n/compute/v2.1/"
    assert connection.version_document_url("http://n/v2") == "http://n/v2/"


def test_live_endpoint_is_detected_as_lifeboat(live):
    """The same single GET the CLI does, on the real server."""
    with urllib.request.urlopen(live.base + "/v2.1/") as r:
        headers, doc = dict(r.headers), json.load(r)
    assert connection.choose_microversion(headers, doc) == ("2.105", True)


# --- a Nova-like endpoint (no X-Lifeboat-Version) ----------------------------------

class _NovaStub:
    """Just enough of upstream Nova (max 2.100) for one live-migrate call."""

    SERVER = "9f0b7a4e-3c1d-4c55-9a0e-0c2f6f6e1b11"

    def __init__(self):
        import http.server
        self.actions = []
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, body=None):
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                path = self.path.split("?")[0].rstrip("/")
                if path in ("", "/v2.1"):
                    self._send(200, _doc("2.100"))
                elif path == "/v2.1/servers/%s" % stub.SERVER:
                    self._send(200, {"server": {
                        "id": stub.SERVER, "name": "vm", "status": "RESCUE",
                        "OS-EXT-SRV-ATTR:host": "h1",
                        "OS-EXT-STS:task_state": None}})
                else:
                    self._send(404, {"itemNotFound": {
                        "code": 404, "message": "not found"}})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                stub.actions.append((self.headers.get("OpenStack-API-Version"),
                                     json.loads(self.rfile.read(length))))
                self._send(409, {"conflictingRequest": {
                    "code": 409, "message": "Cannot 'os-migrateLive' instance %s "
                    "while it is in vm_state rescued" % stub.SERVER}})

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_against_nova_uses_novas_maximum_and_reports_its_refusal(live):
    stub = _NovaStub()
    try:
        env = {"OS_CLIENT_CONFIG_FILE": os.devnull, "OS_AUTH_TYPE": "admin_token",
               "OS_ENDPOINT": stub.base + "/v2.1", "OS_TOKEN": "admin:admin"}
        r = live.cli("server", "live-migrate", stub.SERVER, env=env, cloud=None)
    finally:
        stub.server.shutdown()
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "HTTP 409" in r.stderr and "vm_state rescued" in r.stderr
    assert stub.actions == [("compute 2.100", {"os-migrateLive": {
        "host": None, "block_migration": "auto"}})]

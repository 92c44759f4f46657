"""Helpers of the clients suite: run a CLI, wait on server state over raw HTTP."""
import json
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.prefix) / "bin"


class CliError(AssertionError):
    def __init__(self, argv, result):
        self.result = result
        super().__init__("%s exited %s\nstdout: %s\nstderr: %s" % (
            " ".join(argv), result.returncode, result.stdout[-2000:],
            result.stderr[-3000:]))


def run_cli(stack, program, *args, cloud="admin", timeout=120, check=True, env=None):
    """Run a CLI (openstack, nova, lifeboat) against `cloud` of clouds.yaml."""
    argv = [str(BIN / program)]
    if cloud:
        argv += ["--os-cloud", cloud]
    argv += [str(a) for a in args]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                            env=dict(stack.env, **(env or {})))
    if check and result.returncode != 0:
        raise CliError(argv, result)
    return result


def openstack(stack, *args, cloud="admin", check=True):
    """Run python-openstackclient's own entry point (`openstackclient.shell.main`,
    what the `openstack` script calls) in this process: the same argv parsing,
    clouds.yaml, keystoneauth and openstacksdk, without paying ~2 s of imports per
    command. Returns a CompletedProcess-like result."""
    import contextlib
    import io
    import logging
    import os

    from openstackclient import shell
    from osc_lib import clientmanager
    # OSC caches each service's client handle on osc_lib's ClientManager class
    # (one process, one cloud): forget them so this command builds its own.
    for handle in vars(clientmanager.ClientManager).values():
        if isinstance(handle, clientmanager.ClientCache):
            handle._handle = None  # noqa: SLF001
    argv = ["--os-cloud", cloud] + [str(a) for a in args]
    out, err = io.StringIO(), io.StringIO()
    saved = dict(os.environ)
    root_handlers = list(logging.getLogger().handlers)
    try:
        os.environ.clear()
        os.environ.update(stack.env)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = shell.main(argv)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        logging.getLogger().handlers[:] = root_handlers
    result = subprocess.CompletedProcess(["openstack"] + argv, code or 0,
                                         out.getvalue(), err.getvalue())
    if check and result.returncode != 0:
        raise CliError(result.args, result)
    return result


def osc(stack, *args, cloud="admin", check=True):
    """`openstack ... -f json` (in process, see `openstack`), parsed."""
    result = openstack(stack, *(list(args) + ["-f", "json"]), cloud=cloud, check=check)
    return json.loads(result.stdout) if result.returncode == 0 else result


class Api:
    """Raw HTTP to one Lifeboat as one identity (a token), to check state fast."""

    def __init__(self, lifeboat, token):
        self.lifeboat = lifeboat
        self.token = token

    def get(self, path, version="2.1"):
        status, _, body = self.lifeboat.request("GET", "/v2.1" + path, self.token,
                                                version=version)
        assert status == 200, (path, status, body)
        return body

    def server(self, server_id, version="2.1"):
        return self.get("/servers/%s" % server_id, version)["server"]

    def wait(self, server_id, status, host=None, task_state=None, timeout=60):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            code, _, body = self.lifeboat.request(
                "GET", "/v2.1/servers/%s" % server_id, self.token, version="2.1")
            if code == 404 and status == "DELETED":
                return None
            last = (body or {}).get("server", body)
            if code == 200 and last["status"] == status \
                    and last["OS-EXT-STS:task_state"] == task_state \
                    and (host is None or last["OS-EXT-SRV-ATTR:host"] == host):
                return last
            time.sleep(0.1)
        raise AssertionError("server %s not %s (host %s) in %ss; last: %s" % (
            server_id, status, host, timeout, last))

    def migrations(self, server_id):
        """In-progress migrations of the server (Nova lists only those there)."""
        return self.get("/servers/%s/migrations" % server_id, "2.80")["migrations"]

    def all_migrations(self, server_id):
        return self.get("/os-migrations?instance_uuid=%s" % server_id,
                        "2.80")["migrations"]

    def wait_running_migration(self, server_id, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            running = [m for m in self.migrations(server_id) if m["status"] == "running"]
            if running:
                return running[0]
            time.sleep(0.05)
        raise AssertionError("no running migration of %s" % server_id)

    def boot(self, name, host=None, version="2.74"):
        images = self.lifeboat.request("GET", "/image/v2/images?name=cirros",
                                       self.token)[2]["images"]
        body = {"server": {"name": name, "imageRef": images[0]["id"], "flavorRef": "1",
                           "networks": "none"}}
        if host:
            body["server"]["host"] = host
        status, _, out = self.lifeboat.request("POST", "/v2.1/servers", self.token,
                                               body=body, version=version)
        assert status == 202, out
        server_id = out["server"]["id"]
        self.wait(server_id, "ACTIVE")
        return server_id

    def action(self, server_id, body, version="2.1"):
        return self.lifeboat.request("POST", "/v2.1/servers/%s/action" % server_id,
                                     self.token, body=body, version=version)

"""The `lifeboat` CLI with a clouds.yaml pointing at Keystone (cloud `admin`):
password auth, the catalog's compute endpoint, a token Lifeboat validates."""
import json

import pytest

from tests.clients.helpers import Api, run_cli

pytestmark = pytest.mark.clients


def test_live_migrate_rescued_server_through_keystone(stack):
    api = Api(stack.lifeboat_ks, stack.token("admin"))
    sid = api.boot("lb-cli", host="host1")
    status, _, body = api.action(sid, {"rescue": None})
    assert status == 200, body
    api.wait(sid, "RESCUE")

    result = run_cli(stack, "lifeboat", "server", "live-migrate", sid, "--wait",
                     "--poll-interval", "0.1")
    assert "2.105" in result.stdout
    server = api.wait(sid, "RESCUE", host="host2")
    assert server["OS-EXT-SRV-ATTR:host"] == "host2"

    listed = run_cli(stack, "lifeboat", "server", "migration", "list", sid,
                     "--format", "json")
    migrations = json.loads(listed.stdout)
    assert [m["status"] for m in migrations] == ["completed"], migrations

    status, _, _ = api.action(sid, {"unrescue": None})
    assert status == 202
    api.wait(sid, "ACTIVE", host="host2")


def test_reader_may_not_live_migrate(stack, tmp_path):
    api = Api(stack.lifeboat_ks, stack.token("admin"))
    sid = api.boot("lb-cli-reader")
    result = run_cli(stack, "lifeboat", "server", "live-migrate", sid, cloud="reader",
                     check=False)
    assert result.returncode != 0
    # the reader (project demo) cannot even see the admin project's server
    assert "no server found" in result.stderr.lower(), result.stderr

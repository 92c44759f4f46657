"""lifeboat_tempest_plugin against real guests (issue 5, point 8).

The libvirt cloud's API process is restarted with `auth_strategy = keystone`
behind a real Keystone (tests/clients/services.py), and Tempest, unmodified,
runs the plugin's tests: a real TCG guest is booted, rescued, live-migrated
at 2.105 (block migration) to the other libvirt host, unrescued there; and
the negative cases (2.104 -> 409, unrescue during the migration -> 409).
Afterwards the API goes back to noauth2 for the other tests of this suite.
"""
import json
import time

import pytest

from tests.clients import services, tempest_run
from tests.libvirt import helpers as lh

pytestmark = [pytest.mark.libvirt, pytest.mark.timeout(900)]

PLUGIN_TESTS = 4


@pytest.fixture(scope="module")
def keystone_cloud(lifeboat_cloud, two_hosts, tmp_path_factory):
    cloud, admin, images = lifeboat_cloud
    two_hosts.use_shared_storage(False)
    work = tmp_path_factory.mktemp("libvirt-tempest")
    stub = services.NetworkStub().start()
    keystone = services.Keystone(work / "keystone")
    try:
        keystone.start()
        keystone.setup_identity("http://127.0.0.1:%d" % cloud.port, network_url=stub.url)
        cloud.restart_control(api={"auth_strategy": "keystone"},
                              keystone_authtoken=services.authtoken_options(keystone))
        yield cloud, keystone, images, work
    finally:
        cloud.restart_control()   # noauth2 again for the rest of the suite
        keystone.stop()
        stub.stop()


def test_plugin_passes_against_real_guests(keystone_cloud, two_hosts):
    cloud, keystone, images, work = keystone_cloud
    completed = "SELECT COUNT(*) AS n FROM migrations WHERE status = 'completed'"
    before = cloud.query(completed)[0]["n"]
    ws = tempest_run.workspace(
        work / "tempest", keystone, None, None, images=(images["boot"], images["boot"]),
        flavor_ref="lb128", flavor_ref_alt="lb512", build_timeout=300,
        migration_wait_timeout=300)
    results = tempest_run.run(ws, tempest_run.PLUGIN, concurrency=2, timeout=780)
    summary = results.by_module()
    (ws / "summary.json").write_text(json.dumps(summary, indent=1, sort_keys=True))
    print("\nTempest plugin against libvirt guests:\n" + results.summary())
    assert results.failures() == {}, "\n\n".join(
        "%s\n%s" % (t, d[-3000:]) for t, d in results.failures().items())
    passed = [t for t, (status, _) in results.tests.items()
              if status == "success" and t.startswith("lifeboat_tempest_plugin.")]
    assert len(passed) == PLUGIN_TESTS, (summary, results.proc.stdout[-3000:])
    # Three of the plugin's tests live-migrated a rescued guest between the
    # two libvirt hosts.
    assert cloud.query(completed)[0]["n"] - before == 3
    # Tempest deleted its servers: no guest is left on either host.
    deadline = time.monotonic() + 120
    while any(lh.domains(two_hosts, h) for h in lh.KEYS) and time.monotonic() < deadline:
        time.sleep(1)
    assert {h: lh.domains(two_hosts, h) for h in lh.KEYS} == {"lbA": {}, "lbB": {}}

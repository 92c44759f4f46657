"""Generate a tempest.conf for Lifeboat + Keystone, run Tempest, count results.

Tempest runs unmodified from this venv (`tempest init` workspace in a temp dir,
`tempest run --regex ...`); every skip comes from Tempest's own configuration
logic. The plugin in lifeboat_tempest_plugin/ is found through its
`tempest.test_plugins` entry point, or, if the package is not installed with
that entry point, through TEMPEST_PLUGIN_PATH below.
"""
import json
import os
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from tests.clients import services

REPO = Path(__file__).resolve().parents[2]
TEMPEST = str(Path(sys.prefix) / "bin" / "tempest")
STESTR = str(Path(sys.prefix) / "bin" / "stestr")

# The modules the issue requires, as regexes on test ids.
UPSTREAM = [
    r"tempest\.api\.compute\.servers\.test_server_rescue\.",
    r"tempest\.api\.compute\.servers\.test_server_rescue_negative\.",
    r"tempest\.api\.compute\.admin\.test_live_migration\.",
    r"tempest\.api\.compute\.admin\.test_live_migration_negative\.",
    r"tempest\.api\.compute\.admin\.test_services\.",
    r"tempest\.api\.compute\.admin\.test_hypervisor\.",
    r"tempest\.api\.compute\.test_versions\.",
    r"tempest\.api\.compute\.flavors\.",
]
PLUGIN = [r"lifeboat_tempest_plugin\."]


def image_ids(lifeboat, token):
    status, _, body = lifeboat.request("GET", "/image/v2/images", token)
    assert status == 200, body
    by_name = {i["name"]: i["id"] for i in body["images"]}
    return by_name["cirros"], by_name.get("cirros-rescue", by_name["cirros"])


def conf_text(keystone, lifeboat, image_ref, image_ref_alt, log_file="tempest.log",
              flavor_ref="1", flavor_ref_alt="2", build_timeout=60,
              migration_wait_timeout=120):
    """The tempest.conf used in CI (docs/clients.md shows it). The keyword
    arguments differ for real guests (tests/libvirt/test_tempest_plugin.py):
    their flavors, and timeouts for TCG boots and real memory copies."""
    return """\
[DEFAULT]
log_file = %(log_file)s

[auth]
use_dynamic_credentials = True
create_isolated_networks = False
admin_username = admin
admin_password = %(password)s
admin_project_name = admin
admin_domain_name = Default
tempest_roles =

[identity]
uri_v3 = %(ks)s
auth_version = v3
region = %(region)s
v3_endpoint_type = public

[identity-feature-enabled]
api_v2 = False

[service_available]
nova = True
glance = True
neutron = True
cinder = False
swift = False
horizon = False
placement = False

[compute]
region = %(region)s
endpoint_type = publicURL
image_ref = %(image_ref)s
image_ref_alt = %(image_ref_alt)s
flavor_ref = %(flavor_ref)s
flavor_ref_alt = %(flavor_ref_alt)s
min_microversion = 2.1
max_microversion = latest
min_compute_nodes = 2
build_timeout = %(build_timeout)s
build_interval = 1

[compute-feature-enabled]
rescue = True
stable_rescue = False
live_migration = True
block_migration_for_live_migration = True
live_migrate_back_and_forth = False
can_migrate_between_any_hosts = True
pause = True
suspend = True
shelve = False
shelve_migrate = False
resize = False
cold_migration = False
console_output = False
interface_attach = False
snapshot = False
change_password = False
serial_console = False
vnc_console = False
spice_console = False
config_drive = False
personality = False
metadata_service = False
attach_encrypted_volume = False
volume_multiattach = False
ide_bus = False
nova_policy_roles = admin,manager,member,reader,service

[enforce_scope]
nova = True
keystone = False
glance = False

[network]
public_network_id =
floating_network_name =
shared_physical_network = False

[network-feature-enabled]
api_extensions =
floating_ips = False
ipv6 = False

[image]
region = %(region)s

[image-feature-enabled]
api_v2 = True

[validation]
run_validation = False

[lifeboat]
rescued_live_migration = True
migration_wait_timeout = %(migration_wait_timeout)s
""" % {"ks": keystone.url, "region": services.REGION, "password": services.PASSWORD,
       "image_ref": image_ref, "image_ref_alt": image_ref_alt, "log_file": log_file,
       "flavor_ref": flavor_ref, "flavor_ref_alt": flavor_ref_alt,
       "build_timeout": build_timeout, "migration_wait_timeout": migration_wait_timeout}


def workspace(path, keystone, lifeboat, token, images=None, **conf):
    """A Tempest workspace at `path` with the generated etc/tempest.conf:
    `images` is (image_ref, image_ref_alt), by default the seeded cirros
    images; `conf` goes to conf_text."""
    path = Path(path)
    if not (path / ".stestr.conf").exists():
        # A workspace registry of its own: nothing under ~/.tempest changes.
        subprocess.run([TEMPEST, "init", "--workspace-path",
                        str(path.parent / "tempest-workspaces.yaml"), str(path)],
                       check=True, capture_output=True, text=True, timeout=120,
                       cwd=str(path.parent))
    image_ref, image_ref_alt = images or image_ids(lifeboat, token)
    (path / "etc" / "tempest.conf").write_text(conf_text(
        keystone, lifeboat, image_ref, image_ref_alt,
        log_file=str(path / "tempest.log"), **conf))
    return path


def plugin_shim(path):
    """A directory whose dist-info declares the plugin's entry point, for a
    checkout where lifeboat is installed without it (None when installed)."""
    from importlib import metadata
    if metadata.entry_points(group="tempest.test_plugins", name="lifeboat"):
        return None
    shim = Path(path) / "plugin-shim"
    info = shim / "lifeboat_tempest_plugin-0.0.0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: lifeboat-tempest-plugin"
                                   "\nVersion: 0.0.0\n")
    (info / "entry_points.txt").write_text(
        "[tempest.test_plugins]\nlifeboat = "
        "lifeboat_tempest_plugin.plugin:LifeboatTempestPlugin\n")
    return str(shim)


def run(path, regexes, concurrency=2, timeout=480, env=None):
    """Run Tempest in workspace `path`; returns Results."""
    regex = "|".join("(%s)" % r for r in regexes)
    env = dict(env or os.environ, TEMPEST_CONFIG_DIR=str(Path(path) / "etc"),
               TEMPEST_CONFIG="tempest.conf")
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in [str(REPO), plugin_shim(path), env.get("PYTHONPATH")] if p)
    proc = subprocess.run(
        [TEMPEST, "run", "--regex", regex, "--concurrency", str(concurrency)],
        cwd=str(path), capture_output=True, text=True, timeout=timeout, env=env)
    subunit = subprocess.run([STESTR, "last", "--subunit"], cwd=str(path),
                             capture_output=True, timeout=120)
    return Results(proc, subunit.stdout)


class Results:
    """Per-test outcomes from the run's subunit stream."""

    def __init__(self, proc, subunit_bytes):
        self.proc = proc
        self.tests = _parse_subunit(subunit_bytes)

    def by_module(self):
        counts = defaultdict(lambda: defaultdict(int))
        for test_id, (status, _) in self.tests.items():
            if test_id.startswith("setUpClass") or test_id.startswith("tearDownClass"):
                module = re.search(r"\((.*)\)", test_id)
                module = module.group(1).rsplit(".", 1)[0] if module else test_id
            else:
                module = test_id.split("[")[0].rsplit(".", 2)[0]
            counts[module][status] += 1
        return {m: dict(c) for m, c in sorted(counts.items())}

    def failures(self):
        return {t: details for t, (status, details) in self.tests.items()
                if status in ("fail", "uxsuccess")}

    def summary(self):
        return json.dumps(self.by_module(), indent=1, sort_keys=True)


def _parse_subunit(data):
    import io

    import subunit
    import testtools

    tests = {}

    class Collect(testtools.StreamResult):
        def __init__(self):
            super().__init__()
            self.details = defaultdict(list)

        def status(self, test_id=None, test_status=None, file_name=None,
                   file_bytes=None, **kw):
            if test_id is None:
                return
            if file_bytes:
                self.details[test_id].append(bytes(file_bytes).decode(
                    "utf-8", "replace"))
            if test_status in ("success", "fail", "skip", "xfail", "uxsuccess"):
                tests[test_id] = (test_status, "".join(self.details.pop(test_id, [])))

    case = subunit.ByteStreamToStreamResult(io.BytesIO(data), non_subunit_name="stdout")
    result = Collect()
    result.startTestRun()
    case.run(result)
    result.stopTestRun()
    return tests

"""Upstream Nova 34 as the peer: the operations of bench/compare_ops.py run
against Nova in-process, set up as Nova's own functional tests set it up.

It is a testtools test case built on nova.tests.functional.integrated_helpers.
ProviderUsageBaseTestCase, the base of Nova's live-migration functional tests
(ServerLiveMigrateForceAndAbort and friends): real Nova API (OSAPIFixture,
wsgi-intercept), conductor, scheduler and two nova-compute services (host1,
host2) with the fake virt driver (nova.virt.fake.FakeDriver: 1000 vCPUs,
800 GB RAM per host), Placement in-process (PlacementFixture), the SQLite
databases and fake:// RPC transport of nova.test.TestCase, Glance/Neutron/
Cinder fixtures, real policy. Casts are real casts (no CastAsCallFixture), as
in ProviderUsageBaseTestCase. Quotas are lifted so 200 servers fit.

Run by bench/nova_compare.py; by hand (results as JSON to $NOVA_BENCH_OUT):

    cd bench/nova_baseline && .venv/bin/python -m testtools.run \
        nova_bench.NovaBaseline.test_operations

Parameters come from the environment: NOVA_BENCH_SERVERS (200),
NOVA_BENCH_SEQUENTIAL (10), NOVA_BENCH_DETAIL_RUNS (10),
NOVA_BENCH_RESCUE_RUNS (10), NOVA_BENCH_MIGRATION_RUNS (20),
NOVA_BENCH_POLL (0.005 s).
"""
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # bench/, for compare_ops

from nova.tests.functional import integrated_helpers  # noqa: E402
from nova import utils  # noqa: E402

import compare_ops  # noqa: E402


def _env(name, default, cast=int):
    return cast(os.environ.get(name, default))


class _Client:
    """compare_ops client over Nova's functional-test API client."""

    def __init__(self, api):
        self.api = api

    def get(self, path):
        return self.api.api_get(path).body

    def post(self, path, body):
        resp = self.api.api_post(path, body, check_response_status=None)
        return resp.status, (resp.body or None)


class NovaBaseline(integrated_helpers.ProviderUsageBaseTestCase):
    compute_driver = "fake.FakeDriver"

    def setUp(self):
        t0 = time.perf_counter()
        super().setUp()
        self.flags(instances=-1, cores=-1, ram=-1, group="quota")
        self.compute1 = self._start_compute(host="host1")
        self.compute2 = self._start_compute(host="host2")
        self.setup_seconds = time.perf_counter() - t0

    def test_operations(self):
        with utils.temporary_mutation(self.api, microversion="2.35"):
            image = self.api.get_images()[0]["id"]
        log = lambda msg: print("nova: " + msg, file=sys.__stderr__, flush=True)  # noqa
        ops = compare_ops.Ops(_Client(self.admin_api), image, "1",
                              poll=_env("NOVA_BENCH_POLL", 0.005, float), log=log)
        result = compare_ops.run_all(
            ops, servers=_env("NOVA_BENCH_SERVERS", 200),
            sequential=_env("NOVA_BENCH_SEQUENTIAL", 10),
            detail_runs=_env("NOVA_BENCH_DETAIL_RUNS", 10),
            rescue_runs=_env("NOVA_BENCH_RESCUE_RUNS", 10),
            migration_runs=_env("NOVA_BENCH_MIGRATION_RUNS", 20))
        import nova
        from nova import monkey_patch
        result["setup_s"] = self.setup_seconds
        result["versions"] = {"nova": _version("nova"),
                              "openstack-placement": _version("openstack-placement"),
                              "SQLAlchemy": _version("SQLAlchemy"),
                              "eventlet_monkey_patched": monkey_patch.MONKEY_PATCHED,
                              "python": sys.version.split()[0],
                              "nova_path": os.path.dirname(nova.__file__)}
        result["microversion"] = self.admin_api.microversion
        out = os.environ.get("NOVA_BENCH_OUT")
        if out:
            with open(out, "w") as f:
                json.dump(result, f, indent=2)
        else:
            print(json.dumps(result, indent=2), file=sys.__stdout__)


def _version(dist):
    from importlib import metadata
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None

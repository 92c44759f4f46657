"""Build a scale database without starting any service (for bench/profile_api.py
and in-process scheduler profiling): schema, catalog, 1,000 service and
compute-node rows (up), 100,000 instances.

    .venv/bin/python bench/scale_profile_db.py --db lifeboat_prof [--hosts 1000 --instances 100000]
"""
import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scale_common as sc  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--db", default="lifeboat_prof")
    p.add_argument("--hosts", type=int, default=1000)
    p.add_argument("--instances", type=int, default=100000)
    args = p.parse_args()
    state = tempfile.mkdtemp(prefix="lifeboat-profdb-")
    config = os.path.join(state, "lifeboat.conf")
    sc.write_config(config, {"DEFAULT": {"state_path": state},
                             "database": {"connection": sc.pg_url(args.db)}})
    sc.recreate_database(args.db)
    sc.lifeboat_conf(config)
    sc.seed_catalog()
    hosts = sc.host_names(args.hosts)
    sc.bulk_hosts(hosts)
    print("seeded in %.1f s" % sc.bulk_instances(args.instances, hosts))


if __name__ == "__main__":
    main()

"""Scheduler decisions in this process on a scale database (bench/scale_profile_db.py
or `bench/scale.py --keep-db`): p50/p99, SQL statements and time per decision,
and a cProfile of 50 decisions; with --prototype scheduler-cache, the same
with the proposed cache (bench/aio_prototype.py).

    .venv/bin/python bench/profile_scheduler.py --db lifeboat_prof [--prototype scheduler-cache]
"""
import argparse
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import scale_common as sc  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--db", default="lifeboat_prof")
    p.add_argument("--decisions", type=int, default=300)
    p.add_argument("--prototype", default="")
    args = p.parse_args()
    state = tempfile.mkdtemp(prefix="lifeboat-prof-")
    config = os.path.join(state, "lifeboat.conf")
    sc.write_config(config, {"DEFAULT": {"state_path": state},
                             "database": {"connection": sc.pg_url(args.db)}})
    sc.lifeboat_conf(config)
    import scale
    result = scale.measure_scheduler(args.decisions, [x for x in args.prototype.split(",") if x])
    profile = result.pop("profile_top")
    print(json.dumps(result, indent=1))
    print(profile)


if __name__ == "__main__":
    main()

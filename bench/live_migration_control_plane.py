"""Control-plane cost of one live migration on the embedded default.

Time from the POST os-migrateLive (202) to the instance back with task_state
None on another host, with the simulated driver's transfer taking no time
([fake] live_migration_seconds = 0). Sequential migrations, alternating a
rescued and an ACTIVE server, over real HTTP on loopback.

    .venv/bin/python bench/live_migration_control_plane.py [--runs 50]
"""
import argparse
import statistics
import time

from common import HttpCloud, percentile


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    with HttpCloud(hosts=("host1", "host2")) as cloud:
        rescued = cloud.boot(host="host1", name="rescued")
        r = cloud.client.post("/v2.1/servers/%s/action" % rescued, json={"rescue": {}})
        r.raise_for_status()
        cloud.wait(rescued, lambda s: s["status"] == "RESCUE")
        active = cloud.boot(host="host1", name="active")
        timings = {"rescued": [], "active": []}
        for i in range(args.runs + 4):
            kind, sid = (("rescued", rescued), ("active", active))[i % 2]
            before = cloud.server(sid)["OS-EXT-SRV-ATTR:host"]
            start = time.perf_counter()
            r = cloud.client.post("/v2.1/servers/%s/action" % sid, json={
                "os-migrateLive": {"host": None, "block_migration": "auto"}})
            assert r.status_code == 202, r.text
            cloud.wait(sid, lambda s: s["OS-EXT-STS:task_state"] is None
                       and s["OS-EXT-SRV-ATTR:host"] != before)
            elapsed = (time.perf_counter() - start) * 1000
            if i >= 4:  # first rounds warm caches and connections
                timings[kind].append(elapsed)
    every = timings["rescued"] + timings["active"]
    print("live migration control plane, %d runs (ms): median %.1f  p90 %.1f  "
          "min %.1f  max %.1f" % (len(every), statistics.median(every),
                                  percentile(every, 90), min(every), max(every)))
    for kind, values in timings.items():
        print("  %-8s median %.1f ms over %d" % (kind, statistics.median(values),
                                                  len(values)))


if __name__ == "__main__":
    main()

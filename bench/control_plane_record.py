"""Run the existing control-plane benchmark (bench/live_migration_control_plane.py,
unchanged) --repeat times, as documented, and record what it prints as JSON
(bench/results/control_plane.json) for docs/benchmarks.md and its plot.

    .venv/bin/python bench/control_plane_record.py [--repeat 5]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
LINE = re.compile(r"median ([\d.]+)\s+p90 ([\d.]+)\s+min ([\d.]+)\s+max ([\d.]+)")
KIND = re.compile(r"^\s+(rescued|active)\s+median ([\d.]+) ms over (\d+)", re.M)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args()
    runs = []
    for i in range(args.repeat):
        load = os.getloadavg()
        out = subprocess.run([sys.executable, "live_migration_control_plane.py"],
                             cwd=HERE, capture_output=True, text=True, check=True).stdout
        print(out.strip(), flush=True)
        m = LINE.search(out)
        run = {"median_ms": float(m.group(1)), "p90_ms": float(m.group(2)),
               "min_ms": float(m.group(3)), "max_ms": float(m.group(4)),
               "loadavg_before": load, "output": out}
        for kind, med, n in KIND.findall(out):
            run[kind + "_median_ms"] = float(med)
        runs.append(run)
    result = {"command": "cd bench && ../.venv/bin/python live_migration_control_plane.py",
              "recorded_by": "bench/control_plane_record.py --repeat %d" % args.repeat,
              "date": time.strftime("%Y-%m-%d %H:%M"), "runs": runs,
              "median_of_medians_ms": statistics.median(r["median_ms"] for r in runs)}
    with open(os.path.join(HERE, "results", "control_plane.json"), "w") as f:
        json.dump(result, f, indent=2)
    print("median of %d run medians: %.1f ms" % (len(runs), result["median_of_medians_ms"]))


if __name__ == "__main__":
    main()

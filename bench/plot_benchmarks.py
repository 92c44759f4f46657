"""Plots for docs/benchmarks.md from the JSON results under bench/results/.

    .venv/bin/python bench/plot_benchmarks.py

Writes docs/img/nova_baseline.png (Lifeboat vs Nova 34, log scale),
docs/img/scale.png (scale run: scheduler, list, drain against targets), and
docs/img/control_plane.png (control-plane live migration histogram) when the
corresponding results exist.
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")
IMG = os.path.join(ROOT, "docs", "img")


def load(name):
    path = os.path.join(RESULTS, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def _save(fig, name):
    fig.tight_layout()
    out = os.path.join(IMG, name)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def plot_nova(report):
    rows = report["summary"]
    keys = ["boot_rate", "boot_sequential", "list_detail", "rescue_unrescue",
            "live_migration"]
    fig, ax = plt.subplots(figsize=(9, 4.2))
    x = range(len(keys))
    lb = [rows[k]["lifeboat"] for k in keys]
    nv = [rows[k]["nova"] for k in keys]
    # boot rate is servers/s (higher better): plot seconds per server instead
    lb = [1 / v if k == "boot_rate" else v for k, v in zip(keys, lb)]
    nv = [1 / v if k == "boot_rate" else v for k, v in zip(keys, nv)]
    w = 0.38
    ax.bar([i - w / 2 for i in x], nv, w, label="Nova 34 (functional-test harness)",
           color="#c44e52")
    ax.bar([i + w / 2 for i in x], lb, w, label="Lifeboat (lifeboat-all-in-one)",
           color="#4c72b0")
    ax.set_yscale("log")
    ax.set_ylabel("seconds (log scale; lower is better)")
    labels = ["boot burst\n(s per server)", "boot one\n(POST to ACTIVE)",
              "GET /servers/detail\n%d servers" % report["args"]["servers"], "rescue +\nunrescue",
              "live migration\n202 to done"]
    ax.set_xticks(list(x))
    ax.set_xticklabels(labels, fontsize=8)
    for i, k in enumerate(keys):
        ax.text(i, max(lb[i], nv[i]) * 1.25, "%.0fx" % rows[k]["lifeboat_faster_x"],
                ha="center", fontsize=9, fontweight="bold")
    ax.set_ylim(bottom=min(nv + lb) / 3, top=max(nv + lb) * 4)
    ax.set_title("Lifeboat vs upstream Nova 34, same operations, same run "
                 "(median of %d rounds)" % len(report["rounds"]), fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
    return _save(fig, "nova_baseline.png")


def plot_scale(results):
    """results: {label: scale json}"""
    labels = list(results)
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2))
    # scheduler
    ax = axes[0]
    p50 = [results[k]["scheduler"]["p50_ms"] for k in labels]
    p99 = [results[k]["scheduler"]["p99_ms"] for k in labels]
    x = range(len(labels))
    ax.bar([i - 0.2 for i in x], p50, 0.4, label="p50", color="#4c72b0")
    ax.bar([i + 0.2 for i in x], p99, 0.4, label="p99", color="#dd8452")
    ax.axhline(50, color="red", ls="--", lw=1, label="target p99 50 ms")
    ax.set_xticks(list(x))
    ax.set_xticklabels(labels, fontsize=7)
    ax.set_ylabel("ms per decision")
    ax.set_title("scheduler decision, 1,000 hosts", fontsize=9)
    ax.legend(fontsize=7)
    # list page
    ax = axes[1]
    first = [results[k]["list"]["first_page_ms"]["median"] for k in labels]
    paged = [results[k]["list"]["all_pages"]["page_p50_ms"] for k in labels]
    ax.bar([i - 0.2 for i in x], first, 0.4, label="first page p50", color="#4c72b0")
    ax.bar([i + 0.2 for i in x], paged, 0.4, label="page p50, paging all",
           color="#55a868")
    ax.axhline(300, color="red", ls="--", lw=1, label="target 300 ms")
    ax.set_xticks(list(x))
    ax.set_xticklabels(labels, fontsize=7)
    ax.set_ylabel("ms")
    ax.set_title("GET /servers/detail?limit=1000, 100k servers", fontsize=9)
    ax.legend(fontsize=7)
    # drain
    ax = axes[2]
    ns = [d["concurrency"] for d in results[labels[0]]["drain"]]
    series = [(k, [d["makespan_s"] for d in results[k]["drain"]]) for k in labels]
    cli = {d["concurrency"]: d["makespan_s"]
           for d in results[labels[-1]].get("drain_cli", [])}
    if cli:
        series.append(("%s: lifeboat host drain" % labels[-1],
                       [cli.get(n, 0) for n in ns]))
    width = 0.8 / (len(series) + 1)
    for j, (k, spans) in enumerate(series):
        ax.bar([i + j * width for i in range(len(ns))], spans, width, label=k)
    targets = [d["target_s"] for d in results[labels[-1]]["drain"]]  # the newest run's
    ax.bar([i + len(series) * width for i in range(len(ns))], targets, width,
           color="none", edgecolor="red", ls="--", label="target (1.1 x ideal + 1 s)")
    ax.set_xticks([i + width * len(series) / 2 for i in range(len(ns))])
    ax.set_xticklabels(["N=%d" % n for n in ns])
    ax.set_yscale("log")
    ax.set_ylabel("makespan, s (log)")
    ax.set_title("drain 100 instances, max N in flight", fontsize=9)
    ax.legend(fontsize=7)
    return _save(fig, "scale.png")


def plot_control_plane(data):
    runs = data["runs"]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    x = range(1, len(runs) + 1)
    med = [r["median_ms"] for r in runs]
    ax.errorbar(x, med, yerr=[[m - r["min_ms"] for m, r in zip(med, runs)],
                              [r["p90_ms"] - m for m, r in zip(med, runs)]],
                fmt="o", color="#4c72b0", capsize=4, label="median (bar: min to p90)")
    for key, marker, label in (("rescued_median_ms", "^", "rescued"),
                               ("active_median_ms", "v", "active")):
        ax.plot(x, [r.get(key) for r in runs], marker, color="gray", label=label)
    ax.axhline(data["median_of_medians_ms"], color="black", ls="--", lw=1,
               label="median of medians %.1f ms" % data["median_of_medians_ms"])
    ax.set_xlabel("run (50 migrations each)")
    ax.set_ylabel("ms, 202 to done")
    ax.set_ylim(bottom=0)
    ax.set_title("live migration control plane, embedded default", fontsize=9)
    ax.legend(fontsize=7)
    return _save(fig, "control_plane.png")


def main():
    os.makedirs(IMG, exist_ok=True)
    written = []
    nova = load("nova_baseline.json")
    if nova and "summary" in nova:
        written.append(plot_nova(nova))
    scale = {}
    for name, label in (("scale-prototype.json", "prototype (patched)"),
                        ("scale.json", "lifeboat")):
        data = load(name)
        if data and "drain" in data:
            scale[label] = data
    if scale:
        written.append(plot_scale(scale))
    cp = load("control_plane.json")
    if cp:
        written.append(plot_control_plane(cp))
    for path in written:
        print("wrote", os.path.relpath(path, ROOT))
    return 0 if written else 1


if __name__ == "__main__":
    sys.exit(main())

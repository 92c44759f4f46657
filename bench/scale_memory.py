"""RSS of the API and of one compute service as separate processes, on the
database of the scale run (`bench/scale.py --keep-db`: 1,000 hosts, 100,000
instances in PostgreSQL).

* `lifeboat-api` alone: RSS at idle, then while paging through every server
  (GET /servers/detail?all_tenants=1&limit=1000, next links) and GET
  /os-hypervisors/detail; RSS after.
* `lifeboat-compute` for one host with 100 instances (host0500): RSS after
  start-up (init_host and the first report), then after --compute-seconds of
  heartbeats (report_interval 2 s) and periodic tasks (periodic_interval 5 s:
  power-state sync over its 100 instances, the simulated driver adopting each
  guest), reconciliation included.

Both use transport_url local:// (no bus): the API answers reads from the
database; the compute service takes no RPC. Its RSS under RPC load is the
all-in-one's per-host share, measured by bench/scale.py.

    .venv/bin/python bench/scale_memory.py --db lifeboat_scale [--out bench/results/scale-memory.json]
"""
import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import httpx  # noqa: E402

import scale_common as sc  # noqa: E402


def start(exe, config, log):
    return subprocess.Popen([os.path.join(os.path.dirname(sys.executable), exe),
                             "--config-file", config], stdout=log,
                            stderr=subprocess.STDOUT)


def tree_rss(pid):
    """RSS of a process and its children (uvicorn may fork a worker)."""
    total = sc.proc_status(pid).get("rss_kib", 0)
    try:
        children = open("/proc/%d/task/%d/children" % (pid, pid)).read().split()
    except OSError:
        children = []
    for child in children:
        total += tree_rss(int(child))
    return total


def stop(proc):
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--db", default="lifeboat_scale")
    p.add_argument("--host", default="host0500")
    p.add_argument("--compute-seconds", type=float, default=30)
    p.add_argument("--out", default=os.path.join(HERE, "results", "scale-memory.json"))
    args = p.parse_args()
    state = tempfile.mkdtemp(prefix="lifeboat-mem-")
    port = sc.free_port()
    base = "http://127.0.0.1:%d" % port
    common = {"database": {"connection": sc.pg_url(args.db)}}
    api_conf = os.path.join(state, "api.conf")
    sc.write_config(api_conf, dict(common, DEFAULT={"state_path": state},
                                   api={"port": port}))
    result = {"command": " ".join([os.path.relpath(sys.executable)] + sys.argv)}
    with open(os.path.join(state, "api.log"), "w") as log:
        api = start("lifeboat-api", api_conf, log)
        try:
            client = httpx.Client(base_url=base, timeout=600, headers={
                "X-Auth-Token": "admin:admin", "OpenStack-API-Version": "compute 2.105"})
            deadline = time.monotonic() + 120
            while True:
                try:
                    if client.get("/").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
                if time.monotonic() > deadline or api.poll() is not None:
                    raise RuntimeError("lifeboat-api did not start")
            time.sleep(2)
            result["api_idle_kib"] = tree_rss(api.pid)
            peak = [0]
            stop_sampling = threading.Event()

            def sample():
                while not stop_sampling.wait(0.2):
                    peak[0] = max(peak[0], tree_rss(api.pid))
            threading.Thread(target=sample, daemon=True).start()
            t0 = time.perf_counter()
            path, pages, servers = "/v2.1/servers/detail?all_tenants=1&limit=1000", 0, 0
            while path:
                body = client.get(path).json()
                pages += 1
                servers += len(body["servers"])
                nxt = [link["href"] for link in body.get("servers_links") or []
                       if link["rel"] == "next"]
                path = nxt[0].split(base, 1)[-1] if nxt else None
            hyp = len(client.get("/v2.1/os-hypervisors/detail").json()["hypervisors"])
            result["api_load"] = {"pages": pages, "servers": servers, "hypervisors": hyp,
                                  "seconds": time.perf_counter() - t0}
            stop_sampling.set()
            result["api_peak_kib"] = peak[0]
            result["api_after_kib"] = tree_rss(api.pid)
            client.close()
        finally:
            stop(api)
    compute_conf = os.path.join(state, "compute.conf")
    sc.write_config(compute_conf, dict(common, DEFAULT={
        "state_path": state, "host": args.host, "report_interval": 2,
        "periodic_interval": 5}))
    with open(os.path.join(state, "compute.log"), "w") as log:
        compute = start("lifeboat-compute", compute_conf, log)
        try:
            time.sleep(5)
            result["compute_start_kib"] = sc.proc_status(compute.pid).get("rss_kib")
            samples = []
            t_end = time.monotonic() + args.compute_seconds
            while time.monotonic() < t_end:
                time.sleep(1)
                samples.append(sc.proc_status(compute.pid))
            result["compute_after_kib"] = samples[-1].get("rss_kib")
            result["compute_peak_kib"] = max(s.get("rss_kib", 0) for s in samples)
            result["compute_threads"] = samples[-1].get("threads")
            result["compute_cpu_s"] = samples[-1].get("cpu_s")
        finally:
            stop(compute)
    result["compute_log_errors"] = sum(
        1 for line in open(os.path.join(state, "compute.log")) if " ERROR " in line)
    sc.dump(args.out, result)
    for k, v in result.items():
        print("%-22s %s" % (k, v))


if __name__ == "__main__":
    main()

"""The operations compared between Lifeboat and upstream Nova, written once.

Both sides run this very code: bench/nova_compare.py drives Lifeboat over real
HTTP (httpx, loopback) and bench/nova_baseline/nova_bench.py drives Nova in its
functional-test harness (wsgi-intercept). Only the `client` differs. A client
has two methods, with paths relative to the /v2.1 root:

    client.get(path)          -> decoded JSON body (raises unless 200)
    client.post(path, body)   -> (status, decoded JSON body or None)

Standard library only: it is imported from both virtualenvs.

Each wait polls GET /servers/{id}. Between two polls it sleeps `poll` seconds,
or POLL_COST_FACTOR times what the last poll took if that is longer, on both
sides: polling then takes at most ~20% of the server's time whichever side is
measured, and its granularity stays proportional to the cost of a poll. (Nova's
client runs inside Nova's process, Lifeboat's beside it; a fixed fast poll
would starve the slower of the two.)
"""
import statistics
import time

POLL_COST_FACTOR = 4


def median(values):
    return statistics.median(values) if values else None


def percentile(values, p):
    values = sorted(values)
    if not values:
        return None
    k = (len(values) - 1) * p / 100.0
    f, c = int(k), min(int(k) + 1, len(values) - 1)
    return values[f] + (values[c] - values[f]) * (k - f)


def summary(values):
    return {"n": len(values), "median": median(values), "p90": percentile(values, 90),
            "min": min(values) if values else None, "max": max(values) if values else None}


class Ops:
    def __init__(self, client, image_ref, flavor_ref="1", poll=0.005, timeout=120,
                 log=print):
        self.c = client
        self.image = image_ref
        self.flavor = flavor_ref
        self.poll = poll
        self.timeout = timeout
        self.log = log

    def server(self, sid):
        return self.c.get("/servers/%s" % sid)["server"]

    def wait(self, sid, predicate, what):
        deadline = time.monotonic() + self.timeout
        while True:
            t_poll = time.perf_counter()
            s = self.server(sid)
            cost = time.perf_counter() - t_poll
            if predicate(s):
                return s
            if s["status"] == "ERROR":
                raise RuntimeError("%s: server %s went to ERROR: %s"
                                   % (what, sid, s.get("fault")))
            if time.monotonic() > deadline:
                raise TimeoutError("%s: %s still %s/%s" % (
                    what, sid, s["status"], s.get("OS-EXT-STS:task_state")))
            time.sleep(max(self.poll, POLL_COST_FACTOR * cost))

    def post_server(self, name, host=None):
        body = {"server": {"name": name, "imageRef": self.image,
                           "flavorRef": self.flavor, "networks": "none"}}
        if host:
            body["server"]["host"] = host
        status, out = self.c.post("/servers", body)
        assert status == 202, (status, out)
        return out["server"]["id"]

    def action(self, sid, body):
        status, out = self.c.post("/servers/%s/action" % sid, body)
        assert status in (200, 202), (status, out)
        return out

    # --- the measured operations ----------------------------------------
    def boot_sequential(self, n):
        """n boots one after another: POST, wait ACTIVE. Seconds each."""
        ids, times = [], []
        for i in range(n):
            t0 = time.perf_counter()
            sid = self.post_server("seq-%d" % i)
            self.wait(sid, lambda s: s["status"] == "ACTIVE", "boot")
            times.append(time.perf_counter() - t0)
            ids.append(sid)
        return ids, times

    def boot_burst(self, n, poll=0.05):
        """n POSTs back to back, then wait until none is still building.
        Returns (ids, seconds from the first POST to the last ACTIVE).

        The wait polls GET /servers?status=BUILD, whose cost differs a lot
        between the two (Nova's index loads a RequestSpec per server), and
        Nova's poller runs in Nova's own process. So the sleep between polls
        is at least 4x the last poll's duration: polling takes at most ~20%
        of the server's time on either side."""
        t0 = time.perf_counter()
        ids = [self.post_server("burst-%d" % i) for i in range(n)]
        posted = time.perf_counter() - t0
        pending = set(ids)
        deadline = time.monotonic() + max(self.timeout, n * 5)
        while pending:
            # The index, filtered by status, is the cheapest list on both sides.
            t_poll = time.perf_counter()
            building = {s["id"] for s in
                        self.c.get("/servers?status=BUILD&limit=1000")["servers"]}
            cost = time.perf_counter() - t_poll
            pending &= building
            if not pending:
                break
            if time.monotonic() > deadline:
                raise TimeoutError("%d servers still building" % len(pending))
            time.sleep(max(poll, POLL_COST_FACTOR * cost))
        elapsed = time.perf_counter() - t0
        errors = [s["id"] for s in
                  self.c.get("/servers?status=ERROR&limit=1000")["servers"]]
        assert not errors, "servers in ERROR: %s" % errors[:5]
        return ids, elapsed, posted

    def list_detail(self, runs, expected):
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            servers = self.c.get("/servers/detail")["servers"]
            times.append(time.perf_counter() - t0)
            assert len(servers) == expected, (len(servers), expected)
        return times

    def rescue_unrescue(self, sid, runs):
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            self.action(sid, {"rescue": {}})
            self.wait(sid, lambda s: s["status"] == "RESCUE"
                      and s["OS-EXT-STS:task_state"] is None, "rescue")
            self.action(sid, {"unrescue": None})
            self.wait(sid, lambda s: s["status"] == "ACTIVE"
                      and s["OS-EXT-STS:task_state"] is None, "unrescue")
            times.append(time.perf_counter() - t0)
        return times

    def live_migrations(self, sid, runs):
        """202 to done: task_state None on another host. The scheduler picks
        the destination (host null)."""
        times = []
        for _ in range(runs):
            before = self.server(sid)["OS-EXT-SRV-ATTR:host"]
            t0 = time.perf_counter()
            self.action(sid, {"os-migrateLive": {"host": None,
                                                 "block_migration": "auto"}})
            self.wait(sid, lambda s: s["OS-EXT-STS:task_state"] is None
                      and s["OS-EXT-SRV-ATTR:host"] != before, "live migration")
            times.append(time.perf_counter() - t0)
        return times


def run_all(ops, servers=200, sequential=10, detail_runs=10, rescue_runs=10,
            migration_runs=20, warmup=2):
    """The whole comparison on one cloud; returns a JSON-able dict of seconds."""
    log = ops.log
    out = {"params": {"servers": servers, "sequential": sequential,
                      "detail_runs": detail_runs, "rescue_runs": rescue_runs,
                      "migration_runs": migration_runs, "poll": ops.poll}}
    t_all = time.perf_counter()
    seq_ids, seq_times = ops.boot_sequential(sequential)
    out["boot_sequential_s"] = summary(seq_times)
    log("sequential boot: median %.3f s" % median(seq_times))
    burst_ids, burst_s, posted_s = ops.boot_burst(servers - sequential)
    out["boot_burst"] = {"n": servers - sequential, "seconds": burst_s,
                         "post_seconds": posted_s,
                         "rate_per_s": (servers - sequential) / burst_s}
    log("burst boot: %d in %.2f s = %.2f servers/s (POSTs took %.2f s)"
        % (servers - sequential, burst_s, (servers - sequential) / burst_s, posted_s))
    detail = ops.list_detail(detail_runs + 1, servers)[1:]
    out["list_detail_s"] = summary(detail)
    log("GET /servers/detail (%d servers): median %.3f s" % (servers, median(detail)))
    target = seq_ids[0]
    rescue = ops.rescue_unrescue(target, rescue_runs + warmup)[warmup:]
    out["rescue_unrescue_s"] = summary(rescue)
    log("rescue+unrescue: median %.3f s" % median(rescue))
    mig = ops.live_migrations(target, migration_runs + warmup)[warmup:]
    out["live_migration_s"] = summary(mig)
    log("live migration: median %.3f s" % median(mig))
    out["total_s"] = time.perf_counter() - t_all
    return out

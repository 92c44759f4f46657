"""Benchmark plumbing: an all-in-one cloud served over real HTTP on loopback."""
import os
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import httpx  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HttpCloud:
    """Run `lifeboat-all-in-one` as its own process (as an operator would) on a
    fresh state directory and a free port; `client` is an httpx.Client."""

    def __init__(self, hosts=("host1", "host2", "host3"), **options):
        self.port = free_port()
        self.state = tempfile.mkdtemp(prefix="lifeboat-bench-")
        self.base = "http://127.0.0.1:%d" % self.port
        sections = {"DEFAULT": {"state_path": self.state},
                    "api": {"port": str(self.port)},
                    "all_in_one": {"compute_hosts": ",".join(hosts)}}
        for key, value in options.items():
            group, _, name = key.rpartition("__")
            sections.setdefault(group or "DEFAULT", {})[name] = str(value)
        self.config = os.path.join(self.state, "lifeboat.conf")
        with open(self.config, "w") as f:
            for section, values in sections.items():
                f.write("[%s]\n" % section)
                for k, v in values.items():
                    f.write("%s = %s\n" % (k, v))

    def __enter__(self):
        import subprocess
        exe = os.path.join(os.path.dirname(sys.executable), "lifeboat-all-in-one")
        self.log = open(os.path.join(self.state, "all-in-one.log"), "w")
        self.proc = subprocess.Popen([exe, "--config-file", self.config],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.client = httpx.Client(base_url=self.base, timeout=30, headers={
            "X-Auth-Token": "admin:admin", "OpenStack-API-Version": "compute 2.105"})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if self.client.get("/").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
            if self.proc.poll() is not None:
                raise RuntimeError("all-in-one exited; see %s" % self.log.name)
        return self

    def __exit__(self, *exc):
        import signal
        self.client.close()
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(20)
        except Exception:
            self.proc.kill()
        self.log.close()

    def boot(self, host=None, name="bench"):
        image = self.client.get("/image/v2/images?name=cirros").json()["images"][0]["id"]
        body = {"server": {"name": name, "imageRef": image, "flavorRef": "1",
                           "networks": "none"}}
        if host:
            body["server"]["host"] = host
        r = self.client.post("/v2.1/servers", json=body)
        r.raise_for_status()
        sid = r.json()["server"]["id"]
        self.wait(sid, lambda s: s["status"] == "ACTIVE")
        return sid

    def server(self, sid):
        return self.client.get("/v2.1/servers/%s" % sid).json()["server"]

    def wait(self, sid, predicate, timeout=30, poll=0.001):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s = self.server(sid)
            if predicate(s):
                return s
            time.sleep(poll)
        raise TimeoutError(sid)


def percentile(values, p):
    values = sorted(values)
    k = (len(values) - 1) * p / 100.0
    f, c = int(k), min(int(k) + 1, len(values) - 1)
    return values[f] + (values[c] - values[f]) * (k - f)

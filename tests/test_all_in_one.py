"""lifeboat-all-in-one as a process: it stops the same way on SIGINT and SIGTERM."""
import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

BIN = os.path.join(os.path.dirname(sys.executable), "lifeboat-all-in-one")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_services_and_says_so(tmp_path, signum):
    port = _free_port()
    conf = tmp_path / "lifeboat.conf"
    conf.write_text("[DEFAULT]\nstate_path = %s\n[api]\nport = %d\n"
                    "[all_in_one]\ncompute_hosts = host1\n" % (tmp_path / "state", port))
    proc = subprocess.Popen([BIN, "--config-file", str(conf)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get("http://127.0.0.1:%d/" % port, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "all-in-one not up"
            time.sleep(0.2)
        proc.send_signal(signum)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, out
    assert "Lifeboat stopped; state kept in %s" % (tmp_path / "state") in out, out

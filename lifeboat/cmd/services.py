"""Run one service until SIGINT/SIGTERM: shared by the per-service binaries."""
import logging
import signal
import threading

LOG = logging.getLogger(__name__)


def run_until_signalled(services):
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    for svc in services:
        svc.start()
    try:
        while not stop.wait(1):
            pass
    finally:
        for svc in reversed(services):
            svc.stop()
        from lifeboat import rpc
        rpc.cleanup()
    return 0

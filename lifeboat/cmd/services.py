"""Run services until SIGINT/SIGTERM: shared by the per-service binaries.

The first signal starts a graceful stop: every service stops taking RPC
messages and waits for the handlers in progress, all at once, bounded by
[DEFAULT] graceful_shutdown_timeout; then the RPC transport is closed (bounded
too, since closing can block while the broker is unreachable). If the bound
passes, the process exits anyway with status 1: what was cut short is
reconciled when the service starts again. A second signal exits at once.
After a clean stop the process exits with status 0 without the interpreter's
finalisation (which takes about a second with these libraries loaded).
"""
import logging
import os
import signal
import sys
import threading
import time

from lifeboat.cmd import common

LOG = logging.getLogger(__name__)

_TRANSPORT_CLEANUP_TIMEOUT = 5  # seconds; closing AMQP connections


def _exit_now(code):
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _stop_all(services, timeout):
    """Stop services in parallel; True if all stopped within `timeout`."""
    threads = []
    for svc in services:
        t = threading.Thread(target=_stop_one, args=(svc,), daemon=True,
                             name="stop-%s" % getattr(svc, "binary", svc))
        t.start()
        threads.append(t)
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    return not any(t.is_alive() for t in threads)


def _stop_one(svc):
    try:
        svc.stop()
    except Exception:
        LOG.exception("stopping %s failed", getattr(svc, "binary", svc))


def _cleanup_transport(timeout):
    from lifeboat import rpc
    t = threading.Thread(target=rpc.cleanup, daemon=True, name="rpc-cleanup")
    t.start()
    t.join(timeout)
    return not t.is_alive()


def run_until_signalled(services):
    from lifeboat.conf import CONF
    stop = threading.Event()

    def on_signal(signum, _frame):
        if stop.is_set():
            LOG.warning("Second %s: exiting now", signal.Signals(signum).name)
            _exit_now(1)
        LOG.info("%s received: stopping", signal.Signals(signum).name)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    started = []
    try:
        for svc in services:
            if stop.is_set():
                break
            svc.start()
            started.append(svc)
        common.started()
        while not stop.wait(1):
            pass
    finally:
        timeout = CONF.graceful_shutdown_timeout
        clean = _stop_all(list(reversed(started)), timeout)
        if not clean:
            LOG.error("Work still in progress after graceful_shutdown_timeout "
                      "(%ss); exiting anyway", timeout)
            _exit_now(1)
        if not _cleanup_transport(_TRANSPORT_CLEANUP_TIMEOUT):
            LOG.warning("Closing the RPC transport did not finish in %ss; exiting",
                        _TRANSPORT_CLEANUP_TIMEOUT)
            _exit_now(0)
    LOG.info("Stopped")
    # Everything is stopped: skip the interpreter's own finalisation (about a
    # second of module teardown and atexit hooks of the libraries).
    _exit_now(0)

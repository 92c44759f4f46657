"""App factory for separate API worker processes (lifeboat-api --workers N).

Each worker parses the same arguments as its parent, so it reads the same
config files, then builds the app with its own database engine and RPC
transport (created on first use). At shutdown the transport is closed, bounded
so that an unreachable broker cannot hold the worker.
"""
import os
import threading

_CLEANUP_TIMEOUT = 3  # seconds


def create_worker_app():
    from lifeboat.cmd import common
    argv = [a for a in os.environ.get("LIFEBOAT_API_ARGV", "").split("\x1f") if a]
    common.setup(argv)
    from lifeboat.api.app import create_app
    app = create_app()
    app.router.on_shutdown.append(_cleanup)
    return app


def _cleanup():
    from lifeboat import rpc
    from lifeboat.db import engine as db_engine

    def work():
        try:
            rpc.cleanup()
        finally:
            db_engine.dispose()
    t = threading.Thread(target=work, daemon=True, name="api-cleanup")
    t.start()
    t.join(_CLEANUP_TIMEOUT)

"""lifeboat-api: the Compute API, with `--workers N` separate processes.

uvicorn's supervisor runs the workers (and restarts one that dies); each worker
builds its own app, database engine and RPC transport (lifeboat/api/wsgi_app.py).
SIGINT/SIGTERM stops accepting connections and waits at most
[DEFAULT] graceful_shutdown_timeout for the requests in progress.
"""
import os
import sys

from lifeboat.cmd import common


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    workers = None
    if "--workers" in argv:
        i = argv.index("--workers")
        workers = int(argv[i + 1])
        del argv[i:i + 2]
    common.setup(argv, sync_schema=False)
    import uvicorn
    from lifeboat.conf import CONF
    workers = workers or CONF.api.workers
    # Each worker process imports the app factory and parses the same arguments.
    os.environ["LIFEBOAT_API_ARGV"] = "\x1f".join(argv)
    uvicorn.run("lifeboat.api.wsgi_app:create_worker_app", factory=True,
                host=CONF.api.listen, port=CONF.api.port, workers=workers,
                log_level="warning", access_log=False,
                timeout_graceful_shutdown=CONF.graceful_shutdown_timeout)
    return 0

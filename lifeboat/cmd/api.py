"""lifeboat-api: the Compute API, with `--workers N` separate processes."""
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
    # Each worker process imports the app factory and builds its own engine.
    import os
    os.environ["LIFEBOAT_API_ARGV"] = "\x1f".join(argv)
    uvicorn.run("lifeboat.api.wsgi_app:create_worker_app", factory=True,
                host=CONF.api.listen, port=CONF.api.port, workers=workers,
                log_level="warning", access_log=False)
    return 0

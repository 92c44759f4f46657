"""What every binary does first: parse config, set up logging, reach the database."""
import faulthandler
import gc
import logging
import signal
import sys
import warnings

from lifeboat import conf


def setup(argv=None, sync_schema=False):
    """Parse `--config-file` and options; configure logging; optionally db sync."""
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    conf.parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=logging.DEBUG if conf.CONF.debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s")
    for noisy in ("uvicorn.access", "oslo_policy", "stevedore", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # `kill -USR1 <pid>` writes every thread's stack to stderr (the log), to see
    # what a service that does not answer or stop is waiting for.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    if sync_schema:
        from lifeboat.db import schema
        schema.sync()


def started():
    """Call once a binary's services are up: everything loaded so far (modules,
    configuration, the caches of a 1,000-host scheduler) moves out of the
    garbage collector's reach. Full collections otherwise walk those objects
    again and again: ~90 ms pauses at 1,000 hosts, the tail of a scheduling
    decision's latency."""
    gc.collect()
    gc.freeze()

"""App factory for separate API worker processes (lifeboat-api --workers N).

Each worker parses the same arguments as its parent, so it reads the same
config files, then builds the app with its own database engine.
"""
import os


def create_worker_app():
    from lifeboat.cmd import common
    argv = [a for a in os.environ.get("LIFEBOAT_API_ARGV", "").split("\x1f") if a]
    common.setup(argv)
    from lifeboat.api.app import create_app
    return create_app()

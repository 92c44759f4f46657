"""lifeboat-manage: operator commands that run outside the services.

    lifeboat-manage [--config-file F ...] db sync      # create/upgrade the schema
    lifeboat-manage [--config-file F ...] db version   # revision the database is at
    lifeboat-manage config sample                      # documented sample config

Sub-commands are an oslo.config SubCommandOpt on the global CONF, registered only
for the duration of `main()` so importing this module (or calling main() in a test)
leaves CONF as other code expects it.
"""
import importlib.metadata
import io
import sys
import traceback

import sqlalchemy as sa
from oslo_config import cfg, generator
from sqlalchemy import exc as sa_exc

import lifeboat.conf
from lifeboat.conf import CONF
from lifeboat.db import engine as db_engine

_NAMESPACE = "lifeboat"  # the oslo.config.opts entry point in pyproject.toml


def db_sync():
    """Bring the schema to the newest revision; safe to rerun and to race."""
    from lifeboat.db import schema
    print(f"Database is at revision {schema.sync()}")


def db_version():
    """Print the revision the database is at ('None' if never synced)."""
    from lifeboat.db import schema
    print(schema.current())


def config_sample():
    """Print every option with its help, via oslo-config-generator's formatter."""
    print(sample_config(), end="")


def sample_config():
    """The sample config as a string (used by `config sample` and tests)."""
    if not importlib.metadata.entry_points(group="oslo.config.opts", name=_NAMESPACE):
        # Without it the generator silently prints an empty file.
        raise RuntimeError("the 'oslo.config.opts' entry point 'lifeboat' is not "
                           "installed; reinstall the package (pip install -e .)")
    conf = cfg.ConfigOpts()
    generator.register_cli_opts(conf)
    conf(["--namespace", _NAMESPACE], project="lifeboat")
    out = io.StringIO()
    generator.generate(conf, output_file=out)
    return out.getvalue()


_COMMANDS = {
    "db": {"sync": db_sync, "version": db_version},
    "config": {"sample": config_sample},
}


def _add_parsers(subparsers):
    for category, actions in _COMMANDS.items():
        parser = subparsers.add_parser(category)
        action_parsers = parser.add_subparsers(dest="action", metavar="ACTION")
        action_parsers.required = True
        for name, fn in actions.items():
            action_parsers.add_parser(name, help=fn.__doc__.splitlines()[0])\
                .set_defaults(action_fn=fn)


_CATEGORY = cfg.SubCommandOpt("category", title="Commands", handler=_add_parsers,
                              help="Command category")


def _register():
    try:
        CONF.register_cli_opt(_CATEGORY)
    except cfg.ArgsAlreadyParsedError:
        # The config was parsed earlier in this process (tests); we re-parse anyway.
        CONF.clear()
        CONF.register_cli_opt(_CATEGORY)


def _unregister():
    CONF.clear()
    CONF.unregister_opt(_CATEGORY)


def main(argv=None):
    """Entry point; returns the process exit code (0 ok, 1 failure)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    _register()
    try:
        try:
            lifeboat.conf.parse_args(argv)
        except cfg.Error as e:
            print(f"ERROR: {e}", file=sys.stderr)
            return 1
        db_engine.dispose()  # an engine cached earlier may point at another DB
        try:
            CONF.category.action_fn()
        except (sa_exc.OperationalError, sa_exc.InterfaceError) as e:
            url = sa.engine.make_url(db_engine.database_url())
            print(f"ERROR: cannot use the database "
                  f"{url.render_as_string(hide_password=True)}: {e.orig or e}",
                  file=sys.stderr)
            return 1
        except Exception as e:  # noqa: BLE001 - an operator tool reports, not tracebacks
            if CONF.debug:
                traceback.print_exc()
            print(f"ERROR: {type(e).__name__}: {e}", file=sys.stderr)
            return 1
        return 0
    finally:
        db_engine.dispose()
        _unregister()


if __name__ == "__main__":
    sys.exit(main())

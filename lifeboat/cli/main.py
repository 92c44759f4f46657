"""`lifeboat`: the operator CLI (console script lifeboat.cli.main:main).

    lifeboat [--os-cloud C] [--os-* ...] [--microversion X.Y] server live-migrate
        SERVER [--host H] [--block-migration {auto,true,false}] [--wait]
    lifeboat server migration list SERVER [--format {table,json}]
    lifeboat server migration abort SERVER MIGRATION
    lifeboat server migration force-complete SERVER MIGRATION

The --os-* options live on a parser of their own (a parent of the main one)
so that only they reach the SDK's config loader: it merges every attribute of
the namespace it is given into the cloud config, and a command's `--host` or
`--format` has no business there.

Exit codes: 0 success, 1 an API error, a failed migration or a connection
problem (the message is printed, Nova's fault message for API errors),
2 a usage error (argparse).
"""
import argparse
import sys

from keystoneauth1 import exceptions as ksa_exceptions
from openstack import exceptions as sdk_exceptions

from lifeboat.cli import connection, host, servers


def _bool_or_auto(value):
    value = value.lower()
    if value == "auto":
        return "auto"
    if value in ("true", "yes", "1"):
        return True
    if value in ("false", "no", "0"):
        return False
    raise argparse.ArgumentTypeError("expected auto, true or false, not %r" % value)


def build_parsers(argv):
    """(config loader, --os-* parser, full parser) for this argv."""
    os_parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    config = connection.register_arguments(os_parser, argv)
    parser = argparse.ArgumentParser(
        prog="lifeboat", parents=[os_parser],
        description="Operate a Lifeboat (or Nova) cloud: live migration of "
                    "servers, rescued ones included at microversion 2.105.")
    parser.add_argument("--microversion", metavar="X.Y",
                        help="Compute API microversion to use instead of the "
                             "automatic choice (2.105 on Lifeboat, the server's "
                             "maximum up to 2.104 elsewhere).")
    top = parser.add_subparsers(dest="resource", metavar="RESOURCE", required=True)
    server = top.add_parser("server", help="Server operations.")
    actions = server.add_subparsers(dest="action", metavar="ACTION", required=True)

    lm = actions.add_parser("live-migrate", help="Live-migrate a server.")
    lm.add_argument("server", metavar="SERVER", help="Server name or id.")
    lm.add_argument("--host", dest="target_host", metavar="HOST",
                    help="Destination host (default: the scheduler picks one).")
    lm.add_argument("--block-migration", type=_bool_or_auto, default="auto",
                    metavar="{auto,true,false}",
                    help="Copy the disks (true), do not (false), or let the "
                         "cloud decide from its storage (auto, the default).")
    lm.add_argument("--wait", action="store_true",
                    help="Follow the migration with a progress bar until it "
                         "ends; exit 0 only if the server moved and kept its "
                         "status.")
    lm.add_argument("--wait-timeout", type=float, default=1800.0, metavar="SECONDS",
                    help="Give up waiting after this long (default 1800).")
    lm.add_argument("--poll-interval", type=float, default=0.5, metavar="SECONDS",
                    help=argparse.SUPPRESS)

    mig = actions.add_parser("migration", help="Migrations of a server.")
    mig_actions = mig.add_subparsers(dest="migration_action", metavar="ACTION",
                                     required=True)
    ls = mig_actions.add_parser("list", help="List a server's migrations.")
    ls.add_argument("server", metavar="SERVER")
    ls.add_argument("--format", dest="output_format", choices=("table", "json"),
                    default="table")
    for name, text in (("abort", "Abort an in-progress live migration."),
                       ("force-complete", "Force an in-progress live migration "
                                          "to complete.")):
        p = mig_actions.add_parser(name, help=text)
        p.add_argument("server", metavar="SERVER")
        p.add_argument("migration", metavar="MIGRATION", help="Migration id or uuid.")
    host.register(top, _bool_or_auto)
    return config, os_parser, parser


def _dispatch(cloud, args):
    if args.resource == "host":
        return host.dispatch(cloud, args)
    if args.action == "live-migrate":
        return servers.live_migrate(cloud, args.server, host=args.target_host,
                                    block_migration=args.block_migration,
                                    wait=args.wait, timeout=args.wait_timeout,
                                    interval=args.poll_interval)
    if args.migration_action == "list":
        return servers.migration_list(cloud, args.server, args.output_format)
    if args.migration_action == "abort":
        return servers.migration_abort(cloud, args.server, args.migration)
    return servers.migration_force_complete(cloud, args.server, args.migration)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        config, os_parser, parser = build_parsers(argv)
    except Exception as e:  # e.g. --os-cloud naming a cloud clouds.yaml lacks
        servers.err.print("lifeboat: %s" % e, markup=False)
        return 1
    args = parser.parse_args(argv)
    os_args, _rest = os_parser.parse_known_args(argv)
    try:
        cloud = connection.connect(config, os_args, requested=args.microversion)
        return _dispatch(cloud, args)
    except connection.ApiError as e:
        servers.err.print("Error (HTTP %s): %s" % (e.status, e.message), markup=False)
        return 1
    except connection.CliError as e:
        servers.err.print("Error: %s" % e, markup=False)
        return 1
    except (ksa_exceptions.ClientException, sdk_exceptions.SDKException) as e:
        # e.g. the API went away while we were waiting on a migration
        servers.err.print("Error: %s" % e, markup=False)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

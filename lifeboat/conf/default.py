"""[DEFAULT] options: identity of this service, state location, heartbeats."""
import os
import socket

from oslo_config import cfg

OPTS = [
    cfg.StrOpt("host", default=socket.gethostname(), sample_default="<hostname>",
               help="Name of this node. For a compute service this is also its "
                    "hypervisor node name, and the name operators pass as a "
                    "live-migration destination."),
    cfg.StrOpt("state_path", default=os.path.join(os.getcwd(), "state"),
               sample_default="$PWD/state",
               help="Directory holding the embedded SQLite database, uploaded "
                    "images and (for the libvirt driver) instances."),
    cfg.StrOpt("instances_path", default="$state_path/instances",
               help="Where the libvirt driver keeps instance directories and its "
                    "image cache."),
    cfg.IntOpt("report_interval", default=10, min=1,
               help="Seconds between service heartbeats (and capability reports)."),
    cfg.IntOpt("service_down_time", default=60, min=1,
               help="A service whose last heartbeat is older than this many "
                    "seconds is reported down."),
    cfg.IntOpt("rescue_timeout", default=0, min=0,
               help="Automatically unrescue an instance after this many seconds "
                    "in rescue. 0 disables. Instances with a task in progress "
                    "are skipped until it ends."),
    cfg.IntOpt("periodic_interval", default=60, min=1,
               help="Seconds between runs of each compute service's periodic "
                    "tasks (rescue timeout, resource audit, and the power-state "
                    "sync when due)."),
    cfg.IntOpt("sync_power_state_interval", default=600,
               help="Seconds between a compute service's syncs of the power "
                    "states its driver reports into the database (Nova's option "
                    "and default); checked at each run of the periodic tasks, "
                    "so it takes effect in steps of periodic_interval. 0 or "
                    "less: at every run of the periodic tasks."),
    cfg.StrOpt("compute_driver", default="fake", choices=["fake", "libvirt"],
               help="Virt driver used by compute services."),
    cfg.StrOpt("default_rescue_image_name", default="cirros-rescue",
               help="Name of the rescue image seeded on first start."),
    cfg.BoolOpt("debug", default=False, help="Log at debug level."),
    cfg.IntOpt("graceful_shutdown_timeout", default=30, min=1,
               help="On SIGINT/SIGTERM a service stops taking RPC messages and "
                    "waits at most this many seconds for the work in progress "
                    "(and the API for open requests) before it exits anyway; "
                    "work cut short is reconciled when the service starts again. "
                    "A second signal exits at once."),
]


def messaging_opts():
    """oslo.messaging's own [DEFAULT] options (transport_url, timeouts).

    transport_url unset (or 'local://') means the in-process transport of the
    all-in-one; 'rabbit://user:pass@host:5672/' goes through oslo.messaging.
    """
    import oslo_messaging.opts
    from oslo_messaging import transport as om_transport
    # Change the default on oslo.messaging's own option objects (which it
    # registers again when a transport is created; list_opts() returns deep
    # copies, and a copy whose default differs is a DuplicateOptError), so it
    # holds in every process and survives CONF.reset().
    cfg.set_defaults(om_transport._transport_opts, transport_url="local://")
    return [opt for group, opts in oslo_messaging.opts.list_opts() if group is None
            for opt in opts]


def register_opts(conf):
    conf.register_opts(OPTS)
    conf.register_opts(messaging_opts())

"""[filter_scheduler] options."""
from oslo_config import cfg

GROUP = cfg.OptGroup("filter_scheduler", title="Scheduler")

OPTS = [
    cfg.ListOpt("enabled_filters",
                default=["ComputeFilter", "RamFilter", "CoreFilter",
                         "DiskFilter", "HypervisorTypeFilter",
                         "RescuedLiveMigrationFilter"],
                help="Filters applied, in order, to candidate hosts."),
    cfg.FloatOpt("ram_weight_multiplier", default=1.0,
                 help="Positive spreads instances by free RAM; negative stacks."),
    cfg.FloatOpt("host_usage_refresh_seconds", default=5.0, min=0,
                 help="Most seconds a scheduling decision's view of host usage "
                      "(instances, vCPUs, RAM, disk per host) may lag the database. "
                      "Summing usage reads every instance (tens to hundreds of "
                      "milliseconds at 100,000 instances), so the scheduler keeps "
                      "the sum in memory, adds its own placements to it at once, "
                      "and re-reads it in the background once half this time has "
                      "passed (a decision after an idle spell re-reads it first). "
                      "What it can miss meanwhile are deletions and moves away, "
                      "which only make hosts look fuller (and when no host fits, "
                      "it re-reads before answering 'No valid host'), and "
                      "placements by another scheduler process or forced live "
                      "migrations, which it sees at most this late. 0 re-reads "
                      "at every decision."),
    cfg.FloatOpt("compute_node_refresh_seconds", default=30.0, min=0,
                 help="Most seconds the scheduler keeps a compute node's "
                      "hypervisor type and capabilities before reading them "
                      "again. They change only when a compute service restarts "
                      "with another driver or version. Capacity, enabled/disabled, "
                      "forced down, up/down and service version are read at every "
                      "decision, and a new compute node is used from the first "
                      "decision after it appears, whatever this value."),
    cfg.FloatOpt("placement_settle_seconds", default=0.5, min=0,
                 help="How long after the scheduler chooses a host the choice may "
                      "take to show in the database (the conductor records the "
                      "instance's host, or the migration's destination, after the "
                      "scheduler answers). A usage re-read adds the placements "
                      "made less than this before it began to what it reads (if "
                      "the database has them already they count twice until the "
                      "next re-read: hosts look fuller, never emptier). Before the "
                      "re-read it makes when no host fits, the scheduler waits "
                      "until its last placement is this old, so nothing is "
                      "counted twice there."),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(OPTS, group=GROUP)

"""[libvirt] options (used by the libvirt virt driver)."""
from oslo_config import cfg

GROUP = cfg.OptGroup("libvirt", title="libvirt driver")

OPTS = [
    cfg.StrOpt("virt_type", choices=["kvm", "qemu"],
               help="kvm when /dev/kvm works, else qemu (TCG)."),
    cfg.StrOpt("connection_uri", default="",
               help="libvirt URI; empty means qemu:///system."),
    cfg.StrOpt("rescue_image_id",
               help="Rescue image used when the request names none and the "
                    "instance has no image of its own (otherwise a rescue "
                    "boots the instance's own image, as Nova does)."),
    cfg.IntOpt("wait_soft_reboot_seconds", default=120, min=0,
               help="Seconds to wait for an ACPI reboot before a hard reboot."),
    cfg.IntOpt("shutdown_timeout", default=0, min=0,
               help="Seconds a stop waits for the guest to power off after an "
                    "ACPI shutdown request before the guest is destroyed; 0 "
                    "destroys it at once."),
    cfg.StrOpt("disk_cachemode", choices=["none", "writeback", "writethrough"],
               help="Cache mode of instance disks. Default: none where the "
                    "instances filesystem supports O_DIRECT, else writeback "
                    "(live migration then needs VIR_MIGRATE_UNSAFE)."),
    # --- live migration -------------------------------------------------
    cfg.StrOpt("live_migration_uri", default="qemu+tcp://%s/system",
               help="URI of the destination libvirtd for peer-to-peer live "
                    "migration; %s is replaced by the destination's "
                    "live_migration_inbound_addr, or else its host name."),
    cfg.StrOpt("live_migration_inbound_addr",
               help="Address other hosts use to reach this host's libvirtd and "
                    "its incoming migration streams. Reported to sources in "
                    "the migrate data; also the host_ip of the compute node."),
    cfg.IntOpt("live_migration_bandwidth", default=0, min=0,
               help="Maximum bandwidth of a live migration in MiB/s; 0 means "
                    "unlimited (or whatever was set on the domain)."),
    cfg.IntOpt("live_migration_downtime", default=500, min=100,
               help="Maximum downtime (ms) allowed at the final switch-over, "
                    "reached in steps (as Nova)."),
    cfg.IntOpt("live_migration_downtime_steps", default=10, min=3,
               help="Number of increments to reach live_migration_downtime."),
    cfg.IntOpt("live_migration_downtime_delay", default=75, min=3,
               help="Seconds between downtime increments, per GiB of guest "
                    "data (memory plus copied disks)."),
    cfg.IntOpt("live_migration_completion_timeout", default=800, min=0,
               help="Seconds per GiB of guest data a migration may take before "
                    "live_migration_timeout_action is taken; 0 disables."),
    cfg.StrOpt("live_migration_timeout_action", default="abort",
               choices=["abort", "force_complete"],
               help="What to do with a migration past its completion timeout: "
                    "abort it, or force it to complete (post-copy when "
                    "permitted, else by pausing the guest)."),
    cfg.BoolOpt("live_migration_permit_post_copy", default=False,
                help="Allow switching a migration to post-copy when it is "
                     "forced to complete; past that switch the guest can no "
                     "longer go back to the source."),
    cfg.FloatOpt("live_migration_monitor_interval", default=0.02, min=0.01,
                 help="Seconds between checks of whether a running migration "
                      "ended, and of operator requests (abort, force-complete)."),
    cfg.FloatOpt("live_migration_progress_interval", default=0.5, min=0.05,
                 help="Seconds between reads of a running migration's progress "
                      "(jobStats, which queries QEMU)."),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(OPTS, group=GROUP)

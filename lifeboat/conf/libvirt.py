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
                    "instance's own image is not wanted."),
    cfg.IntOpt("wait_soft_reboot_seconds", default=120, min=0,
               help="Seconds to wait for an ACPI reboot before a hard reboot."),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(OPTS, group=GROUP)

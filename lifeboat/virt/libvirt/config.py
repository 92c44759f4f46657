"""libvirt domain XML, built by small config classes (as Nova's virt/libvirt/config.py).

Every value goes through lxml as element text or an attribute, so it is
XML-escaped; server names and metadata are user input. Characters XML 1.0
cannot carry at all (most control characters) are dropped.
"""
import re

from lxml import etree

METADATA_NS = "http://lifeboat.example.org/xmlns/libvirt/instance/1.0"
_NOT_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(value):
    """`value` as a string XML 1.0 can hold (escaping is lxml's job)."""
    return _NOT_XML.sub("", str(value))


def _sub(parent, tag, text=None, **attrs):
    el = etree.SubElement(parent, tag, {k.rstrip("_"): xml_safe(v)
                                        for k, v in attrs.items() if v is not None})
    if text is not None:
        el.text = xml_safe(text)
    return el


class ConfigObject:
    """A piece of domain XML: `format_dom()` returns its element."""

    def format_dom(self):
        raise NotImplementedError

    def to_xml(self):
        return etree.tostring(self.format_dom(), pretty_print=True, encoding="unicode")


class GuestDisk(ConfigObject):
    """A file-backed virtio disk."""

    def __init__(self, source_path, target_dev, driver_format="qcow2", cache="none",
                 bus="virtio", serial=None):
        self.source_path = source_path
        self.target_dev = target_dev
        self.driver_format = driver_format
        self.cache = cache
        self.bus = bus
        self.serial = serial

    def format_dom(self):
        disk = etree.Element("disk", type="file", device="disk")
        _sub(disk, "driver", name="qemu", type=self.driver_format, cache=self.cache)
        _sub(disk, "source", file=self.source_path)
        _sub(disk, "target", dev=self.target_dev, bus=self.bus)
        if self.serial:
            _sub(disk, "serial", self.serial)
        return disk


class GuestSerialFile(ConfigObject):
    """The serial console, appended to a log file in the instance directory."""

    def __init__(self, path):
        self.path = path

    def format_dom(self):
        serial = etree.Element("serial", type="file")
        _sub(serial, "source", path=self.path, append="on")
        _sub(serial, "target", port="0")
        return serial


class GuestMetadata(ConfigObject):
    """Who and what the guest is, for operators reading `virsh dumpxml`."""

    def __init__(self, name, flavor, owner_user, owner_project, image_ref,
                 creation_time=None, user_metadata=None, rescue_image_ref=None):
        self.name = name
        self.flavor = flavor or {}
        self.owner_user = owner_user
        self.owner_project = owner_project
        self.image_ref = image_ref
        self.creation_time = creation_time
        self.user_metadata = user_metadata or {}
        self.rescue_image_ref = rescue_image_ref

    def format_dom(self):
        q = "{%s}" % METADATA_NS
        meta = etree.Element("metadata")
        inst = etree.SubElement(meta, q + "instance", nsmap={"lifeboat": METADATA_NS})
        _sub(inst, q + "name", self.name)
        if self.creation_time:
            _sub(inst, q + "creationTime", self.creation_time)
        flavor = _sub(inst, q + "flavor", name=self.flavor.get("name"))
        for key in ("memory_mb", "vcpus", "root_gb", "ephemeral_gb"):
            if key in self.flavor:
                _sub(flavor, q + key, self.flavor[key])
        owner = _sub(inst, q + "owner")
        _sub(owner, q + "user", uuid=self.owner_user)
        _sub(owner, q + "project", uuid=self.owner_project)
        _sub(inst, q + "root", type="image", uuid=self.image_ref or "")
        if self.rescue_image_ref:
            _sub(inst, q + "rescue", type="image", uuid=self.rescue_image_ref)
        if self.user_metadata:
            md = _sub(inst, q + "metadata")
            for key, value in sorted(self.user_metadata.items()):
                _sub(md, q + "item", value, key=key)
        return meta


class Guest(ConfigObject):
    """A whole domain definition."""

    def __init__(self, virt_type, uuid, name, memory_mb, vcpus):
        self.virt_type = virt_type
        self.uuid = uuid
        self.name = name
        self.memory_mb = memory_mb
        self.vcpus = vcpus
        self.os_type = "hvm"
        self.os_machine = "pc"
        self.os_arch = "x86_64"
        self.kernel = None
        self.initrd = None
        self.cmdline = None
        self.boot_dev = "hd"
        self.metadata = None
        self.disks = []
        self.serials = []

    def format_dom(self):
        root = etree.Element("domain", type=self.virt_type)
        _sub(root, "uuid", self.uuid)
        _sub(root, "name", self.name)
        if self.metadata is not None:
            root.append(self.metadata.format_dom())
        _sub(root, "memory", self.memory_mb * 1024, unit="KiB")
        _sub(root, "vcpu", self.vcpus)
        os_el = _sub(root, "os")
        _sub(os_el, "type", self.os_type, arch=self.os_arch, machine=self.os_machine)
        if self.kernel:
            _sub(os_el, "kernel", self.kernel)
            if self.initrd:
                _sub(os_el, "initrd", self.initrd)
            if self.cmdline:
                _sub(os_el, "cmdline", self.cmdline)
        else:
            _sub(os_el, "boot", dev=self.boot_dev)
        features = _sub(root, "features")
        _sub(features, "acpi")
        _sub(features, "apic")
        _sub(root, "clock", offset="utc")
        _sub(root, "on_poweroff", "destroy")
        _sub(root, "on_reboot", "restart")
        _sub(root, "on_crash", "destroy")
        devices = _sub(root, "devices")
        for device in self.disks + self.serials:
            devices.append(device.format_dom())
        _sub(devices, "memballoon", model="none")
        return root

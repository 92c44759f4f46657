"""Images on a libvirt host: the per-host cache and each instance's files.

Every image a guest uses is fetched once per host into `<instances_path>/_base`
(named by the sha1 of its id, as Nova does). Each instance directory holds
- `disk`: a qcow2 overlay backed by the cached image, sized by the flavor;
- `kernel`, `ramdisk`: links to the cached kernel/ramdisk images, if any;
- when rescued, `disk.rescue`, `kernel.rescue`, `ramdisk.rescue` from the
  rescue record (rescue image and its kernel/ramdisk);
- `console.log`: the serial console.
What an instance consists of (`guest_files`) is derived from its database row
alone, so every host, a live-migration destination included, computes it alike.
"""
import contextlib
import dataclasses
import fcntl
import hashlib
import json
import logging
import os
import shutil
import subprocess
import uuid as uuidlib

from lifeboat import exception
from lifeboat.image import api as image_api

LOG = logging.getLogger(__name__)

RESCUE_SUFFIX = ".rescue"
GiB = 1024 ** 3


@dataclasses.dataclass
class DiskFile:
    """A disk in the instance directory, backed by an image."""
    name: str            # file name in the instance directory: disk, disk.rescue
    image_id: str | None
    target_dev: str      # vda, vdb, ...
    min_size: int = 0    # bytes the flavor asks for (0: the image's own size)


@dataclasses.dataclass
class BootFile:
    """A kernel or ramdisk linked into the instance directory."""
    name: str            # kernel, ramdisk, kernel.rescue, ramdisk.rescue
    image_id: str


@dataclasses.dataclass
class GuestFiles:
    """Everything in an instance directory the guest definition names."""
    disks: list
    kernel: BootFile | None
    ramdisk: BootFile | None
    cmdline_image_id: str | None   # whose os_command_line the guest boots with
    rescued: bool
    # When rescued: the original kernel/ramdisk, which an unrescue will boot
    # (a live-migration destination prepares them too).
    standby_boot_files: list = dataclasses.field(default_factory=list)

    def boot_files(self):
        return [f for f in (self.kernel, self.ramdisk) if f is not None]

    def images(self):
        """(image id, what it is for) of every image this guest is made of."""
        return ([(d.image_id, d.name) for d in self.disks if d.image_id]
                + [(f.image_id, f.name) for f in self.boot_files()])


def guest_files(instance):
    """What `instance`'s guest is made of, from its row (rescue record included)."""
    root = DiskFile("disk", instance.image_ref, "vda",
                    min_size=(instance.root_gb or 0) * GiB)
    kernel = BootFile("kernel", instance.kernel_id) if instance.kernel_id else None
    ramdisk = BootFile("ramdisk", instance.ramdisk_id) if instance.ramdisk_id else None
    if not instance.rescue_image_ref:
        return GuestFiles(disks=[root], kernel=kernel, ramdisk=ramdisk,
                          cmdline_image_id=instance.image_ref, rescued=False)
    standby = [f for f in (kernel, ramdisk) if f is not None]
    layout = instance.rescue_layout or {}
    rescue = DiskFile("disk" + RESCUE_SUFFIX, instance.rescue_image_ref, "vda")
    by_name = {"disk": root, rescue.name: rescue}
    order = [n for n in layout.get("disks", []) if n in by_name] or [rescue.name, "disk"]
    disks = [by_name[n] for n in order]
    for index, disk in enumerate(disks):
        disk.target_dev = "vd" + chr(ord("a") + index)
    kernel, ramdisk = instance.rescue_kernel_id, instance.rescue_ramdisk_id
    return GuestFiles(
        disks=disks,
        kernel=BootFile("kernel" + RESCUE_SUFFIX, kernel) if kernel else None,
        ramdisk=BootFile("ramdisk" + RESCUE_SUFFIX, ramdisk) if ramdisk else None,
        cmdline_image_id=instance.rescue_image_ref, rescued=True,
        standby_boot_files=standby)


def image_record(image_id):
    """The image's record if the image service still has it with data, else None."""
    try:
        image = image_api.get(None, image_id)
    except exception.ImageNotFound:
        return None
    if image.status != "active" or not os.path.exists(image_api.data_path(image.id)):
        return None
    return image


class ImageUnavailable(exception.HypervisorError):
    msg_fmt = "Image %(image_id)s (%(what)s) is neither in the image service nor " \
              "in the image cache of %(host)s."


class ImageCache:
    """The per-host image cache under `<instances_path>/_base`."""

    def __init__(self, instances_path, host):
        self.base_dir = os.path.join(instances_path, "_base")
        self.host = host

    def path(self, image_id):
        return os.path.join(self.base_dir, hashlib.sha1(image_id.encode()).hexdigest())

    def has(self, image_id):
        return os.path.exists(self.path(image_id))

    def available(self, image_id):
        """True if this host has the image or can fetch it."""
        return self.has(image_id) or image_record(image_id) is not None

    def fetch(self, image_id, what="image"):
        """The cached image's path, fetching it first if this host lacks it.

        A file lock makes concurrent fetches (threads or processes) copy once;
        the copy is renamed into place so no reader sees half an image.
        """
        target = self.path(image_id)
        if os.path.exists(target):
            return target
        os.makedirs(self.base_dir, exist_ok=True)
        with open(target + ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if os.path.exists(target):
                return target
            if image_record(image_id) is None:
                raise ImageUnavailable(image_id=image_id, what=what, host=self.host)
            temp = "%s.%s.part" % (target, uuidlib.uuid4().hex)
            try:
                shutil.copyfile(image_api.data_path(image_id), temp)
                os.replace(temp, target)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temp)
            LOG.info("Fetched image %s into the cache of %s", image_id, self.host)
        return target


# --- disk files -------------------------------------------------------------
def disk_info(path):
    """qemu-img's view of a disk file: {"virtual-size", "format", ...}."""
    out = subprocess.run(["qemu-img", "info", "-U", "--output=json", path],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def create_overlay(path, backing, size):
    """A qcow2 `path` backed by the cached image `backing`, at least `size` bytes."""
    info = disk_info(backing)
    size = max(size, info["virtual-size"])
    _qemu_img_create(path, size, backing, info["format"])


def create_standalone(path, size):
    """An empty qcow2 of `size` bytes (the target of a full block copy)."""
    _qemu_img_create(path, size)


def _qemu_img_create(path, size, backing=None, backing_format=None):
    cmd = ["qemu-img", "create", "-q", "-f", "qcow2"]
    if backing:
        cmd += ["-b", backing, "-F", backing_format]
    temp = path + ".part"
    subprocess.run(cmd + [temp, str(size)], check=True, capture_output=True)
    os.replace(temp, path)


def link_or_copy(source, dest):
    """Hard link (same filesystem, instant) or copy `source` to `dest`."""
    temp = dest + ".part"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temp)
    try:
        os.link(source, temp)
    except OSError:
        shutil.copyfile(source, temp)
    os.replace(temp, dest)

"""Tiny TCG guests for the libvirt tests: the Debian cloud kernel and a busybox
initramfs, for a boot image and a rescue image.

Both print a distinct marker and a tick counter to the serial console:
- boot guest: "LIFEBOAT-BOOT-GUEST up", then "data=<marker>" read from its first
  disk (sector 1); on first boot it writes a fresh marker there, so a later
  boot elsewhere proves the disk's contents came along; then "tick N".
- rescue guest: "LIFEBOAT-RESCUE-GUEST up", then one "disk <dev> ..." line per
  disk with its head and data marker (the original disk is the second one),
  then "rescue-tick N".
Each image is a small qcow2 disk whose head names it, uploaded with kernel_id
and ramdisk_id properties pointing at the kernel and its initramfs.
"""
import glob
import hashlib
import gzip
import os
import shutil
import subprocess
import tempfile

BOOT_MARKER = "LIFEBOAT-BOOT-GUEST up"
RESCUE_MARKER = "LIFEBOAT-RESCUE-GUEST up"
BOOT_DISK_HEAD = "LIFEBOAT-BOOT-DISK"
RESCUE_DISK_HEAD = "LIFEBOAT-RESCUE-DISK"
MODULES = ("virtio/virtio_ring", "virtio/virtio", "virtio/virtio_pci_legacy_dev",
           "virtio/virtio_pci_modern_dev", "virtio/virtio_pci", "block/virtio_blk")

_COMMON = r"""#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t devtmpfs dev /dev
mount -t proc proc /proc
mount -t sysfs sys /sys
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk; do
  insmod /lib/modules/$m.ko 2>/dev/null
done
out() { echo "$*" > /dev/ttyS0; }
head_of() { dd if=/dev/$1 bs=32 count=1 2>/dev/null | tr -cd '[:alnum:]-'; }
data_of() { dd if=/dev/$1 bs=512 skip=1 count=1 2>/dev/null | tr -cd '[:alnum:]:-'; }
for i in 1 2 3 4 5 6 7 8 9 10; do [ -b /dev/vda ] && break; sleep 0.2; done
"""

_BOOT_INIT = _COMMON + r"""
out "%(marker)s"
data=$(data_of vda)
case "$data" in
  DATA:*) ;;
  *) data="DATA:$(cat /proc/sys/kernel/random/uuid | cut -c1-8)"
     printf '%%s' "$data" | dd of=/dev/vda bs=512 seek=1 count=1 conv=sync,fsync 2>/dev/null ;;
esac
out "disk vda head=$(head_of vda) data=$data"
i=0
while true; do i=$((i+1)); out "tick $i"; sleep 1; done
"""

_RESCUE_INIT = _COMMON + r"""
out "%(marker)s"
for d in vda vdb vdc; do
  [ -b /dev/$d ] && out "disk $d size=$(cat /sys/block/$d/size) head=$(head_of $d) data=$(data_of $d)"
done
i=0
while true; do i=$((i+1)); out "rescue-tick $i"; sleep 1; done
"""


def kernel_version():
    kernels = sorted(glob.glob("/boot/vmlinuz-*-cloud-amd64")) or sorted(
        glob.glob("/boot/vmlinuz-*"))
    if not kernels:
        raise RuntimeError("no guest kernel in /boot (install linux-image-cloud-amd64)")
    return os.path.basename(kernels[-1])[len("vmlinuz-"):]


def _initramfs(init_script, dest, kver):
    root = tempfile.mkdtemp(prefix="lb-initrd-")
    try:
        for sub in ("bin", "dev", "proc", "sys", "lib/modules"):
            os.makedirs(os.path.join(root, sub))
        shutil.copy("/bin/busybox", os.path.join(root, "bin", "busybox"))
        for module in MODULES:
            src = "/lib/modules/%s/kernel/drivers/%s.ko" % (kver, module)
            if not os.path.exists(src) and os.path.exists(src + ".xz"):
                raise RuntimeError("compressed modules are not supported: %s" % src)
            shutil.copy(src, os.path.join(root, "lib/modules"))
        with open(os.path.join(root, "init"), "w") as f:
            f.write(init_script)
        os.chmod(os.path.join(root, "init"), 0o755)
        files = subprocess.run("find . | sort", shell=True, cwd=root, check=True,
                               capture_output=True).stdout
        archive = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], cwd=root,
                                 input=files, check=True, capture_output=True).stdout
        with gzip.open(dest, "wb", compresslevel=1) as f:
            f.write(archive)
    finally:
        shutil.rmtree(root)


def _disk(head, dest, size_mib):
    raw = dest + ".raw"
    with open(raw, "wb") as f:
        f.write(head.encode().ljust(512, b"\0"))
        f.truncate(size_mib * 1024 * 1024)
    subprocess.run(["qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", raw, dest],
                   check=True)
    os.unlink(raw)


def build(parent):
    """Build the guest files once (per kernel and script version) under
    `parent`; returns their paths."""
    kver = kernel_version()
    version = hashlib.sha1((kver + _BOOT_INIT + _RESCUE_INIT).encode()).hexdigest()[:12]
    workdir = os.path.join(parent, version)
    os.makedirs(workdir, exist_ok=True)
    paths = {name: os.path.join(workdir, name) for name in (
        "vmlinuz", "boot-initrd.gz", "rescue-initrd.gz", "boot-disk.qcow2",
        "rescue-disk.qcow2")}
    if all(os.path.exists(p) for p in paths.values()):
        return paths
    shutil.copy("/boot/vmlinuz-%s" % kver, paths["vmlinuz"])
    _initramfs(_BOOT_INIT % {"marker": BOOT_MARKER}, paths["boot-initrd.gz"], kver)
    _initramfs(_RESCUE_INIT % {"marker": RESCUE_MARKER}, paths["rescue-initrd.gz"], kver)
    _disk(BOOT_DISK_HEAD, paths["boot-disk.qcow2"], 32)
    _disk(RESCUE_DISK_HEAD, paths["rescue-disk.qcow2"], 16)
    return paths


CMDLINE = "console=ttyS0 quiet panic=-1"


def upload_all(client, paths):
    """Upload kernel, both initramfs and both disks through the image API
    (an ApiClient); returns {"boot": id, "rescue": id, "kernel": id, ...}."""
    ids = {}
    for key, fname, fmt in (("kernel", "vmlinuz", "aki"),
                            ("boot_ramdisk", "boot-initrd.gz", "ari"),
                            ("rescue_ramdisk", "rescue-initrd.gz", "ari")):
        ids[key] = upload(client, "lb-" + key, paths[fname], fmt, fmt)
    ids["boot"] = upload(client, "lb-boot", paths["boot-disk.qcow2"], "qcow2", "bare",
                         kernel_id=ids["kernel"], ramdisk_id=ids["boot_ramdisk"],
                         os_command_line=CMDLINE)
    ids["rescue"] = upload(client, "lb-rescue", paths["rescue-disk.qcow2"], "qcow2",
                           "bare", kernel_id=ids["kernel"],
                           ramdisk_id=ids["rescue_ramdisk"], os_command_line=CMDLINE)
    return ids


def upload(client, name, path, disk_format, container_format, **properties):
    r = client.post("/image/v2/images", json=dict(
        name=name, disk_format=disk_format, container_format=container_format,
        visibility="public", **properties))
    assert r.status_code == 201, r.text
    image_id = r.json()["id"]
    with open(path, "rb") as f:
        r = client.put("/image/v2/images/%s/file" % image_id, content=f.read(),
                       headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 204, r.text
    return image_id

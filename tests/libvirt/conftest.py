"""Fixtures for the real-hypervisor tests (pytest -m libvirt).

`two_hosts` (session): the two libvirt hosts of hosts.py, built once and torn
down at the end even after failures. `guest_files` (session): the tiny guest
kernel/initramfs/disk images. Every test here is marked `libvirt`; where this
machine cannot run libvirtd at all they are skipped with the reason printed.
"""
import os
import sys

import pytest

from tests.libvirt import guest_images, hosts

BASE = os.environ.get("LIFEBOAT_H2H_BASE", "/tmp/lifeboat-h2h")


_reason = None


@pytest.fixture(scope="session")
def cannot_run():
    global _reason
    if _reason is None:
        _reason = hosts.cannot_run_reason() or ""
        if _reason:
            # Shown even without -rs: a skipped suite must say why.
            print("\nlibvirt tests skipped: %s" % _reason, file=sys.__stderr__)
    return _reason


def _skip_or_fail(reason):
    """Skip where libvirtd cannot run, unless the run requires it
    (LIFEBOAT_REQUIRE_LIBVIRT=1, as `make test` sets): a CI run whose libvirt
    tests were all skipped must not pass."""
    message = "cannot run libvirtd here: %s" % reason
    if os.environ.get("LIFEBOAT_REQUIRE_LIBVIRT") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def two_hosts(cannot_run):
    if cannot_run:
        _skip_or_fail(cannot_run)
    h = hosts.TwoHosts(BASE)
    try:
        h.start()
        yield h
    finally:
        if not os.environ.get("LIFEBOAT_H2H_KEEP"):  # debugging: look around after
            h.stop()


@pytest.fixture(scope="session")
def guest_files(cannot_run):
    if cannot_run:
        _skip_or_fail(cannot_run)
    return guest_images.build(os.path.join(BASE + "-guest"))


@pytest.fixture(scope="session")
def lifeboat_cloud(two_hosts, guest_files, tmp_path_factory):
    """The distributed cloud over both hosts, with the guest images uploaded
    and 128/512 MiB flavors: (LibvirtCloud, admin client at 2.105, image ids)."""
    from tests.libvirt.cloud import LibvirtCloud, rabbit_reachable
    if not rabbit_reachable():
        pytest.fail("RabbitMQ is not reachable on 127.0.0.1:5672 "
                    "(scripts/ensure-services.sh starts it)")
    cloud = LibvirtCloud(two_hosts, tmp_path_factory.mktemp("libvirt-cloud"))
    try:
        cloud.start()
        admin = cloud.client("2.105")
        images = guest_images.upload_all(admin, guest_files)
        cloud.add_flavor("lb128", 128)
        cloud.add_flavor("lb512", 512)
        yield cloud, admin, images
    except Exception:
        for name in list(cloud.procs):
            print("---- %s log ----\n%s" % (name, cloud.log_tail(name, 80)),
                  file=sys.stderr)
        raise
    finally:
        if not os.environ.get("LIFEBOAT_H2H_KEEP"):
            cloud.stop()

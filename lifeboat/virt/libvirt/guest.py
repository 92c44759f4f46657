"""The libvirt connection of a host (`Host`) and one guest domain (`Guest`)."""
import logging
import threading
import time

import libvirt

from lifeboat import exception
from lifeboat.compute import states

LOG = logging.getLogger(__name__)

POWER_STATES = {
    libvirt.VIR_DOMAIN_NOSTATE: states.NOSTATE,
    libvirt.VIR_DOMAIN_RUNNING: states.RUNNING,
    libvirt.VIR_DOMAIN_BLOCKED: states.RUNNING,
    libvirt.VIR_DOMAIN_PAUSED: states.PAUSED_POWER,
    libvirt.VIR_DOMAIN_SHUTDOWN: states.SHUTDOWN,
    libvirt.VIR_DOMAIN_SHUTOFF: states.SHUTDOWN,
    libvirt.VIR_DOMAIN_CRASHED: states.CRASHED,
    libvirt.VIR_DOMAIN_PMSUSPENDED: states.SUSPENDED_POWER,
}


def _quiet(_ctx, _err):
    """libvirt prints every error to stderr by default; we raise them instead."""


class Host:
    """One connection to the local libvirtd, reopened when it drops."""

    def __init__(self, uri):
        self.uri = uri or "qemu:///system"
        self._conn = None
        self._lock = threading.Lock()

    def get_connection(self):
        with self._lock:
            if self._conn is None or not _alive(self._conn):
                libvirt.registerErrorHandler(_quiet, None)
                self._conn = libvirt.open(self.uri)
            return self._conn

    def close(self):
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.close()
                except libvirt.libvirtError:
                    pass
                self._conn = None

    def find(self, uuid):
        """The Guest for instance `uuid`, or None."""
        try:
            return Guest(self.get_connection().lookupByUUIDString(uuid))
        except libvirt.libvirtError as e:
            if e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return None
            raise

    def get(self, uuid):
        guest = self.find(uuid)
        if guest is None:
            raise exception.InstanceNotFound(instance_id=uuid)
        return guest

    def define(self, xml):
        return Guest(self.get_connection().defineXML(xml))

    def uuids(self):
        return [d.UUIDString() for d in self.get_connection().listAllDomains()]


def _alive(conn):
    try:
        return conn.isAlive() == 1
    except libvirt.libvirtError:
        return False


class Guest:
    """A libvirt domain, with the few operations the driver composes."""

    def __init__(self, domain):
        self.domain = domain

    @property
    def uuid(self):
        return self.domain.UUIDString()

    def state(self):
        state, _reason = self.domain.state()
        return state

    def power_state(self):
        state = self.state()
        if state == libvirt.VIR_DOMAIN_SHUTOFF and self.has_managed_save():
            return states.SUSPENDED_POWER
        return POWER_STATES.get(state, states.NOSTATE)

    def is_active(self):
        return self.domain.isActive() == 1

    def has_managed_save(self):
        return self.domain.hasManagedSaveImage(0) == 1

    def xml(self):
        return self.domain.XMLDesc(0)

    def launch(self):
        self.domain.createWithFlags(0)

    def poweroff(self):
        """Destroy (hard power off) if running; fine if already off."""
        try:
            if self.is_active():
                self.domain.destroy()
        except libvirt.libvirtError as e:
            if e.get_error_code() != libvirt.VIR_ERR_OPERATION_INVALID:
                raise

    def shutdown_and_wait(self, seconds):
        """ACPI shutdown, then wait up to `seconds`; True if it went off."""
        if not self.is_active():
            return True
        try:
            self.domain.shutdown()
        except libvirt.libvirtError:
            return False
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if not self.is_active():
                return True
            time.sleep(0.2)
        return not self.is_active()

    def undefine(self):
        flags = (libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
                 | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM)
        try:
            self.domain.undefineFlags(flags)
        except libvirt.libvirtError as e:
            if e.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                raise

    def remove_managed_save(self):
        if self.has_managed_save():
            self.domain.managedSaveRemove(0)

    def pause(self):
        self.domain.suspend()

    def resume(self):
        self.domain.resume()

    def managed_save(self):
        self.domain.managedSave(0)

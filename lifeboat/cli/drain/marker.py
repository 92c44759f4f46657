"""The drain marker: the best-effort lock a drain keeps in the disabled reason.

A drain disables the host's nova-compute service with
``lifeboat-drain:<pid>@<node>:<started-at> <reason>`` as its reason; that is
how a second drain (or an undrain) of the same host learns that one is
running. `Marker` builds, parses and judges that text; see its docstring for
what stays racy. It has no API calls (those are in cloud.py and claim.py).
"""
import dataclasses
import datetime
import os
import re
import socket

MARKER_PREFIX = "lifeboat-drain:"
DEFAULT_REASON = "drained by lifeboat"
REASON_MAX = 255                 # the API's maxLength for disabled_reason
_MARKER_RE = re.compile(r"lifeboat-drain:(\d+)@([^:\s]+):(\S+)(?: (.*))?\Z", re.S)


def this_node():
    """This machine's name as the marker spells it (no ':' nor blanks)."""
    name = re.sub(r"[\s:]+", "-", socket.gethostname() or "") or "localhost"
    return name


@dataclasses.dataclass(frozen=True)
class Marker:
    """``lifeboat-drain:<pid>@<node>:<started-at> <reason>`` in disabled_reason.

    It is best effort: the services API has no compare-and-swap, so two drains
    that read the service before either writes both think they got it. The
    drainer narrows that window by reading the service back `settle` seconds
    after writing (the loser sees the winner's marker and refuses) and by
    checking every few seconds that the marker is still its own (a drain that
    finds another's marker, or an undrain, stops starting migrations). Two
    drains whose read and write straddle each other's read-back can still both
    proceed; each then still migrates at most its own `max_concurrent`.
    """

    pid: int
    node: str
    started: str
    reason: str = ""

    @classmethod
    def new(cls, reason):
        started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        return cls(os.getpid(), this_node(), started, reason or "")

    @classmethod
    def parse(cls, text):
        match = _MARKER_RE.match(text or "")
        if not match:
            return None
        return cls(int(match.group(1)), match.group(2), match.group(3),
                   match.group(4) or "")

    def text(self):
        head = "%s%d@%s:%s" % (MARKER_PREFIX, self.pid, self.node, self.started)
        return ("%s %s" % (head, self.reason) if self.reason else head)[:REASON_MAX]

    def liveness(self):
        """'alive' or 'dead' when the drain ran on this machine (its pid is or is
        not there), 'unknown' for another machine's."""
        if self.node != this_node():
            return "unknown"
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return "dead"
        except PermissionError:
            return "alive"
        except OSError:
            return "unknown"
        return "alive"

    def describe(self):
        return "pid %d on %s, started %s" % (self.pid, self.node, self.started)

"""Small helpers shared by the view modules.

Nova renders times two ways, and clients (Tempest, novaclient, SDK parsers)
depend on both: `created`/`updated`/fault times are ISO 8601 with a "Z"
(oslo's isotime), while the `OS-SRV-USG:*` stamps are the naive datetime as
JSON-serialised by oslo (microseconds, no zone). Our model stores naive UTC.
"""
import datetime

_ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_PERFECT_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"


def _naive_utc(when):
    """`when` as a naive UTC datetime (aware values are converted, not relabelled)."""
    if when.tzinfo is not None:
        when = when.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return when


def isotime(when):
    """ISO 8601 in UTC with a trailing Z, e.g. 2024-05-01T10:00:00Z; None stays None."""
    if when is None:
        return None
    return _naive_utc(when).strftime(_ISO_FORMAT)


def strtime(when):
    """Microsecond stamp without zone, as Nova shows OS-SRV-USG times; None stays None."""
    if when is None:
        return None
    return _naive_utc(when).strftime(_PERFECT_FORMAT)

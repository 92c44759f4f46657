"""Compute API microversions: the one table, one line per version.

The story of each version for operators is in docs/api/microversion-history.md.
Lifeboat serves Nova's versions 2.1-2.104 with Nova's semantics for what it
implements, plus 2.105 (its own: live migration of rescued instances).
"""
import microversion_parse

from lifeboat import exception

SERVICE_TYPE = "compute"

VERSIONS = [
    "2.1",    # Base v2.1 API.
    "2.2",    # Keypair type (x509/ssh).
    "2.3",    # Extended server attributes: reservation_id, launch_index, kernel/ramdisk, hostname, root_device_name, user_data.
    "2.4",    # Fixed IP reserved flag.
    "2.5",    # ip6 filter on server list for non-admins.
    "2.6",    # Remote consoles API.
    "2.7",    # Flavor access to a public flavor is 409.
    "2.8",    # MKS console.
    "2.9",    # Server `locked` attribute.
    "2.10",   # Keypairs of other users for admins.
    "2.11",   # os-services force-down.
    "2.12",   # VIF net_id.
    "2.13",   # Server group user_id/project_id.
    "2.14",   # Evacuate without onSharedStorage.
    "2.15",   # Soft-affinity policies.
    "2.16",   # host_status on servers.
    "2.17",   # Trigger crash dump.
    "2.18",   # project_id optional in URLs.
    "2.19",   # Server description.
    "2.20",   # Volume ops on shelved servers.
    "2.21",   # Instance actions of deleted servers.
    "2.22",   # Force-complete a live migration.
    "2.23",   # GET /servers/{id}/migrations; migration_type in os-migrations.
    "2.24",   # Abort a live migration (DELETE /servers/{id}/migrations/{mid}).
    "2.25",   # os-migrateLive: block_migration 'auto', disk_over_commit removed.
    "2.26",   # Server tags.
    "2.27",   # OpenStack-API-Version header.
    "2.28",   # Hypervisor cpu_info as an object.
    "2.29",   # Evacuate force.
    "2.30",   # os-migrateLive force.
    "2.31",   # os-console-auth-tokens for serial consoles.
    "2.32",   # Device tags in boot.
    "2.33",   # Hypervisor list paging.
    "2.34",   # Asynchronous live-migration pre-checks.
    "2.35",   # Keypair paging.
    "2.36",   # Proxy APIs removed (network, image, ...).
    "2.37",   # networks 'auto'/'none' (required).
    "2.38",   # Invalid status filter is 400.
    "2.39",   # Image-metadata quota removed.
    "2.40",   # Simple tenant usage paging.
    "2.41",   # Aggregate uuid.
    "2.42",   # Device tags restored.
    "2.43",   # os-hosts removed.
    "2.44",   # Network proxy actions removed.
    "2.45",   # createImage returns body.
    "2.46",   # X-OpenStack-Request-ID header passed on.
    "2.47",   # Embedded flavor in server show.
    "2.48",   # Standard diagnostics.
    "2.49",   # Tagged volume attach.
    "2.50",   # Quota class server groups.
    "2.51",   # volume-extended event; action events for non-admins.
    "2.52",   # Tags in boot.
    "2.53",   # Service and hypervisor ids are uuids; PUT /os-services/{id}.
    "2.54",   # Keypair in rebuild.
    "2.55",   # Flavor description.
    "2.56",   # Cold migrate host.
    "2.57",   # user_data in rebuild; personality removed.
    "2.58",   # Instance action paging and changes-since.
    "2.59",   # Migration paging, changes-since, uuid.
    "2.60",   # Multiattach volumes.
    "2.61",   # Flavor extra_specs in flavor views.
    "2.62",   # Host and hostId in instance action events.
    "2.63",   # Trusted image certificates.
    "2.64",   # Server group policy/rules.
    "2.65",   # Abort queued/preparing live migrations.
    "2.66",   # changes-before filter.
    "2.67",   # volume_type in block_device_mapping_v2.
    "2.68",   # os-migrateLive and evacuate force removed.
    "2.69",   # Partial results in down cells.
    "2.70",   # Device tags in interfaces and volumes.
    "2.71",   # server_groups in server show.
    "2.72",   # Neutron port resource requests.
    "2.73",   # Lock reason.
    "2.74",   # host/hypervisor_hostname in boot (admin).
    "2.75",   # Stricter server/flavor views and 400 on unknown query params in some APIs.
    "2.76",   # power-update external event.
    "2.77",   # Availability zone on unshelve.
    "2.78",   # Server topology.
    "2.79",   # delete_on_termination in volume attach.
    "2.80",   # user_id/project_id in migrations.
    "2.81",   # Image cache.
    "2.82",   # accelerator-request-bound event.
    "2.83",   # More server list filters for non-admins.
    "2.84",   # Event details in instance actions.
    "2.85",   # Update volume attachment delete_on_termination.
    "2.86",   # Flavor extra-spec validation.
    "2.87",   # Boot-from-volume rescue.
    "2.88",   # Hypervisor fields trimmed; /os-hypervisors/statistics removed.
    "2.89",   # Volume attachment ids.
    "2.90",   # Configurable hostname.
    "2.91",   # Unshelve to host.
    "2.92",   # Keypair import only.
    "2.93",   # Rebuild volume-backed servers.
    "2.94",   # FQDN hostnames.
    "2.95",   # Evacuate to STOPPED.
    "2.96",   # pinned_availability_zone.
    "2.97",   # Shared file systems (shares).
    "2.98",   # Image properties in the embedded image.
    "2.99",   # SPICE direct console.
    "2.100",  # scheduler_hints in server show.
    "2.101",  # Instance actions of deleted servers (events).
    "2.102",  # Unknown query parameters are 400.
    "2.103",  # Keypair without project.
    "2.104",  # pinned_availability_zone in server update (Nova's latest).
    "2.105",  # Lifeboat: os-migrateLive accepts rescued instances.
]

MIN_VERSION = VERSIONS[0]
MAX_VERSION = VERSIONS[-1]


class APIVersion:
    """A parsed X.Y version, comparable with another or with an "X.Y" string."""

    __slots__ = ("major", "minor")

    def __init__(self, text):
        major, minor = str(text).split(".")
        self.major, self.minor = int(major), int(minor)

    def _key(self, other):
        if not isinstance(other, APIVersion):
            other = APIVersion(other)
        return (self.major, self.minor), (other.major, other.minor)

    def __ge__(self, other):
        a, b = self._key(other)
        return a >= b

    def __lt__(self, other):
        a, b = self._key(other)
        return a < b

    def __le__(self, other):
        a, b = self._key(other)
        return a <= b

    def __gt__(self, other):
        a, b = self._key(other)
        return a > b

    def __eq__(self, other):
        a, b = self._key(other)
        return a == b

    def __hash__(self):
        return hash((self.major, self.minor))

    def matches(self, low=None, high=None):
        """True if low <= self <= high (either bound may be None)."""
        return (low is None or self >= low) and (high is None or self <= high)

    def __str__(self):
        return "%d.%d" % (self.major, self.minor)

    __repr__ = __str__


_MIN = APIVersion(MIN_VERSION)
_MAX = APIVersion(MAX_VERSION)


def from_headers(headers, legacy=False):
    """The requested version, defaulting to 2.1; 400 if malformed, 406 if out of range.

    `legacy` (the /v2 endpoint) ignores version headers, as Nova's v2.0 mode.
    """
    if legacy:
        return APIVersion(MIN_VERSION)
    try:
        text = microversion_parse.get_version(
            headers, service_type=SERVICE_TYPE,
            legacy_headers=["X-OpenStack-Nova-API-Version"])
    except (ValueError, TypeError) as e:
        raise exception.Invalid(
            "API Version String %s is of invalid format. Must be of format "
            "MajorNum.MinorNum." % e)
    if text is None:
        return APIVersion(MIN_VERSION)
    text = text.strip()
    if text.lower() == "latest":
        return APIVersion(MAX_VERSION)
    try:
        major, minor = text.split(".")
        if not (major.isdigit() and minor.isdigit()):
            raise ValueError(text)
        version = APIVersion(text)
    except ValueError:
        raise exception.Invalid(
            "API Version String %s is of invalid format. Must be of format "
            "MajorNum.MinorNum." % text)
    if not version.matches(_MIN, _MAX):
        raise exception.NotAcceptableVersion(req_ver=text, min_ver=MIN_VERSION,
                                             max_ver=MAX_VERSION)
    return version

"""The Compute API calls a drain makes, as plain functions on a Cloud.

A connection.Cloud from an openstacksdk Connection (`as_cloud`), paging,
the compute service (get, disable/enable, `undrain`), the servers on a host,
the hypervisors and their free RAM, and how a server's vm_state tells
whether it can be live-migrated. Kept apart from the Drainer so that the
CLI (and Python callers) can use them alone, as `undrain` does.
"""
import dataclasses
from urllib.parse import quote

from lifeboat.cli import connection
from lifeboat.cli.connection import CliError
from lifeboat.cli.drain.marker import REASON_MAX, Marker

HOST = "OS-EXT-SRV-ATTR:host"
TASK_STATE = "OS-EXT-STS:task_state"
VM_STATE = "OS-EXT-STS:vm_state"
COMPUTE = "nova-compute"

LIVE_VM_STATES = ("active", "paused", "rescued")
RESCUED_MICROVERSION = "2.105"
_STATUS_TO_VM_STATE = {"ACTIVE": "active", "PAUSED": "paused", "RESCUE": "rescued",
                       "SHUTOFF": "stopped", "SUSPENDED": "suspended",
                       "ERROR": "error", "BUILD": "building",
                       "SOFT_DELETED": "soft-delete", "SHELVED": "shelved",
                       "SHELVED_OFFLOADED": "shelved_offloaded",
                       "RESIZED": "resized"}
_NOT_MIGRATABLE = {
    "stopped": "SHUTOFF: a stopped server cannot be live-migrated, and Lifeboat has "
               "no cold migration; start it or move it by other means",
    "suspended": "SUSPENDED: a suspended server cannot be live-migrated; resume it "
                 "first",
    "error": "ERROR: a server in error cannot be live-migrated; fix it first (a "
             "hard reboot rebuilds the guest)",
}


def as_cloud(conn, microversion=None):
    """A connection.Cloud from an openstacksdk Connection (or a Cloud as is),
    with the microversion the CLI would choose (one GET of the version document)."""
    if isinstance(conn, connection.Cloud):
        return conn
    endpoint = conn.compute.get_endpoint()
    if not endpoint:
        raise CliError("No compute endpoint in the service catalog.")
    url = connection.version_document_url(endpoint)
    response = conn.session.get(url, authenticated=False, raise_exc=False,
                                headers={"Accept": "application/json"})
    try:
        doc = response.json() if response.status_code == 200 else {}
    except ValueError:
        doc = {}
    chosen, is_lifeboat = connection.choose_microversion(response.headers, doc,
                                                         microversion)
    return connection.Cloud(conn, chosen, is_lifeboat,
                            lifeboat_version=response.headers.get(
                                connection.LIFEBOAT_HEADER))


def _pages(cloud, url, key, microversion=None):
    found = []
    for _page in range(10000):
        body = cloud.get(url, microversion=microversion) or {}
        found.extend(body.get(key, []))
        nexts = [link["href"] for link in body.get(key + "_links", [])
                 if link.get("rel") == "next"]
        if not nexts:
            break
        url = nexts[0]
    return found


def get_service(cloud, host):
    """The nova-compute service of `host` (a dict as the API shows it)."""
    body = cloud.get("/os-services?host=%s&binary=%s" % (quote(host), COMPUTE))
    services = [s for s in body.get("services", [])
                if s.get("host") == host and s.get("binary") == COMPUTE]
    if not services:
        raise CliError("No %s service on host %s." % (COMPUTE, host))
    return services[0]


def set_service(cloud, service, disabled, reason=None):
    """Disable (with `reason`) or enable a compute service; 2.53+ by uuid, the
    older action URLs below."""
    if cloud.at_least("2.53"):
        body = {"status": "disabled" if disabled else "enabled"}
        if disabled and reason:
            body["disabled_reason"] = reason[:REASON_MAX]
        return cloud.request("PUT", "/os-services/%s" % service["id"], json=body)
    body = {"host": service["host"], "binary": COMPUTE}
    if disabled and reason:
        body["disabled_reason"] = reason[:REASON_MAX]
        return cloud.request("PUT", "/os-services/disable-log-reason", json=body)
    return cloud.request("PUT", "/os-services/%s" % ("disable" if disabled
                                                     else "enable"), json=body)


# changes-since on /os-migrations (and its paging) start at 2.59.
CHANGES_SINCE_MICROVERSION = "2.59"


def live_migrations_from(cloud, host, since=None):
    """Live migrations whose source is `host`, newest first, as /os-migrations
    shows them: those changed since `since` (a timestamp in the API's own
    clock and format), or without it the newest one only (a timestamp to
    start from). One request for every migration of the host, however many
    are in flight (2.59+)."""
    url = "/os-migrations?source_compute=%s&migration_type=live-migration" % quote(host)
    if since is None:
        return (cloud.get(url + "&limit=1") or {}).get("migrations", [])
    return _pages(cloud, url + "&changes-since=%s" % quote(since), "migrations")


def servers_on_host(cloud, host):
    """Every server (all projects) the API places on `host`."""
    found = _pages(cloud, "/servers/detail?all_tenants=1&host=%s" % quote(host),
                   "servers")
    return [s for s in found if s.get(HOST) == host]


@dataclasses.dataclass
class Hypervisor:
    host: str
    state: str
    status: str
    free_ram_mb: int | None
    memory_mb: int | None
    disabled_reason: str | None = None

    @property
    def usable(self):
        return self.state == "up" and self.status == "enabled"


def hypervisors(cloud):
    """{host: Hypervisor} from /os-hypervisors/detail. The usage fields left the
    detail view at 2.88, so it is asked at 2.87 at most."""
    version = "2.87" if cloud.at_least("2.88") else cloud.microversion
    result = {}
    for h in _pages(cloud, "/os-hypervisors/detail", "hypervisors", version):
        service = h.get("service") or {}
        host = service.get("host") or h.get("hypervisor_hostname")
        free = h.get("free_ram_mb")
        prev = result.get(host)
        if prev is not None and free is not None and prev.free_ram_mb is not None:
            free += prev.free_ram_mb        # several nodes on one host
        result[host] = Hypervisor(host, h.get("state"), h.get("status"), free,
                                  h.get("memory_mb"), service.get("disabled_reason"))
    return result


def undrain(cloud, host):
    """Enable the host's compute service (which clears the reason, marker
    included). Returns (service before, marker found or None)."""
    service = get_service(cloud, host)
    marker = Marker.parse(service.get("disabled_reason"))
    set_service(cloud, service, disabled=False)
    return service, marker


def _vm_state(server):
    return server.get(VM_STATE) or _STATUS_TO_VM_STATE.get(server.get("status"))

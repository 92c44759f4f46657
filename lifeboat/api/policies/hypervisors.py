"""os-hypervisors policies."""
from lifeboat.api.policies import ADMIN, rule

H = "os_compute_api:os-hypervisors:%s"
RULES = [
    rule(H % "list", ADMIN, "List hypervisors", [("GET", "/os-hypervisors")]),
    rule(H % "list-detail", ADMIN, "List hypervisors with details",
         [("GET", "/os-hypervisors/detail")]),
    rule(H % "show", ADMIN, "Show a hypervisor", [("GET", "/os-hypervisors/{id}")]),
    rule(H % "statistics", ADMIN, "Hypervisor statistics",
         [("GET", "/os-hypervisors/statistics")]),
    rule(H % "uptime", ADMIN, "Hypervisor uptime", [("GET", "/os-hypervisors/{id}/uptime")]),
    rule(H % "search", ADMIN, "Search hypervisors", [("GET", "/os-hypervisors/{q}/search")]),
    rule(H % "servers", ADMIN, "Servers on hypervisors",
         [("GET", "/os-hypervisors/{q}/servers")]),
]

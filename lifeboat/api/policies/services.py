"""os-services policies."""
from lifeboat.api.policies import ADMIN, rule

RULES = [
    rule("os_compute_api:os-services:list", ADMIN, "List services",
         [("GET", "/os-services")]),
    rule("os_compute_api:os-services:update", ADMIN, "Update a service",
         [("PUT", "/os-services/{service_id}")]),
    rule("os_compute_api:os-services:delete", ADMIN, "Delete a service",
         [("DELETE", "/os-services/{service_id}")]),
]

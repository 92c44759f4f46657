"""os-instance-actions policies."""
from lifeboat.api.policies import ADMIN, PROJECT_READER_OR_ADMIN, rule

A = "os_compute_api:os-instance-actions:%s"
RULES = [
    rule(A % "list", PROJECT_READER_OR_ADMIN, "List a server's actions",
         [("GET", "/servers/{server_id}/os-instance-actions")]),
    rule(A % "show", PROJECT_READER_OR_ADMIN, "Show a server action",
         [("GET", "/servers/{server_id}/os-instance-actions/{request_id}")]),
    rule(A % "events", ADMIN, "Show action events",
         [("GET", "/servers/{server_id}/os-instance-actions/{request_id}")]),
    rule(A % "events:details", ADMIN, "Show action event details",
         [("GET", "/servers/{server_id}/os-instance-actions/{request_id}")]),
]

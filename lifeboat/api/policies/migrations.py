"""Migration policies (os-migrations and servers/{id}/migrations)."""
from lifeboat.api.policies import ADMIN, PROJECT_MANAGER_OR_ADMIN, rule

M = "os_compute_api:servers:migrations:%s"
RULES = [
    rule("os_compute_api:os-migrations:index", PROJECT_MANAGER_OR_ADMIN,
         "List migrations", [("GET", "/os-migrations")]),
    rule("os_compute_api:os-migrations:index:all_projects", ADMIN,
         "List migrations of all projects", [("GET", "/os-migrations")]),
    rule("os_compute_api:os-migrations:index:host", ADMIN,
         "See and filter by host in migrations", [("GET", "/os-migrations")]),
    rule(M % "index", PROJECT_MANAGER_OR_ADMIN, "List a server's migrations",
         [("GET", "/servers/{server_id}/migrations")]),
    rule(M % "show", PROJECT_MANAGER_OR_ADMIN, "Show a server's migration",
         [("GET", "/servers/{server_id}/migrations/{migration_id}")]),
    rule(M % "delete", PROJECT_MANAGER_OR_ADMIN, "Abort a live migration",
         [("DELETE", "/servers/{server_id}/migrations/{migration_id}")]),
    rule(M % "force_complete", PROJECT_MANAGER_OR_ADMIN, "Force-complete a live migration",
         [("POST", "/servers/{server_id}/migrations/{migration_id}/action")]),
    rule("os_compute_api:servers:migrations:index:host", ADMIN,
         "See host fields of a server's migrations",
         [("GET", "/servers/{server_id}/migrations")]),
]

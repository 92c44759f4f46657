"""Security-group policies (Nova's names and defaults): os-security-groups and
the addSecurityGroup/removeSecurityGroup server actions."""
from lifeboat.api.policies import (PROJECT_MEMBER_OR_ADMIN, PROJECT_READER_OR_ADMIN,
                                   rule)

P = "os_compute_api:os-security-groups:%s"
ACTION = "/servers/{server_id}/action (%s)"

RULES = [
    rule(P % "get", PROJECT_READER_OR_ADMIN, "List security groups (deprecated API)",
         [("GET", "/os-security-groups")]),
    rule(P % "show", PROJECT_READER_OR_ADMIN, "Show a security group (deprecated API)",
         [("GET", "/os-security-groups/{security_group_id}")]),
    rule(P % "create", PROJECT_MEMBER_OR_ADMIN,
         "Create a security group (deprecated API)", [("POST", "/os-security-groups")]),
    rule(P % "delete", PROJECT_MEMBER_OR_ADMIN,
         "Delete a security group (deprecated API)",
         [("DELETE", "/os-security-groups/{security_group_id}")]),
    rule(P % "list", PROJECT_READER_OR_ADMIN, "List a server's security groups",
         [("GET", "/servers/{server_id}/os-security-groups")]),
    rule(P % "add", PROJECT_MEMBER_OR_ADMIN, "Add a security group to a server",
         [("POST", ACTION % "addSecurityGroup")]),
    rule(P % "remove", PROJECT_MEMBER_OR_ADMIN, "Remove a security group from a server",
         [("POST", ACTION % "removeSecurityGroup")]),
]

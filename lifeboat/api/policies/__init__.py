"""Nova's policy rules and defaults for every API Lifeboat serves.

Base rules follow Nova's 2025.x defaults: roles admin > manager > member > reader,
project scoped. Each resource declares its own rules in a module beside this.
"""
from oslo_policy import policy

ADMIN = "rule:context_is_admin"
PROJECT_MANAGER_OR_ADMIN = "rule:project_manager_or_admin"
PROJECT_MEMBER_OR_ADMIN = "rule:project_member_or_admin"
PROJECT_READER_OR_ADMIN = "rule:project_reader_or_admin"
ANY = "@"

BASE_RULES = [
    policy.RuleDefault("context_is_admin", "role:admin",
                       "Decides what is required for the 'is_admin:True' check."),
    policy.RuleDefault("admin_api", "is_admin:True or role:admin",
                       "Default rule for most admin APIs."),
    policy.RuleDefault("project_manager_api",
                       "role:manager and project_id:%(project_id)s",
                       "Project manager."),
    policy.RuleDefault("project_member_api",
                       "role:member and project_id:%(project_id)s",
                       "Project member."),
    policy.RuleDefault("project_reader_api",
                       "role:reader and project_id:%(project_id)s",
                       "Project reader."),
    policy.RuleDefault("project_manager_or_admin",
                       "rule:project_manager_api or rule:context_is_admin",
                       "Project manager or admin."),
    policy.RuleDefault("project_member_or_admin",
                       "rule:project_member_api or rule:context_is_admin",
                       "Project member or admin."),
    policy.RuleDefault("project_reader_or_admin",
                       "rule:project_reader_api or rule:context_is_admin",
                       "Project reader or admin."),
]


def rule(name, check_str, description, operations):
    """A documented rule: operations is a list of (method, path)."""
    return policy.DocumentedRuleDefault(
        name=name, check_str=check_str, description=description,
        operations=[{"method": m, "path": p} for m, p in operations],
        scope_types=["project"])


def _collect():
    from lifeboat.api.policies import (flavors, hypervisors, instance_actions,
                                       migrations, security_groups, servers, services)
    rules = list(BASE_RULES)
    for module in (servers, flavors, services, hypervisors, instance_actions,
                   migrations, security_groups):
        rules.extend(module.RULES)
    return rules


class _Lazy(list):
    """ALL_RULES, built on first use to avoid an import cycle."""

    def __iter__(self):
        if not self:
            self.extend(_collect())
        return super().__iter__()


ALL_RULES = _Lazy()

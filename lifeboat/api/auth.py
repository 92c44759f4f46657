"""Authentication: turn request headers into a RequestContext.

noauth2 (tests, demos): `X-Auth-Token: user:project`; user `admin` is admin.
Roles imply lesser roles as Keystone's default implied roles do
(admin > manager > member > reader); an `X-Roles` header may name roles
explicitly, the same header keystonemiddleware sets for a validated token.
"""
from lifeboat import context as lb_context
from lifeboat import exception

_IMPLIED = {"admin": ["manager", "member", "reader"],
            "manager": ["member", "reader"], "member": ["reader"]}


def expand_roles(roles):
    out = []
    for role in roles:
        for r in [role] + _IMPLIED.get(role, []):
            if r not in out:
                out.append(r)
    return out


def noauth2(headers, request_id):
    token = headers.get("x-auth-token")
    if not token:
        raise exception.Unauthorized()
    user_id, _, project_id = token.partition(":")
    project_id = project_id or user_id
    if headers.get("x-roles"):
        roles = [r.strip().lower() for r in headers["x-roles"].split(",") if r.strip()]
    else:
        roles = ["admin"] if user_id == "admin" else ["member"]
    return lb_context.RequestContext(user_id=user_id, project_id=project_id,
                                     roles=expand_roles(roles),
                                     request_id=request_id)


def from_keystone_headers(headers, request_id):
    """Context from the headers keystonemiddleware's auth_token sets."""
    if headers.get("x-identity-status", "Confirmed") != "Confirmed":
        raise exception.Unauthorized()
    roles = [r.strip().lower() for r in headers.get("x-roles", "").split(",") if r.strip()]
    return lb_context.RequestContext(
        user_id=headers.get("x-user-id"), project_id=headers.get("x-project-id"),
        roles=expand_roles(roles), request_id=request_id,
        system_scope=headers.get("openstack-system-scope"))

"""The request context that travels with every call, across RPC too."""
import uuid

from lifeboat import exception


def generate_request_id():
    return "req-" + str(uuid.uuid4())


class RequestContext:
    """Who is asking and under which request id.

    Serialised with to_dict()/from_dict() for RPC so the in-process and the
    oslo.messaging transports carry exactly the same thing.
    """

    def __init__(self, user_id=None, project_id=None, roles=None,
                 request_id=None, is_admin=None, system_scope=None,
                 auth_token=None, service=False):
        self.user_id = user_id
        self.project_id = project_id
        self.roles = list(roles or [])
        self.request_id = request_id or generate_request_id()
        self.system_scope = system_scope
        self.auth_token = auth_token
        self.service = service
        self.is_admin = ("admin" in self.roles) if is_admin is None else is_admin

    def to_dict(self):
        return {"user_id": self.user_id, "project_id": self.project_id,
                "roles": self.roles, "request_id": self.request_id,
                "is_admin": self.is_admin, "system_scope": self.system_scope,
                "service": self.service}

    @classmethod
    def from_dict(cls, values):
        return cls(**{k: values.get(k) for k in (
            "user_id", "project_id", "roles", "request_id", "is_admin",
            "system_scope", "service")})

    def to_policy_values(self):
        return {"user_id": self.user_id, "project_id": self.project_id,
                "roles": self.roles, "system_scope": self.system_scope}

    def elevated(self):
        ctx = RequestContext.from_dict(self.to_dict())
        ctx.is_admin = True
        if "admin" not in ctx.roles:
            ctx.roles.append("admin")
        return ctx

    def can_see(self, project_id):
        """Project isolation: admins see all, others only their project."""
        return self.is_admin or project_id == self.project_id

    def require_admin(self):
        if not self.is_admin:
            raise exception.Forbidden()


def get_admin_context(request_id=None):
    """A context for services acting on their own behalf."""
    return RequestContext(user_id="lifeboat", project_id="service",
                          roles=["admin"], request_id=request_id, service=True)

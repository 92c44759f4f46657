"""HTTP handlers, one module per resource. ROUTERS lists (router, prefixes)."""


def _routers():
    from lifeboat.api.handlers import (aggregates, flavors, hypervisors, images,
                                       instance_actions, migrations, security_groups,
                                       server_actions, servers, services)
    compute = ("/v2.1", "/v2")
    return [(servers.router, compute), (server_actions.router, compute),
            (flavors.router, compute), (services.router, compute),
            (hypervisors.router, compute), (instance_actions.router, compute),
            (migrations.router, compute), (security_groups.router, compute),
            (aggregates.router, compute),
            (images.router, ("",))]


class _LazyRouters:
    def __iter__(self):
        return iter(_routers())


ROUTERS = _LazyRouters()

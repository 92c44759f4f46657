"""[api] options: where and how the Compute API listens and authenticates."""
from oslo_config import cfg

GROUP = cfg.OptGroup("api", title="Compute API")

OPTS = [
    cfg.StrOpt("listen", default="127.0.0.1",
               help="Address the API listens on."),
    cfg.PortOpt("port", default=8774, help="Port the API listens on."),
    cfg.IntOpt("workers", default=1, min=1,
               help="Number of API worker processes (lifeboat-api only)."),
    cfg.StrOpt("auth_strategy", default="noauth2", choices=["noauth2", "keystone"],
               help="noauth2: 'X-Auth-Token: user:project', user 'admin' is "
                    "admin (for tests and demos). keystone: validate tokens with "
                    "keystonemiddleware, configured in [keystone_authtoken]."),
    cfg.IntOpt("max_limit", default=1000, min=1,
               help="Largest page size returned by list calls."),
    cfg.IntOpt("max_request_body_size", default=114688, min=1024,
               help="Largest accepted request body in bytes (as Nova's "
                    "[oslo_middleware] max_request_body_size); image uploads "
                    "are not limited by this."),
    cfg.IntOpt("max_instances_per_request", default=1000, min=1,
               help="Most servers one POST /servers may create (min_count / "
                    "max_count); more is refused with 403 as Nova refuses a "
                    "request over quota, before anything is recorded."),
    cfg.StrOpt("public_endpoint",
               help="Base URL used in links (e.g. http://api.example.com:8774). "
                    "Defaults to the URL of the incoming request."),
    cfg.StrOpt("policy_file", default="policy.yaml",
               help="oslo.policy overrides file (looked up in config dirs)."),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(OPTS, group=GROUP)

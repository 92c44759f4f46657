"""[database] options."""
from oslo_config import cfg

GROUP = cfg.OptGroup("database", title="Database")

OPTS = [
    cfg.StrOpt("connection", secret=True,
               help="SQLAlchemy URL. Default: SQLite file lifeboat.sqlite under "
                    "[DEFAULT] state_path. Distributed deployments use "
                    "postgresql+psycopg://... or mysql+pymysql://...."),
    cfg.IntOpt("max_pool_size", default=10, help="Connection pool size."),
    cfg.IntOpt("pool_timeout", default=10,
               help="Seconds to wait for a pooled connection before the request "
                    "fails with 503."),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(OPTS, group=GROUP)

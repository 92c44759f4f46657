"""Reading the capabilities compute services report.

One place decides whether a host can live-migrate rescued instances, for the
API's synchronous 400 and for the scheduler's filter alike.
"""
from lifeboat import service as lb_service

RESCUED_LIVE_MIGRATION = "supports_live_migrate_rescued"


def host_supports_rescued_live_migration(capabilities, service_version):
    """True iff the driver says so and the service runs a version that knows how.

    A compute service not yet upgraded (older service version) counts as lacking
    support even if its driver could, as the spec's upgrade case requires.
    """
    return (bool((capabilities or {}).get(RESCUED_LIVE_MIGRATION))
            and (service_version or 0) >= lb_service.MIN_VERSION_RESCUED_LIVE_MIGRATION)

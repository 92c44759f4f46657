"""os-services bodies, shaped as Nova's services controller shapes them.

* `id` is the integer row id before 2.53 and the service uuid from 2.53, when
  services became addressable by uuid (PUT/DELETE /os-services/{uuid}).
* `forced_down` appears from 2.11, the microversion that introduced it.
* `updated_at` is when the service last reported in (Nova's DB servicegroup
  driver shows the row's heartbeat time), printed as oslo's JSON serialiser
  prints a naive datetime: microseconds, no zone.
* `zone`: Nova reports its own control services in the "internal" zone and
  compute services in their availability zone; Lifeboat has one, "nova".
"""
from lifeboat.api.views import common
from lifeboat.db import services as db_services

COMPUTE_BINARY = "nova-compute"
INTERNAL_ZONE = "internal"
DEFAULT_ZONE = "nova"


def zone(service):
    return DEFAULT_ZONE if service.binary == COMPUTE_BINARY else INTERNAL_ZONE


def status(service):
    return "disabled" if service.disabled else "enabled"


def state(service):
    """"up" while the heartbeat is fresh and nobody forced the service down."""
    return "up" if db_services.is_up(service) else "down"


def updated_at(service):
    return common.strtime(service.last_seen_up or service.updated_at)


def service(req, svc, with_forced_down=None):
    """One entry of GET /os-services, also the 2.53+ PUT answer.

    with_forced_down: show `forced_down` (default: from 2.11 on, as the list;
    the 2.53 PUT answer always carries it).
    """
    if with_forced_down is None:
        with_forced_down = req.version >= "2.11"
    body = {
        "binary": svc.binary,
        "host": svc.host,
        "id": svc.uuid if req.version >= "2.53" else svc.id,
        "zone": zone(svc),
        "status": status(svc),
        "state": state(svc),
        "updated_at": updated_at(svc),
        "disabled_reason": svc.disabled_reason,
    }
    if with_forced_down:
        body["forced_down"] = bool(svc.forced_down)
    return body


def legacy_status(host, binary, status_text, reason=None):
    """The pre-2.53 answer to PUT /os-services/{enable,disable,disable-log-reason}.

    Nova echoes the request rather than the row: host, binary, the new status,
    and the reason only when one was given.
    """
    body = {"host": host, "binary": binary, "status": status_text}
    if reason:
        body["disabled_reason"] = reason
    return {"service": body}


def legacy_forced_down(host, binary, forced_down):
    """The pre-2.53 answer to PUT /os-services/force-down (2.11-2.52)."""
    return {"service": {"host": host, "binary": binary,
                        "forced_down": bool(forced_down)}}

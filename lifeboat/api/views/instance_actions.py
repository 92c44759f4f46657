"""os-instance-actions bodies, as Nova's instance actions controller shapes them.

Times are the stored naive UTC datetimes as oslo's JSON serialiser prints them
(`2018-04-25T01:26:34.388280`, no zone), exactly as Nova's API samples show.

* 2.51  project members see events (without traceback); before, admins only.
* 2.58  actions carry `updated_at`; the list pages (`links`).
* 2.62  events carry `hostId` (sha224 of project + host), and `host` for
        callers the events policy admits.
* 2.84  events carry `details` for callers the events:details policy admits.

Which keys a caller sees is decided by the handler (policy) and passed in.
"""
import hashlib

from lifeboat.api.views import common

_ACTION_KEYS = ("action", "instance_uuid", "request_id", "user_id", "project_id",
                "start_time", "message")


def host_id(host, project_id):
    """Nova's utils.generate_hostid: "" without a host."""
    if not host:
        return ""
    return hashlib.sha224(((project_id or "") + host).encode("utf-8")).hexdigest()


def action(req, act):
    """One action, without events (list entries and the head of show)."""
    body = {}
    for key in _ACTION_KEYS:
        value = getattr(act, key)
        if key == "start_time":
            value = common.strtime(value)
        body[key] = value
    if req.version >= "2.58":
        body["updated_at"] = common.strtime(act.updated_at or act.start_time)
    return body


def event(req, ev, project_id, show_traceback=False, show_host=False,
          show_details=False):
    """One event of an action.

    project_id: the action's project (or the server's when the action has
    none), which seeds hostId so that hosts stay opaque across projects.
    """
    body = {
        "event": ev.event,
        "start_time": common.strtime(ev.start_time),
        "finish_time": common.strtime(ev.finish_time),
        "result": ev.result,
    }
    if show_traceback:
        body["traceback"] = ev.traceback
    if req.version >= "2.62":
        # Nova records the reporting service's host on every event; a host
        # still missing here shows as "" rather than null, which the 2.62
        # schema (a string) would refuse.
        if show_host:
            body["host"] = ev.host or ""
        body["hostId"] = host_id(ev.host, project_id)
    if show_details and req.version >= "2.84":
        body["details"] = ev.details
    return body


def events(req, act, project_id, **shown):
    """Events newest first, as Nova's action_events_get orders them."""
    ordered = sorted(act.events or [], key=lambda e: (e.start_time, e.id), reverse=True)
    return [event(req, ev, project_id, **shown) for ev in ordered]

"""Instance actions, their events, and nothing else."""
import traceback as tb

import sqlalchemy as sa

from lifeboat import exception
from lifeboat.db import models
from lifeboat.db.engine import transaction


def start(context, instance_uuid, action):
    with transaction() as s:
        a = models.InstanceAction(action=action, instance_uuid=instance_uuid,
                                  request_id=context.request_id,
                                  user_id=context.user_id,
                                  project_id=context.project_id)
        s.add(a)
        s.flush()
        return a.id


def _action_for(s, instance_uuid, request_id):
    A = models.InstanceAction
    return s.scalars(sa.select(A).where(A.instance_uuid == instance_uuid,
                                        A.request_id == request_id)
                     .order_by(A.id.desc())).first()


def event_start(context, instance_uuid, event, host=None):
    with transaction() as s:
        action = _action_for(s, instance_uuid, context.request_id)
        if action is None:
            return None
        ev = models.InstanceActionEvent(action_id=action.id, event=event, host=host)
        s.add(ev)
        action.updated_at = models.utcnow()
        s.flush()
        return ev.id


def event_finish(context, instance_uuid, event, error=None, host=None):
    """Finish the newest open `event` of this request's action (Success/Error)."""
    E = models.InstanceActionEvent
    with transaction() as s:
        action = _action_for(s, instance_uuid, context.request_id)
        if action is None:
            return
        ev = s.scalars(sa.select(E).where(E.action_id == action.id, E.event == event,
                                          E.finish_time.is_(None))
                       .order_by(E.id.desc())).first()
        now = models.utcnow()
        if ev is None:
            ev = models.InstanceActionEvent(action_id=action.id, event=event,
                                            host=host, start_time=now)
            s.add(ev)
        ev.finish_time = now
        ev.result = "Error" if error is not None else "Success"
        if error is not None:
            ev.traceback = "".join(tb.format_exception(error))[-4000:]
            ev.details = str(error)[:255]
            action.message = "Error"
        action.updated_at = now
        action.finish_time = now


def list_(instance_uuid, limit=None, marker=None, changes_since=None,
          changes_before=None):
    A = models.InstanceAction
    q = sa.select(A).where(A.instance_uuid == instance_uuid)
    if changes_since:
        q = q.where(A.updated_at >= changes_since)
    if changes_before:
        q = q.where(A.updated_at <= changes_before)
    q = q.order_by(A.start_time.desc(), A.id.desc())
    with transaction(read_only=True) as s:
        if marker:
            m = s.scalars(sa.select(A).where(A.request_id == marker,
                                             A.instance_uuid == instance_uuid)).first()
            if m is None:
                raise exception.InvalidInput(reason="marker [%s] not found" % marker)
            q = q.where(sa.or_(A.start_time < m.start_time,
                               sa.and_(A.start_time == m.start_time, A.id < m.id)))
        if limit is not None:
            q = q.limit(limit)
        return list(s.scalars(q))


def get(instance_uuid, request_id):
    with transaction(read_only=True) as s:
        a = _action_for(s, instance_uuid, request_id)
    if a is None:
        raise exception.InstanceActionNotFound(request_id=request_id,
                                               instance_uuid=instance_uuid)
    return a

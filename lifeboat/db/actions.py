"""Instance actions, their events, and nothing else."""
import collections
import threading
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


# (instance uuid, request id) -> action id, as _action_id last found it: a
# compute action starts and finishes its event in the same request, so the
# finish (and the next events of a migration) need not look the action up again.
_ACTION_IDS = collections.OrderedDict()
_ACTION_IDS_MAX = 4096
_action_ids_lock = threading.Lock()


def _action_id(s, instance_uuid, request_id):
    """The id of this request's action on the instance (plain column: loading the
    ORM object would also load every event of it, `events` being selectin).
    Actions are never deleted or re-keyed, so a found id is remembered."""
    key = (instance_uuid, request_id)
    with _action_ids_lock:
        found = _ACTION_IDS.get(key)
    if found is not None:
        return found
    A = models.InstanceAction
    found = s.scalar(sa.select(A.id).where(A.instance_uuid == instance_uuid,
                                           A.request_id == request_id)
                     .order_by(A.id.desc()).limit(1))
    if found is not None:
        with _action_ids_lock:
            _ACTION_IDS[key] = found
            if len(_ACTION_IDS) > _ACTION_IDS_MAX:
                _ACTION_IDS.popitem(last=False)
    return found


def event_start(context, instance_uuid, event, host=None):
    A, E = models.InstanceAction, models.InstanceActionEvent
    with transaction() as s:
        action_id = _action_id(s, instance_uuid, context.request_id)
        if action_id is None:
            return None
        now = models.utcnow()
        event_id = s.execute(sa.insert(E).values(
            action_id=action_id, event=event, host=host, start_time=now)
        ).inserted_primary_key[0]
        s.execute(sa.update(A).where(A.id == action_id).values(updated_at=now))
        return event_id


def event_finish(context, instance_uuid, event, error=None, host=None):
    """Finish the newest open `event` of this request's action (Success/Error)."""
    A, E = models.InstanceAction, models.InstanceActionEvent
    with transaction() as s:
        action_id = _action_id(s, instance_uuid, context.request_id)
        if action_id is None:
            return
        now = models.utcnow()
        values = {"finish_time": now,
                  "result": "Error" if error is not None else "Success"}
        if error is not None:
            values["traceback"] = "".join(tb.format_exception(error))[-4000:]
            values["details"] = str(error)[:255]
        event_id = s.scalar(sa.select(E.id).where(
            E.action_id == action_id, E.event == event, E.finish_time.is_(None))
            .order_by(E.id.desc()).limit(1))
        if event_id is None:
            s.execute(sa.insert(E).values(action_id=action_id, event=event, host=host,
                                          start_time=now, **values))
        else:
            s.execute(sa.update(E).where(E.id == event_id).values(**values))
        action = {"updated_at": now, "finish_time": now}
        if error is not None:
            action["message"] = "Error"
        s.execute(sa.update(A).where(A.id == action_id).values(**action))


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
    A = models.InstanceAction
    with transaction(read_only=True) as s:
        a = s.scalars(sa.select(A).where(A.instance_uuid == instance_uuid,
                                         A.request_id == request_id)
                      .order_by(A.id.desc())).first()
    if a is None:
        raise exception.InstanceActionNotFound(request_id=request_id,
                                               instance_uuid=instance_uuid)
    return a

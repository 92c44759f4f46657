"""Reconciling work that a process died with: live migrations nobody drives any
more, and boots a conductor was scheduling.

Who owns a live migration, by its status:

  accepted, queued                 a conductor: pre-checks, scheduling, and the
                                   hand-off to the source compute. oslo.messaging
                                   acknowledges a message before it is handled,
                                   so a conductor that dies loses its migrations.
  preparing, running,
  post-migrating                   the source compute process that drives it.
  completed, failed, error,
  cancelled                        final.

Three entry points, each a no-op when nothing was interrupted:

`recover_at_startup(manager)` (compute start-up, before its RPC server takes
messages): a migration this host was driving (preparing/running/post-migrating
with this host as source) was cut short by the restart. It is completed if the
destination already took the guest (the instance's host is the destination:
post_live_migration_at_destination ran), or, in post-migrating (the transfer
had finished), by asking the destination to take it now; otherwise it is rolled
back: the destination is asked to clean up, the migration is `error`, the
instance stays on the source in its vm_state with task_state None and a fault
saying what happened. A migration for which this host is the destination is
left to its source: alive, it is still driving it; restarting, it reconciles.

`periodic(manager)` (compute, every [compute] reconcile_interval): migrations
from this host that nobody drives. In preparing/running/post-migrating and last
touched before this process started: resolved as at start-up (the start-up pass
failed, e.g. the database was away). In accepted/queued (the conductor's): rolled
back when the conductor that took it is reported down (service_down_time), or
when nothing happened for [compute] live_migration_handoff_timeout.

`recover_conductor(host)` (conductor start-up, before its RPC server takes
messages): migrations and boots whose conductor event was started by a previous
process on this host and never finished were lost with it: migrations are
rolled back as above, boots still scheduling go to ERROR with a fault, as a
scheduling failure does.

So an interrupted migration ends within a bounded time: at the restart of the
service that owned it, or within service_down_time + reconcile_interval of its
conductor dying (if the conductor is not restarted sooner), or at the latest
live_migration_handoff_timeout after its last update.
"""
import datetime
import logging
import weakref

from lifeboat import context as lb_context
from lifeboat import exception
from lifeboat.compute import states
from lifeboat.conf import CONF
from lifeboat.db import actions as db_actions
from lifeboat.db import instances as db_instances
from lifeboat.db import migrations as db_migrations
from lifeboat.db import models
from lifeboat.db import services as db_services

LOG = logging.getLogger(__name__)

DRIVING = ("preparing", "running", "post-migrating")
HANDOFF = ("accepted", "queued")
LIVE_MIGRATION_ACTION = "live-migration"
CONDUCTOR_EVENT = "conductor_live_migrate_instance"
SOURCE_EVENT = "compute_live_migration"
BUILD_ACTION = "create"
BUILD_EVENT = "conductor_schedule_and_build_instances"

# manager -> when its start-up reconciliation ran (the process's start)
_started = weakref.WeakKeyDictionary()


# --- compute -----------------------------------------------------------------
def recover_at_startup(manager):
    """Resolve the migrations this host was driving when it stopped."""
    _started[manager] = models.utcnow()
    for migration in db_migrations.unfinished_for_host(manager.host):
        if migration.source_compute == manager.host and migration.status in DRIVING:
            _guarded(_resolve_interrupted, manager, migration,
                     "restart of %s" % manager.host)


def periodic(manager, unfinished=None):
    """Migrations from this host that nobody drives any more. `unfinished`:
    the host's in-progress migrations, when the caller read them already."""
    started = _started.get(manager)
    now = models.utcnow()
    if unfinished is None:
        unfinished = db_migrations.unfinished_for_host(manager.host)
    for migration in unfinished:
        if migration.source_compute != manager.host or _driving_here(manager, migration):
            continue
        last = migration.updated_at or migration.created_at
        if migration.status in DRIVING:
            if started is not None and last < started:
                _guarded(_resolve_interrupted, manager, migration,
                         "restart of %s" % manager.host)
        elif migration.status in HANDOFF:
            reason = _handoff_lost(migration, now - last)
            if reason:
                _guarded(_roll_back_handoff, migration, reason)


def _guarded(fn, *args):
    try:
        fn(*args)
    except exception.ServiceUnavailable as e:
        LOG.warning("Reconciliation postponed (%s); next round retries", e)
    except Exception:
        LOG.exception("Reconciliation step %s failed; next round retries",
                      fn.__name__)


def _driving_here(manager, migration):
    controls = getattr(manager, "_controls", {})
    control = controls.get(int(migration.id))
    return control is not None and control.started and not control.done.is_set()


def _resolve_interrupted(manager, migration, cause):
    migration = db_migrations.get(migration.id)  # fresh: it may have moved on
    if migration.status not in DRIVING:
        return
    uuid = migration.instance_uuid
    dest = migration.dest_compute
    try:
        instance = db_instances.get(uuid, read_deleted=True)
    except exception.InstanceNotFound:
        instance = None
    ctxt = _action_context(uuid, LIVE_MIGRATION_ACTION)
    if instance is None or instance.deleted:
        db_migrations.update(migration.id, expected_status=DRIVING, status="error")
        return
    if dest and instance.host == dest:
        LOG.warning("Live migration %s of %s: %s took the guest before the %s; "
                    "completing", migration.id, uuid, dest, cause)
        _complete(manager, migration, instance, ctxt)
        return
    if migration.status == "post-migrating" and dest and _host_up(dest):
        # The transfer had finished: the guest belongs on the destination.
        try:
            _call(manager, dest, "post_live_migration_at_destination", uuid)
        except Exception as e:  # noqa: BLE001 - fall back to a rollback
            LOG.warning("Live migration %s of %s: %s could not take the guest "
                        "(%s); rolling back", migration.id, uuid, dest, e)
        else:
            LOG.warning("Live migration %s of %s interrupted by the %s after the "
                        "transfer; %s took the guest", migration.id, uuid, cause, dest)
            _complete(manager, migration, db_instances.get(uuid), ctxt)
            return
    LOG.warning("Live migration %s of %s to %s interrupted by the %s at %s; "
                "rolling back", migration.id, uuid, dest, cause, migration.status)
    if dest:
        if _host_up(dest):
            try:
                _call(manager, dest, "rollback_live_migration_at_destination", uuid)
            except Exception as e:  # noqa: BLE001 - the destination is not ours
                LOG.warning("Rollback at %s for %s failed: %s", dest, uuid, e)
        else:
            LOG.warning("Destination %s of %s is down: not asked to clean up",
                        dest, uuid)
    reason = ("Live migration %s interrupted by the %s (at %s); rolled back, the "
              "instance stays on %s" % (migration.id, cause, migration.status,
                                        manager.host))
    if db_migrations.update(migration.id, expected_status=DRIVING,
                            status="error") is None:
        return  # resolved by someone else meanwhile
    _record(uuid, ctxt, SOURCE_EVENT, manager.host, reason)
    _settle(uuid)


def _complete(manager, migration, instance, ctxt):
    try:
        # The record's storage verdict lets the driver remove non-shared
        # leftovers (the instance directory) as well as the source guest.
        manager.driver.post_live_migration(
            ctxt or lb_context.get_admin_context(), instance,
            {"is_shared_instance_path": migration.shared_storage})
    except Exception as e:  # noqa: BLE001 - leftovers only
        LOG.warning("Source clean-up of %s after migration failed: %s",
                    instance.uuid, e)
    if db_migrations.update(migration.id, expected_status=DRIVING,
                            status="completed") is None:
        return
    if ctxt is not None:
        db_actions.event_finish(ctxt, instance.uuid, SOURCE_EVENT, host=manager.host)
    _settle(instance.uuid, host=migration.dest_compute, node=migration.dest_node
            or migration.dest_compute)


def request_still_queued(instance_uuid, host):
    """At start-up, for an instance on `host` with a task_state: True if the
    request has not reached this host yet (no event of the instance's newest
    action was begun here), i.e. a message sent while the service was down,
    waiting in its durable queue, which it handles once it takes messages. False
    if this host began it and died doing it, and always with the in-process
    transport of the all-in-one, where no message outlives the process."""
    if not CONF.transport_url or CONF.transport_url.startswith("local:"):
        return False
    actions = db_actions.list_(instance_uuid, limit=1)
    return not (actions and any(e.host == host and e.finish_time is None
                                for e in actions[0].events))


# --- conductor -----------------------------------------------------------------
def recover_conductor(host):
    """At conductor start-up: what a previous conductor process on `host` was
    doing when it died (its events started and never finished)."""
    for migration in db_migrations.list_({"in_progress": True}):
        if migration.status not in HANDOFF:
            continue
        event = _open_event(migration.instance_uuid, LIVE_MIGRATION_ACTION,
                            CONDUCTOR_EVENT)
        if event is not None and event.host == host:
            _guarded(_roll_back_handoff, migration,
                     "conductor %s restarted while handling it" % host)
    for instance in db_instances.list_(filters={"task_state_pairs": {
            (states.BUILDING, states.SCHEDULING)}}):
        event = _open_event(instance.uuid, BUILD_ACTION, BUILD_EVENT)
        if event is not None and event.host == host:
            _guarded(_fail_build, instance.uuid, host)


def _fail_build(uuid, host):
    reason = "Scheduling was interrupted by a restart of conductor %s" % host
    LOG.warning("Boot of %s: %s; setting ERROR", uuid, reason)
    try:
        db_instances.transition(uuid, expected_task_state=states.SCHEDULING,
                                vm_state=states.ERROR, task_state=None)
    except exception.LifeboatException:
        return
    _record(uuid, _action_context(uuid, BUILD_ACTION), BUILD_EVENT, host, reason,
            code=500)


# --- hand-off ------------------------------------------------------------------
def _handoff_lost(migration, age):
    event = _open_event(migration.instance_uuid, LIVE_MIGRATION_ACTION,
                        CONDUCTOR_EVENT)
    if event is not None and event.host:
        service = db_services.get_by_host_binary(event.host, "nova-conductor")
        if service is None or not db_services.is_up(service):
            return "conductor %s, which took it, is down" % event.host
    timeout = CONF.compute.live_migration_handoff_timeout
    if age > datetime.timedelta(seconds=timeout):
        return "not handed to the source compute within %ss" % timeout
    return None


def _roll_back_handoff(migration, reason):
    uuid = migration.instance_uuid
    if db_migrations.update(migration.id, expected_status=HANDOFF,
                            status="error") is None:
        return  # it moved on meanwhile
    message = "Live migration %s lost before it started: %s; rolled back" % (
        migration.id, reason)
    LOG.warning("%s (instance %s)", message, uuid)
    event = _open_event(uuid, LIVE_MIGRATION_ACTION, CONDUCTOR_EVENT)
    _record(uuid, _action_context(uuid, LIVE_MIGRATION_ACTION), CONDUCTOR_EVENT,
            event.host if event is not None else None, message,
            finish_event=event is not None)
    _settle(uuid)


# --- helpers -------------------------------------------------------------------
def _action(uuid, action_name):
    for action in db_actions.list_(uuid):  # newest first
        if action.action == action_name:
            return action
    return None


def _action_context(uuid, action_name):
    action = _action(uuid, action_name)
    if action is None:
        return None
    return lb_context.RequestContext(user_id=action.user_id,
                                     project_id=action.project_id,
                                     request_id=action.request_id, is_admin=True)


def _open_event(uuid, action_name, event_name):
    """The newest `event_name` of the newest `action_name` action, if unfinished."""
    action = _action(uuid, action_name)
    if action is None:
        return None
    events = [e for e in action.events if e.event == event_name]
    if not events:
        return None
    event = max(events, key=lambda e: e.id)
    return event if event.finish_time is None else None


def _record(uuid, ctxt, event, host, message, code=500, finish_event=True):
    error = exception.MigrationError(reason=message)
    db_instances.add_fault(uuid, code, message, details=message, host=host)
    if ctxt is not None and finish_event:
        db_actions.event_finish(ctxt, uuid, event, error=error, host=host)


def _settle(uuid, **values):
    """task_state migrating -> None (host/node as given, else unchanged)."""
    try:
        db_instances.transition(uuid, expected_task_state=states.MIGRATING,
                                task_state=None, **values)
    except exception.LifeboatException as e:
        LOG.info("Instance %s not settled by reconciliation: %s", uuid, e)


def _host_up(host):
    service = db_services.get_by_host_binary(host, "nova-compute")
    return service is not None and db_services.is_up(service)


def _call(manager, host, method, instance_uuid):
    """A compute RPC call with a bounded wait (the peer may be gone)."""
    timeout = min(CONF.rpc_response_timeout, 30)
    client = manager.compute_rpcapi.client.prepare(server=host, version="1.1",
                                                   timeout=timeout)
    return client.call(lb_context.get_admin_context(), method,
                       instance_uuid=instance_uuid, migrate_data={})

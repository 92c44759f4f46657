"""RPC over oslo.messaging (rabbit:// and any other oslo.messaging transport).

Contexts travel as dicts (RequestContext.to_dict); Lifeboat's own exceptions are
re-raised on the caller's side as the same classes (allowed_remote_exmods), so
a 400 raised by a compute host's check reaches the API as that 400.

Deployment choices made here (see docs/operations.md):

- Topic queues and exchanges are durable and messages persistent by default
  ([oslo_messaging_rabbit] amqp_durable_queues = True, with oslo.messaging's
  publisher confirms): a cast accepted by the broker survives a broker restart,
  and a message published while a consumer is still reconnecting is queued,
  not dropped for lack of a bound queue. Calls in flight during a broker
  restart fail with MessagingTimeout on the caller, who records the error.
- oslo.messaging's listeners poll with a timeout that backs off to 5 s while
  idle, and stop() waits for the poll in progress; we cap it at
  POLL_BACKOFF_MAX so a service stops within a fraction of a second. Message
  delivery does not depend on it (the poll returns as soon as a frame arrives).
"""
import logging
import threading

import oslo_messaging as messaging

from lifeboat import context as lb_context
from lifeboat import exception
from lifeboat.conf import CONF

LOG = logging.getLogger(__name__)

ALLOWED_EXMODS = ["lifeboat.exception"]
POLL_BACKOFF_MAX = 0.5  # seconds; oslo.messaging's own is 5
_transport = None
_lock = threading.Lock()


def _tune_oslo_messaging():
    try:
        from oslo_messaging._drivers import amqpdriver
        if getattr(amqpdriver, "ACK_REQUEUE_EVERY_SECONDS_MAX", 0) > POLL_BACKOFF_MAX:
            amqpdriver.ACK_REQUEUE_EVERY_SECONDS_MAX = POLL_BACKOFF_MAX
    except ImportError:  # pragma: no cover - a future layout; only slower stops
        LOG.debug("oslo.messaging amqpdriver not found; default poll back-off kept")
    try:
        from oslo_messaging._drivers import amqp as rpc_amqp
        from oslo_messaging._drivers import impl_rabbit
        # The same option objects the driver registers when it loads, so
        # registering them first is not a duplicate; an operator's value in the
        # config file still wins over this default.
        CONF.register_opts(impl_rabbit.rabbit_opts, group="oslo_messaging_rabbit")
        CONF.register_opts(rpc_amqp.amqp_opts, group="oslo_messaging_rabbit")
        CONF.set_default("amqp_durable_queues", True, group="oslo_messaging_rabbit")
    except ImportError:  # pragma: no cover
        pass


class ContextSerializer(messaging.NoOpSerializer):
    """RequestContext <-> dict on the wire."""

    def serialize_context(self, ctxt):
        return ctxt.to_dict() if hasattr(ctxt, "to_dict") else ctxt

    def deserialize_context(self, ctxt):
        return lb_context.RequestContext.from_dict(ctxt)


def get_transport():
    global _transport
    with _lock:
        if _transport is None:
            _tune_oslo_messaging()
            _transport = messaging.get_rpc_transport(
                CONF, url=CONF.transport_url, allowed_remote_exmods=ALLOWED_EXMODS)
    return _transport


class Client:
    """oslo.messaging RPCClient with our serializer and version cap."""

    def __init__(self, topic, version_cap=None):
        self.topic = topic
        self.version_cap = version_cap
        target = messaging.Target(topic=topic, version="1.0")
        self._client = messaging.get_rpc_client(
            get_transport(), target, version_cap=version_cap,
            serializer=ContextSerializer())

    def prepare(self, server=None, version=None, timeout=None):
        if version is not None and not self.can_send_version(version):
            # oslo.messaging would raise RPCVersionCapError (a 500 at the API);
            # refuse with a 400 that says what is wrong and what to do.
            return _OverCap(self.topic, version, self.version_cap, server)
        kwargs = {k: v for k, v in (("server", server), ("version", version),
                                    ("timeout", timeout)) if v is not None}
        return self._client.prepare(**kwargs)

    def can_send_version(self, version):
        return self._client.can_send_version(version)


class _OverCap:
    """A prepared client for a version above the [upgrade_levels] pin."""

    def __init__(self, topic, version, cap, server):
        self.topic, self.version, self.cap, self.server = topic, version, cap, server

    def _refuse(self, method):
        where = " on %s" % self.server if self.server else ""
        raise exception.Invalid(reason=(
            "%(method)s%(where)s needs %(topic)s RPC API %(version)s, but "
            "[upgrade_levels] %(topic)s = %(cap)s pins this service below it "
            "(a %(topic)s service is not upgraded yet): upgrade it, then raise "
            "or remove the pin" % {"method": method, "where": where,
                                   "topic": self.topic, "version": self.version,
                                   "cap": self.cap}))

    def call(self, ctxt, method, **kwargs):
        self._refuse(method)

    def cast(self, ctxt, method, **kwargs):
        self._refuse(method)

    def can_send_version(self, version=None):
        return False


class _Endpoint:
    """Exposes a manager's public methods with the version it serves."""

    def __init__(self, manager, version):
        self.target = messaging.Target(version=version)
        self._manager = manager

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._manager, name)


def serve(topic, server, endpoint):
    version = getattr(endpoint, "RPC_API_VERSION", "1.1")
    target = messaging.Target(topic=topic, server=server)
    rpc_server = messaging.get_rpc_server(
        get_transport(), target, [_Endpoint(endpoint, version)], executor="threading",
        serializer=ContextSerializer(),
        access_policy=messaging.DefaultRPCAccessPolicy)
    rpc_server.start()
    return _Server(rpc_server)


class _Server:
    def __init__(self, rpc_server):
        self._server = rpc_server

    def stop(self):
        """Stop taking messages, then wait for the handlers in progress (the
        caller bounds the wait: lifeboat.cmd.services)."""
        try:
            self._server.stop()
            self._server.wait()
        except Exception:
            LOG.exception("stopping RPC server failed")


def cleanup():
    global _transport
    with _lock:
        if _transport is not None:
            _transport.cleanup()
        _transport = None

"""RPC over oslo.messaging (rabbit:// and any other oslo.messaging transport).

Contexts travel as dicts (RequestContext.to_dict); Lifeboat's own exceptions are
re-raised on the caller's side as the same classes (allowed_remote_exmods), so
a 400 raised by a compute host's check reaches the API as that 400.
"""
import logging
import threading

import oslo_messaging as messaging

from lifeboat import context as lb_context
from lifeboat.conf import CONF

LOG = logging.getLogger(__name__)

ALLOWED_EXMODS = ["lifeboat.exception"]
_transport = None
_lock = threading.Lock()


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
            _transport = messaging.get_rpc_transport(
                CONF, url=CONF.transport_url, allowed_remote_exmods=ALLOWED_EXMODS)
    return _transport


class Client:
    """oslo.messaging RPCClient with our serializer and version cap."""

    def __init__(self, topic, version_cap=None):
        target = messaging.Target(topic=topic, version="1.0")
        self._client = messaging.get_rpc_client(
            get_transport(), target, version_cap=version_cap,
            serializer=ContextSerializer())

    def prepare(self, server=None, version=None, timeout=None):
        kwargs = {k: v for k, v in (("server", server), ("version", version),
                                    ("timeout", timeout)) if v is not None}
        return self._client.prepare(**kwargs)

    def can_send_version(self, version):
        return self._client.can_send_version(version)


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

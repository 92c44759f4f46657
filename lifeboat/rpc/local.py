"""In-process RPC: direct dispatch with the semantics of a message bus.

`call` runs the method in the caller's thread and returns its (JSON round-
tripped) result or raises the remote exception; `cast` queues the method on a
thread pool and returns at once. A method on a topic with no server raises
MessagingTimeout for calls and is dropped (logged) for casts, as a bus would.
"""
import concurrent.futures
import json
import logging
import threading

from lifeboat import context as lb_context

LOG = logging.getLogger(__name__)

_endpoints = {}   # (topic, server or None) -> endpoint
_lock = threading.Lock()
_pool = None


class MessagingTimeout(Exception):
    """No server answered (same name as oslo.messaging's)."""


def _get_pool():
    global _pool
    if _pool is None:
        with _lock:
            if _pool is None:
                _pool = concurrent.futures.ThreadPoolExecutor(
                    max_workers=64, thread_name_prefix="rpc-cast")
    return _pool


def _roundtrip(value):
    return json.loads(json.dumps(value, default=str))


def _resolve(topic, server):
    endpoint = _endpoints.get((topic, server))
    if endpoint is None and server is None:
        # fan to any server of the topic (conductor/scheduler style)
        for (t, _s), ep in _endpoints.items():
            if t == topic:
                return ep
    return endpoint


def _dispatch(topic, server, ctxt, method, kwargs):
    endpoint = _resolve(topic, server)
    if endpoint is None:
        raise MessagingTimeout("No server for %s.%s" % (topic, server))
    context = lb_context.RequestContext.from_dict(_roundtrip(ctxt.to_dict()))
    return getattr(endpoint, method)(context, **_roundtrip(kwargs))


def _cast_worker(topic, server, ctxt, method, kwargs):
    try:
        _dispatch(topic, server, ctxt, method, kwargs)
    except MessagingTimeout:
        LOG.error("cast %s to %s.%s dropped: no server", method, topic, server)
    except Exception:
        LOG.exception("cast %s to %s.%s failed", method, topic, server)


class Client:
    """RPCClient look-alike for the local transport."""

    def __init__(self, topic, version_cap=None, server=None, version=None):
        self.topic = topic
        self.server = server
        self.version_cap = version_cap

    def prepare(self, server=None, version=None, timeout=None):
        return Client(self.topic, self.version_cap, server or self.server, version)

    def can_send_version(self, version):
        return True

    def call(self, ctxt, method, **kwargs):
        return _roundtrip(_dispatch(self.topic, self.server, ctxt, method, kwargs))

    def cast(self, ctxt, method, **kwargs):
        _get_pool().submit(_cast_worker, self.topic, self.server, ctxt, method,
                           _roundtrip(kwargs))


class _Server:
    def __init__(self, key):
        self.key = key

    def stop(self):
        with _lock:
            _endpoints.pop(self.key, None)


def serve(topic, server, endpoint):
    key = (topic, server)
    with _lock:
        _endpoints[key] = endpoint
    return _Server(key)


def cleanup():
    global _pool
    with _lock:
        _endpoints.clear()
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=False)

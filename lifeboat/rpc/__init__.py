"""RPC: one interface, two transports.

`get_client(topic)` returns an object with oslo.messaging's RPCClient shape
(`prepare(server=, version=)`, `cast`, `call`); `get_server(topic, server,
endpoint)` serves an endpoint object. `local://` dispatches directly inside the
process (calls run in the caller's thread, casts on a worker pool), because
oslo.messaging's own fake:// driver polls every 50 ms when idle. Any other
transport_url goes through oslo.messaging. Arguments cross a JSON round trip on
both, so code that works embedded works distributed.
"""
from lifeboat.conf import CONF


def _transport():
    if not CONF.transport_url or CONF.transport_url.startswith("local:"):
        from lifeboat.rpc import local
        return local
    from lifeboat.rpc import messaging
    return messaging


def get_client(topic, version_cap=None):
    return _transport().Client(topic, version_cap=version_cap)


def get_server(topic, server, endpoint):
    """Start serving `endpoint` on `topic` (and topic.server); returns a handle
    with stop()."""
    return _transport().serve(topic, server, endpoint)


def cleanup():
    _transport().cleanup()

"""The one mapping from errors to Nova fault bodies.

`{"<faultName>": {"code": N, "message": "..."}}`, with the names Nova uses.
"""
import logging

from fastapi.responses import JSONResponse

from lifeboat import exception

LOG = logging.getLogger(__name__)

FAULT_NAMES = {
    400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound",
    405: "badMethod", 409: "conflictingRequest", 413: "overLimit",
    415: "badMediaType", 429: "overLimit", 501: "notImplemented",
    503: "serviceUnavailable",
}


def fault_body(code, message):
    return {FAULT_NAMES.get(code, "computeFault"): {"code": code, "message": message}}


def fault_response(code, message, headers=None):
    return JSONResponse(fault_body(code, message), status_code=code, headers=headers)


def from_exception(error):
    """A JSONResponse for any exception; unexpected ones become 500 computeFault."""
    if isinstance(error, exception.LifeboatException):
        code = error.code
        message = error.message
        if code >= 500 and code != 503:
            LOG.exception("Unexpected error", exc_info=error)
    else:
        LOG.error("Unexpected API error", exc_info=error)
        code = 500
        message = ("Unexpected API Error. Please report this at "
                   "https://bugs.launchpad.net/nova/ and attach the Nova API "
                   "log if possible.\n%s" % type(error))
    headers = {"WWW-Authenticate": 'Keystone uri="%s"' % ""} if code == 401 else None
    return fault_response(code, message, headers if code == 401 else None)

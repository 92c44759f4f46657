"""Pieces every handler uses: the request dependency and paging parameters."""
from fastapi import Depends, Request

from lifeboat import exception
from lifeboat.api import wsgi
from lifeboat.conf import CONF


async def api_request(request: Request) -> wsgi.ApiRequest:
    body = await request.body()
    if len(body) > CONF.api.max_request_body_size and not request.url.path.startswith("/image"):
        raise exception.RequestTooLarge()
    return wsgi.ApiRequest(request, body)


REQ = Depends(api_request)


def paging(req, default_limit=None):
    """(limit, marker) from the query, capped at [api] max_limit; 400 if bad."""
    limit = req.query.get("limit")
    if limit is not None:
        try:
            limit = int(limit)
        except ValueError:
            raise exception.ValidationError(
                detail="Invalid input for query parameters limit. Value: %s. "
                       "'%s' does not match '^[0-9]*$'" % (limit, limit))
        if limit < 0:
            raise exception.ValidationError(
                detail="Invalid input for query parameters limit. Value: %d." % limit)
        limit = min(limit, CONF.api.max_limit)
    else:
        limit = default_limit if default_limit is not None else CONF.api.max_limit
    return limit, req.query.get("marker")

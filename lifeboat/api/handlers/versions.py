"""Version documents at /, /v2, /v2.1 (served without a token), shaped as Nova's."""
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from lifeboat.api import microversion
from lifeboat.conf import CONF

router = APIRouter()

_V21_UPDATED = "2013-07-23T11:33:21Z"
_V20_UPDATED = "2011-01-21T11:33:21Z"


def _base(request):
    if CONF.api.public_endpoint:
        return CONF.api.public_endpoint.rstrip("/")
    return str(request.base_url).rstrip("/")


def _v21(base):
    return {"id": "v2.1", "status": "CURRENT", "version": microversion.MAX_VERSION,
            "min_version": microversion.MIN_VERSION, "updated": _V21_UPDATED,
            "links": [{"rel": "self", "href": base + "/v2.1/"}]}


def _v20(base):
    return {"id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "",
            "updated": _V20_UPDATED, "links": [{"rel": "self", "href": base + "/v2/"}]}


def _detail(version):
    version = dict(version)
    version["links"] = version["links"] + [
        {"rel": "describedby", "type": "text/html",
         "href": "http://docs.openstack.org/"}]
    version["media-types"] = [{"base": "application/json",
                               "type": "application/vnd.openstack.compute+json;"
                                       "version=%s" % version["id"][1:]}]
    return version


@router.get("/")
def root(request: Request):
    base = _base(request)
    return JSONResponse({"versions": [_v20(base), _v21(base)]})


@router.get("/v2.1")
@router.get("/v2.1/")
def v21(request: Request):
    return JSONResponse({"version": _detail(_v21(_base(request)))})


@router.get("/v2")
@router.get("/v2/")
def v20(request: Request):
    return JSONResponse({"version": _detail(_v20(_base(request)))})

"""The Glance v2 subset under /image, through HTTP and through the domain API.

The app here holds only the images router plus a middleware doing what the
real one does for /image (context from `X-Auth-Token: user:project`), so these
tests do not depend on the other handler modules. Each test gets its own
state_path and SQLite file; CONF overrides and the engine are reset afterwards.
"""
import hashlib
import os
import uuid

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from lifeboat import context as lb_context
from lifeboat import exception
from lifeboat.api import faults
from lifeboat.api.handlers import images as images_handler
from lifeboat.conf import CONF
from lifeboat.db import engine as db_engine
from lifeboat.db import models
from lifeboat.image import api as image_api

PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
OCTET = {"Content-Type": "application/octet-stream"}


def auth(token):
    return {"X-Auth-Token": token}


ADMIN, ALICE, BOB = auth("admin:admin"), auth("alice:pa"), auth("bob:pb")


def _context(request):
    token = request.headers.get("x-auth-token")
    if not token:
        return None
    user, _, project = token.partition(":")
    return lb_context.RequestContext(
        user_id=user, project_id=project or user,
        roles=["admin"] if user == "admin" else ["member"])


def make_app():
    app = FastAPI()
    app.include_router(images_handler.router)

    @app.middleware("http")
    async def _state(request: Request, call_next):
        request.state.context = _context(request)
        request.state.version = None
        request.state.legacy = False
        try:
            return await call_next(request)
        except exception.LifeboatException as e:
            return faults.from_exception(e)

    @app.exception_handler(exception.LifeboatException)
    async def _domain_error(request, error):
        return faults.from_exception(error)

    return app


@pytest.fixture
def client(tmp_path):
    CONF.clear()
    CONF([], project="lifeboat", default_config_files=[])
    CONF.set_override("state_path", str(tmp_path / "state"))
    CONF.set_override("connection", "sqlite:///%s" % (tmp_path / "db.sqlite"),
                      group="database")
    db_engine.dispose()
    models.Base.metadata.create_all(db_engine.get_engine())
    with TestClient(make_app()) as c:
        yield c
    db_engine.dispose()
    CONF.clear_override("state_path")
    CONF.clear_override("connection", group="database")
    CONF.clear()


def create(client, headers=ALICE, **body):
    body.setdefault("name", "img")
    body.setdefault("disk_format", "raw")
    body.setdefault("container_format", "bare")
    r = client.post("/image/v2/images", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def upload(client, image_id, data, headers=ALICE):
    chunks = (data[i:i + 1000] for i in range(0, len(data), 1000))
    return client.put("/image/v2/images/%s/file" % image_id, content=chunks,
                      headers=dict(headers, **OCTET))


def test_versions_documents(client):
    r = client.get("/image")
    assert r.status_code == 300
    versions = r.json()["versions"]
    assert versions[0]["status"] == "CURRENT"
    assert versions[0]["links"][0]["href"].endswith("/image/v2/")
    assert {v["id"] for v in versions} >= {"v2.0", "v2.1"}
    assert client.get("/image/").status_code == 300
    assert client.get("/image/versions").status_code == 200


def test_create_upload_download(client):
    image = create(client, name="disk", kernel_id="k-1", os_distro="cirros")
    assert image["status"] == "queued" and image["visibility"] == "shared"
    assert image["owner"] == "pa" and image["size"] is None
    assert image["self"] == "/v2/images/%s" % image["id"]
    assert image["file"] == image["self"] + "/file"
    assert image["schema"] == "/v2/schemas/image"
    assert image["kernel_id"] == "k-1" and image["os_distro"] == "cirros"
    assert image["created_at"].endswith("Z") and image["updated_at"].endswith("Z")
    assert image["tags"] == [] and image["os_hidden"] is False
    # No data yet: Glance answers 204.
    assert client.get("/image/v2/images/%s/file" % image["id"],
                      headers=ALICE).status_code == 204

    data = os.urandom(10_000)
    r = upload(client, image["id"], data)
    assert r.status_code == 204, r.text
    shown = client.get("/image/v2/images/%s" % image["id"], headers=ALICE).json()
    assert shown["status"] == "active" and shown["size"] == len(data)
    assert shown["checksum"] == hashlib.md5(data).hexdigest()
    assert shown["os_hash_algo"] == "sha512"
    assert shown["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert shown["virtual_size"] == len(data)  # raw

    r = client.get("/image/v2/images/%s/file" % image["id"], headers=ALICE)
    assert r.status_code == 200
    assert r.content == data
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["content-md5"] == shown["checksum"]
    assert open(image_api.data_path(image["id"]), "rb").read() == data
    # Re-upload of an active image is a conflict, and changes nothing.
    r = upload(client, image["id"], b"other")
    assert r.status_code == 409
    assert "conflictingRequest" in r.json()
    assert client.get("/image/v2/images/%s/file" % image["id"],
                      headers=ALICE).content == data


def test_upload_requires_octet_stream(client):
    image = create(client)
    r = client.put("/image/v2/images/%s/file" % image["id"], content=b"x",
                   headers=dict(ALICE, **{"Content-Type": "text/plain"}))
    assert r.status_code == 415


def test_failed_upload_returns_to_queued(client):
    image = create(client)
    ctx = lb_context.RequestContext(user_id="alice", project_id="pa")

    def broken():
        yield b"abc"
        raise IOError("client went away")

    with pytest.raises(IOError):
        image_api.upload(ctx, image["id"], broken())
    assert image_api.get(ctx, image["id"]).status == "queued"
    assert os.listdir(image_api.images_dir()) == []
    assert image_api.upload(ctx, image["id"], [b"ok"]).status == "active"


def test_list_paging_and_filters(client):
    ids = [create(client, name="n%d" % i)["id"] for i in range(5)]
    seen, url = [], "/image/v2/images?limit=2"
    while url:
        body = client.get("/image" + url if url.startswith("/v2") else url,
                          headers=ALICE).json()
        assert body["schema"] == "/v2/schemas/images"
        assert body["first"].startswith("/v2/images")
        seen += [i["id"] for i in body["images"]]
        url = body.get("next")
        assert len(seen) <= 6
    assert sorted(seen) == sorted(ids) and len(seen) == 5
    names = [i["name"] for i in client.get("/image/v2/images?sort=name:asc",
                                           headers=ALICE).json()["images"]]
    assert names == sorted(names)
    legacy = client.get("/image/v2/images?sort_key=name&sort_dir=desc",
                        headers=ALICE).json()["images"]
    assert [i["name"] for i in legacy] == sorted(names, reverse=True)
    body = client.get("/image/v2/images?name=n3", headers=ALICE).json()
    assert [i["id"] for i in body["images"]] == [ids[3]]
    body = client.get("/image/v2/images?status=active", headers=ALICE).json()
    assert body["images"] == []
    r = client.get("/image/v2/images?marker=%s" % uuid.uuid4(), headers=ALICE)
    assert r.status_code == 400
    assert client.get("/image/v2/images?limit=x", headers=ALICE).status_code == 400
    assert client.get("/image/v2/images?sort_key=bogus",
                      headers=ALICE).status_code == 400


def test_patch_properties(client):
    image = create(client, os_distro="cirros")
    url = "/image/v2/images/%s" % image["id"]
    r = client.patch(url, headers=dict(ALICE, **PATCH), json=[
        {"op": "replace", "path": "/name", "value": "renamed"},
        {"op": "add", "path": "/ramdisk_id", "value": "r-1"},
        {"op": "replace", "path": "/os_distro", "value": "ubuntu"},
        {"op": "add", "path": "/min_ram", "value": 128},
        {"op": "replace", "path": "/tags", "value": ["a", "b", "a"]},
        {"op": "replace", "path": "/os_hidden", "value": True},
    ])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["name"] == "renamed" and body["ramdisk_id"] == "r-1"
    assert body["os_distro"] == "ubuntu" and body["min_ram"] == 128
    assert body["tags"] == ["a", "b"] and body["os_hidden"] is True
    # Hidden images drop out of the default list.
    assert client.get("/image/v2/images", headers=ALICE).json()["images"] == []
    assert len(client.get("/image/v2/images?os_hidden=true",
                          headers=ALICE).json()["images"]) == 1
    r = client.patch(url, headers=dict(ALICE, **PATCH),
                     json=[{"op": "remove", "path": "/os_distro"}])
    assert "os_distro" not in r.json()

    def patch(*ops):
        return client.patch(url, headers=dict(ALICE, **PATCH), json=list(ops))
    assert patch({"op": "remove", "path": "/nope"}).status_code == 409
    assert patch({"op": "replace", "path": "/nope", "value": "x"}).status_code == 409
    assert patch({"op": "remove", "path": "/name"}).status_code == 403
    assert patch({"op": "replace", "path": "/status", "value": "active"}).status_code == 403
    assert patch({"op": "add", "path": "/x", "value": 5}).status_code == 400
    assert patch({"op": "add", "path": "/disk_format", "value": "zip"}).status_code == 400
    assert patch({"op": "move", "path": "/name"}).status_code == 400
    r = client.patch(url, headers=dict(ALICE, **{"Content-Type": "application/json"}),
                     json=[{"op": "remove", "path": "/name"}])
    assert r.status_code == 415
    # Glance's older v2.0 patch form is understood too.
    r = client.patch(url, json=[{"replace": "/name", "value": "v20"}], headers=dict(
        ALICE, **{"Content-Type": "application/openstack-images-v2.0-json-patch"}))
    assert r.json()["name"] == "v20"
    # Formats may change only while the image is queued.
    upload(client, image["id"], b"data")
    assert patch({"op": "replace", "path": "/disk_format",
                  "value": "qcow2"}).status_code == 403


def test_tags(client):
    image = create(client)
    url = "/image/v2/images/%s/tags/" % image["id"]
    assert client.put(url + "t1", headers=ALICE).status_code == 204
    assert client.put(url + "t1", headers=ALICE).status_code == 204
    assert client.get("/image/v2/images/%s" % image["id"],
                      headers=ALICE).json()["tags"] == ["t1"]
    assert client.get("/image/v2/images?tag=t1", headers=ALICE).json()["images"]
    assert client.delete(url + "t1", headers=ALICE).status_code == 204
    assert client.delete(url + "t1", headers=ALICE).status_code == 404


def test_visibility_rules(client):
    private = create(client, name="mine", visibility="private")
    shared = create(client, name="shared")
    community = create(client, name="comm", visibility="community")
    public = create(client, headers=ADMIN, name="pub", visibility="public")
    for image in (private, shared):
        r = client.get("/image/v2/images/%s" % image["id"], headers=BOB)
        assert r.status_code == 404
        assert "itemNotFound" in r.json()
        assert client.delete("/image/v2/images/%s" % image["id"],
                             headers=BOB).status_code == 404
        assert upload(client, image["id"], b"x", headers=BOB).status_code == 404
    assert client.get("/image/v2/images/%s" % community["id"],
                      headers=BOB).status_code == 200
    names = {i["name"] for i in client.get("/image/v2/images",
                                           headers=BOB).json()["images"]}
    assert names == {"pub"}  # community images are listed only on request
    names = {i["name"] for i in client.get("/image/v2/images?visibility=community",
                                           headers=BOB).json()["images"]}
    assert names == {"comm"}
    names = {i["name"] for i in client.get("/image/v2/images",
                                           headers=ALICE).json()["images"]}
    assert names == {"mine", "shared", "comm", "pub"}
    assert len(client.get("/image/v2/images", headers=ADMIN).json()["images"]) == 4
    # Visible is not modifiable; publishing is for admins.
    r = client.patch("/image/v2/images/%s" % public["id"], headers=dict(BOB, **PATCH),
                     json=[{"op": "replace", "path": "/name", "value": "x"}])
    assert r.status_code == 403
    r = client.post("/image/v2/images", json={"visibility": "public"}, headers=BOB)
    assert r.status_code == 403
    r = client.post("/image/v2/images", json={"owner": "pa"}, headers=BOB)
    assert r.status_code == 403
    assert client.get("/image/v2/images/not-a-uuid", headers=BOB).status_code == 404


def test_create_validation(client):
    def post(body):
        return client.post("/image/v2/images", json=body, headers=ALICE)
    assert post({"disk_format": "zip"}).status_code == 400
    assert post({"min_disk": -1}).status_code == 400
    assert post({"status": "active"}).status_code == 403
    assert post({"deleted": True}).status_code == 403
    assert post({"custom": 1}).status_code == 400
    assert post({"context": "x"}).json()["context"] == "x"
    fixed = str(uuid.uuid4())
    assert post({"id": fixed}).json()["id"] == fixed
    assert post({"id": fixed}).status_code == 409
    r = client.post("/image/v2/images", content=b"[1]", headers=ALICE)
    assert r.status_code == 400


def test_delete_and_protected(client):
    image = create(client, protected=True)
    upload(client, image["id"], b"bits")
    url = "/image/v2/images/%s" % image["id"]
    r = client.delete(url, headers=ALICE)
    assert r.status_code == 403
    assert "protected" in r.json()["forbidden"]["message"]
    client.patch(url, headers=dict(ALICE, **PATCH),
                 json=[{"op": "replace", "path": "/protected", "value": False}])
    assert client.delete(url, headers=ALICE).status_code == 204
    assert client.get(url, headers=ALICE).status_code == 404
    assert client.delete(url, headers=ALICE).status_code == 404
    assert not os.path.exists(image_api.data_path(image["id"]))


def test_seed_images(client):
    ids = image_api.ensure_seed_images()
    assert len(ids) == 2
    assert image_api.ensure_seed_images() == []
    body = client.get("/image/v2/images?sort=name:asc", headers=BOB).json()
    by_name = {i["name"]: i for i in body["images"]}
    assert set(by_name) == {"cirros", CONF.default_rescue_image_name}
    cirros = by_name["cirros"]
    assert cirros["id"] == ids[0] and cirros["visibility"] == "public"
    assert cirros["status"] == "active" and cirros["disk_format"] == "qcow2"
    assert cirros["container_format"] == "bare"
    assert cirros["virtual_size"] == 117440512
    data = client.get("/image/v2/images/%s/file" % ids[0], headers=BOB).content
    assert data[:4] == b"QFI\xfb" and len(data) == cirros["size"]
    assert hashlib.md5(data).hexdigest() == cirros["checksum"]
    assert image_api.open_data(None, ids[1]) == image_api.data_path(ids[1])
    # Deterministic bytes: the same seed on another cloud hashes the same.
    assert cirros["checksum"] == hashlib.md5(
        image_api._seed_bytes("cirros", 117440512)).hexdigest()


def test_schemas(client):
    body = client.get("/image/v2/schemas/image", headers=ALICE).json()
    assert body["name"] == "image" and "visibility" in body["properties"]
    body = client.get("/image/v2/schemas/images", headers=ALICE).json()
    assert body["name"] == "images"


def test_concurrent_upload_and_delete_during_upload(client):
    ctx = lb_context.RequestContext(user_id="alice", project_id="pa")
    image = image_api.create(ctx, name="race", disk_format="raw")

    def second_upload_meanwhile():
        yield b"first"
        with pytest.raises(exception.ImageConflict):
            image_api.upload(ctx, image.id, [b"second"])
        yield b"-rest"

    assert image_api.upload(ctx, image.id, second_upload_meanwhile()).size == 10

    doomed = image_api.create(ctx, name="doomed", disk_format="raw")

    def deleted_meanwhile():
        yield b"abc"
        image_api.delete(ctx, doomed.id)

    with pytest.raises(exception.ImageConflict):
        image_api.upload(ctx, doomed.id, deleted_meanwhile())
    assert sorted(os.listdir(image_api.images_dir())) == [image.id]


def test_real_app_middleware(client, monkeypatch):
    """The production app: /image versions need no token, the rest do."""
    import lifeboat.api.handlers as handlers
    from lifeboat.api import app as app_module
    monkeypatch.setattr(handlers, "ROUTERS", [(images_handler.router, ("",))])
    with TestClient(app_module.create_app()) as real:
        assert real.get("/image").status_code == 300
        assert real.get("/image/versions").status_code == 200
        assert real.get("/image/v2/images").status_code == 401
        image = create(real, name="via-app")
        data = b"z" * 200_000  # larger than [api] max_request_body_size
        assert upload(real, image["id"], data).status_code == 204
        r = real.get("/image/v2/images/%s/file" % image["id"], headers=ALICE)
        assert r.content == data

"""Property-based fuzzing of every HTTP endpoint (the core issue's point 8).

Malformed JSON, wrong types, unknown fields, unknown ids, wrong states, odd
headers and huge bodies must get a clear 4xx in Nova's fault format: never a
5xx, never a half-written row.

The endpoints are read from the app's routing table (path template and
method), so a new route is fuzzed without touching this file. For each one
Hypothesis generates path parameters (real ids of what exists in the cloud,
and junk), query strings, auth and microversion headers, content types and
bodies (random JSON, mutations of valid bodies, malformed bytes, bodies over
the size limit), and sends them as admin, as a non-admin and without a token
to one running cloud (three fake hosts) through a TestClient that turns
server exceptions into 500 responses. Every response must be < 500; every
4xx under /v2.1 and /v2 must be exactly one Nova fault; every 4xx under
/image must be JSON. A 4xx must leave the database as it found it (no new
instance rows on a refused create, no state change on a refused action or
service update). The last test checks the cloud afterwards: every server
has a known status and no task state stays stuck, every migration has a
known status and none is left in progress for an idle server.

Most requests are well-formed but for one part (the path, the query, the
headers or the body), because faults mask each other: a bad microversion is
a 400 before anyone looks at the query. Some requests are wrong everywhere.

Budget: a fixed number of examples per test (LIFEBOAT_FUZZ_SCALE multiplies
them all), a fixed seed per test, no example database, no shrinking (the
cloud is stateful, so a shrunk example would not replay anyway): a failure
message carries the exact request and the server's traceback instead, and
tests/fuzz/test_fuzz_regressions.py keeps one deterministic test per bug
found this way.
"""
import hashlib
import json
import logging
import os
import re
import string
import time
import traceback
import zlib
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from lifeboat.api import microversion
from lifeboat.api.app import create_app
from lifeboat.db import migrations as db_migrations
from lifeboat.db import models
from lifeboat.db.engine import transaction
from tests.fixtures import ApiClient, CloudFixture

pytestmark = pytest.mark.fuzz

MAX_BODY = 114688
MAX_QUERY = 30000
FAULT_NAMES = {"badRequest", "unauthorized", "forbidden", "itemNotFound", "badMethod",
               "conflictingRequest", "overLimit", "badMediaType", "notImplemented",
               "computeFault"}
SERVER_STATUSES = {"ACTIVE", "BUILD", "DELETED", "ERROR", "HARD_REBOOT", "MIGRATING",
                   "PASSWORD", "PAUSED", "REBOOT", "REBUILD", "RESCUE", "RESIZE",
                   "REVERT_RESIZE", "SHELVED", "SHELVED_OFFLOADED", "SHUTOFF",
                   "SOFT_DELETED", "SUSPENDED", "VERIFY_RESIZE"}
# Nova's migration statuses, and whatever Lifeboat's own tables name.
MIGRATION_STATUSES = set(db_migrations.IN_PROGRESS) | set(db_migrations.FINAL) | {
    "migrating", "pre-migrating", "post-migrating", "finished", "confirming",
    "confirmed", "reverting", "reverted", "done", "aborted", "cancelled", "error",
    "failed", "completed", "accepted", "queued", "preparing", "running"}

SCALE = float(os.environ.get("LIFEBOAT_FUZZ_SCALE", "1"))


def _n(count):
    return max(1, int(count * SCALE))


FUZZ = dict(deadline=None, derandomize=False, database=None, print_blob=False,
            phases=(Phase.explicit, Phase.generate),
            suppress_health_check=list(HealthCheck))


# --- the routing table ---------------------------------------------------------

def app_routes(app):
    """[(method, path template)] of every route the app serves, included
    routers flattened, whatever FastAPI's internal representation."""
    out = []

    def walk(routes):
        for route in routes:
            contexts = getattr(route, "effective_route_contexts", None)
            if contexts is not None:  # FastAPI >= 0.13x: an included router
                for ctx in contexts():
                    methods = getattr(ctx.original_route, "methods", None) or ()
                    out.extend((m, ctx.path) for m in methods)
            elif hasattr(route, "routes") and not hasattr(route, "methods"):
                walk(route.routes)  # a Mount
            elif hasattr(route, "path"):
                out.extend((m, route.path) for m in (getattr(route, "methods", None)
                                                    or ()))
    walk(app.routes)
    return sorted(set(out))


def _route_order(item):
    """Reads first, then writes, then deletes; deleting services last of all
    (it takes compute hosts and control services away from later tests)."""
    method, path = item
    rank = {"GET": 0, "HEAD": 0, "POST": 1, "PUT": 2, "PATCH": 2, "DELETE": 3}.get(
        method, 1)
    if method == "DELETE" and "/os-services" in path:
        rank = 4
    return rank, path, method


ROUTES = sorted(app_routes(create_app()), key=_route_order)
assert len(ROUTES) > 20, ROUTES


def _api_of(path):
    if path == "/v2.1" or path.startswith("/v2.1/"):
        return "v2.1"
    if path == "/v2" or path.startswith("/v2/"):
        return "v2"
    if path == "/image" or path.startswith("/image/"):
        return "image"
    return None


def _relative(template):
    """The template without its /v2.1 or /v2 prefix."""
    for prefix in ("/v2.1", "/v2"):
        if template.startswith(prefix + "/"):
            return template[len(prefix):]
    return template


# --- the cloud under test -----------------------------------------------------------

class _Tracebacks(logging.Handler):
    """Keeps what the API logs about unexpected errors (faults.py logs every
    500 with its exception), so a failure can show the server's traceback."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records = []

    def emit(self, record):
        try:
            text = record.getMessage()
            if record.exc_info:
                text += "\n" + _short_traceback(record.exc_info)
            self.records.append(text)
        except Exception:  # noqa: BLE001 - never break the request for a log
            self.records.append(repr(record))

    def take(self):
        out, self.records = self.records, []
        return out


def _short_traceback(exc_info):
    """The exception and the frames in Lifeboat's own code (plus the one that
    raised): what a reader of a failed fuzz run needs, without the ASGI stack."""
    _, error, tb = exc_info
    frames = traceback.extract_tb(tb)
    kept = [f for f in frames[:-1]
            if "/lifeboat/" in f.filename and "site-packages" not in f.filename]
    kept += frames[-1:]
    lines = ["  %s:%d in %s: %s" % (f.filename, f.lineno, f.name, (f.line or "").strip())
             for f in kept]
    return "Traceback (Lifeboat frames):\n%s\n%s: %s" % (
        "\n".join(lines), type(error).__name__, error)


@dataclass(repr=False)
class Req:
    method: str
    url: str
    headers: list = field(default_factory=list)
    content: bytes = None
    chunked: bool = False

    def send(self, http):
        content = self.content
        if self.chunked and content is not None:
            data = content
            content = (data[i:i + 65536] for i in range(0, len(data), 65536))
        headers = [(k, v if v.isascii() else v.encode("utf-8"))
                   for k, v in self.headers]
        return http.request(self.method, self.url, headers=headers, content=content)

    def __repr__(self):
        return "Req(%s)" % self.describe()

    def describe(self):
        body = self.content
        shown = None if body is None else (body[:400] + (b"..." if len(body) > 400
                                                         else b""))
        url = self.url if len(self.url) < 600 else self.url[:600] + "..."
        headers = [(k, v if len(v) < 200 else v[:200] + "...") for k, v in self.headers]
        return "%s %s\nheaders: %r\nbody (%s bytes%s): %r" % (
            self.method, url, headers, None if body is None else len(body),
            ", chunked" if self.chunked else "", shown)


class World:
    """One running cloud plus what the fuzzer knows about it."""

    MIN_ADMIN_SERVERS = 3
    MIN_ALICE_SERVERS = 2
    MAX_BOOTS = 80

    def __init__(self, fixture):
        self.fixture = fixture
        self.http = TestClient(create_app(), base_url="http://lifeboat.test",
                               raise_server_exceptions=False, follow_redirects=False)
        self.admin = ApiClient(self.http, "admin", "admin")
        self.alice = ApiClient(self.http, "alice", "projecta")
        self.tracebacks = _Tracebacks()
        logging.getLogger("lifeboat").addHandler(self.tracebacks)
        self.boots = 0
        self.deleted_servers = []
        self.sacrificial_images = []
        self.requests = 0
        self.seen = set()
        self._discovered = {}

    def close(self):
        logging.getLogger("lifeboat").removeHandler(self.tracebacks)
        self.http.close()

    # --- setup -------------------------------------------------------------
    def setup(self):
        r = self.admin.get("/image/v2/images")
        assert r.status_code == 200, r.text
        self.images = [i["id"] for i in r.json()["images"]]
        self.boot_image = self.admin.image_id()
        r = self.admin.get("/flavors/detail?is_public=none")
        assert r.status_code == 200, r.text
        self.flavors = [f["id"] for f in r.json()["flavors"]]
        self.hosts = list(self.fixture.hosts)
        r = self.admin.at("2.53").get("/os-services")
        self.service_uuids = [s["id"] for s in r.json()["services"]]
        r = self.admin.get("/os-services")
        self.service_ids = [str(s["id"]) for s in r.json()["services"]]
        r = self.admin.at("2.53").get("/os-hypervisors")
        self.hypervisor_uuids = [h["id"] for h in r.json()["hypervisors"]]
        r = self.admin.get("/os-hypervisors")
        self.hypervisor_ids = [str(h["id"]) for h in r.json()["hypervisors"]]
        self.hypervisor_names = [h["hypervisor_hostname"]
                                 for h in r.json()["hypervisors"]]

        # A server in each state the actions care about, for two projects.
        active = self.admin.boot("fuzz-active")
        stopped = self.admin.boot("fuzz-stopped")
        paused = self.admin.boot("fuzz-paused")
        rescued = self.admin.boot("fuzz-rescued")
        self.alice.boot("fuzz-alice")
        locked = self.alice.boot("fuzz-alice-locked")
        gone = self.admin.boot("fuzz-deleted")
        for sid, body, status in ((stopped, {"os-stop": None}, "SHUTOFF"),
                                  (paused, {"pause": None}, "PAUSED"),
                                  (rescued, {"rescue": None}, "RESCUE")):
            r = self.admin.action(sid, body)
            assert r.status_code in (200, 202), r.text
            self.admin.wait_for(sid, status=status, task_state=None)
        assert self.admin.action(locked, {"lock": None}).status_code == 202
        assert self.admin.delete("/servers/%s" % gone).status_code == 204
        self.admin.wait_for(gone, status="DELETED")
        self.deleted_servers.append(gone)
        # A live migration that ends, so there are migration and action rows.
        r = self.admin.at("2.80").action(active, {"os-migrateLive": {
            "host": None, "block_migration": "auto"}})
        assert r.status_code == 202, r.text
        self.admin.wait_for(active, status="ACTIVE", task_state=None, timeout=20)
        self.tracebacks.take()

    # --- what exists -------------------------------------------------------
    @staticmethod
    def _instances():
        with transaction(read_only=True) as s:
            return list(s.execute(sa.select(
                models.Instance.uuid, models.Instance.project_id,
                models.Instance.vm_state, models.Instance.task_state,
                models.Instance.deleted)))

    def server_ids(self):
        return [row.uuid for row in self._instances() if not row.deleted]

    def ensure_servers(self):
        """Keep a few usable servers per project (the fuzzer deletes them)."""
        usable = {"admin": 0, "projecta": 0}
        for row in self._instances():
            if not row.deleted and row.task_state != "deleting" \
                    and row.vm_state not in ("error", "deleted") \
                    and row.project_id in usable:
                usable[row.project_id] += 1
        for client, wanted, project in ((self.admin, self.MIN_ADMIN_SERVERS, "admin"),
                                        (self.alice, self.MIN_ALICE_SERVERS,
                                         "projecta")):
            for _ in range(wanted - usable[project]):
                if self.boots >= self.MAX_BOOTS:
                    return
                self.boots += 1
                body = {"server": {"name": "fuzz-pool", "imageRef": self.boot_image,
                                   "flavorRef": "1"}}
                client.post("/servers", json=body)
        self.tracebacks.take()

    def ensure_migration(self):
        """Keep a live migration in progress, so migration ids in paths can
        name one that is running."""
        with transaction(read_only=True) as s:
            busy = s.scalar(sa.select(sa.func.count()).select_from(models.Migration)
                            .where(models.Migration.status.in_(
                                db_migrations.IN_PROGRESS)))
        if busy:
            return
        for row in self._instances():
            if not row.deleted and row.task_state is None \
                    and row.vm_state == "active" and row.project_id == "admin":
                self.admin.at("2.80").action(row.uuid, {"os-migrateLive": {
                    "host": None, "block_migration": "auto"}})
                break
        self.tracebacks.take()

    @staticmethod
    def migration_ids():
        with transaction(read_only=True) as s:
            return [str(i) for i in s.scalars(sa.select(models.Migration.id))]

    @staticmethod
    def migration_pairs():
        """(server uuid, migration id), in-progress migrations first."""
        M = models.Migration
        with transaction(read_only=True) as s:
            rows = list(s.execute(sa.select(M.instance_uuid, M.id, M.status)
                                  .order_by(M.id.desc()).limit(20)))
        # In-progress ones weigh more: only they can be completed or aborted.
        return [(r.instance_uuid, str(r.id)) for r in rows
                for _ in range(5 if r.status in db_migrations.IN_PROGRESS else 1)]

    @staticmethod
    def action_pairs():
        """(server uuid, request id) of recent instance actions."""
        A = models.InstanceAction
        with transaction(read_only=True) as s:
            return [(r.instance_uuid, r.request_id) for r in s.execute(
                sa.select(A.instance_uuid, A.request_id).order_by(A.id.desc())
                .limit(20))]

    @staticmethod
    def request_ids():
        with transaction(read_only=True) as s:
            return list(s.scalars(sa.select(models.InstanceAction.request_id)
                                  .order_by(models.InstanceAction.id.desc())
                                  .limit(20)))

    def image_ids(self, destructive):
        if not destructive:
            return self.images + self.sacrificial_images
        # Deleting or patching the images the pool boots from would starve the
        # later tests: writes get images made for the purpose.
        self.sacrificial_images = [i for i in self.sacrificial_images
                                   if self.admin.get("/image/v2/images/%s" % i)
                                   .status_code == 200]
        while len(self.sacrificial_images) < 2:
            r = self.admin.post("/image/v2/images", json={
                "name": "fuzz-image", "disk_format": "qcow2",
                "container_format": "bare", "visibility": "public"})
            assert r.status_code == 201, r.text
            self.sacrificial_images.append(r.json()["id"])
        return list(self.sacrificial_images)

    def discovered(self, template, name):
        """Ids of a collection this file knows nothing about (a route added
        later): whatever `id`s GET on the collection lists, cached briefly."""
        prefix = template.split("/{%s}" % name)[0]
        if "{" in prefix or prefix == template:
            return []
        expires, ids = self._discovered.get(prefix, (0, []))
        if expires > time.monotonic():
            return ids
        r = self.http.get(prefix, headers={"X-Auth-Token": "admin:admin",
                                           "OpenStack-API-Version": "compute latest"})
        ids = []
        try:
            body = r.json()
        except ValueError:
            body = None
        for value in (body.values() if isinstance(body, dict) else ()):
            if isinstance(value, list):
                ids += [str(item["id"]) for item in value
                        if isinstance(item, dict) and item.get("id") is not None]
        self._discovered[prefix] = (time.monotonic() + 2.0, ids)
        self.tracebacks.take()
        return ids

    def real_values(self, name, method, version="2.1", template=""):
        destructive = method not in ("GET", "HEAD")
        uuids = at_least(version, "2.53")
        if name == "server_id":
            return self.server_ids() + self.deleted_servers
        if name == "flavor_id":
            return self.flavors
        if name == "image_id":
            return self.image_ids(destructive)
        if name == "migration_id":
            return self.migration_ids()
        if name == "service_id":  # uuids from 2.53; before, actions or ids
            if uuids:
                return self.service_uuids
            if method == "PUT":
                return ["enable", "disable", "disable-log-reason", "force-down"]
            return self.service_ids
        if name == "hypervisor_id":
            return self.hypervisor_uuids if uuids else self.hypervisor_ids
        if name == "pattern":
            return self.hosts + self.hypervisor_names + ["host", "HOST1", "%", "_"]
        if name == "request_id":
            return self.request_ids()
        if name == "tag":
            return ["fuzz", "a", "tag with spaces"]
        return self.discovered(template, name)

    # --- database snapshots for the "no half-written row" checks ------------
    @staticmethod
    def instance_count():
        with transaction(read_only=True) as s:
            return s.scalar(sa.select(sa.func.count()).select_from(models.Instance))

    @staticmethod
    def image_count():
        with transaction(read_only=True) as s:
            return s.scalar(sa.select(sa.func.count()).select_from(models.Image))

    @staticmethod
    def instance_state(server_uuid):
        I = models.Instance
        with transaction(read_only=True) as s:
            row = s.execute(sa.select(I.vm_state, I.task_state, I.locked, I.locked_by,
                                      I.host, I.deleted, I.display_name)
                            .where(I.uuid == server_uuid)).first()
        return None if row is None else tuple(row)

    @staticmethod
    def services_state():
        S = models.Service
        with transaction(read_only=True) as s:
            return sorted(tuple(r) for r in s.execute(sa.select(
                S.id, S.disabled, S.disabled_reason, S.forced_down)))

    def heal_services(self):
        """Undo what PUT /os-services did, so the next tests can boot."""
        S = models.Service
        with transaction() as s:
            s.execute(sa.update(S).values(disabled=False, disabled_reason=None,
                                          forced_down=False))

    # --- one fuzzed request ------------------------------------------------
    def is_new(self, req):
        """False for a request already sent: Hypothesis likes to replay
        variations that differ only in choices the request did not use.
        (Skipped rather than assume()d away: Hypothesis may run the same
        choices twice, and an assumption that flips is a flaky test.)"""
        key = (req.method, req.url, tuple(req.headers), req.chunked,
               None if req.content is None else hashlib.sha1(req.content).digest())
        if key in self.seen:
            return False
        self.seen.add(key)
        return True

    def send(self, req, template=None):
        """Send `req`, then assert every property on the response."""
        method = req.method
        path = req.url.split("?", 1)[0]
        server_uuid = _uuid_in(path)
        before = {}
        if method not in ("GET", "HEAD"):
            if server_uuid:
                before["instance"] = self.instance_state(server_uuid)
            if template and _relative(template) == "/servers" and method == "POST":
                before["instances"] = self.instance_count()
            if "/os-services" in path:
                before["services"] = self.services_state()
            if path.startswith("/image/v2/images") and method == "POST":
                before["images"] = self.image_count()
        self.tracebacks.take()
        self.requests += 1
        resp = req.send(self.http)
        tracebacks = self.tracebacks.take()
        check_response(req, resp, tracebacks)
        if 400 <= resp.status_code < 500:
            self._check_untouched(req, resp, before, server_uuid)
        return resp

    def _check_untouched(self, req, resp, before, server_uuid):
        what = "%s refused with %s left %%s changed\n%s\nresponse: %s" % (
            req.method, resp.status_code, req.describe(), resp.text[:500])
        if "instances" in before:
            assert self.instance_count() == before["instances"], what % "instance rows"
        if "images" in before:
            assert self.image_count() == before["images"], what % "image rows"
        if "services" in before:
            assert self.services_state() == before["services"], what % "services"
        state = before.get("instance")
        # Only a server at rest: one with a task in flight moves on its own.
        if state is not None and state[1] is None and not state[5]:
            after = self.instance_state(server_uuid)
            assert after == state, what % ("server %s (%r -> %r)" % (
                server_uuid, state, after))


_UUID_RE = re.compile(r"/servers/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                      r"[0-9a-f]{12})(?:/|$)")


def _uuid_in(path):
    m = _UUID_RE.search(path)
    return m.group(1) if m else None


def check_response(req, resp, tracebacks=()):
    """The properties every response must have."""
    where = "\n%s\n-> %s %s\nserver log:\n%s" % (
        req.describe(), resp.status_code, resp.text[:1000],
        "\n".join(tracebacks) or "(nothing logged)")
    assert resp.status_code < 500, "5xx from the API" + where
    if not 400 <= resp.status_code < 500 or req.method == "HEAD":
        return
    path = req.url.split("?", 1)[0]
    api = _api_of(path)
    try:
        body = resp.json()
    except ValueError:
        raise AssertionError("4xx without a JSON body" + where) from None
    if api in ("v2.1", "v2"):
        assert isinstance(body, dict) and len(body) == 1, \
            "4xx body is not exactly one fault" + where
        name, fault = next(iter(body.items()))
        assert name in FAULT_NAMES, "unknown fault name %r%s" % (name, where)
        assert isinstance(fault, dict), "fault is not an object" + where
        assert isinstance(fault.get("code"), int) and not isinstance(
            fault.get("code"), bool) and fault["code"] == resp.status_code, \
            "fault code does not match the status" + where
        assert isinstance(fault.get("message"), str), "fault has no message" + where


# --- strategies: values --------------------------------------------------------------

_PRINTABLE = "".join(c for c in string.printable if c not in "\r\n\x0b\x0c")
# Integers at and beyond the edges of 32 and 64 bits (SQLite's INTEGER is 64).
BIG_INTS = [2 ** 31 - 1, 2 ** 31, 2 ** 63 - 1, 2 ** 63, 2 ** 64, 2 ** 70, -(2 ** 63) - 1,
            -(2 ** 70), 10 ** 20, 10 ** 30]
BIG_INT_TEXTS = [str(i) for i in BIG_INTS]
INT_TEXTS = ["0", "-1", "1", "-0", "00001", "1.5", "1e3", "0x10", " 1", "1 ", "１", "",
             "abc"] + BIG_INT_TEXTS
int_texts = st.one_of(st.sampled_from(INT_TEXTS), st.sampled_from(BIG_INT_TEXTS))
# Lone surrogates: valid in a JSON string ("\ud800"), not encodable as UTF-8.
SURROGATES = ["\ud800", "a\udfffb", "\udc80\udc80", "x" * 10 + "\ud83d"]

junk_text = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=_PRINTABLE, max_size=30),
    st.text(alphabet=st.characters(exclude_categories=()), max_size=10),
    st.sampled_from(["", " ", "0", "-1", "1", "1.5", "null", "true", "None", "../",
                     "..", "../../etc/passwd", "%00", "\x00", "\u2603", "\U0001F4A9",
                     "é", "ｆｏｏ", "１２", "' OR 1=1 --", "${jndi:x}", "a/b", "\\",
                     "%", "_", "*", "[", "(", ".*", "\t", "latest"]),
    st.sampled_from(SURROGATES),
    st.sampled_from(INT_TEXTS),
    st.integers(min_value=-(2 ** 70), max_value=2 ** 70).map(str),
    st.uuids().map(str),
    st.integers(min_value=1000, max_value=20000).map(lambda n: "x" * n),
)

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(),
                         st.sampled_from(BIG_INTS),
                         st.floats(allow_nan=False, allow_infinity=False),
                         st.text(max_size=20), junk_text)


def q(text):
    """Percent-encode a path segment or query part, lone surrogates included."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")

KNOWN_KEYS = ["server", "name", "imageRef", "flavorRef", "networks", "metadata",
              "reboot", "type", "os-migrateLive", "host", "block_migration",
              "disk_over_commit", "force", "force_complete", "status", "binary",
              "disabled_reason", "forced_down", "rescue", "adminPass",
              "rescue_image_ref", "lock", "locked_reason", "unlock", "pause",
              "os-start", "os-stop", "uuid", "port", "op", "path", "value",
              "visibility", "disk_format", "container_format", "tags", "id",
              "description", "availability_zone", "user_data"]

json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KNOWN_KEYS), st.text(max_size=12)),
                        children, max_size=4)),
    max_leaves=10)


def _deep(n, open_, close):
    return open_ * n + close * n


malformed_bodies = st.one_of(
    st.binary(max_size=64),
    st.sampled_from([
        b"{", b"}", b"[", b"{\"server\":", b"{\"a\" 1}", b"{'a': 1}", b"NaN",
        b"Infinity", b"-Infinity", b"{\"a\": NaN}", b"1e999999", b"[1,]", b"{,}",
        b"\xff\xfe\x00{", b"\xef\xbb\xbf{}", b"\xef\xbb\xbf{\"reboot\": null}",
        b"{\"reboot\": {\"type\": \"HARD\"}, \"reboot\": null}", b"null", b"true",
        b"0", b"\"string\"", b"[]", b"{}", b" ", b"\x00", b"9" * 5000,
        b"{\"a\": " + b"9" * 5000 + b"}", b"{\"\\ud800\": 1}", b"\"\\ud800\"",
        b"<server><name>x</name></server>", b"a=1&b=2",
    ]),
    st.integers(min_value=500, max_value=60000).map(lambda n: _deep(n, b"[", b"]")),
    st.integers(min_value=500, max_value=20000).map(
        lambda n: b"{\"a\":" * n + b"1" + b"}" * n),
)

CONTENT_TYPES = ["application/json", "application/json", "application/json",
                 "application/json; charset=utf-8", "text/plain", "application/xml",
                 "multipart/form-data; boundary=x", "application/x-www-form-urlencoded",
                 "application/octet-stream", "application/openstack-images-v2.1-json-patch",
                 "application/openstack-images-v2.0-json-patch", "", "garbage", "*/*",
                 "application/json; charset=latin-1", "APPLICATION/JSON"]

MICROVERSIONS = st.one_of(
    st.sampled_from(microversion.VERSIONS),
    st.sampled_from(["latest", "LATEST", "2.999", "3.0", "1.0", "2.0", "abc", "", " ",
                     "2.", ".1", "2.1.1", "-2.1", "2.-1", "02.01", " 2.1 ", "2.1a",
                     "２.１", "2.10000000000000000000000", "99999999999999999999.1",
                     "v2.1", "2,1", "2.1, 2.2", "x" * 5000]),
    st.text(alphabet=_PRINTABLE, max_size=12),
)


@st.composite
def version_headers(draw):
    """Microversion headers in either spelling, both, or none; a valid
    version most of the time, so that every microversion's code is reached."""
    choice = draw(st.integers(0, 9))
    if choice <= 1:
        return []
    if choice <= 6:
        value = draw(st.one_of(st.sampled_from(microversion.VERSIONS),
                               st.just("latest")))
        template = "compute %s"
    else:
        value = draw(MICROVERSIONS)
        template = draw(st.sampled_from(
            ["compute %s", "compute %s", "%s", "volume %s", "compute  %s",
             "COMPUTE %s", "compute %s, compute 2.5", "compute"]))
    new = ("OpenStack-API-Version", template.replace("%s", value))
    old = ("X-OpenStack-Nova-API-Version", value)
    spelling = draw(st.integers(0, 5))
    if spelling <= 2:
        return [new]
    if spelling == 3:
        return [old]
    if spelling == 4:
        return [new, old]
    return [new, ("X-OpenStack-Nova-API-Version", draw(MICROVERSIONS))]


@st.composite
def auth_headers(draw):
    who = draw(st.sampled_from(["admin", "admin", "alice", "alice", "none", "junk",
                                "roles"]))
    if who == "admin":
        return [("X-Auth-Token", "admin:admin")]
    if who == "alice":
        return [("X-Auth-Token", "alice:projecta")]
    if who == "none":
        return []
    if who == "junk":
        return [("X-Auth-Token", draw(st.one_of(
            st.sampled_from([":", "admin:", ":admin", "", "a:b:c", "x" * 5000]),
            st.text(alphabet=_PRINTABLE, max_size=30))))]
    return [("X-Auth-Token", draw(st.sampled_from(["alice:projecta", "admin:admin",
                                                   "bob:projectb"]))),
            ("X-Roles", draw(st.one_of(
                st.sampled_from(["admin", "reader", "member", "manager", "",
                                 "reader,member", " , ", "ADMIN", "service"]),
                st.text(alphabet=_PRINTABLE, max_size=20))))]


def _is_version(text):
    return bool(re.fullmatch(r"\d+\.\d+", text))


def version_of(headers):
    """The "X.Y" these headers ask for, if they ask for a valid one, else 2.1."""
    for key, value in headers:
        if key == "OpenStack-API-Version" and value.startswith("compute "):
            v = value[len("compute "):].strip()
            if v.lower() == "latest":
                return microversion.MAX_VERSION
            if _is_version(v):
                return v
    for key, value in headers:
        if key == "X-OpenStack-Nova-API-Version":
            v = value.strip()
            if v.lower() == "latest":
                return microversion.MAX_VERSION
            if _is_version(v):
                return v
    return "2.1"


def _vkey(v):
    major, minor = v.split(".")
    return int(major), int(minor)


def at_least(v, wanted):
    try:
        return _vkey(v) >= _vkey(wanted)
    except ValueError:
        return False


# --- strategies: bodies ---------------------------------------------------------

# Keys whose value sizes a loop (max_count creates that many instances: there
# are no quotas). Fuzzed with small values only; see the report.
BOUNDED = {
    "min_count": st.sampled_from([1, 2, "1", "2", 0, -1, "0", "abc", None, 1.5, True,
                                  "01", " 1"]),
    "max_count": st.sampled_from([1, 2, 3, "2", "3", 0, -1, "x", None, 2.5, False,
                                  "002"]),
}


def server_extras(world):
    host = st.sampled_from(world.hosts + ["nohost", "", "host1.", "-x", "a" * 300])
    uuid_s = st.uuids().map(str)
    return {
        **BOUNDED,
        "availability_zone": st.one_of(
            st.sampled_from(["nova", "nova:host1", "nova:", ":host2", "nova:nohost",
                             "other", "", "nova:host1:node", "nova::", ":"]), junk_text),
        "host": host, "hypervisor_hostname": host,
        "metadata": st.one_of(st.dictionaries(junk_text, junk_text, max_size=3),
                              json_values),
        "user_data": st.one_of(st.sampled_from(["aGVsbG8=", "not base64!", "", None]),
                               junk_text),
        "description": st.one_of(st.none(), junk_text),
        "tags": st.one_of(st.lists(junk_text, max_size=60), json_values),
        "key_name": junk_text,
        "adminPass": st.one_of(junk_text, json_values),
        "config_drive": st.sampled_from([True, False, "true", "no", "maybe", None, 1]),
        "accessIPv4": st.sampled_from(["1.2.3.4", "300.1.1.1", "::1", "x", "", None]),
        "accessIPv6": st.sampled_from(["::1", "1.2.3.4", "fe80::1%eth0", "x", ""]),
        "hostname": st.one_of(st.sampled_from(["good", "a.b.c", "-bad", "x" * 70, ""]),
                              junk_text),
        "OS-DCF:diskConfig": st.sampled_from(["AUTO", "MANUAL", "auto", "x", None]),
        "return_reservation_id": st.sampled_from([True, False, "true", "x", None]),
        "block_device_mapping_v2": st.one_of(
            st.just([{"boot_index": 0, "uuid": world.boot_image,
                      "source_type": "image", "destination_type": "local"}]),
            st.just([{"boot_index": "0", "source_type": "blank",
                      "destination_type": "volume", "volume_size": 1}]),
            st.lists(st.dictionaries(st.sampled_from(
                ["boot_index", "uuid", "source_type", "destination_type",
                 "volume_size", "device_name", "tag", "volume_type",
                 "delete_on_termination"]), json_scalars, max_size=4), max_size=2),
            json_values),
        "block_device_mapping": st.one_of(
            st.just([{"volume_id": "9f1e2d3c-0000-4000-8000-00000000f00d", "device_name": "vda"}]),
            json_values),
        "security_groups": st.one_of(st.just([{"name": "default"}]),
                                     st.just([{"name": "nope"}]), json_values),
        "personality": st.one_of(st.just([{"path": "/etc/x", "contents": "eA=="}]),
                                 json_values),
        "trusted_image_certificates": st.one_of(st.just(["cert"]), json_values),
        "networks": st.one_of(
            st.sampled_from(["none", "auto", "NONE", [], "x"]),
            uuid_s.map(lambda u: [{"uuid": u}]), uuid_s.map(lambda u: [{"port": u}]),
            st.just([{"fixed_ip": "10.0.0.1"}]), st.just([{"uuid": "", "tag": "t"}]),
            json_values),
        "imageRef": st.one_of(
            st.sampled_from(["", world.boot_image,
                             "http://glance/images/%s" % world.boot_image,
                             "9f1e2d3c-0000-4000-8000-00000000f00d", "not-a-uuid"]), json_values),
        "flavorRef": st.one_of(
            st.sampled_from(world.flavors + ["0", "999", "http://x/flavors/1", "", 1,
                                              -1, 1.0]), json_values),
        "name": st.one_of(st.sampled_from(["ok", " lead", "trail ", "", "x" * 256,
                                           "\u2603"]), json_values),
        "os:scheduler_hints": st.one_of(
            st.sampled_from([{"same_host": "x"}, {"group": "g"}, {"query": "[]"},
                             {"cidr": "/24", "build_near_host_ip": "1.2.3.4"}]),
            json_values),
    }


def _paths(obj, prefix=()):
    """Every (path, value) inside a JSON object, dicts and lists included."""
    yield prefix, obj
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))


def _set(obj, path, value):
    if not path:
        return value
    out = json.loads(json.dumps(obj))
    node = out
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value
    return out


def _delete(obj, path):
    out = json.loads(json.dumps(obj))
    node = out
    for p in path[:-1]:
        node = node[p]
    del node[path[-1]]
    return out


nasty_strings = st.one_of(
    st.sampled_from(SURROGATES),
    st.sampled_from(["\x00", "a\x00b", "\u202e", "\U0001F600" * 50, " ", "", "a\nb",
                     "x" * 256, "x" * 65536, "é" * 300, "%s%n", "{0}", "<script>"]),
    junk_text)
nasty_numbers = st.sampled_from(BIG_INTS + [-1, 0, 1.5, -0.0, 1e308, 2 ** 53 + 1])


@st.composite
def mutated(draw, valid, extras=None):
    """A valid body, or one with a few of: a value replaced by random JSON, a
    string or number replaced by one that still has the right type but is
    nasty (lone surrogates, NUL, huge, out of 64 bits), a key dropped, an
    extra key (known or random) added somewhere."""
    body = valid
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 1, 2]))):
        paths = [p for p, _ in _paths(body)]
        kind = draw(st.sampled_from(["replace", "replace", "drop", "extra", "extra",
                                     "nasty", "nasty"]))
        if kind == "nasty":
            leaves = [(p, v) for p, v in _paths(body) if p and p[-1] not in BOUNDED
                      and isinstance(v, (str, int, float)) and not isinstance(v, bool)]
            if not leaves:
                continue
            path, value = draw(st.sampled_from(leaves))
            body = _set(body, path, draw(nasty_strings if isinstance(value, str)
                                         else nasty_numbers))
        elif kind == "replace":
            path = draw(st.sampled_from(paths))
            if path and path[-1] in BOUNDED:
                continue
            body = _set(body, path, draw(json_values))
        elif kind == "drop":
            paths = [p for p in paths if p]
            if paths:
                body = _delete(body, draw(st.sampled_from(paths)))
        else:
            dicts = [p for p, v in _paths(body) if isinstance(v, dict)]
            if not dicts:
                continue
            where = draw(st.sampled_from(dicts))
            if extras and draw(st.booleans()):
                key = draw(st.sampled_from(sorted(extras)))
                value = draw(extras[key])
            else:
                key = draw(st.one_of(st.sampled_from(KNOWN_KEYS), st.text(max_size=12)))
                if key in BOUNDED:
                    continue
                value = draw(json_values)
            body = _set(body, where + (key,), value)
    return body


def create_body(world, version):
    server = {"name": "fuzz", "imageRef": world.boot_image, "flavorRef": "1"}
    if at_least(version, "2.37"):
        server["networks"] = "none"
    return {"server": server}


def _optional_create_fields(version):
    """Valid optional fields of POST /servers at `version` (for mutations to
    work on: a nasty value in a field that passes the schema)."""
    out = {"metadata": {"purpose": "fuzz"}, "availability_zone": "nova",
           "user_data": "aGVsbG8=", "adminPass": "secret", "config_drive": False,
           "accessIPv4": "192.0.2.1", "accessIPv6": "2001:db8::1",
           "OS-DCF:diskConfig": "AUTO"}
    if at_least(version, "2.19"):
        out["description"] = "fuzz server"
    if at_least(version, "2.52"):
        out["tags"] = ["fuzz"]
    if at_least(version, "2.90"):
        out["hostname"] = "fuzz-host"
    return out


@st.composite
def create_bodies(draw, world, version):
    body = create_body(world, version)
    optional = _optional_create_fields(version)
    for key in draw(st.lists(st.sampled_from(sorted(optional)), max_size=4,
                             unique=True)):
        body["server"][key] = optional[key]
    return draw(mutated(body, server_extras(world)))


@st.composite
def update_bodies(draw, world, version):
    server = draw(st.fixed_dictionaries({}, optional={
        "name": st.one_of(st.sampled_from(["renamed", "", " x", "x" * 256]), junk_text),
        "description": st.one_of(st.none(), junk_text),
        "accessIPv4": st.sampled_from(["1.2.3.4", "nope", ""]),
        "accessIPv6": st.sampled_from(["::1", "nope", ""]),
        "hostname": st.sampled_from(["h", "-bad", "x" * 70, "a.b"]),
        "OS-DCF:diskConfig": st.sampled_from(["AUTO", "MANUAL", "x"]),
        "pinned_availability_zone": st.sampled_from([None, "nova", "", "other"]),
    }))
    return draw(mutated({"server": server}))


def _served_actions():
    """The action keys POST /servers/{id}/action dispatches today, so that an
    action added later is fuzzed too."""
    try:
        from lifeboat.api.handlers import server_actions
        return set(getattr(server_actions, "ACTIONS", {}))
    except ImportError:
        return set()


ACTION_KEYS = sorted({"reboot", "os-stop", "os-start", "pause", "unpause", "suspend",
                      "resume", "rescue", "unrescue", "lock", "unlock",
                      "os-migrateLive"} | _served_actions())
OTHER_ACTIONS = ["createImage", "resize", "confirmResize", "migrate", "evacuate",
                 "os-resetState", "trigger_crash_dump", "shelve", "unshelve",
                 "addSecurityGroup", "changePassword", "rebuild", "forceDelete",
                 "restore", "os-getConsoleOutput", "force_complete", "Reboot", ""]


@st.composite
def action_value(draw, world, key, version):
    hosts = st.sampled_from(world.hosts + [None, "nohost", ""])
    if key == "reboot":
        valid = {"type": draw(st.sampled_from(["HARD", "SOFT", "hard", "Soft", "hArD",
                                               "", "warm"]))}
    elif key == "os-migrateLive":
        valid = {"host": draw(hosts),
                 "block_migration": draw(st.sampled_from(
                     ["auto", True, False, "true", "False", "0", "maybe"]))}
        if not at_least(version, "2.25") or draw(st.integers(0, 4)) == 0:
            valid["disk_over_commit"] = draw(st.sampled_from([False, True, "no", "x"]))
        if draw(st.booleans()):
            valid["force"] = draw(st.sampled_from([True, False, "yes", "x"]))
    elif key == "rescue":
        valid = draw(st.one_of(st.none(), st.fixed_dictionaries({}, optional={
            "adminPass": st.one_of(st.just("secret"), junk_text),
            "rescue_image_ref": st.sampled_from(
                world.images + ["9f1e2d3c-0000-4000-8000-00000000f00d", "nope", ""])})))
    elif key == "lock":
        valid = draw(st.one_of(st.none(), st.fixed_dictionaries({}, optional={
            "locked_reason": st.one_of(st.just("why"), junk_text)})))
    elif key == "rebuild":
        valid = {"imageRef": world.boot_image, **draw(st.fixed_dictionaries({}, optional={
            "name": st.one_of(st.just("rebuilt"), junk_text),
            "adminPass": st.just("secret"),
            "metadata": st.dictionaries(junk_text, junk_text, max_size=2),
            "description": st.one_of(st.none(), junk_text),
            "preserve_ephemeral": st.booleans(),
            "OS-DCF:diskConfig": st.sampled_from(["AUTO", "MANUAL"]),
            "key_name": st.sampled_from(["nokey", None]),
            "user_data": st.sampled_from(["aGVsbG8=", None]),
            "hostname": st.sampled_from(["rebuilt-host"])}))}
    elif key in ("addSecurityGroup", "removeSecurityGroup"):
        valid = {"name": draw(st.one_of(st.sampled_from(["default", "fuzz", "nope"]),
                                        junk_text))}
    else:
        valid = draw(st.sampled_from([None, {}]))
    if valid is None or draw(st.integers(0, 2)) == 0:
        return draw(st.one_of(st.just(valid), json_values))
    return draw(mutated(valid))


@st.composite
def action_bodies(draw, world, version):
    shape = draw(st.integers(0, 9))
    if shape <= 6:
        key = draw(st.sampled_from(ACTION_KEYS))
        return {key: draw(action_value(world, key, version))}
    if shape == 7:
        return {draw(st.one_of(st.sampled_from(OTHER_ACTIONS), st.text(max_size=12))):
                draw(json_values)}
    if shape == 8:  # two actions at once
        a, b = draw(st.lists(st.sampled_from(ACTION_KEYS), min_size=2, max_size=2,
                             unique=True))
        return {a: None, b: None}
    return draw(json_values)


@st.composite
def migration_action_bodies(draw, world, version):
    return draw(st.one_of(
        st.just({"force_complete": None}),
        mutated({"force_complete": None}),
        json_values.map(lambda v: {"force_complete": v}),
        json_values))


@st.composite
def service_bodies(draw, world, version):
    if at_least(version, "2.53"):
        valid = draw(st.fixed_dictionaries({}, optional={
            "status": st.sampled_from(["enabled", "disabled", "ENABLED", "x"]),
            "disabled_reason": st.one_of(st.just("fuzz"), junk_text),
            "forced_down": st.sampled_from([True, False, "true", "no", "x"])}))
    else:
        valid = draw(st.fixed_dictionaries(
            {"host": st.sampled_from(world.hosts + ["nohost", ""]),
             "binary": st.sampled_from(["nova-compute", "nova-scheduler",
                                        "nova-conductor", "x"])},
            optional={"disabled_reason": st.one_of(st.just("fuzz"), junk_text),
                      "forced_down": st.sampled_from([True, False, "true", "x"])}))
    return draw(mutated(valid))


@st.composite
def image_create_bodies(draw, world, version):
    valid = draw(st.fixed_dictionaries(
        {"name": st.one_of(st.just("fuzz-image"), junk_text)},
        optional={
            "disk_format": st.sampled_from(["qcow2", "raw", "iso", "nope", None]),
            "container_format": st.sampled_from(["bare", "ovf", "nope", None]),
            "visibility": st.sampled_from(["public", "private", "shared", "community",
                                           "nope"]),
            "protected": st.sampled_from([False, "false", 0]),
            "tags": st.lists(junk_text, max_size=3),
            "min_disk": st.sampled_from([0, 1, -1, "1", 1.5, True] + BIG_INTS),
            "min_ram": st.sampled_from([0, 1, -1, "x", None] + BIG_INTS),
            "id": st.one_of(st.uuids().map(str), st.just("not-a-uuid")),
            "os_hidden": st.sampled_from([False, True, "x"]),
            "status": st.just("active"), "size": st.just(5),
            "custom_prop": st.one_of(st.just("v"), json_scalars),
        }))
    return draw(mutated(valid))


@st.composite
def image_patch_bodies(draw, world, version):
    op = st.fixed_dictionaries({
        "op": st.sampled_from(["replace", "add", "remove", "move", "test", "x"]),
        "path": st.sampled_from(["/name", "/tags", "/visibility", "/min_ram",
                                 "/protected", "/status", "/id", "/custom", "/",
                                 "name", "/tags/0", "/a/b", "/~1x"]),
    }, optional={"value": json_values})
    old_style = st.one_of(
        st.builds(lambda v: {"replace": "/name", "value": v}, json_scalars),
        st.just({"add": "/x", "remove": "/y"}))
    return draw(st.one_of(st.lists(st.one_of(op, old_style), max_size=3), json_values))


@st.composite
def security_group_bodies(draw, world, version):
    return draw(mutated({"security_group": {
        "name": draw(st.one_of(st.just("fuzz"), junk_text)),
        "description": draw(st.one_of(st.just("fuzzed"), junk_text))}}))


# (method, path relative to /v2.1 or /v2) -> body strategy factory; a route
# missing here still gets random JSON and the malformed bodies.
STRUCTURED = {
    ("POST", "/servers"): create_bodies,
    ("PUT", "/servers/{server_id}"): update_bodies,
    ("POST", "/servers/{server_id}/action"): action_bodies,
    ("POST", "/servers/{server_id}/migrations/{migration_id}/action"):
        migration_action_bodies,
    ("PUT", "/os-services/{service_id}"): service_bodies,
    ("POST", "/image/v2/images"): image_create_bodies,
    ("PATCH", "/image/v2/images/{image_id}"): image_patch_bodies,
    ("POST", "/os-security-groups"): security_group_bodies,
}


# --- strategies: requests ---------------------------------------------------------

QUERY_KEYS = ["limit", "marker", "changes-since", "changes-before", "status",
              "all_tenants", "name", "image", "flavor", "host", "node", "deleted",
              "locked", "project_id", "tenant_id", "user_id", "sort_key", "sort_dir",
              "is_public", "minRam", "minDisk", "with_servers",
              "hypervisor_hostname_pattern", "instance_uuid", "source_compute",
              "migration_type", "hidden", "binary", "tag", "size_min", "size_max",
              "os_hidden", "protected", "sort", "visibility", "member_status", "ip",
              "ip6", "tags", "tags-any", "not-tags", "uuid", "vm_state", "task_state",
              "_internal", "metadata", "soft_deleted", "reservation_id", "hostname",
              "availability_zone", "created_at", "launched_at", "power_state",
              "owner", "disk_format", "id"]

INT_KEYS = {"limit", "minRam", "minDisk", "size_min", "size_max", "min_ram",
            "min_disk", "marker", "launch_index", "progress", "power_state", "id"}
DATE_KEYS = {"changes-since", "changes-before", "created_at", "launched_at",
             "terminated_at", "updated_at"}
BOOL_KEYS = {"all_tenants", "deleted", "locked", "is_public", "with_servers", "hidden",
             "os_hidden", "protected", "soft_deleted"}

dates = st.one_of(
    # The edges of datetime: a timezone that moves them out of range.
    st.sampled_from(["0001-01-01T00:00:00+05:00", "0001-01-01T00:00:00+00:01",
                     "9999-12-31T23:59:59-05:00", "9999-12-31T23:59:59-00:01",
                     "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
                     "0001-01-01", "9999-12-31"]),
    st.builds(lambda y, mo, d, t, off: "%04d-%02d-%02dT%s%s" % (y, mo, d, t, off),
              st.sampled_from([1, 2, 1969, 1970, 2020, 2038, 9998, 9999]),
              st.sampled_from([1, 2, 12, 13, 0]), st.sampled_from([1, 28, 31, 32, 0]),
              st.sampled_from(["00:00:00", "23:59:59", "12:00:00.123456", "24:00:00",
                               "00:00"]),
              st.sampled_from(["", "Z", "z", "+00:00", "+05:00", "-05:00", "+23:59",
                               "-23:59", "+24:00", "+0530", " UTC"])),
    st.sampled_from(["garbage", "", "2020-01-01", "20200101T000000Z", "now", "0",
                     "1e10", "gte:2020-01-01T00:00:00Z", "lt:0001-01-01T00:00:00+05:00"]),
)
bools = st.sampled_from(["true", "false", "True", "1", "0", "yes", "no", "on", "t",
                         "maybe", "", "none", "all", "2"])


# The parameters each collection's handlers read (a new collection still gets
# the generic list).
QUERY_KEYS_FOR = {
    "servers": ["limit", "marker", "changes-since", "changes-before", "status",
                "all_tenants", "name", "image", "flavor", "host", "node", "deleted",
                "locked", "project_id", "tenant_id", "user_id", "sort_key", "sort_dir",
                "ip", "ip6", "tags", "tags-any", "not-tags", "not-tags-any", "uuid",
                "vm_state", "task_state", "_internal", "metadata", "soft_deleted",
                "reservation_id", "hostname", "availability_zone", "created_at",
                "launched_at", "power_state", "launch_index", "progress"],
    "flavors": ["limit", "marker", "is_public", "minRam", "minDisk", "sort_key",
                "sort_dir"],
    "os-services": ["host", "binary"],
    "os-hypervisors": ["limit", "marker", "hypervisor_hostname_pattern",
                       "with_servers"],
    "os-migrations": ["limit", "marker", "changes-since", "changes-before",
                      "instance_uuid", "host", "source_compute", "status",
                      "migration_type", "hidden", "user_id", "project_id"],
    "os-instance-actions": ["limit", "marker", "changes-since", "changes-before"],
    "images": ["limit", "marker", "sort", "sort_key", "sort_dir", "member_status",
               "name", "visibility", "status", "owner", "tag", "size_min",
               "size_max", "os_hidden", "protected", "disk_format",
               "container_format", "created_at", "updated_at", "id", "min_ram",
               "min_disk"],
}


def _collection(template):
    """The last collection named in a path template ('servers', 'images'...)."""
    found = None
    for part in template.split("/"):
        if part in QUERY_KEYS_FOR:
            found = part
    return found


@st.composite
def query_value_for(draw, key):
    """A value for `key`: mostly of the kind the key takes (with its edges)."""
    if draw(st.booleans()) or draw(st.booleans()):
        if key in INT_KEYS:
            return draw(int_texts)
        if key in DATE_KEYS:
            return draw(dates)
        if key in BOOL_KEYS:
            return draw(bools)
    return draw(query_values)


query_values = st.one_of(
    st.sampled_from(["-1", "abc", "0", "1", "2", "1000", "1001", "99999999999999999999",
                     "unknown", "garbage", "bogus", "maybe", "true", "false", "True",
                     "1.5", "", " ", "ACTIVE", "active", "SHUTOFF", "MIGRATING",
                     "DELETED", "ERROR", "deleted", "running", "completed",
                     "live-migration", "migration", "nova-compute", "host1", "asc",
                     "desc", "name", "created_at", "uuid", "locked", "vcpu_weight",
                     "2020-01-01T00:00:00Z", "2020-01-01T00:00:00+05:00",
                     "2020-13-45T25:61:61Z", "9999-12-31T23:59:59Z", "0001-01-01",
                     "2020-01-01T00:00:00.000000", "20200101", "2020-01-01T00:00:00Z ",
                     "[", "(", "*", ".*", "\\", "%", "_", "name:asc", "name:up,id",
                     ",", ":", "public", "private", "none", "all", "x" * 5000]),
    st.uuids().map(str),
    junk_text,
)


def pick(rnd, items):
    """One of `items` (or None). Chosen with the example's own Random, not a
    Hypothesis draw: the items change as the cloud does, and Hypothesis
    insists that the same choices make the same draws."""
    index = rnd.random()  # one call whatever len(items) is, unlike choice()
    return items[int(index * len(items))] if items else None


def real_ids(world, rnd):
    return pick(rnd, world.server_ids() + world.migration_ids() + world.images
                + world.flavors) or "x"


@st.composite
def query_strings(draw, world, template, rnd):
    relevant = QUERY_KEYS_FOR.get(_collection(template)) or QUERY_KEYS
    typed = [k for k in relevant if k in INT_KEYS | DATE_KEYS | BOOL_KEYS] or relevant
    pairs = []
    for _ in range(rnd.randint(1, 3)):
        which = rnd.random()
        if which < 0.4:
            key = rnd.choice(typed)
        elif which < 0.7:
            key = rnd.choice(relevant)
        elif which < 0.9:
            key = rnd.choice(QUERY_KEYS)
        else:
            key = draw(junk_text)
        if rnd.random() < 0.8:
            value = draw(query_value_for(key))
        else:
            value = real_ids(world, rnd)
        pairs.append((key, value))
    if rnd.random() < 0.25:  # the same key again
        pairs.append((pairs[0][0], draw(query_value_for(pairs[0][0]))))
    pairs = [(k.encode("utf-8", "surrogatepass"), v.encode("utf-8", "surrogatepass"))
             for k, v in pairs]
    while len(pairs) > 1 and len(urlencode(pairs)) > MAX_QUERY:
        pairs.pop()  # httpx refuses URLs over 64 KiB
    if rnd.random() < 0.1:  # not even urlencoded properly
        return draw(st.sampled_from(["%zz", "a=%FF%FE", "&&&", "=x", "a==b", "limit",
                                     "limit=1&limit=", "%00=%00", "a[]=1&a[b]=2"]))
    return urlencode(pairs)


@st.composite
def path_values(draw, world, name, method, version, rnd, template, benign=False):
    real = pick(rnd, world.real_values(name, method, version, template))
    use_real = benign or rnd.random() < 0.3
    raw = rnd.random() < 0.1
    # Drawn even when unused, so that the draws never depend on what exists.
    value = draw(st.one_of(
        junk_text,
        st.integers(min_value=-(2 ** 70), max_value=2 ** 70).map(str),
        int_texts,
        int_texts,
        st.uuids().map(str).map(str.upper),
        st.uuids().map(lambda u: u.hex),
    ))
    if use_real and real is not None:
        return q(real)
    if raw and all(c.isascii() and c.isprintable() and c not in "?#" for c in value):
        return value  # raw: "../", spaces and all
    return q(value)


@st.composite
def deep_bodies(draw, world, method, template, version):
    """A body that parses (nesting below Python's recursion limit) but nests
    deeply somewhere: what json.loads accepts, the validator, the database
    and the views must survive too."""
    structured = STRUCTURED.get((method, _relative(template)))
    base = draw(structured(world, version)) if structured else draw(json_values)
    path = draw(st.sampled_from([p for p, _ in _paths(base)]))
    depth = draw(st.integers(50, 995))
    if draw(st.booleans()):
        deep = b"[" * depth + b"1" + b"]" * depth
    else:
        deep = b"{\"a\":" * depth + b"1" + b"}" * depth
    marker = "__deep_%d__" % depth
    doc = json.dumps(_set(base, path, marker)).encode()
    return doc.replace(json.dumps(marker).encode(), deep, 1)


@st.composite
def bodies(draw, world, method, template, version, rnd):
    """(content, content-type or None, chunked)."""
    rel = _relative(template)
    structured = STRUCTURED.get((method, rel))
    if rel == "/image/v2/images/{image_id}/file" and method == "PUT":
        ctype = draw(st.sampled_from(["application/octet-stream"] * 3 + CONTENT_TYPES))
        return draw(st.binary(max_size=300)), ctype, draw(st.booleans())
    wants_body = method in ("POST", "PUT", "PATCH")
    kind = rnd.randrange(20)
    if not wants_body and kind < 15:
        return None, None, False
    ctype = draw(st.sampled_from(CONTENT_TYPES))
    if (method, rel) == ("PATCH", "/image/v2/images/{image_id}") and kind % 3:
        ctype = "application/openstack-images-v2.1-json-patch"
    if kind == 0:
        return None, draw(st.sampled_from([None, ctype])), False
    if kind == 1:
        return draw(malformed_bodies), ctype, False
    if kind == 3:
        return draw(deep_bodies(world, method, template, version)), ctype, False
    if kind == 2:  # over the limit, with and without a Content-Length
        size = draw(st.integers(MAX_BODY + 1, MAX_BODY * 3))
        padding = b"a" * size
        content = b"{\"server\": {\"name\": \"" + padding + b"\"}}"
        return content, ctype, draw(st.booleans())
    if structured is not None and kind >= 8:
        content = json.dumps(draw(structured(world, version))).encode()
    else:
        content = json.dumps(draw(json_values)).encode()
    return content, ctype, False


@st.composite
def benign_headers(draw, min_version=None):
    """A valid token (admin or the non-admin owner) and a valid microversion."""
    headers = [("X-Auth-Token", draw(st.sampled_from(
        ["admin:admin", "admin:admin", "alice:projecta"])))]
    if min_version or draw(st.integers(0, 3)):
        headers.append(("OpenStack-API-Version", "compute %s" % draw(st.sampled_from(
            [v for v in microversion.VERSIONS
             if min_version is None or at_least(v, min_version)] + ["latest"]))))
    return headers


@st.composite
def benign_bodies(draw, world, method, template, version):
    """(content, content-type, chunked): what a well-behaved client sends."""
    rel = _relative(template)
    if rel == "/image/v2/images/{image_id}/file" and method == "PUT":
        return draw(st.binary(max_size=64)), "application/octet-stream", False
    structured = STRUCTURED.get((method, rel))
    if structured is None:
        return None, None, False
    ctype = "application/json"
    if (method, rel) == ("PATCH", "/image/v2/images/{image_id}"):
        ctype = "application/openstack-images-v2.1-json-patch"
    return json.dumps(draw(structured(world, version))).encode(), ctype, False


# Where a request's trouble is. Faults mask each other (a bad microversion is
# a 400 before the query is looked at), so most requests are well-formed but
# for one part; "chaos" makes every part random at once.
FOCI = ("path", "query", "query", "headers", "body", "body", "chaos")


@st.composite
def requests(draw, world, method, template, body_kind=None, min_version=None):
    """One request for the route (method, template); with `min_version`,
    most requests ask for a microversion at least that high."""
    # The decisions (what to break, which real id) come from a Random that
    # Hypothesis seeds; the values come from Hypothesis strategies. Hypothesis
    # alone keeps replaying near-copies of earlier examples' structure.
    rnd = draw(st.randoms(use_true_random=True), label="dice")
    if body_kind is not None:
        focus = rnd.choice(("body", "body", "body", "body", "chaos"))
    else:
        focus = rnd.choice(FOCI)
    wild = focus == "chaos"
    if (wild or focus == "headers") and rnd.random() < 0.1:
        method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH",
                                       "HEAD", "OPTIONS"]))
    if wild or focus == "headers":
        headers = draw(auth_headers()) + draw(version_headers())
        if min_version and rnd.random() < 0.8:
            headers = [h for h in headers if "Version" not in h[0]] + [
                ("OpenStack-API-Version", "compute %s" % draw(st.sampled_from(
                    [v for v in microversion.VERSIONS if at_least(v, min_version)]
                    + ["latest"])))]
    else:
        headers = draw(benign_headers(min_version))
    version = version_of(headers)
    names = re.findall(r"{(\w+)}", template)
    benign_path = not (wild or focus == "path")
    # One parameter is the fuzzed one (all of them in chaos); the rest are real.
    target = rnd.choice(names) if names and not benign_path else None
    values = {name: draw(path_values(world, name, method, version, rnd, template,
                                     benign=not wild and name != target))
              for name in names}
    # Ids that belong together: a server and one of its migrations or actions.
    for other, pairs in (("migration_id", world.migration_pairs),
                         ("request_id", world.action_pairs)):
        if {"server_id", other} <= set(names) and target != other \
                and rnd.random() < 0.4:
            pair = pick(rnd, pairs())
            if pair is not None:
                values["server_id"], values[other] = q(pair[0]), q(pair[1])
    path = template
    for name in names:
        path = path.replace("{%s}" % name, values[name], 1)
    api = _api_of(template)
    if api in ("v2.1", "v2") and path.count("/") >= 2 and not benign_path \
            and rnd.random() < 0.12:
        # /v2.1/{project_id}/servers, as old clients call it
        project = draw(st.sampled_from(["admin", "projecta", "someone", "servers",
                                        "0", "%20"]))
        head, _, rest = path[1:].partition("/")
        path = "/%s/%s/%s" % (head, project, rest)
    query = ""
    if wild or focus == "query":
        query = draw(query_strings(world, template, rnd))[:MAX_QUERY]
    url = path + ("?" + query if query else "")
    if body_kind is not None:
        content = json.dumps(draw(body_kind(world, version))).encode()
        ctype, chunked = "application/json", False
    elif wild or focus == "body":
        content, ctype, chunked = draw(bodies(world, method, template, version, rnd))
    else:
        content, ctype, chunked = draw(benign_bodies(world, method, template,
                                                     version))
    if ctype is not None:
        headers.append(("Content-Type", ctype))
    if wild and rnd.random() < 0.1:
        headers.append(draw(st.sampled_from([
            ("Accept", "application/xml"), ("Accept", "text/html"),
            ("Accept-Encoding", "gzip"), ("X-Forwarded-Proto", "ftp"),
            ("Content-Encoding", "gzip"), ("Transfer-Encoding", "chunked"),
            ("X-Identity-Status", "Invalid"), ("Expect", "100-continue"),
            ("Host", "x" * 300)])))
    return Req(method, url, headers, content, chunked)


# --- the world fixture ---------------------------------------------------------------

@pytest.fixture(scope="module")
def world(tmp_path_factory):
    fixture = CloudFixture(tmp_path_factory.mktemp("fuzz"),
                           fake__live_migration_seconds=1.0).start()
    w = World(fixture)
    try:
        w.setup()
        yield w
    finally:
        w.close()
        fixture.stop()


def _prepare(world, template):
    world.ensure_servers()
    if "{migration_id}" in template:
        world.ensure_migration()


def _seed(*parts):
    """A fixed seed per test and route: reproducible, yet each route gets its
    own sequence of examples (derandomize would give them all the same one)."""
    return zlib.crc32(" ".join(map(str, parts)).encode())


def _run(world, method, template, examples, body_kind=None, min_version=None):
    @seed(_seed(method, template, getattr(body_kind, "__name__", "")))
    @settings(max_examples=examples, **FUZZ)
    @given(data=st.data())
    def fuzz(data):
        _prepare(world, template)
        req = data.draw(requests(world, method, template, body_kind, min_version),
                        label="request")
        if world.is_new(req):
            world.send(req, template)
    fuzz()


# --- the tests ----------------------------------------------------------------------

def test_routing_table_is_complete():
    """The introspection sees the routes every handler module declares."""
    relative = {(m, _relative(p)) for m, p in ROUTES}
    for wanted in [("GET", "/servers"), ("POST", "/servers"),
                   ("POST", "/servers/{server_id}/action"), ("GET", "/flavors"),
                   ("GET", "/os-services"), ("GET", "/os-hypervisors"),
                   ("GET", "/os-migrations"), ("GET", "/image/v2/images")]:
        assert wanted in relative, wanted
    assert {p.split("/")[1] for _, p in ROUTES} >= {"v2.1", "v2", "image"}


@pytest.mark.parametrize("prefix", ["/v2.1", "/v2"])
def test_create_server_mutations(world, prefix):
    """POST /servers: a valid body with fields replaced, dropped or added."""
    _run(world, "POST", prefix + "/servers", _n(150), body_kind=create_bodies)


@pytest.mark.parametrize("prefix", ["/v2.1", "/v2"])
def test_server_action_mutations(world, prefix):
    """POST /servers/{id}/action: every action key with valid, mutated and
    random values, on servers in every state, as admin and as their owner."""
    _run(world, "POST", prefix + "/servers/{server_id}/action", _n(250),
         body_kind=action_bodies)


def test_migration_force_complete_mutations(world):
    """force_complete (2.22+) on running, finished and unknown migrations."""
    _run(world, "POST", "/v2.1/servers/{server_id}/migrations/{migration_id}/action",
         _n(60), body_kind=migration_action_bodies, min_version="2.22")


@pytest.mark.parametrize("min_version", ["2.1", "2.53"])
def test_service_update_mutations(world, min_version):
    """PUT /os-services: the pre-2.53 action form and the 2.53 uuid form."""
    try:
        _run(world, "PUT", "/v2.1/os-services/{service_id}", _n(50),
             body_kind=service_bodies, min_version=min_version)
    finally:
        world.heal_services()


def test_malformed_and_huge_bodies(world):
    """Every route that takes a body: broken JSON, deep nesting, bytes that
    are not UTF-8, and bodies above the 112 KiB limit."""
    targets = sorted({(m, p) for m, p in ROUTES if m in ("POST", "PUT", "PATCH")},
                     key=_route_order)

    @seed(_seed("malformed"))
    @settings(max_examples=_n(150), **FUZZ)
    @given(data=st.data())
    def fuzz(data):
        method, template = data.draw(st.sampled_from(targets), label="route")
        _prepare(world, template)
        req = data.draw(requests(world, method, template), label="request")
        kind = data.draw(st.integers(0, 4))
        if kind < 2:
            req.content = data.draw(malformed_bodies, label="body")
        elif kind < 4:
            req.content = data.draw(deep_bodies(world, method, template,
                                                version_of(req.headers)), label="body")
        else:
            size = data.draw(st.integers(MAX_BODY + 1, MAX_BODY * 2))
            req.content = b"{\"x\": \"" + b"a" * size + b"\"}"
            req.chunked = data.draw(st.booleans())
        if world.is_new(req):
            world.send(req, template)
    fuzz()


@pytest.mark.parametrize("method,template", ROUTES,
                         ids=["%s %s" % r for r in ROUTES])
def test_route(world, method, template):
    """Every route: junk and real ids, queries, headers and bodies."""
    try:
        _run(world, method, template, _n(60 if method in ("GET", "HEAD") else 45))
    finally:
        if "/os-services" in template:
            world.heal_services()


def test_zz_cloud_is_consistent_after_fuzzing(world):
    """After all of the above: no server in an unknown or stuck state, no
    migration with an unknown status or left in progress for an idle server."""
    admin = world.admin
    r = admin.get("/servers/detail?all_tenants=1")
    assert r.status_code == 200, r.text
    servers = r.json()["servers"]
    assert servers, "the fuzzer left no servers at all"
    for server in servers:
        assert server["status"] in SERVER_STATUSES and server["status"] != "UNKNOWN", \
            server
    deadline = time.monotonic() + 10
    while True:
        r = admin.get("/servers/detail?all_tenants=1")
        assert r.status_code == 200, r.text
        busy = {s["id"]: (s["status"], s["OS-EXT-STS:task_state"])
                for s in r.json()["servers"] if s["OS-EXT-STS:task_state"] is not None}
        if not busy or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert not busy, "task states stuck for 10 s: %r" % busy
    r = admin.get("/servers/detail")
    assert r.status_code == 200, r.text

    r = admin.at("2.80").get("/os-migrations")
    assert r.status_code == 200, r.text
    migrations = r.json()["migrations"]
    assert migrations, "no migration was ever made"
    for migration in migrations:
        assert migration["status"] in MIGRATION_STATUSES, migration
    idle = {s["id"] for s in admin.get("/servers/detail?all_tenants=1").json()["servers"]
            if s["OS-EXT-STS:task_state"] is None}
    stuck = [m for m in migrations if m["status"] in db_migrations.IN_PROGRESS
             and m["instance_uuid"] in idle]
    assert not stuck, "migrations in progress for idle servers: %r" % stuck

"""Paging GET /servers and /servers/detail: limit, marker and the `next` link.

The list order is created_at DESC, id DESC, and a marker continues it with a
row-value keyset (lifeboat.db.instances._after_marker) on the list indexes
(migration 0002). These tests walk a list from every marker position, with
creation times made equal on purpose (ties are broken by id), through deleted
servers (changes-since) and across tenants, and check the detail rows the list
loads as plain columns against the show of each server.
"""
import datetime
import urllib.parse
import uuid as uuidlib

import pytest

from lifeboat.db import instances as db_instances
from lifeboat.db import models
from lifeboat.db.engine import get_engine
from tests import schema_oracle

T0 = datetime.datetime(2026, 1, 1, 12, 0, 0)


def clone(template_id, name, created_at, project_id=None):
    """A copy of a booted server's row (a valid server in every view) with its
    own uuid, name and creation time, straight into the database."""
    tpl = db_instances.get(template_id)
    values = {c.key: getattr(tpl, c.key) for c in models.Instance.__mapper__.column_attrs
              if c.key not in ("id", "uuid", "display_name", "hostname", "created_at",
                               "updated_at")}
    values.update(uuid=str(uuidlib.uuid4()), display_name=name, hostname=name,
                  created_at=created_at, updated_at=None)
    if project_id is not None:
        values["project_id"] = project_id
    return db_instances.create(values).uuid


def expected_order(uuids=None, deleted=False, project_id=None):
    """uuids sorted as the API must list them: created_at DESC, id DESC."""
    t = models.Instance.__table__
    with get_engine().connect() as conn:
        rows = conn.execute(t.select().with_only_columns(
            t.c.uuid, t.c.created_at, t.c.id, t.c.deleted, t.c.project_id)).all()
    rows = [r for r in rows if (deleted or not r.deleted)
            and (project_id is None or r.project_id == project_id)
            and (uuids is None or r.uuid in uuids)]
    return [r.uuid for r in sorted(rows, key=lambda r: (r.created_at, r.id), reverse=True)]


def ids(response):
    assert response.status_code == 200, response.text
    return [s["id"] for s in response.json()["servers"]]


def walk(client, path, limit):
    """Follow `next` links from `path` with `limit`; returns (ids, pages)."""
    sep = "&" if "?" in path else "?"
    url = "%s%slimit=%d" % (path, sep, limit)
    seen, pages = [], 0
    while url is not None:
        r = client.get(url)
        page = ids(r)
        assert len(page) <= limit
        seen += page
        pages += 1
        links = r.json().get("servers_links")
        if links:
            assert len(page) == limit, "a next link only after a full page"
            href = links[0]["href"]
            assert links[0]["rel"] == "next"
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(href).query)
            assert query["marker"] == [page[-1]] and query["limit"] == [str(limit)]
            url = href.split("/v2.1", 1)[1]
        else:
            assert len(page) < limit or not page, "a full page has a next link"
            url = None
        assert pages < 100
    return seen, pages


@pytest.fixture
def many(cloud, admin):
    """Two booted servers (admin, projecta) plus 13 clones: four share one
    created_at, three another, the rest are spread; 4 clones are projecta's."""
    user = cloud.client("alice", "projecta")
    base = admin.boot("base")
    other = user.boot("alice-base")
    made = {"admin": [base], "projecta": [other]}
    stamps = [T0, T0, T0, T0, T0 + datetime.timedelta(seconds=5),
              T0 + datetime.timedelta(seconds=5), T0 + datetime.timedelta(seconds=5),
              T0 - datetime.timedelta(days=1), T0 + datetime.timedelta(microseconds=1),
              T0 - datetime.timedelta(microseconds=1), T0 + datetime.timedelta(hours=1),
              T0, T0 + datetime.timedelta(seconds=5)]
    for i, stamp in enumerate(stamps):
        project = "projecta" if i % 3 == 1 else None
        sid = clone(other if project else base, "clone-%02d" % i, stamp, project)
        made[project or "admin"].append(sid)
    return made


@pytest.mark.parametrize("path", ["/servers", "/servers/detail"])
def test_marker_at_every_position(admin, many, path):
    order = expected_order()
    assert len(order) == 15
    listed = ids(admin.get(path + "?all_tenants=1"))
    assert listed == order
    for i, marker in enumerate(order):
        after = ids(admin.get("%s?all_tenants=1&marker=%s" % (path, marker)))
        assert after == order[i + 1:], "marker at position %d" % i
        for limit in (1, 2, 3):
            page = ids(admin.get("%s?all_tenants=1&marker=%s&limit=%d"
                                 % (path, marker, limit)))
            assert page == order[i + 1:i + 1 + limit]


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 5, 7, 14, 15, 16, 1000])
def test_next_links_walk_the_whole_list(admin, many, limit):
    order = expected_order()
    seen, pages = walk(admin, "/servers/detail?all_tenants=1", limit)
    assert seen == order
    # a last page that is exactly full still gets a link, to an empty page
    assert pages == len(order) // limit + 1
    seen, _ = walk(admin, "/servers?all_tenants=1", limit)
    assert seen == order


def test_equal_created_at_is_ordered_by_id(admin, many):
    t = models.Instance.__table__
    with get_engine().connect() as conn:
        tied = conn.execute(t.select().with_only_columns(t.c.uuid, t.c.id)
                            .where(t.c.created_at == T0).order_by(t.c.id.desc())).all()
    tied = [r.uuid for r in tied]
    assert len(tied) == 5
    order = ids(admin.get("/servers?all_tenants=1"))
    start = order.index(tied[0])
    assert order[start:start + 5] == tied
    # every marker inside the tie continues with the lower ids, then older rows
    for i, marker in enumerate(tied):
        after = ids(admin.get("/servers?all_tenants=1&limit=2&marker=%s" % marker))
        assert after == order[start + i + 1:start + i + 3]


def test_every_row_shares_one_created_at(admin, cloud):
    base = admin.boot("base")
    made = [clone(base, "same-%d" % i, T0) for i in range(6)]
    with get_engine().begin() as conn:
        t = models.Instance.__table__
        conn.execute(t.update().where(t.c.uuid == base).values(created_at=T0))
    order = expected_order()
    assert set(order) == set(made) | {base}
    seen, _ = walk(admin, "/servers/detail", 2)
    assert seen == order
    seen, _ = walk(admin, "/servers", 4)
    assert seen == order


def test_tenant_listing_pages_within_the_tenant(cloud, admin, many):
    user = cloud.client("alice", "projecta")
    own = expected_order(project_id="projecta")
    assert len(own) == 5 and set(own) == set(many["projecta"])
    assert ids(user.get("/servers/detail")) == own
    for limit in (1, 2, 5):
        assert walk(user, "/servers/detail", limit)[0] == own
        assert walk(user, "/servers", limit)[0] == own
    # all_tenants is not for a project member; without it admin sees its own
    assert user.get("/servers?all_tenants=1").status_code == 403
    assert walk(admin, "/servers", 3)[0] == expected_order(project_id="admin")
    # admin on one project
    assert ids(admin.get("/servers/detail?all_tenants=1&project_id=projecta")) == own
    # a marker from another project positions the list and leaks nothing
    everyone = expected_order()
    foreign = [u for u in everyone if u not in own][3]
    after = ids(user.get("/servers?marker=%s" % foreign))
    position = everyone.index(foreign)
    assert after == [u for u in everyone[position + 1:] if u in own]


def test_deleted_servers_page_with_changes_since(cloud, admin, many):
    doomed = [many["admin"][2], many["admin"][5], many["projecta"][1]]
    for sid in doomed:
        assert admin.delete("/servers/%s" % sid).status_code == 204
    admin.wait_until(lambda: all(admin.get("/servers/%s" % s).status_code == 404
                                 for s in doomed), "deleted")
    live = expected_order()
    assert not set(doomed) & set(live)
    assert walk(admin, "/servers/detail?all_tenants=1", 4)[0] == live
    since = "changes-since=2000-01-01T00:00:00Z"
    everything = expected_order(deleted=True)
    assert set(doomed) <= set(everything) and len(everything) == len(live) + 3
    for limit in (1, 3, 100):
        seen, _ = walk(admin, "/servers/detail?all_tenants=1&" + since, limit)
        assert seen == everything
    body = admin.get("/servers/detail?all_tenants=1&" + since).json()
    schema_oracle.assert_valid("list_servers_detail", "2.1", 200, body)
    status = {s["id"]: s["status"] for s in body["servers"]}
    assert {status[s] for s in doomed} == {"DELETED"}
    # a deleted server is a valid marker, with and without changes-since
    for marker in doomed:
        i = everything.index(marker)
        assert ids(admin.get("/servers?all_tenants=1&%s&marker=%s" % (since, marker))) \
            == everything[i + 1:]
        assert ids(admin.get("/servers?all_tenants=1&marker=%s" % marker)) \
            == [u for u in everything[i + 1:] if u in live]
    # the tenant's view of its deleted server
    user = cloud.client("alice", "projecta")
    assert walk(user, "/servers?" + since, 2)[0] == \
        expected_order(deleted=True, project_id="projecta")


def test_unknown_marker_is_400(admin, many):
    for path in ("/servers", "/servers/detail"):
        r = admin.get(path + "?marker=%s" % uuidlib.uuid4())
        assert r.status_code == 400
        assert "marker [" in r.json()["badRequest"]["message"]


@pytest.mark.parametrize("version", ["2.1", "2.3", "2.9", "2.16", "2.47", "2.70",
                                     "2.73", "2.96", "2.100", "2.105"])
def test_detail_list_entries_equal_show(cloud, admin, many, version):
    """The list renders plain rows, the show an Instance object: same body
    (but server_groups, which only show has from 2.71)."""
    client = admin.at(version)
    user = cloud.client("alice", "projecta").at(version)
    for who, query in ((client, "?all_tenants=1"), (user, "")):
        r = who.get("/servers/detail" + query)
        schema_oracle.assert_valid("list_servers_detail", version, 200, r.json())
        for server in r.json()["servers"]:
            shown = who.get("/servers/%s" % server["id"]).json()["server"]
            shown.pop("server_groups", None)
            assert server == shown


def test_db_rows_equal_instances(admin, many):
    """list_(columns=...) rows hold what the Instance objects hold."""
    objects = db_instances.list_()
    rows = db_instances.list_(columns=db_instances.DETAIL_COLUMNS)
    assert [r.uuid for r in rows] == [o.uuid for o in objects]
    for row, obj in zip(rows, objects):
        for name in db_instances.DETAIL_COLUMNS:
            assert getattr(row, name) == getattr(obj, name), name
            assert type(getattr(row, name)) is type(getattr(obj, name)), name


def test_db_keyset_in_both_directions(admin, many):
    """Ascending order and mixed directions (the OR form) page like desc."""
    def walk_db(sort_dirs, limit):
        seen, marker = [], None
        while True:
            page = db_instances.list_(limit=limit, marker=marker, sort_dirs=sort_dirs,
                                      columns=db_instances.INDEX_COLUMNS)
            seen += [r.uuid for r in page]
            if len(page) < limit:
                return seen
            marker = page[-1].uuid

    t = models.Instance.__table__
    with get_engine().connect() as conn:
        rows = conn.execute(t.select().with_only_columns(t.c.uuid, t.c.created_at, t.c.id)
                            .where(t.c.deleted == 0)).all()
    asc = [r.uuid for r in sorted(rows, key=lambda r: (r.created_at, r.id))]
    mixed = [r.uuid for r in sorted(sorted(rows, key=lambda r: r.id),
                                    key=lambda r: r.created_at, reverse=True)]
    for limit in (1, 2, 4, 100):
        assert walk_db(("asc", "asc"), limit) == asc
        assert walk_db(("desc", "asc"), limit) == mixed
        assert walk_db(("desc", "desc"), limit) == list(reversed(asc))


def test_error_servers_show_their_newest_fault_in_pages(cloud, admin, many):
    """Faults of a page come in one query; each ERROR server shows its newest."""
    user = cloud.client("alice", "projecta")
    broken = many["projecta"][:3]
    for n, sid in enumerate(broken):
        db_instances.transition(sid, vm_state="error", task_state=None)
        for k in range(n + 1):
            db_instances.add_fault(sid, 500 if k % 2 == 0 else 404, "fault %d of %s" % (k, sid),
                                   "details %d" % k, "host1")
    for client, query in ((admin, "?all_tenants=1"), (user, "")):
        seen = {}
        for limit in (1, 2, 100):
            url = "/servers/detail%s%slimit=%d" % (query, "&" if query else "?", limit)
            while url:
                body = client.get(url).json()
                schema_oracle.assert_valid("list_servers_detail", "2.1", 200, body)
                seen.update({s["id"]: s for s in body["servers"]})
                links = body.get("servers_links")
                url = links[0]["href"].split("/v2.1", 1)[1] if links else None
            for n, sid in enumerate(broken):
                fault = seen[sid]["fault"]
                assert seen[sid]["status"] == "ERROR"
                assert fault["message"] == "fault %d of %s" % (n, sid)
                assert fault["code"] == (500 if n % 2 == 0 else 404)
                # a 500's details are for admins only (Nova)
                assert ("details" in fault) == (client is admin or fault["code"] != 500)
            assert not any("fault" in s for s in seen.values() if s["id"] not in broken)

"""GET /flavors, /flavors/detail and /flavors/{id} over HTTP, checked against
Tempest's response schemas at each microversion that changes them and against
Nova's filter, sort and paging rules."""
import pytest

from tests.schema_oracle import assert_valid

VERSIONS = ["2.1", "2.11", "2.28", "2.33", "2.53", "2.55", "2.58", "2.61", "2.62",
            "2.75", "2.84", "2.88", "2.104"]


def _ids(response):
    assert response.status_code == 200, response.text
    return [f["id"] for f in response.json()["flavors"]]


@pytest.mark.parametrize("version", VERSIONS)
def test_bodies_match_tempest_schemas(admin, user, version):
    for client in (admin.at(version), user.at(version)):
        r = client.get("/flavors")
        assert_valid("list_flavors", version, r.status_code, r.json())
        assert [f["id"] for f in r.json()["flavors"]] == ["1", "2", "3", "4", "5"]
        r = client.get("/flavors/detail")
        assert_valid("list_flavors_details", version, r.status_code, r.json())
        r = client.get("/flavors/1")
        assert_valid("get_flavor", version, r.status_code, r.json())


def test_microversion_keys(admin):
    old = admin.at("2.54").get("/flavors/1").json()["flavor"]
    assert "description" not in old and "extra_specs" not in old
    assert old["swap"] == ""
    assert "description" in admin.at("2.55").get("/flavors").json()["flavors"][0]
    new = admin.at("2.61").get("/flavors/detail").json()["flavors"][0]
    assert new["extra_specs"] == {} and new["description"] is None
    assert "extra_specs" not in admin.at("2.61").get("/flavors").json()["flavors"][0]
    assert admin.at("2.75").get("/flavors/1").json()["flavor"]["swap"] == 0


def test_show(admin, user):
    body = user.get("/flavors/3").json()["flavor"]
    assert (body["name"], body["ram"], body["vcpus"], body["disk"]) == \
        ("m1.medium", 4096, 2, 40)
    assert body["links"][0]["href"].endswith("/v2.1/flavors/3")
    r = admin.get("/flavors/999")
    assert r.status_code == 404
    assert r.json() == {"itemNotFound": {"code": 404,
                                         "message": "Flavor 999 could not be found."}}


def test_filters(admin, user):
    assert _ids(user.get("/flavors?minRam=4096")) == ["3", "4", "5"]
    assert _ids(user.get("/flavors/detail?minDisk=80")) == ["4", "5"]
    assert _ids(user.get("/flavors?minRam=4096&minDisk=160")) == ["5"]
    for bad in ("minRam=abc", "minDisk=1.5"):
        r = user.get("/flavors?" + bad)
        assert r.status_code == 400, bad
        assert "badRequest" in r.json()


def test_is_public(admin, user):
    assert _ids(admin.get("/flavors?is_public=none")) == ["1", "2", "3", "4", "5"]
    assert _ids(admin.get("/flavors?is_public=all")) == ["1", "2", "3", "4", "5"]
    assert _ids(admin.get("/flavors?is_public=false")) == []
    assert _ids(admin.get("/flavors?is_public=true")) == ["1", "2", "3", "4", "5"]
    r = admin.get("/flavors?is_public=maybe")
    assert r.status_code == 400
    assert r.json()["badRequest"]["message"] == "Invalid is_public filter [maybe]"
    # Only admins choose: anyone else always gets the public flavors.
    assert _ids(user.get("/flavors?is_public=false")) == ["1", "2", "3", "4", "5"]


def test_sorting(user):
    assert _ids(user.get("/flavors?sort_key=memory_mb&sort_dir=desc")) == \
        ["5", "4", "3", "2", "1"]
    assert _ids(user.get("/flavors?sort_key=name")) == ["4", "3", "2", "1", "5"]
    assert _ids(user.get("/flavors?sort_key=vcpu_weight")) == ["1", "2", "3", "4", "5"]
    for bad in ("sort_key=bogus", "sort_dir=up"):
        assert user.get("/flavors?" + bad).status_code == 400, bad


def test_paging(user):
    r = user.at("2.1").get("/flavors?limit=2")
    assert _ids(r) == ["1", "2"]
    assert_valid("list_flavors", "2.1", r.status_code, r.json())
    link = r.json()["flavors_links"]
    assert link[0]["rel"] == "next"
    href = link[0]["href"]
    assert href.startswith("http://lifeboat.test/v2.1/flavors?")
    assert "marker=2" in href and "limit=2" in href
    r = user.get(href)
    assert _ids(r) == ["3", "4"]
    r = user.get(r.json()["flavors_links"][0]["href"])
    assert _ids(r) == ["5"]
    assert "flavors_links" not in r.json()
    # detail pages link to detail
    r = user.get("/flavors/detail?limit=4")
    assert "/v2.1/flavors/detail?" in r.json()["flavors_links"][0]["href"]
    assert_valid("list_flavors_details", "2.1", r.status_code, r.json())
    # a full listing that is not a short page has no link
    assert "flavors_links" not in user.get("/flavors").json()
    assert _ids(user.get("/flavors?marker=4")) == ["5"]


def test_paging_errors(user):
    r = user.get("/flavors?marker=nope")
    assert r.status_code == 400
    assert r.json()["badRequest"]["message"] == "marker [nope] not found"
    for bad in ("limit=-1", "limit=x"):
        assert user.get("/flavors?" + bad).status_code == 400, bad


def test_unknown_query_parameters(user):
    # Ignored up to 2.74, refused from 2.75 (Nova's index_query_275).
    assert _ids(user.at("2.74").get("/flavors?foo=bar")) == ["1", "2", "3", "4", "5"]
    r = user.at("2.75").get("/flavors/detail?foo=bar")
    assert r.status_code == 400
    assert "foo" in r.json()["badRequest"]["message"]

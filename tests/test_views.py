"""Server and flavor views against Tempest's response schemas, version by version.

The models are built in memory (no database): the views only read attributes.
Every microversion where Nova changes these bodies is rendered, for an admin
and for a project member, and each body must pass the schema Tempest would
apply at that version (tests/schema_oracle.py) besides the key checks here.
"""
import datetime
import hashlib

import pytest

from lifeboat.api.microversion import APIVersion
from lifeboat.api.views import common
from lifeboat.api.views import servers as views
from lifeboat.compute import states
from lifeboat.db import models
from tests import schema_oracle

VERSIONS = ["2.1", "2.3", "2.9", "2.16", "2.19", "2.26", "2.47", "2.61", "2.63",
            "2.71", "2.73", "2.75", "2.90", "2.96", "2.98", "2.100", "2.104",
            "2.105"]
PROJECT = "6f70656e737461636b20342065766572"
USER = "a1b2c3"
BASE = "http://lifeboat.test:8774"
IMAGE_ID = "70a599e0-31e7-49b7-b260-868f441e862b"
T0 = datetime.datetime(2025, 3, 1, 12, 0, 0)
T1 = datetime.datetime(2025, 3, 1, 12, 5, 30, 123456)


class FakeContext:
    def __init__(self, admin):
        self.is_admin = admin
        self.project_id = "admin-project" if admin else PROJECT
        self.user_id = "admin" if admin else USER


class FakeRequest:
    """The part of ApiRequest the views use: version, context and links."""

    def __init__(self, version, admin=False):
        self.version = APIVersion(version)
        self.context = FakeContext(admin)
        self.base_url = BASE

    def link(self, collection, ident, bookmark=False):
        if bookmark:
            return "%s/%s/%s" % (BASE, collection, ident)
        return "%s/v2.1/%s/%s" % (BASE, collection, ident)

    def links(self, collection, ident):
        return [{"rel": "self", "href": self.link(collection, ident)},
                {"rel": "bookmark", "href": self.link(collection, ident, True)}]


FLAVOR_SNAPSHOT = {"id": 1, "flavorid": "42", "name": "m1.tiny", "memory_mb": 512,
                   "vcpus": 1, "root_gb": 1, "ephemeral_gb": 0, "swap": 0,
                   "extra_specs": {"hw:cpu_policy": "shared"}, "description": None}


def make_instance(vm_state=states.ACTIVE, task_state=None,
                  power_state=states.RUNNING, **overrides):
    values = dict(
        id=7, uuid="8f6b0a3c-5a2e-4c39-9d6e-2b1f4c1d9e11", display_name="web-1",
        display_description="a test server", hostname="web-1",
        project_id=PROJECT, user_id=USER, image_ref=IMAGE_ID, kernel_id=None,
        ramdisk_id=None, flavor_id=1, flavor=dict(FLAVOR_SNAPSHOT),
        host="compute-1", node="compute-1.example", vm_state=vm_state,
        task_state=task_state, power_state=power_state, progress=0,
        launched_at=T1, terminated_at=None, deleted=0,
        metadata_={"role": "web"}, tags=["blue"], key_name="mykey",
        user_data="IyEvYmluL3NoCg==", config_drive="", availability_zone="nova",
        access_ip_v4=None, access_ip_v6=None, launch_index=0,
        reservation_id="r-abc123", root_device_name="/dev/vda", locked=False,
        locked_by=None, locked_reason=None, created_at=T0, updated_at=T1)
    values.update(overrides)
    return models.Instance(**values)


def make_fault(code=500, details="Traceback (most recent call last): ..."):
    return models.InstanceFault(instance_uuid="x", code=code, message="Boom",
                                details=details, host="compute-1", created_at=T1)


def make_image():
    return models.Image(id=IMAGE_ID, name="cirros", status="active",
                        disk_format="qcow2", container_format="bare", min_disk=1,
                        min_ram=0, properties={"hw_rescue_bus": "usb",
                                               "os_distro": "cirros",
                                               "bad-key": "dropped"})


def make_flavor(**overrides):
    values = dict(id=1, flavorid="42", name="m1.tiny", memory_mb=512, vcpus=1,
                  root_gb=1, ephemeral_gb=0, swap=0, rxtx_factor=1.0,
                  is_public=True, disabled=False, description="tiny one",
                  extra_specs={"hw:cpu_policy": "shared"})
    values.update(overrides)
    return models.Flavor(**values)


# (name, instance factory, fault factory, expected status)
SCENARIOS = [
    ("active", lambda: make_instance(), lambda: None, "ACTIVE"),
    ("rescued", lambda: make_instance(states.RESCUED, rescue_image_ref=IMAGE_ID),
     lambda: None, "RESCUE"),
    ("rescued-migrating",
     lambda: make_instance(states.RESCUED, states.MIGRATING), lambda: None,
     "MIGRATING"),
    ("error-fault", lambda: make_instance(states.ERROR, power_state=states.NOSTATE,
                                          host=None, node=None, launched_at=None),
     make_fault, "ERROR"),
    ("error-404-fault", lambda: make_instance(states.ERROR),
     lambda: make_fault(code=404, details="no such thing"), "ERROR"),
    ("building-volume-backed",
     lambda: make_instance(states.BUILDING, states.SPAWNING, states.NOSTATE,
                           host=None, node=None, image_ref=None, launched_at=None,
                           updated_at=None, hostname=None),
     lambda: None, "BUILD"),
    ("locked-shutoff", lambda: make_instance(states.STOPPED, power_state=states.SHUTDOWN,
                                             locked=True, locked_by="owner",
                                             locked_reason="maintenance"),
     lambda: None, "SHUTOFF"),
]
SCENARIO_IDS = [s[0] for s in SCENARIOS]


def render(version, admin, scenario, in_list=False):
    _name, inst_factory, fault_factory, _status = scenario
    req = FakeRequest(version, admin)
    return views.detail(req, inst_factory(), fault=fault_factory(),
                        image=make_image(), in_list=in_list)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=SCENARIO_IDS)
@pytest.mark.parametrize("admin", [True, False], ids=["admin", "member"])
@pytest.mark.parametrize("version", VERSIONS)
def test_server_views_match_tempest(version, admin, scenario):
    show = render(version, admin, scenario)
    schema_oracle.assert_valid("get_server", version, 200, {"server": show})
    listed = render(version, admin, scenario, in_list=True)
    schema_oracle.assert_valid("list_servers_detail", version, 200,
                               {"servers": [listed, listed]})
    req = FakeRequest(version, admin)
    schema_oracle.assert_valid("list_servers", version, 200,
                               {"servers": [views.basic(req, scenario[1]())]})
    assert show["status"] == scenario[3]


@pytest.mark.parametrize("version", VERSIONS)
def test_version_gates(version):
    v = APIVersion(version)
    admin = views.detail(FakeRequest(version, True), make_instance(), image=make_image())
    member = views.detail(FakeRequest(version, False), make_instance())
    listed = views.detail(FakeRequest(version, False), make_instance(), in_list=True)
    gates = {"locked": "2.9", "description": "2.19", "tags": "2.26",
             "trusted_image_certificates": "2.63", "locked_reason": "2.73",
             "pinned_availability_zone": "2.96", "scheduler_hints": "2.100"}
    for key, since in gates.items():
        for body in (admin, member, listed):
            assert (key in body) == (v >= since), (key, version)
    assert ("server_groups" in member) == (v >= "2.71")
    assert "server_groups" not in listed
    assert ("host_status" in admin) == (v >= "2.16")
    assert "host_status" not in member
    assert ("properties" in admin["image"]) == (v >= "2.98")
    if v >= "2.47":
        assert set(admin["flavor"]) == {"vcpus", "ram", "disk", "ephemeral", "swap",
                                        "original_name", "extra_specs"}
        # The owner passes the default os-flavor-extra-specs:index rule too.
        assert member["flavor"]["extra_specs"] == {"hw:cpu_policy": "shared"}
    else:
        assert admin["flavor"] == {"id": "42", "links": [
            {"rel": "bookmark", "href": BASE + "/flavors/42"}]}
    volumes = views.detail(FakeRequest(version), make_instance(),
                           volumes=[{"id": "v1", "delete_on_termination": True}])
    expected = {"id": "v1"}
    if v >= "2.3":
        expected["delete_on_termination"] = True
    assert volumes["os-extended-volumes:volumes_attached"] == [expected]


@pytest.mark.parametrize("version", VERSIONS)
def test_extended_attributes_only_for_admins(version):
    v = APIVersion(version)
    admin = views.detail(FakeRequest(version, True), make_instance())
    member = views.detail(FakeRequest(version, False), make_instance())
    assert admin["OS-EXT-SRV-ATTR:instance_name"] == "instance-00000007"
    assert admin["OS-EXT-SRV-ATTR:host"] == "compute-1"
    assert admin["OS-EXT-SRV-ATTR:hypervisor_hostname"] == "compute-1.example"
    later = {"reservation_id", "launch_index", "hostname", "kernel_id",
             "ramdisk_id", "root_device_name", "user_data"}
    for attr in later:
        assert ("OS-EXT-SRV-ATTR:" + attr in admin) == (v >= "2.3")
    member_ext = {k for k in member if k.startswith("OS-EXT-SRV-ATTR:")}
    if v >= "2.90":
        assert member_ext == {"OS-EXT-SRV-ATTR:hostname"}
        assert member["OS-EXT-SRV-ATTR:hostname"] == "web-1"
    else:
        assert member_ext == set()
    # A policy override can grant the attributes to a non-admin.
    granted = views.detail(FakeRequest(version, False), make_instance(),
                           show_extended=True)
    assert "OS-EXT-SRV-ATTR:host" in granted
    schema_oracle.assert_valid("get_server", version, 200, {"server": granted})


def test_status_progress_and_fault_rules():
    req = FakeRequest("2.1", admin=True)
    rescued = views.detail(req, make_instance(states.RESCUED))
    assert rescued["status"] == "RESCUE" and "progress" not in rescued
    migrating = views.detail(req, make_instance(states.RESCUED, states.MIGRATING))
    assert migrating["status"] == "MIGRATING" and migrating["progress"] == 0
    assert migrating["OS-EXT-STS:vm_state"] == "rescued"
    assert migrating["OS-EXT-STS:task_state"] == "migrating"
    # A fault is shown only in ERROR/DELETED, whatever is passed.
    active = views.detail(req, make_instance(), fault=make_fault())
    assert "fault" not in active
    error = views.detail(req, make_instance(states.ERROR), fault=make_fault())
    assert error["fault"] == {"code": 500, "created": "2025-03-01T12:05:30Z",
                              "message": "Boom",
                              "details": "Traceback (most recent call last): ..."}
    member = FakeRequest("2.1", admin=False)
    hidden = views.detail(member, make_instance(states.ERROR), fault=make_fault())
    assert "details" not in hidden["fault"]
    shown = views.detail(member, make_instance(states.ERROR),
                         fault=make_fault(code=404, details="gone"))
    assert shown["fault"]["details"] == "gone"
    deleted = views.detail(req, make_instance(deleted=7), fault=make_fault())
    assert deleted["status"] == "DELETED" and "fault" in deleted


def test_identity_time_and_misc_fields():
    req = FakeRequest("2.1")
    body = views.detail(req, make_instance())
    expected_host_id = hashlib.sha224((PROJECT + "compute-1").encode()).hexdigest()
    assert body["hostId"] == expected_host_id
    assert views.detail(req, make_instance(host=None))["hostId"] == ""
    assert body["created"] == "2025-03-01T12:00:00Z"
    assert body["updated"] == "2025-03-01T12:05:30Z"
    assert body["OS-SRV-USG:launched_at"] == "2025-03-01T12:05:30.123456"
    assert body["OS-SRV-USG:terminated_at"] is None
    assert body["image"] == {"id": IMAGE_ID, "links": [
        {"rel": "bookmark", "href": BASE + "/images/" + IMAGE_ID}]}
    assert views.detail(req, make_instance(image_ref=None))["image"] == ""
    assert body["OS-DCF:diskConfig"] == "MANUAL"
    assert body["accessIPv4"] == "" and body["accessIPv6"] == ""
    assert body["addresses"] == {} and "security_groups" not in body
    assert body["metadata"] == {"role": "web"}
    assert body["OS-EXT-STS:power_state"] == states.RUNNING
    assert body["links"][0]["href"] == BASE + "/v2.1/servers/" + body["id"]
    with_sg = views.detail(req, make_instance(), security_groups=["default"])
    assert with_sg["security_groups"] == [{"name": "default"}]
    assert views.basic(req, make_instance()) == {
        "id": body["id"], "name": "web-1", "links": body["links"]}
    aware = datetime.datetime(2025, 1, 1, 13, 0, tzinfo=datetime.timezone(
        datetime.timedelta(hours=1)))
    assert common.isotime(aware) == "2025-01-01T12:00:00Z"


def test_image_properties_and_host_status():
    req = FakeRequest("2.98", admin=True)
    body = views.detail(req, make_instance(), image=make_image(), host_status="UP")
    assert body["image"]["properties"] == {
        "base_image_ref": IMAGE_ID, "container_format": "bare",
        "disk_format": "qcow2", "min_disk": "1", "min_ram": "0",
        "hw_rescue_bus": "usb", "os_distro": "cirros"}
    assert body["host_status"] == "UP"
    no_host = views.detail(req, make_instance(host=None))
    assert no_host["host_status"] == ""
    assert no_host["image"]["properties"] == {"base_image_ref": IMAGE_ID}


def test_latest_lifeboat_version_renders_like_nova_latest():
    for admin in (True, False):
        a = views.detail(FakeRequest("2.104", admin), make_instance(), image=make_image())
        b = views.detail(FakeRequest("2.105", admin), make_instance(), image=make_image())
        assert a == b


def test_shown_server_groups_and_hints_validate():
    req = FakeRequest("2.100", admin=False)
    body = views.detail(req, make_instance(),
                        server_groups=["0b5d2c72-12cc-4ba6-a8d7-3ff5cc1d8cb8"],
                        scheduler_hints={"same_host": [
                            "48e6a9f6-30af-47e0-bc04-acaed113bb4e"]},
                        pinned_az="nova", security_groups=["default"],
                        volumes=[{"id": "v1", "delete_on_termination": False}])
    schema_oracle.assert_valid("get_server", "2.100", 200, {"server": body})
    assert body["pinned_availability_zone"] == "nova"


def test_oracle_rejects_what_tempest_rejects():
    listed = views.detail(FakeRequest("2.71"), make_instance(), in_list=False)
    # server_groups is for show only: Tempest's list schema forbids it.
    with pytest.raises(AssertionError):
        schema_oracle.assert_valid("list_servers_detail", "2.71", 200,
                                   {"servers": [listed]})
    with pytest.raises(AssertionError):
        schema_oracle.assert_valid("get_server", "2.71", 202, {"server": listed})
    with pytest.raises(AssertionError):
        schema_oracle.assert_valid("get_server", "2.71", 404, {"itemNotFound": {}})


FLAVOR_VERSIONS = ["2.1", "2.54", "2.55", "2.60", "2.61", "2.74", "2.75", "2.104",
                   "2.105"]


@pytest.mark.parametrize("swap", [0, 512])
@pytest.mark.parametrize("admin", [True, False], ids=["admin", "member"])
@pytest.mark.parametrize("version", FLAVOR_VERSIONS)
def test_flavor_views_match_tempest(version, admin, swap):
    v = APIVersion(version)
    req = FakeRequest(version, admin)
    flv = make_flavor(swap=swap)
    brief = views.flavor(req, flv, detail=False)
    full = views.flavor(req, flv, detail=True)
    schema_oracle.assert_valid("list_flavors", version, 200, {"flavors": [brief]})
    schema_oracle.assert_valid("list_flavors_details", version, 200,
                               {"flavors": [full]})
    schema_oracle.assert_valid("get_flavor", version, 200, {"flavor": full})
    assert set(brief) == {"id", "name", "links"} | (
        {"description"} if v >= "2.55" else set())
    assert ("description" in full) == (v >= "2.55")
    assert ("extra_specs" in full) == (v >= "2.61")
    assert "extra_specs" not in brief
    if swap:
        assert full["swap"] == swap
    else:
        assert full["swap"] == (0 if v >= "2.75" else "")
    assert full["links"][1] == {"rel": "bookmark", "href": BASE + "/flavors/42"}
    assert full["OS-FLV-EXT-DATA:ephemeral"] == 0
    assert full["OS-FLV-DISABLED:disabled"] is False
    assert full["os-flavor-access:is_public"] is True
    assert full["rxtx_factor"] == 1.0
    hidden = views.flavor(req, flv, detail=True, show_extra_specs=False)
    assert "extra_specs" not in hidden

"""Request schemas accept and reject what Nova accepts and rejects."""
import jsonschema
import pytest

from lifeboat import exception
from lifeboat.api import microversion
from lifeboat.api import wsgi
from lifeboat.api.microversion import APIVersion
from lifeboat.api.schemas import parameter_types as pt
from lifeboat.api.schemas import query
from lifeboat.api.schemas import server_actions as sa
from lifeboat.api.schemas import servers
from lifeboat.api.schemas import services

UUID = "3e0dbd1e-6a5c-4a45-9a63-3c56b3e2d3aa"
UUID2 = "9b1a6c4e-3d0f-4f7e-8e2a-1c5d7b9f0a11"


def check(schema, body, version="2.1"):
    wsgi.validate(body, wsgi.pick_schema(schema, APIVersion(version)))


def ok(schema, body, version="2.1"):
    check(schema, body, version)


def bad(schema, body, version="2.1"):
    with pytest.raises(exception.ValidationError):
        check(schema, body, version)


def prop(type_schema):
    """Wrap a parameter type as {"v": <type>} to validate single values."""
    return {"type": "object", "properties": {"v": type_schema},
            "additionalProperties": False}


# --- parameter types ---------------------------------------------------------

@pytest.mark.parametrize("value", pt.boolean["enum"])
def test_boolean_accepts_novas_spellings(value):
    ok(prop(pt.boolean), {"v": value})


@pytest.mark.parametrize("value", ["y", "t", "TRUE ", "tRUE", 1, 0, None, ""])
def test_boolean_rejects_others(value):
    bad(prop(pt.boolean), {"v": value})


@pytest.mark.parametrize("value", [
    "vm", "a b", "x" * 255, "caf\u00e9", "\u540d\u524d", "web\n"])
def test_name_accepts(value):
    ok(prop(pt.name), {"v": value})


@pytest.mark.parametrize("value", [
    " vm", "vm ", "", "x" * 256, "a\x00b", "a\tb", "\u3000vm",
    "vm\u00a0", "smile\U0001F600", 12])
def test_name_rejects(value):
    bad(prop(pt.name), {"v": value})


def test_legacy_name_allows_edge_spaces_but_not_blank():
    ok(prop(pt.name_with_leading_trailing_spaces), {"v": " vm "})
    bad(prop(pt.name_with_leading_trailing_spaces), {"v": "   "})


def test_description():
    ok(prop(pt.description), {"v": None})
    ok(prop(pt.description), {"v": ""})
    ok(prop(pt.description), {"v": " leading and trailing "})
    bad(prop(pt.description), {"v": "x" * 256})
    bad(prop(pt.description), {"v": "bell\x07"})


def test_metadata():
    ok(prop(pt.metadata), {"v": {"My Server Name": "Apache1", "a:b.c_d-e": ""}})
    bad(prop(pt.metadata), {"v": {"": "x"}})
    bad(prop(pt.metadata), {"v": {"k" * 256: "x"}})
    bad(prop(pt.metadata), {"v": {"a/b": "x"}})
    bad(prop(pt.metadata), {"v": {"k": "x" * 256}})
    bad(prop(pt.metadata), {"v": {"k": 1}})
    bad(prop(pt.metadata), {"v": {"k": None}})


def test_uuid_is_novas_is_uuid_like():
    ok(prop(pt.uuid), {"v": UUID})
    ok(prop(pt.uuid), {"v": UUID.replace("-", "")})
    ok(prop(pt.uuid), {"v": UUID.upper()})
    bad(prop(pt.uuid), {"v": "not-a-uuid"})
    bad(prop(pt.uuid), {"v": UUID[:-1]})


@pytest.mark.parametrize("value", ["compute-1", "host_1.example.org", "h"])
def test_fqdn_accepts(value):
    ok(prop(pt.fqdn), {"v": value})


@pytest.mark.parametrize("value", ["", "bad host", "h/x", "x" * 256, None])
def test_fqdn_rejects(value):
    bad(prop(pt.fqdn), {"v": value})


@pytest.mark.parametrize("value,valid", [
    ("ab", True), ("my-host", True), ("a", False), ("-ab", False),
    ("ab-", False), ("my.host", False), ("my_host", False),
    ("x" * 63, True), ("x" * 64, False)])
def test_hostname_label(value, valid):
    (ok if valid else bad)(prop(pt.hostname), {"v": value})


@pytest.mark.parametrize("value,valid", [
    (1, True), ("1", True), ("01", True), (0, False), ("0", False),
    ("00", False), ("", False), ("-1", False), ("1.5", False), (-3, False)])
def test_positive_integer(value, valid):
    (ok if valid else bad)(prop(pt.positive_integer), {"v": value})


@pytest.mark.parametrize("value,valid", [
    (0, True), ("0", True), ("25", True), (-1, False), ("", False),
    ("a", False)])
def test_non_negative_integer(value, valid):
    (ok if valid else bad)(prop(pt.non_negative_integer), {"v": value})


@pytest.mark.parametrize("value,valid", [
    (1, True), ("10", True), (pt.MAX_INT, True), (str(pt.MAX_INT), True),
    (0, False), ("0", False), (pt.MAX_INT + 1, False),
    (str(pt.MAX_INT + 1), False)])
def test_volume_size(value, valid):
    (ok if valid else bad)(prop(pt.volume_size), {"v": value})


def test_tags():
    ok(prop(pt.tags), {"v": ["a", "b c"]})
    bad(prop(pt.tags), {"v": ["a/b"]})
    bad(prop(pt.tags), {"v": ["a,b"]})
    bad(prop(pt.tags), {"v": [""]})
    bad(prop(pt.tags), {"v": ["x" * 61]})
    bad(prop(pt.tags), {"v": ["t%d" % i for i in range(51)]})


# --- os-migrateLive ------------------------------------------------------------

def live(**args):
    return {"os-migrateLive": args}


def test_migrate_live_21_requires_all_three():
    ok(sa.MIGRATE_LIVE, live(host=None, block_migration=False,
                             disk_over_commit=False), "2.1")
    bad(sa.MIGRATE_LIVE, live(host=None, block_migration=False), "2.1")
    bad(sa.MIGRATE_LIVE, live(block_migration=False,
                              disk_over_commit=False), "2.1")


def test_migrate_live_auto_from_225():
    body = live(host=None, block_migration="auto", disk_over_commit=False)
    bad(sa.MIGRATE_LIVE, body, "2.24")
    ok(sa.MIGRATE_LIVE, live(host=None, block_migration="auto"), "2.25")
    # disk_over_commit is gone from 2.25.
    bad(sa.MIGRATE_LIVE, body, "2.25")
    bad(sa.MIGRATE_LIVE, live(block_migration="auto"), "2.25")


def test_migrate_live_force_window():
    body = live(host="dest", block_migration=True, force=True)
    bad(sa.MIGRATE_LIVE, body, "2.29")
    ok(sa.MIGRATE_LIVE, body, "2.30")
    ok(sa.MIGRATE_LIVE, body, "2.67")
    bad(sa.MIGRATE_LIVE, body, "2.68")
    bad(sa.MIGRATE_LIVE, body, "2.105")
    bad(sa.MIGRATE_LIVE, live(host="d", block_migration=True,
                              force="sure"), "2.30")


def test_migrate_live_host_values():
    ok(sa.MIGRATE_LIVE, live(host=None, block_migration="auto"), "2.68")
    ok(sa.MIGRATE_LIVE, live(host="cmp_1.example", block_migration="auto"),
       "2.105")
    bad(sa.MIGRATE_LIVE, live(host="", block_migration="auto"), "2.68")
    bad(sa.MIGRATE_LIVE, live(host="no spaces", block_migration="auto"),
        "2.68")
    bad(sa.MIGRATE_LIVE, live(host=3, block_migration="auto"), "2.68")


def test_migrate_live_boolean_strings():
    ok(sa.MIGRATE_LIVE, live(host=None, block_migration="yes",
                             disk_over_commit="Off"), "2.1")
    bad(sa.MIGRATE_LIVE, live(host=None, block_migration="maybe",
                              disk_over_commit=False), "2.1")
    bad(sa.MIGRATE_LIVE, live(host=None, block_migration="auto",
                              disk_over_commit="auto"), "2.24")


def test_migrate_live_rejects_extras():
    bad(sa.MIGRATE_LIVE, live(host=None, block_migration="auto", x=1), "2.68")
    body = live(host=None, block_migration="auto")
    body["extra"] = {}
    bad(sa.MIGRATE_LIVE, body, "2.68")
    bad(sa.MIGRATE_LIVE, {"os-migrateLive": None}, "2.68")


# --- other actions ----------------------------------------------------------------

def test_simple_actions_accept_any_value():
    for name in ("os-start", "os-stop", "pause", "unpause", "suspend",
                 "resume", "unrescue"):
        for value in (None, {}, {"x": 1}):
            ok(sa.ACTIONS[name], {name: value})
        bad(sa.ACTIONS[name], {name: None, "other": None})
        bad(sa.ACTIONS[name], {})


@pytest.mark.parametrize("kind", ["HARD", "Hard", "hard", "SOFT", "Soft",
                                  "soft"])
def test_reboot_types(kind):
    ok(sa.ACTIONS["reboot"], {"reboot": {"type": kind}})


@pytest.mark.parametrize("body", [
    {"reboot": {"type": "hArD"}}, {"reboot": {"type": "cold"}},
    {"reboot": {}}, {"reboot": None}, {"reboot": {"type": "HARD", "x": 1}}])
def test_reboot_rejects(body):
    bad(sa.ACTIONS["reboot"], body)


def test_rescue():
    ok(sa.ACTIONS["rescue"], {"rescue": None})
    ok(sa.ACTIONS["rescue"], {"rescue": {}})
    ok(sa.ACTIONS["rescue"], {"rescue": {"adminPass": "p",
                                         "rescue_image_ref": UUID}})
    bad(sa.ACTIONS["rescue"], {"rescue": {"rescue_image_ref": "cirros"}})
    bad(sa.ACTIONS["rescue"], {"rescue": {"adminPass": 1}})
    bad(sa.ACTIONS["rescue"], {"rescue": {"password": "p"}})
    bad(sa.ACTIONS["rescue"], {"rescue": "now"})


def test_lock():
    ok(sa.LOCK, {"lock": None}, "2.1")
    ok(sa.LOCK, {"lock": "anything"}, "2.72")
    ok(sa.LOCK, {"lock": None}, "2.73")
    ok(sa.LOCK, {"lock": {}}, "2.73")
    ok(sa.LOCK, {"lock": {"locked_reason": "maintenance"}}, "2.73")
    bad(sa.LOCK, {"lock": "anything"}, "2.73")
    bad(sa.LOCK, {"lock": {"locked_reason": ""}}, "2.73")
    bad(sa.LOCK, {"lock": {"locked_reason": "x" * 256}}, "2.73")
    bad(sa.LOCK, {"lock": {"reason": "x"}}, "2.73")
    bad(sa.LOCK, {"lock": None, "x": 1}, "2.1")


def test_unlock_validated_only_until_272():
    ok(sa.UNLOCK, {"unlock": None}, "2.1")
    bad(sa.UNLOCK, {"unlock": None, "x": 1}, "2.72")
    ok(sa.UNLOCK, {"unlock": None, "x": 1}, "2.73")


def test_trigger_crash_dump_and_force_complete_need_null():
    ok(sa.ACTIONS["trigger_crash_dump"], {"trigger_crash_dump": None})
    bad(sa.ACTIONS["trigger_crash_dump"], {"trigger_crash_dump": {}})
    ok(sa.FORCE_COMPLETE, {"force_complete": None}, "2.22")
    bad(sa.FORCE_COMPLETE, {"force_complete": {}}, "2.22")
    bad(sa.FORCE_COMPLETE, {}, "2.22")


# --- POST /servers -----------------------------------------------------------------

def server(networks=None, **extra):
    body = {"name": "vm-1", "flavorRef": "1", "imageRef": UUID}
    if networks is not None:
        body["networks"] = networks
    body.update(extra)
    return {"server": body}


def test_create_minimal():
    ok(servers.CREATE, server(), "2.1")
    ok(servers.CREATE, server(flavorRef=1), "2.1")
    ok(servers.CREATE, server(imageRef=""), "2.1")
    bad(servers.CREATE, {"server": {"name": "vm"}}, "2.1")
    bad(servers.CREATE, {"server": {"flavorRef": "1"}}, "2.1")
    bad(servers.CREATE, server(flavorRef=""), "2.1")
    bad(servers.CREATE, server(imageRef="cirros"), "2.1")
    bad(servers.CREATE, {}, "2.1")


def test_create_name_rules():
    bad(servers.CREATE, server(name=" vm"), "2.1")
    bad(servers.CREATE, server(name="vm "), "2.94")
    bad(servers.CREATE, server(name=""), "2.1")
    ok(servers.CREATE_V20, server(name=" vm "))
    ok(servers.CREATE_V20, server(user_data=None))
    bad(servers.CREATE, server(user_data=None), "2.1")


def test_create_networks_before_and_after_237():
    nets = [{"uuid": "not-a-uuid", "fixed_ip": "10.0.0.5"}]
    ok(servers.CREATE, server(nets), "2.36")
    ok(servers.CREATE, server(), "2.36")
    bad(servers.CREATE, server("none"), "2.36")
    bad(servers.CREATE, server(nets), "2.37")
    bad(servers.CREATE, server(), "2.37")
    ok(servers.CREATE, server("none"), "2.37")
    ok(servers.CREATE, server("auto"), "2.104")
    bad(servers.CREATE, server("all"), "2.37")
    ok(servers.CREATE, server([{"uuid": UUID}, {"port": UUID2}]), "2.37")
    ok(servers.CREATE, server([{"port": None, "uuid": UUID}]), "2.37")
    bad(servers.CREATE, server([{"uuid": UUID, "fixed_ip": "10.0.0"}]),
        "2.37")
    bad(servers.CREATE, server([{"uuid": UUID, "mac": "x"}]), "2.37")


def test_create_network_and_bdm_tags():
    tagged_net = [{"uuid": UUID, "tag": "nic1"}]
    tagged_bdm = [{"uuid": UUID, "source_type": "volume",
                   "destination_type": "volume", "boot_index": 0,
                   "tag": "disk1"}]
    bad(servers.CREATE, server(tagged_net), "2.31")
    ok(servers.CREATE, server(tagged_net), "2.32")
    ok(servers.CREATE, server(tagged_net), "2.36")
    bad(servers.CREATE, server(tagged_net), "2.37")
    ok(servers.CREATE, server(tagged_net), "2.42")
    bdm = {"block_device_mapping_v2": tagged_bdm}
    bad(servers.CREATE, server(**bdm), "2.31")
    ok(servers.CREATE, server(**bdm), "2.32")
    bad(servers.CREATE, server(**bdm), "2.33")
    ok(servers.CREATE, server("none", **bdm), "2.42")


def test_create_bdm_fields():
    def bdm(**item):
        return server(block_device_mapping_v2=[item])
    ok(servers.CREATE, bdm(uuid=UUID, boot_index="-1", volume_size="10"))
    ok(servers.CREATE, bdm(boot_index=None, delete_on_termination="yes"))
    bad(servers.CREATE, bdm(boot_index="first"))
    bad(servers.CREATE, bdm(volume_size="0"))
    bad(servers.CREATE, bdm(source_type="nfs"))
    bad(servers.CREATE, bdm(device_name="vd a"))
    bad(servers.CREATE, bdm(volume_type="ssd"), "2.66")
    body = bdm(volume_type="ssd", uuid=UUID)
    body["server"]["networks"] = "none"
    ok(servers.CREATE, body, "2.67")
    ok(servers.CREATE, server(block_device_mapping=[
        {"volume_id": UUID, "device_name": "/dev/vda"}]))
    bad(servers.CREATE, server(block_device_mapping=[
        {"volume_id": UUID, "boot_index": 0}]))


def test_create_version_gated_keys():
    def gate(key, value, first, nets="none"):
        before = "2.%d" % (int(first.split(".")[1]) - 1)
        body_before = server(nets if APIVersion(before) >= "2.37" else None,
                             **{key: value})
        body_at = server(nets if APIVersion(first) >= "2.37" else None,
                         **{key: value})
        bad(servers.CREATE, body_before, before)
        ok(servers.CREATE, body_at, first)
    gate("description", "web server", "2.19")
    gate("tags", ["web", "prod"], "2.52")
    gate("trusted_image_certificates", ["cert-1"], "2.63")
    gate("host", "compute-1", "2.74")
    gate("hypervisor_hostname", "node-1.example", "2.74")
    gate("hostname", "web-1", "2.90")
    ok(servers.CREATE, server(description=None), "2.19")


def test_create_personality_removed_at_257():
    files = [{"path": "/etc/motd", "contents": "aGVsbG8="}]
    ok(servers.CREATE, server("none", personality=files), "2.56")
    bad(servers.CREATE, server("none", personality=files), "2.57")


def test_create_hostname_label_then_fqdn():
    bad(servers.CREATE, server("none", hostname="web.example.org"), "2.93")
    ok(servers.CREATE, server("none", hostname="web.example.org"), "2.94")
    bad(servers.CREATE, server("none", hostname="web 1"), "2.94")


def test_create_counts_and_flags():
    ok(servers.CREATE, server(min_count=1, max_count="3",
                              return_reservation_id="True",
                              config_drive=True))
    bad(servers.CREATE, server(min_count=0))
    bad(servers.CREATE, server(max_count="0"))
    bad(servers.CREATE, server(config_drive="maybe"))


def test_create_misc_fields():
    ok(servers.CREATE, server(user_data="aGVsbG8=", key_name="mykey",
                              availability_zone="nova",
                              security_groups=[{"name": "default"}],
                              adminPass="secret", metadata={"a": "b"},
                              accessIPv4="192.0.2.1",
                              accessIPv6="2001:db8::1",
                              **{"OS-DCF:diskConfig": "AUTO"}))
    bad(servers.CREATE, server(user_data="abc"))
    bad(servers.CREATE, server(user_data="x" * 65536))
    bad(servers.CREATE, server(**{"OS-DCF:diskConfig": "auto"}))
    bad(servers.CREATE, server(accessIPv4="2001:db8::1"))
    bad(servers.CREATE, server(security_groups=[{"id": "default"}]))
    bad(servers.CREATE, server(key_name=" mykey"))
    bad(servers.CREATE, server(flavor="1"))


def test_create_scheduler_hints_are_a_sibling():
    body = server("none")
    body["os:scheduler_hints"] = {"group": UUID, "same_host": [UUID2],
                                  "different_host": UUID2,
                                  "my_custom_hint": "x"}
    ok(servers.CREATE, body, "2.104")
    body["OS-SCH-HNT:scheduler_hints"] = {"group": [UUID]}
    ok(servers.CREATE, body, "2.104")
    body["os:scheduler_hints"] = {"group": "not-a-uuid"}
    bad(servers.CREATE, body, "2.104")
    body = server("none")
    body["server"]["os:scheduler_hints"] = {"group": UUID}
    bad(servers.CREATE, body, "2.104")


def test_create_legacy_endpoint_ignores_unknown_keys():
    body = server(flavor="1")
    wsgi.validate(body, servers.CREATE_V20, legacy=True)


# --- PUT /servers/{id} ----------------------------------------------------------------

def test_update():
    ok(servers.UPDATE, {"server": {"name": "new"}}, "2.1")
    ok(servers.UPDATE, {"server": {}}, "2.1")
    ok(servers.UPDATE, {"server": {"accessIPv4": "192.0.2.9",
                                   "OS-DCF:diskConfig": "MANUAL"}}, "2.1")
    bad(servers.UPDATE, {"server": {"name": " new"}}, "2.1")
    bad(servers.UPDATE, {}, "2.1")
    bad(servers.UPDATE, {"server": {"description": "d"}}, "2.18")
    ok(servers.UPDATE, {"server": {"description": "d"}}, "2.19")
    ok(servers.UPDATE, {"server": {"description": None}}, "2.19")
    bad(servers.UPDATE, {"server": {"hostname": "web-1"}}, "2.89")
    ok(servers.UPDATE, {"server": {"hostname": "web-1"}}, "2.90")
    bad(servers.UPDATE, {"server": {"hostname": "a.b"}}, "2.93")
    ok(servers.UPDATE, {"server": {"hostname": "a.b"}}, "2.94")
    bad(servers.UPDATE, {"server": {"pinned_availability_zone": None}},
        "2.103")
    ok(servers.UPDATE, {"server": {"pinned_availability_zone": None}},
       "2.104")
    bad(servers.UPDATE, {"server": {"flavorRef": "1"}}, "2.104")
    ok(servers.UPDATE_V20, {"server": {"name": " new "}})


# --- GET /servers queries ---------------------------------------------------------------

def test_allowed_server_list_params():
    base = servers.allowed_server_list_params("2.1")
    assert {"name", "status", "limit", "marker", "sort_key", "changes-since",
            "ip6", "all_tenants", "metadata"} <= base
    assert "tags" not in base and "changes-before" not in base
    assert "tags" in servers.allowed_server_list_params("2.26")
    assert "changes-before" in servers.allowed_server_list_params("2.66")
    assert "locked" not in servers.allowed_server_list_params("2.72")
    assert "locked" in servers.allowed_server_list_params(APIVersion("2.73"))


def test_server_list_unknown_params_ignored_then_rejected():
    items = [("name", "web"), ("bogus", "1")]
    assert servers.validate_server_list_query(items, "2.74") == {
        "name": ["web"]}
    with pytest.raises(exception.ValidationError) as err:
        servers.validate_server_list_query(items, "2.75")
    # Nova's wording: the schema has patternProperties ("^_"), so jsonschema
    # names the patterns instead of "Additional properties are not allowed".
    assert str(err.value) == "'bogus' does not match any of the regexes: '^_'"
    with pytest.raises(exception.ValidationError):
        servers.validate_server_list_query(items, "2.102")


def test_server_list_values():
    v = servers.validate_server_list_query
    assert v([("status", "ACTIVE"), ("status", "ERROR")], "2.1") == {
        "status": ["ACTIVE", "ERROR"]}
    assert v({"sort_key": ["vcpus", "display_name"]}, "2.1")["sort_key"] == [
        "vcpus", "display_name"]
    with pytest.raises(exception.ValidationError):
        v([("sort_key", "vcpus")], "2.75")
    v([("sort_key", "locked")], "2.73")
    with pytest.raises(exception.ValidationError):
        v([("sort_key", "bogus")], "2.1")
    with pytest.raises(exception.ValidationError) as err:
        v([("limit", "ten")], "2.1")
    assert str(err.value).startswith(
        "Invalid input for query parameters limit. Value: ten.")
    with pytest.raises(exception.ValidationError):
        v([("changes-since", "yesterday")], "2.1")
    v([("changes-since", "2024-01-01T00:00:00Z")], "2.1")
    with pytest.raises(exception.ValidationError):
        v([("name", "")], "2.1")
    with pytest.raises(exception.ValidationError):
        v([("name", "web[")], "2.1")


def test_internal_filters_reach_the_handler_and_are_refused():
    for version in ("2.1", "2.75"):
        params = servers.validate_server_list_query(
            [("_secret", "1"), ("metadata", "x")], version)
        assert set(params) == {"_secret", "metadata"}
        with pytest.raises(exception.ValidationError):
            servers.reject_internal_filters(params)
    servers.reject_internal_filters({"name": ["web"]})


def test_non_admin_filters_and_ignored_sort_keys():
    assert "ip6" not in servers.non_admin_server_filters("2.4")
    assert "hostname" in servers.non_admin_server_filters("2.90")
    assert "locked" in servers.ignored_sort_keys("2.72")
    assert "locked" not in servers.ignored_sort_keys("2.73")
    assert servers.ignored_sort_keys("2.75") == ()


def test_server_show_query():
    assert servers.validate_server_show_query([("x", "1")], "2.101") == {}
    with pytest.raises(exception.ValidationError):
        servers.validate_server_show_query([("x", "1")], "2.102")


# --- os-services -------------------------------------------------------------------------

def test_service_update_legacy_bodies():
    body = {"host": "compute-1", "binary": "nova-compute"}
    ok(services.SERVICE_UPDATE, body, "2.1")
    ok(services.SERVICE_UPDATE, dict(body, disabled_reason="maint"), "2.1")
    bad(services.SERVICE_UPDATE, {"host": "compute-1"}, "2.1")
    bad(services.SERVICE_UPDATE, dict(body, disabled_reason=""), "2.1")
    bad(services.SERVICE_UPDATE, dict(body, host="bad host"), "2.1")
    bad(services.SERVICE_UPDATE, dict(body, forced_down=True), "2.10")
    ok(services.SERVICE_UPDATE, dict(body, forced_down="true"), "2.11")
    bad(services.SERVICE_UPDATE, dict(body, forced_down="down"), "2.52")


def test_service_update_v253():
    ok(services.SERVICE_UPDATE, {}, "2.53")
    ok(services.SERVICE_UPDATE, {"status": "disabled",
                                 "disabled_reason": "maint"}, "2.53")
    ok(services.SERVICE_UPDATE, {"forced_down": False}, "2.104")
    bad(services.SERVICE_UPDATE, {"status": "down"}, "2.53")
    bad(services.SERVICE_UPDATE, {"host": "compute-1",
                                  "binary": "nova-compute"}, "2.53")


def test_services_index_query():
    q = services.validate_query
    assert q(services.SERVICES_INDEX_QUERY, [("host", "c1"), ("x", "1")],
             "2.74") == {"host": ["c1"]}
    with pytest.raises(exception.ValidationError):
        q(services.SERVICES_INDEX_QUERY, [("x", "1")], "2.75")


def test_migrations_query():
    q = services.validate_query
    s = services.MIGRATIONS_INDEX_QUERY
    assert q(s, [("marker", "m"), ("host", "h")], "2.58") == {"host": ["h"]}
    assert q(s, [("marker", "m"), ("limit", "5")], "2.59") == {
        "marker": ["m"], "limit": ["5"]}
    with pytest.raises(exception.ValidationError):
        q(s, [("limit", "5"), ("limit", "6")], "2.59")
    with pytest.raises(exception.ValidationError):
        q(s, [("bogus", "1")], "2.59")
    with pytest.raises(exception.ValidationError):
        q(s, [("changes-before", "2024-01-01T00:00:00")], "2.65")
    q(s, [("changes-before", "2024-01-01T00:00:00")], "2.66")
    with pytest.raises(exception.ValidationError):
        q(s, [("changes-since", "soon")], "2.66")
    with pytest.raises(exception.ValidationError):
        q(s, [("user_id", "u")], "2.79")
    q(s, [("user_id", "u"), ("project_id", "p")], "2.80")
    q(s, [("instance_uuid", UUID), ("migration_type", "live-migration"),
          ("source_compute", "c1"), ("status", "running")], "2.104")


def test_instance_actions_query():
    q = services.validate_query
    s = services.INSTANCE_ACTIONS_INDEX_QUERY
    assert q(s, [("limit", "1")], "2.57") == {}
    assert q(s, [("limit", "1")], "2.58") == {"limit": ["1"]}
    with pytest.raises(exception.ValidationError):
        q(s, [("limit", "-1")], "2.58")
    with pytest.raises(exception.ValidationError):
        q(s, [("changes-before", "2024-01-01")], "2.65")
    q(s, [("changes-before", "2024-01-01"),
          ("changes-since", "2023-01-01")], "2.66")
    with pytest.raises(exception.ValidationError):
        q(s, [("x", "1")], "2.66")
    assert q(services.INSTANCE_ACTION_SHOW_QUERY, [("x", "1")], "2.1") == {}


# --- every schema is well formed and covers every microversion ----------------------

RANGED = {
    "servers.CREATE": servers.CREATE,
    "servers.UPDATE": servers.UPDATE,
    "servers.LIST_QUERY": servers.LIST_QUERY,
    "servers.SHOW_QUERY": servers.SHOW_QUERY,
    "server_actions.MIGRATE_LIVE": sa.MIGRATE_LIVE,
    "server_actions.LOCK": sa.LOCK,
    "server_actions.UNLOCK": sa.UNLOCK,
    "server_actions.SERVER_MIGRATIONS_INDEX_QUERY":
        sa.SERVER_MIGRATIONS_INDEX_QUERY,
    "services.SERVICE_UPDATE": services.SERVICE_UPDATE,
    "services.SERVICES_INDEX_QUERY": services.SERVICES_INDEX_QUERY,
    "services.MIGRATIONS_INDEX_QUERY": services.MIGRATIONS_INDEX_QUERY,
    "services.INSTANCE_ACTIONS_INDEX_QUERY":
        services.INSTANCE_ACTIONS_INDEX_QUERY,
}


@pytest.mark.parametrize("name", sorted(RANGED))
def test_ranged_schemas_cover_every_version(name):
    for version in microversion.VERSIONS:
        chosen = wsgi.pick_schema(RANGED[name], APIVersion(version))
        jsonschema.Draft4Validator.check_schema(chosen)


@pytest.mark.parametrize("name", sorted(sa.ACTIONS))
def test_action_schemas_are_valid(name):
    for version in microversion.VERSIONS:
        jsonschema.Draft4Validator.check_schema(
            wsgi.pick_schema(sa.ACTIONS[name], APIVersion(version)))


def test_query_helpers_accept_starlette_query_params():
    from starlette.datastructures import QueryParams
    params = QueryParams("status=ACTIVE&status=ERROR&limit=2")
    assert query.to_multidict(params) == {"status": ["ACTIVE", "ERROR"],
                                          "limit": ["2"]}
    assert query.last(query.to_multidict(params), "status") == "ERROR"
    assert query.last({}, "status", "x") == "x"

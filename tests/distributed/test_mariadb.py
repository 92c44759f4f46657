"""The same deployment on MariaDB (mysql+pymysql://): schema created and
upgraded by lifeboat-manage db sync, and the main flows across processes."""
import pytest

from tests.distributed import conftest, helpers
from tests.distributed.helpers import live_migrate, state

pytestmark = [pytest.mark.distributed, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def cloud(workdir, request):
    d, db, vhost = conftest.make_deployment(workdir, engine="mariadb", api_workers=2)
    try:
        d.start_cloud(computes=("host1", "host2"))
        yield d
    finally:
        conftest.teardown(d, db, vhost, request.module)


def test_schema_sync_again_is_a_no_op(cloud):
    assert "Database is at revision" in cloud.db_sync()
    tables = {r[0] for r in cloud.db.query("show tables")}
    assert {"instances", "migrations", "services", "compute_nodes",
            "alembic_version"} <= tables


def test_boot_rescue_live_migrate_unrescue_delete(cloud):
    admin = cloud.client("2.105")
    services = cloud.services()
    assert all(s["state"] == "up" for s in services.values()), services
    sid = helpers.boot(admin, host="host1")
    helpers.rescue(admin, sid)
    r = live_migrate(admin, sid, "host2")
    assert r.status_code == 202, r.text
    s = admin.wait_for(sid, status="RESCUE", task_state=None, host="host2", timeout=15)
    assert helpers.last_migration(admin, sid)["status"] == "completed"
    r = admin.action(sid, {"unrescue": None})
    assert r.status_code == 202, r.text
    admin.wait_for(sid, status="ACTIVE", task_state=None, host="host2")
    r = live_migrate(admin, sid, None)
    assert r.status_code == 202, r.text
    assert helpers.wait_migration_final(admin, sid)["status"] == "completed"
    s = helpers.wait_settled(admin, sid)
    assert state(s) == ("ACTIVE", "active", None, "host1"), state(s)
    assert admin.delete("/servers/%s" % sid).status_code == 204
    admin.wait_for(sid, status="DELETED")
    r = admin.get("/servers/%s" % sid)
    assert r.status_code == 404

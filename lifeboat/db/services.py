"""Services and compute nodes: registration, heartbeats, capability reports."""
import datetime
import functools
import uuid as uuidlib

import sqlalchemy as sa

from lifeboat import exception
from lifeboat.conf import CONF
from lifeboat.db import models
from lifeboat.db.engine import MAX_INT, core_transaction, in_chunks, transaction


def register(host, binary, topic, version):
    """Create or refresh this service's row at start-up; returns it."""
    now = models.utcnow()
    with transaction() as s:
        svc = s.scalars(sa.select(models.Service).where(
            models.Service.host == host, models.Service.binary == binary)).first()
        if svc is None:
            svc = models.Service(uuid=str(uuidlib.uuid4()), host=host, binary=binary,
                                 topic=topic)
            s.add(svc)
        svc.version = version
        svc.last_seen_up = now
        svc.report_count = (svc.report_count or 0) + 1
        s.flush()
        return svc


def heartbeat(service_id, version=None):
    """Mark the service up: one UPDATE, on a Core connection, of a statement
    built once."""
    heartbeat_many([service_id], version)


def heartbeat_many(service_ids, version=None):
    """Mark several services up with one UPDATE (a slice of the all-in-one's
    compute services, lifeboat/host_jobs.py): at 1,000 hosts one statement a
    second instead of a hundred."""
    params = {"service_ids": list(service_ids), "now": models.utcnow()}
    if not params["service_ids"]:
        return
    if version is not None:
        params["version"] = version
    with core_transaction() as conn:
        conn.execute(_heartbeat_statement(version is not None), params)


@functools.lru_cache(maxsize=2)
def _heartbeat_statement(with_version):
    S = models.Service
    values = {"last_seen_up": sa.bindparam("now"), "report_count": S.report_count + 1}
    if with_version:
        values["version"] = sa.bindparam("version")
    return sa.update(S).where(S.id.in_(sa.bindparam("service_ids", expanding=True))) \
        .values(**values)


def destroy(service_id):
    """Delete a service and its compute nodes (Nova's Service.destroy)."""
    with transaction() as s:
        s.execute(sa.delete(models.ComputeNode)
                  .where(models.ComputeNode.service_id == service_id))
        s.execute(sa.delete(models.Service).where(models.Service.id == service_id))


def update_compute_node(service_id, host, nodename, values):
    """Create or update the compute node a compute service reports.

    Returns None if the service row was deleted by an operator meanwhile: the
    node is not re-created until the service registers again (restart)."""
    with transaction() as s:
        if s.get(models.Service, service_id) is None:
            return None
        node = s.scalars(sa.select(models.ComputeNode).where(
            models.ComputeNode.hypervisor_hostname == nodename)).first()
        if node is None:
            node = models.ComputeNode(uuid=str(uuidlib.uuid4()), service_id=service_id,
                                      host=host, hypervisor_hostname=nodename)
            s.add(node)
        node.service_id = service_id
        node.host = host
        for k, v in values.items():
            setattr(node, k, v)
        s.flush()
        return node


def is_up(service):
    if service.forced_down:
        return False
    if service.last_seen_up is None:
        return False
    age = models.utcnow() - service.last_seen_up
    return age <= datetime.timedelta(seconds=CONF.service_down_time)


def list_(host=None, binary=None):
    with transaction(read_only=True) as s:
        q = sa.select(models.Service).order_by(models.Service.id)
        if host:
            q = q.where(models.Service.host == host)
        if binary:
            q = q.where(models.Service.binary == binary)
        return list(s.scalars(q))


def get_by_uuid(service_uuid):
    with transaction(read_only=True) as s:
        svc = s.scalars(sa.select(models.Service).where(
            models.Service.uuid == service_uuid)).first()
    if svc is None:
        raise exception.ServiceNotFound(service_id=service_uuid)
    return svc


def get_by_host_binary(host, binary):
    with transaction(read_only=True) as s:
        return s.scalars(sa.select(models.Service).where(
            models.Service.host == host, models.Service.binary == binary)).first()


def compute_services_by_host(hosts, columns=None):
    """{host: its nova-compute service} for `hosts`, one statement per
    IN_CHUNK hosts: Service objects, or with `columns` plain rows of those
    columns and `host` (a page of servers needs four columns of up to a
    thousand services, not the objects)."""
    S = models.Service
    if columns is None:
        query = sa.select(S)
    else:
        query = sa.select(S.host, *(getattr(S, c) for c in columns))
    found = {}
    with transaction(read_only=True) as s:
        for chunk in in_chunks(hosts):
            q = query.where(S.binary == "nova-compute", S.host.in_(chunk))
            rows = s.scalars(q) if columns is None else s.execute(q)
            for row in rows:
                found[row.host] = row
    return found


def update(service_id, **values):
    with transaction() as s:
        s.execute(sa.update(models.Service).where(models.Service.id == service_id)
                  .values(updated_at=models.utcnow(), **values))
        return s.get(models.Service, service_id)


def compute_nodes(host=None):
    with transaction(read_only=True) as s:
        q = sa.select(models.ComputeNode).order_by(models.ComputeNode.id)
        if host is not None:
            q = q.where(models.ComputeNode.host == host)
        return list(s.scalars(q))


def compute_node_by_id(node_id):
    """A compute node by uuid (2.53+) or integer id (older)."""
    with transaction(read_only=True) as s:
        q = sa.select(models.ComputeNode)
        if isinstance(node_id, int) or (isinstance(node_id, str) and node_id.isdigit()):
            if int(node_id) > MAX_INT:
                raise exception.HypervisorNotFound(hypervisor_id=node_id)
            q = q.where(models.ComputeNode.id == int(node_id))
        else:
            q = q.where(models.ComputeNode.uuid == node_id)
        node = s.scalars(q).first()
    if node is None:
        raise exception.HypervisorNotFound(hypervisor_id=node_id)
    return node

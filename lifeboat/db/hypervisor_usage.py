"""What /os-hypervisors shows of the instances on compute hosts, a page at a time.

One statement per call whatever the number of hosts (up to `CHUNK` hosts per
statement): the servers of a page of hosts as plain columns, grouped here by
host, or a per-host count summed in SQL. The API used to ask
`instances.list_(host=...)` once per compute node (1,000 statements for a
1,000-host detail list).
"""
import collections

import sqlalchemy as sa

from lifeboat.db import models
from lifeboat.db.engine import transaction

# Hosts named in one `host IN (...)`: well under the bind-parameter limits of
# SQLite (32,766) and PostgreSQL (65,535), so one statement per page of any
# realistic size.
CHUNK = 5000

# A live instance as the hypervisor views use it (servers list, workload).
ServerRow = collections.namedtuple("ServerRow",
                                   "uuid display_name vm_state task_state")


def _chunks(hosts):
    hosts = sorted({h for h in hosts if h})
    return [hosts[i:i + CHUNK] for i in range(0, len(hosts), CHUNK)]


def servers_by_host(hosts):
    """{host: [ServerRow, ...]} of the live (not deleted) instances on `hosts`,
    each host's list in id order (the order `instances.list_` gives). Hosts
    without instances are absent."""
    I = models.Instance
    found = {}
    chunks = _chunks(hosts)
    if not chunks:
        return found
    with transaction(read_only=True) as s:
        for chunk in chunks:
            rows = s.execute(
                sa.select(I.host, I.uuid, I.display_name, I.vm_state, I.task_state)
                .where(I.deleted == 0, I.host.in_(chunk))
                .order_by(I.id))
            for host, *rest in rows:
                found.setdefault(host, []).append(ServerRow(*rest))
    return found


def count_by_host(vm_states=(), task_states=(), hosts=None):
    """{host: n} of live instances whose vm_state is in `vm_states` or whose
    task_state is in `task_states`, counted in SQL (GROUP BY host); on `hosts`
    only, or every host when None. Hosts counting 0 are absent."""
    I = models.Instance
    matching = []
    if vm_states:
        matching.append(I.vm_state.in_(list(vm_states)))
    if task_states:
        matching.append(I.task_state.in_(list(task_states)))
    if not matching:
        return {}
    base = (sa.select(I.host, sa.func.count())
            .where(I.deleted == 0, sa.or_(*matching))
            .group_by(I.host))
    found = {}
    with transaction(read_only=True) as s:
        if hosts is None:
            statements = [base.where(I.host.isnot(None))]
        else:
            statements = [base.where(I.host.in_(chunk)) for chunk in _chunks(hosts)]
        for q in statements:
            for host, n in s.execute(q):
                found[host] = found.get(host, 0) + n
    return found


def compute_services_by_host(hosts, binary="nova-compute"):
    """{host: Service} of the `binary` services on `hosts` (one statement)."""
    S = models.Service
    found = {}
    chunks = _chunks(hosts)
    if not chunks:
        return found
    with transaction(read_only=True) as s:
        for chunk in chunks:
            for svc in s.scalars(sa.select(S).where(S.binary == binary,
                                                    S.host.in_(chunk))):
                found[svc.host] = svc
    return found

"""What /os-hypervisors shows of the instances on compute hosts, a page at a time.

One statement per call whatever the number of hosts (up to `engine.IN_CHUNK`
hosts per statement): the servers of a page of hosts as plain columns, grouped
here by host, or a per-host count summed in SQL. The API used to ask
`instances.list_(host=...)` once per compute node (1,000 statements for a
1,000-host detail list).
"""
import collections

import sqlalchemy as sa

from lifeboat.db import models
from lifeboat.db.engine import in_chunks, transaction

# A live instance as the hypervisor views use it (servers list, workload).
ServerRow = collections.namedtuple("ServerRow",
                                   "uuid display_name vm_state task_state")


def servers_by_host(hosts):
    """{host: [ServerRow, ...]} of the live (not deleted) instances on `hosts`,
    each host's list in id order (the order `instances.list_` gives). Hosts
    without instances are absent."""
    I = models.Instance
    found = {}
    chunks = in_chunks(hosts)
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
            statements = [base.where(I.host.in_(chunk)) for chunk in in_chunks(hosts)]
        for q in statements:
            for host, n in s.execute(q):
                found[host] = found.get(host, 0) + n
    return found

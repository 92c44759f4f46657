"""Flavors and image records: the catalogue servers are built from."""
import sqlalchemy as sa

from lifeboat import exception
from lifeboat.db import models
from lifeboat.db.engine import transaction

# Nova's default flavors (ids 1-5).
DEFAULT_FLAVORS = [
    ("1", "m1.tiny", 512, 1, 1),
    ("2", "m1.small", 2048, 1, 20),
    ("3", "m1.medium", 4096, 2, 40),
    ("4", "m1.large", 8192, 4, 80),
    ("5", "m1.xlarge", 16384, 8, 160),
]


def seed_flavors():
    with transaction() as s:
        if s.scalars(sa.select(models.Flavor).limit(1)).first() is not None:
            return False
        for flavorid, name, ram, vcpus, disk in DEFAULT_FLAVORS:
            s.add(models.Flavor(flavorid=flavorid, name=name, memory_mb=ram,
                                vcpus=vcpus, root_gb=disk))
        return True


def flavor_get(flavorid):
    with transaction(read_only=True) as s:
        f = s.scalars(sa.select(models.Flavor).where(
            models.Flavor.flavorid == str(flavorid))).first()
    if f is None:
        raise exception.FlavorNotFound(flavor_id=flavorid)
    return f


def flavor_get_by_db_id(db_id):
    with transaction(read_only=True) as s:
        f = s.get(models.Flavor, db_id)
    if f is None:
        raise exception.FlavorNotFound(flavor_id=db_id)
    return f


def flavor_list(is_public=True, min_ram=None, min_disk=None, limit=None,
                marker=None, sort_key="flavorid", sort_dir="asc",
                include_disabled=False):
    """Flavors, as Nova lists them; disabled ones only for admins."""
    F = models.Flavor
    q = sa.select(F)
    if not include_disabled:
        q = q.where(F.disabled.is_(False))
    if is_public is not None:
        q = q.where(F.is_public.is_(is_public))
    if min_ram is not None:
        q = q.where(F.memory_mb >= min_ram)
    if min_disk is not None:
        q = q.where(F.root_gb >= min_disk)
    col = getattr(F, sort_key)
    q = q.order_by(col.desc() if sort_dir == "desc" else col.asc(), F.id)
    with transaction(read_only=True) as s:
        rows = list(s.scalars(q))
    if marker is not None:
        ids = [f.flavorid for f in rows]
        if marker not in ids:
            raise exception.InvalidInput(reason="marker [%s] not found" % marker)
        rows = rows[ids.index(marker) + 1:]
    return rows[:limit] if limit is not None else rows


def flavor_snapshot(flavor):
    """What an instance keeps of its flavor (as Nova's instance.flavor)."""
    return {"id": flavor.id, "flavorid": flavor.flavorid, "name": flavor.name,
            "memory_mb": flavor.memory_mb, "vcpus": flavor.vcpus,
            "root_gb": flavor.root_gb, "ephemeral_gb": flavor.ephemeral_gb,
            "swap": flavor.swap, "extra_specs": dict(flavor.extra_specs or {}),
            "description": flavor.description}

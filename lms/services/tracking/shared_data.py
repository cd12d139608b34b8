"""SCORM 2004 shared data (adl.data): the buckets a 4th Edition manifest gives its SCOs, and
what the learner's SCOs stored in them.

A SCO's item lists its buckets (`data`: adlcp:map target ID, readSharedData, writeSharedData,
in manifest order, which is the order of adl.data.n) and whether they are global to the system
(`data_global`, the organization's adlcp:sharedDataGlobalToSystem). The stores live in
SharedData rows, one per learner, scope and target ID, so SCOs of one package (and, global to
the system, of every package) share them, and they outlast attempts. A session is launched
with the stores it may read; a commit saves the stores the session wrote where the map lets
it write (the data model has already refused the others: 404).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from lms.models import utcnow
from lms.models.scorm import SharedData
from scorm.manifest import Manifest

PREFIX = "adl.data."


def describe_data(manifest: Manifest, description: dict[str, Any]) -> None:
    """Add each SCO's buckets and their scope to a package's stored description."""
    organization = next(
        (o for o in manifest.organizations if o.identifier == manifest.default_organization),
        manifest.organizations[0],
    )
    for sco in description["scos"]:
        item = manifest.item(sco["identifier"])
        maps = item.data_maps if item is not None else ()
        sco["data"] = [
            {"target_id": m.target_id, "read": m.read_shared_data, "write": m.write_shared_data}
            for m in maps
        ]
        sco["data_global"] = organization.shared_data_global_to_system


def records(item: Mapping[str, Any]) -> tuple[dict[str, Any], ...]:
    """Launch.shared_data for a SCO, the stores not filled in."""
    return tuple(
        {"id": m["target_id"], "store": None, "read": m["read"], "write": m["write"]}
        for m in item.get("data") or ()
    )


def scope_of(item: Mapping[str, Any], package_id: int) -> str:
    """The scope of a SCO's buckets: the whole system, or its package."""
    return "" if item.get("data_global", True) else f"package:{package_id}"


def _hash(target_id: str) -> str:
    return hashlib.sha256(target_id.encode()).hexdigest()


def with_stores(
    session: Session, user_id: int, scope: str, launch_records: Sequence[Mapping[str, Any]]
) -> tuple[dict[str, Any], ...]:
    """The records with the learner's stores, for the buckets the SCO may read (a write-only
    bucket's store never reaches the SCO's frame)."""
    if not launch_records:
        return ()
    hashes = [_hash(r["id"]) for r in launch_records]
    stores = dict(
        session.execute(
            select(SharedData.target_hash, SharedData.store).where(
                SharedData.user_id == user_id,
                SharedData.scope == scope,
                SharedData.target_hash.in_(hashes),
            )
        ).all()
    )
    return tuple(
        {**r, "store": stores.get(h) if r["read"] else None}
        for r, h in zip(launch_records, hashes, strict=True)
    )


def save(
    session: Session,
    user_id: int,
    scope: str,
    item: Mapping[str, Any],
    written: Mapping[str, str],
    before: Mapping[str, str],
    now: datetime | None = None,
) -> int:
    """Save the stores this session wrote since its last commit (`before`) where the map lets
    the SCO write; return how many. An unchanged store is not written again, so a SCO's old
    copy cannot undo what another SCO wrote meanwhile."""
    now = now or utcnow()
    saved = 0
    for n, bucket in enumerate(item.get("data") or ()):
        key = f"{PREFIX}{n}.store"
        value = written.get(key)
        if value is None or not bucket["write"] or before.get(key) == value:
            continue
        _upsert(session, user_id, scope, bucket["target_id"], value, now)
        saved += 1
    return saved


def _upsert(
    session: Session, user_id: int, scope: str, target_id: str, store: str, now: datetime
) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(SharedData).values(
        user_id=user_id,
        scope=scope,
        target_hash=_hash(target_id),
        target_id=target_id,
        store=store,
        updated_at=now,
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["user_id", "scope", "target_hash"],
            set_={"store": statement.excluded.store, "updated_at": statement.excluded.updated_at},
        )
    )


def without_data(pairs: Sequence[Sequence[str]]) -> list[list[str]]:
    """A SCO's stored pairs without its adl.data values (the buckets hold those)."""
    return [list(p) for p in pairs if not p[0].startswith(PREFIX)]

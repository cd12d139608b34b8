"""The union-unit tree: add, rename, move, delete-if-empty, and listing a subtree."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import String, bindparam, func, insert, literal, select, update
from sqlalchemy.orm import Session

from lms.models import AuditEvent, OrgUnit, RoleAssignment, UnitKind, User, utcnow
from lms.services import audit
from lms.services.errors import N_, DomainError, Forbidden
from lms.services.scope import Scope
from lms.services.text import clean_unit_code, clean_unit_name, fold

MAX_DEPTH = 8
T = TypeVar("T")


def _check_code_free(session: Session, parent: OrgUnit | None, code: str, exclude: int | None):
    stmt = select(OrgUnit.id).where(func.upper(OrgUnit.code) == code)
    stmt = stmt.where(OrgUnit.parent_id == parent.id if parent else OrgUnit.parent_id.is_(None))
    if exclude is not None:
        stmt = stmt.where(OrgUnit.id != exclude)
    if session.scalar(stmt) is not None:
        raise DomainError(
            N_("Another unit at this place in the tree already has the code %(code)s."),
            field="code",
            code=code,
        )


def _lock(session: Session, *units: OrgUnit | None) -> None:
    """Lock units (in id order, so two transactions cannot deadlock) and re-read their paths.

    On PostgreSQL a concurrent move could otherwise change a path between our read and our
    write, leaving a unit with a stale path and so in the wrong admin's scope. SQLite
    serialises writers and ignores FOR UPDATE.
    """
    for unit in sorted((u for u in units if u is not None), key=lambda u: u.id):
        session.refresh(unit, with_for_update=True)


# How Vietnamese unit names begin, and the level they mean (folded, accent-free).
_KIND_PREFIXES = (
    ("lien doan lao dong tinh", UnitKind.FEDERATION),
    ("lien doan lao dong thanh pho", UnitKind.FEDERATION),
    ("ldld tinh", UnitKind.FEDERATION),
    ("ldld thanh pho", UnitKind.FEDERATION),
    ("ldld tp", UnitKind.FEDERATION),
    ("lien doan lao dong", UnitKind.DISTRICT),  # quận, huyện, thị xã
    ("ldld", UnitKind.DISTRICT),
    ("cong doan nganh", UnitKind.SECTOR),
    ("cd nganh", UnitKind.SECTOR),
    ("cong doan co so", UnitKind.GRASSROOTS),
    ("cdcs", UnitKind.GRASSROOTS),
)


def guess_kind(name: str) -> UnitKind:
    """The level a unit's name tells ("LĐLĐ tỉnh ..." a federation, "CĐCS ..." a grassroots
    union), for units an import adds; OTHER when the name does not say."""
    folded = fold(name)
    found = (kind for prefix, kind in _KIND_PREFIXES if folded.startswith(prefix))
    return next(found, UnitKind.OTHER)


def create_unit(
    session: Session,
    actor: User,
    *,
    parent: OrgUnit | None,
    code: str,
    name: str,
    kind: UnitKind | str = UnitKind.OTHER,
) -> OrgUnit:
    """Add a unit under `parent` (a root unit when None, which only a site admin may add)."""
    scope = Scope.of(actor)
    if parent is None and not scope.everything:
        raise Forbidden(N_("Only a site administrator can add a top-level unit."))
    _lock(session, parent)
    if parent is not None and not scope.covers_unit(parent):
        raise Forbidden(N_("You cannot add a unit there."))
    if parent is not None and parent.depth + 1 >= MAX_DEPTH:
        raise DomainError(
            N_("The tree cannot be deeper than %(max)d levels."), field="parent_id", max=MAX_DEPTH
        )
    code = clean_unit_code(code)
    name = clean_unit_name(name)
    _check_code_free(session, parent, code, None)
    unit = OrgUnit(parent=parent, code=code, name=name, kind=UnitKind(kind), path="")
    unit.depth = parent.depth + 1 if parent else 0
    session.add(unit)
    session.flush()
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    audit.record(session, actor, "unit.create", unit, code=code, name=name)
    session.flush()
    return unit


def add_tree(
    session: Session, actor: User, chains: list[tuple[OrgUnit | None, tuple[str, ...]]]
) -> dict[tuple[int, tuple[str, ...]], OrgUnit]:
    """Add the units of many paths at once (an import of a whole federation: 1,800 units in
    one go): each chain is an existing parent (None: a new top unit, for a site admin) and the
    names to add below it. Returns {(parent id or 0, names down to a unit): the unit}.

    The same rules as create_unit (scope, depth, names, codes free among siblings: a code is
    made from the name), in a few statements per level instead of several per unit.
    """
    scope = Scope.of(actor)
    _lock(session, *{parent for parent, _ in chains if parent is not None})
    wanted: dict[tuple[int, tuple[str, ...]], tuple[OrgUnit | None, tuple[str, ...]]] = {}
    for parent, names in chains:
        if parent is None and not scope.everything:
            raise Forbidden(N_("Only a site administrator can add a top-level unit."))
        if parent is not None and not scope.covers_unit(parent):
            raise Forbidden(N_("You cannot add a unit there."))
        top = parent.id if parent else 0
        for depth in range(len(names)):
            wanted.setdefault((top, names[: depth + 1]), (parent, names[: depth + 1]))
    made: dict[tuple[int, tuple[str, ...]], OrgUnit] = {}
    taken: dict[int | None, set[str]] = {}

    def free_code(name: str, parent_id: int | None) -> str:
        if parent_id not in taken:
            under = OrgUnit.parent_id == parent_id if parent_id else OrgUnit.parent_id.is_(None)
            codes = session.scalars(select(OrgUnit.code).where(under))
            taken[parent_id] = {code.upper() for code in codes}
        base = re.sub(r"[^A-Z0-9]+", "-", fold(name).upper()).strip("-")[:34] or "DV"
        code, number = base, 1
        while code.upper() in taken[parent_id]:
            number += 1
            code = f"{base}-{number}"
        taken[parent_id].add(code.upper())
        return code

    now = utcnow()
    for level in range(max((len(k[1]) for k in wanted), default=0)):
        keys = sorted((k for k in wanted if len(k[1]) == level + 1), key=lambda k: k[1])
        rows, parents = [], []
        for key in keys:
            root, names = wanted[key]
            parent = made[(key[0], names[:-1])] if level else root
            depth = parent.depth + 1 if parent else 0
            if depth >= MAX_DEPTH:
                raise DomainError(
                    N_("The tree cannot be deeper than %(max)d levels."),
                    field="parent_id",
                    max=MAX_DEPTH,
                )
            name = clean_unit_name(names[-1])
            parent_id = parent.id if parent else None
            rows.append(
                {
                    "parent_id": parent_id,
                    "code": free_code(name, parent_id),
                    "name": name,
                    "kind": guess_kind(name).value,
                    "path": "",
                    "depth": depth,
                    "created_at": now,
                }
            )
            parents.append(parent)
        ids = session.scalars(
            insert(OrgUnit).returning(OrgUnit.id, sort_by_parameter_order=True), rows
        ).all()
        paths = [
            {"unit_id": unit_id, "new_path": f"{parent.path if parent else '/'}{unit_id}/"}
            for unit_id, parent in zip(ids, parents, strict=True)
        ]
        session.execute(
            update(OrgUnit.__table__)
            .where(OrgUnit.__table__.c.id == bindparam("unit_id"))
            .values(path=bindparam("new_path")),
            paths,
        )
        units = {u.id: u for u in session.scalars(select(OrgUnit).where(OrgUnit.id.in_(ids)))}
        for key, unit_id in zip(keys, ids, strict=True):
            made[key] = units[unit_id]
        session.execute(
            insert(AuditEvent),
            [
                {
                    "at": now,
                    "actor_id": actor.id,
                    "action": "unit.create",
                    "target_type": "unit",
                    "target_id": unit_id,
                    "unit_path": path["new_path"],
                    "details": {"label": row["name"], "code": row["code"], "name": row["name"]},
                }
                for unit_id, path, row in zip(ids, paths, rows, strict=True)
            ],
        )
    return made


def update_unit(
    session: Session, actor: User, unit: OrgUnit, *, code: str, name: str, kind: UnitKind | str
) -> OrgUnit:
    """Rename a unit, or change its code or kind."""
    if not Scope.of(actor).can_edit_unit(unit):
        raise Forbidden(N_("You cannot change this unit."))
    code = clean_unit_code(code)
    name = clean_unit_name(name)
    _check_code_free(session, unit.parent, code, unit.id)
    changes = {}
    if unit.code != code:
        changes["code"] = [unit.code, code]
    if unit.name != name:
        changes["name"] = [unit.name, name]
    if unit.kind != UnitKind(kind):
        changes["kind"] = [str(unit.kind), str(UnitKind(kind))]
    unit.code, unit.name, unit.kind = code, name, UnitKind(kind)
    session.flush()
    if changes:
        audit.record(session, actor, "unit.update", unit, **changes)
    return unit


def move_unit(session: Session, actor: User, unit: OrgUnit, new_parent: OrgUnit) -> OrgUnit:
    """Move a unit with its whole subtree under `new_parent`."""
    scope = Scope.of(actor)
    _lock(session, unit, new_parent)
    # Lock the whole subtree: no unit may be added inside it while its paths are rewritten.
    session.scalars(
        select(OrgUnit.id).where(OrgUnit.path.startswith(unit.path)).with_for_update()
    ).all()
    if not scope.can_edit_unit(unit) or not scope.covers_unit(new_parent):
        raise Forbidden(N_("You cannot move this unit there."))
    if unit.contains(new_parent):
        raise DomainError(
            N_("A unit cannot be moved under itself or one of its own sub-units."),
            field="parent_id",
        )
    if new_parent.id == unit.parent_id:
        return unit
    height = (
        session.scalar(select(func.max(OrgUnit.depth)).where(OrgUnit.path.startswith(unit.path)))
        - unit.depth
    )
    if new_parent.depth + 1 + height >= MAX_DEPTH:
        raise DomainError(
            N_("The tree cannot be deeper than %(max)d levels."), field="parent_id", max=MAX_DEPTH
        )
    _check_code_free(session, new_parent, unit.code, unit.id)
    old_path, old_parent = unit.path, unit.parent
    new_path = f"{new_parent.path}{unit.id}/"
    depth_shift = new_parent.depth + 1 - unit.depth
    # One statement rewrites the paths and depths of the whole subtree.
    session.execute(
        update(OrgUnit)
        .where(OrgUnit.path.startswith(old_path))
        .values(
            path=literal(new_path, String) + func.substr(OrgUnit.path, len(old_path) + 1),
            depth=OrgUnit.depth + depth_shift,
        )
        .execution_options(synchronize_session=False)
    )
    # The audit log is scoped by unit path: its events follow the subtree to its new place.
    session.execute(
        update(AuditEvent)
        .where(AuditEvent.unit_path.startswith(old_path))
        .values(
            unit_path=literal(new_path, String)
            + func.substr(AuditEvent.unit_path, len(old_path) + 1)
        )
        .execution_options(synchronize_session=False)
    )
    unit.parent = new_parent
    session.flush()
    for stale in session.scalars(select(OrgUnit).where(OrgUnit.path.startswith(new_path))):
        session.refresh(stale, ["path", "depth"])
    audit.record(
        session,
        actor,
        "unit.move",
        unit,
        from_parent=old_parent.name if old_parent else None,
        to_parent=new_parent.name,
    )
    session.flush()
    return unit


def delete_unit(session: Session, actor: User, unit: OrgUnit) -> None:
    """Delete a unit that has no sub-units and no accounts."""
    if not Scope.of(actor).can_edit_unit(unit):
        raise Forbidden(N_("You cannot delete this unit."))
    if session.scalar(select(func.count()).where(OrgUnit.parent_id == unit.id)):
        raise DomainError(N_("This unit still has sub-units; move or delete them first."))
    if session.scalar(select(func.count()).where(User.org_unit_id == unit.id)):
        raise DomainError(N_("This unit still has accounts; move them to another unit first."))
    if session.scalar(select(func.count()).where(RoleAssignment.scope_unit_id == unit.id)):
        raise DomainError(
            N_("A unit administrator still manages this unit; change their role first.")
        )
    audit.record(session, actor, "unit.delete", unit, code=unit.code, name=unit.name)
    session.delete(unit)
    session.flush()


@dataclass(frozen=True)
class UnitRow:
    """A unit as shown in the tree, with counts."""

    unit: OrgUnit
    level: int
    user_count: int
    child_count: int


def unit_tree(session: Session, scope: Scope, with_counts: bool = True) -> list[UnitRow]:
    """Every unit in the scope in tree order (parents before children, siblings by name).

    Without `with_counts` the account counts are 0: counting 100,000 accounts is too slow for
    a menu of units shown on every list page.
    """
    units = list(session.scalars(select(OrgUnit).where(scope.unit_filter())))
    counts = {}
    if with_counts:
        counts = dict(
            session.execute(
                select(User.org_unit_id, func.count())
                .join(OrgUnit, User.org_unit_id == OrgUnit.id)
                .where(scope.unit_filter())
                .group_by(User.org_unit_id)
            ).all()
        )
    children: dict[int, int] = {}
    for unit in units:
        if unit.parent_id is not None:
            children[unit.parent_id] = children.get(unit.parent_id, 0) + 1
    return [
        UnitRow(unit, level, counts.get(unit.id, 0), children.get(unit.id, 0))
        for unit, level in _tree_order(units, lambda u: (u.id, u.parent_id, u.name))
    ]


def unit_options(session: Session, scope: Scope) -> list[tuple[int, str]]:
    """The scope's units as (id, name indented by its level) in tree order, for a menu.

    Read as plain rows: building 2,000 OrgUnit objects took a third of a learner list's time.
    """
    rows = session.execute(
        select(OrgUnit.id, OrgUnit.parent_id, OrgUnit.name).where(scope.unit_filter())
    ).all()
    return [
        (row.id, "\u2003" * level + row.name)
        for row, level in _tree_order(rows, lambda r: (r.id, r.parent_id, r.name))
    ]


def _tree_order(items: list[T], key) -> list[tuple[T, int]]:
    """`items` (units, each giving (id, parent id, name) through `key`) in tree order, each
    with its level: parents before children, siblings by name; a unit whose parent is not
    among them (the root of a unit admin's subtree) is at level 0."""
    ids = {key(item)[0] for item in items}
    by_parent: dict[int | None, list[tuple[str, int, T]]] = {}
    for item in items:
        unit_id, parent_id, name = key(item)
        parent = parent_id if parent_id in ids else None
        by_parent.setdefault(parent, []).append((name.casefold(), unit_id, item))
    for siblings in by_parent.values():
        siblings.sort(key=lambda s: (s[0], s[1]))
    ordered: list[tuple[T, int]] = []

    def walk(parent_id: int | None, level: int) -> None:
        for _folded, unit_id, item in by_parent.get(parent_id, ()):
            ordered.append((item, level))
            walk(unit_id, level + 1)

    walk(None, 0)
    return ordered


def unit_label(unit: OrgUnit, ancestors: dict[int, OrgUnit]) -> str:
    """'Federation / District / Grassroots' for a unit, from a map of id -> unit."""
    parts = []
    for raw_id in unit.path.strip("/").split("/"):
        ancestor = ancestors.get(int(raw_id))
        if ancestor is not None:
            parts.append(ancestor.name)
    return " / ".join(parts)

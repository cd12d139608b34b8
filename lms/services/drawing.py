"""How many questions the final test draws from each category of its bank.

An imported Moodle bank keeps its categories (`$course$/a/b` -> `a/b`). The author chooses, on
the version's page, how many questions each attempt draws from each category; the choice is
kept in the test activity's settings (`per_category`) and used by the attempts started after
it: an attempt fixes its draw when it starts.

Without a choice: `test.per_module` of course.toml if set; else, when some categories are no
lesson names, the test's question count spread in proportion to the categories' sizes; else
(every question in a lesson) the count spread evenly over the lessons, as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from courses.bundle import TestSettings
from courses.questions import QuestionBank
from courses.testing import proportional, spread
from lms.models import Activity, CourseVersion, User
from lms.services import audit
from lms.services.errors import N_, DomainError, Forbidden


@dataclass(frozen=True)
class Plan:
    """What an attempt draws: `counts` per category (`by_category`) or per lesson."""

    counts: dict[str, int]
    by_category: bool


def plan(settings: TestSettings, bank: QuestionBank) -> Plan:
    """The draw the next attempt makes under these settings."""
    if settings.per_category:
        return Plan(dict(settings.per_category), True)
    if settings.per_module:
        return Plan(dict(settings.per_module), False)
    if any(q.graded and not q.module for q in bank.questions):
        return Plan(proportional(settings.questions, bank.categories()), True)
    return Plan(spread(settings.questions, bank.modules()), False)


def default_counts(settings: TestSettings, bank: QuestionBank) -> dict[str, int]:
    """The counts proposed to the author: the test's question count in proportion to the
    categories' sizes."""
    return proportional(settings.questions, bank.categories())


@dataclass
class Node:
    """A category of the tree: its own questions and those of the categories inside it."""

    name: str
    path: str
    own: int = 0
    total: int = 0
    children: list[Node] = field(default_factory=list)


def tree(categories: Mapping[str, int]) -> list[Node]:
    """The categories (`a/b` paths with their question counts) as a tree, sorted by name."""
    root = Node("", "")
    for path, count in sorted(categories.items()):
        node = root
        parts = path.split("/") if path else [""]
        for depth, name in enumerate(parts):
            child = next((c for c in node.children if c.name == name), None)
            if child is None:
                child = Node(name, "/".join(parts[: depth + 1]))
                node.children.append(child)
            child.total += count
            node = child
        node.own += count
    return root.children


def view(
    settings: TestSettings,
    bank: QuestionBank,
    entered: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
) -> dict[str, Any] | None:
    """The draw form of a version's page: the category tree, the numbers (as entered, saved
    or proposed), their total, whether a choice is saved, and the errors by category."""
    categories = bank.categories()
    if not categories:
        return None
    saved = settings.per_category
    counts = entered if entered is not None else (saved or default_counts(settings, bank))
    return {
        "tree": tree(categories),
        "index": {path: i for i, path in enumerate(categories)},
        "counts": counts,
        "total": sum(v for v in counts.values() if isinstance(v, int)),
        "saved": bool(saved),
        "by_lesson": not saved and not plan(settings, bank).by_category,
        "questions": settings.questions,
        "errors": dict(errors or {}),
    }


def check(counts: Mapping[str, int], bank: QuestionBank) -> dict[str, int]:
    """The counts when each is a whole number the category holds and there is at least one
    question in all; else DomainError naming the category (field: its path)."""
    available = bank.categories()
    checked = {}
    for category, count in counts.items():
        if category not in available:
            raise DomainError(
                N_("The bank has no category %(category)s."), field=category, category=category
            )
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise DomainError(
                N_("Write a whole number from 0 for the category %(category)s."),
                field=category,
                category=category,
            )
        if count > available[category]:
            raise DomainError(
                N_(
                    "The category %(category)s holds %(available)s questions: it cannot give "
                    "%(count)s."
                ),
                field=category,
                category=category,
                available=available[category],
                count=count,
            )
        if count:
            checked[category] = count
    if not checked:
        raise DomainError(N_("Draw at least one question."))
    return dict(sorted(checked.items()))


def choose(
    session: Session,
    actor: User | None,
    activity: Activity,
    bank: QuestionBank,
    counts: Mapping[str, int],
) -> dict[str, int]:
    """Keep the author's counts per category for the attempts started from now on."""
    if actor is not None and not actor.is_author:
        raise Forbidden(N_("Only course authors can change courses."))
    checked = check(counts, bank)
    settings = dict(activity.content.get("settings", {}))
    settings["per_category"] = checked
    # A new dict, so that the JSON column is written.
    activity.content = {**activity.content, "settings": settings}
    version = activity.version
    audit.record(
        session,
        actor,
        "course.draw",
        version.course,
        version=version.number,
        total=sum(checked.values()),
        per_category=checked,
    )
    session.flush()
    return checked


def carry_over(previous: CourseVersion, version: CourseVersion, bank: QuestionBank | None) -> None:
    """A new version made from `previous` (a lesson or the bank replaced, a question edited)
    keeps its counts per category while its bank still has those categories, big enough."""
    old = _test(previous)
    new = _test(version)
    if old is None or new is None or bank is None:
        return
    chosen = old.content.get("settings", {}).get("per_category")
    if not chosen:
        return
    try:
        checked = check(chosen, bank)
    except DomainError:
        return
    settings = {**new.content.get("settings", {}), "per_category": checked}
    new.content = {**new.content, "settings": settings}


def _test(version: CourseVersion) -> Activity | None:
    return next((a for a in version.activities if a.kind == "test"), None)

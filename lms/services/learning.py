"""A learner's way through a course: opening activities, self-checks, marking them done.

The same functions take what a learner did offline and sent later (lms.services.outbox):
`now` is then the time the browser recorded, checked by `client_time` first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from types import MappingProxyType
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Text, bindparam, cast, exists, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, defer

from lms.app.kept import Kept
from lms.models import (
    Activity,
    ActivityProgress,
    Certificate,
    Course,
    CourseVersion,
    Enrolment,
    ProgressStatus,
    ScoState,
    TestAttempt,
    utcnow,
)
from lms.services import deadlines
from lms.services.activities import kind_of
from lms.services.errors import N_, DomainError


@dataclass(frozen=True)
class Step:
    """An activity with the learner's status in it."""

    activity: Activity | StepActivity
    status: ProgressStatus


class StepActivity(NamedTuple):
    """A step's activity as a page that only lists the steps reads it (progress_read)."""

    id: int
    key: str
    kind: str
    title: str
    minutes: int
    required: bool


@dataclass(frozen=True)
class CourseProgress:
    """Where a learner stands in a course (its figures worked out once: a page shows each
    of them once or twice, and its steps do not change)."""

    enrolment: Enrolment
    steps: list[Step]

    @cached_property
    def done(self) -> int:
        return sum(s.status == ProgressStatus.DONE for s in self.steps if s.activity.required)

    @cached_property
    def required(self) -> int:
        return sum(1 for s in self.steps if s.activity.required)

    @cached_property
    def percent(self) -> int:
        return round(100 * self.done / self.required) if self.required else 0

    @cached_property
    def minutes(self) -> int:
        """The estimated time of the whole course (CourseVersion.minutes, from the steps
        already loaded: that one loads every activity with its content)."""
        return sum(s.activity.minutes for s in self.steps)

    @cached_property
    def minutes_left(self) -> int:
        return sum(s.activity.minutes for s in self.steps if s.status != ProgressStatus.DONE)

    @cached_property
    def next_step(self) -> Step | None:
        """Where "continue" goes: the first activity not done (after the last one opened)."""
        pending = [s for s in self.steps if s.status != ProgressStatus.DONE]
        return pending[0] if pending else None


# The statements every learner page runs, built once (with bind parameters): building a
# statement cost about as much as running it.
def _steps(*columns):
    # A version's activities in order, with `columns` and the learner's status in each.
    return (
        select(*columns, ActivityProgress.status)
        .outerjoin(
            ActivityProgress,
            (ActivityProgress.activity_id == Activity.id)
            & (ActivityProgress.enrolment_id == bindparam("enrolment_id")),
        )
        .where(Activity.version_id == bindparam("version_id"))
        .order_by(Activity.position)
    )


_STEPS = _steps(Activity).options(defer(Activity.content))
# The same read as columns (progress_read).
_STEP_ROWS = _steps(
    Activity.id, Activity.key, Activity.kind, Activity.title, Activity.minutes, Activity.required
)
_PROGRESS = select(ActivityProgress).where(
    ActivityProgress.enrolment_id == bindparam("enrolment_id"),
    ActivityProgress.activity_id == bindparam("activity_id"),
)
_CERTIFICATE = (
    select(Certificate)
    .where(
        Certificate.enrolment_id == bindparam("enrolment_id"), Certificate.replaced_by_id.is_(None)
    )
    .order_by(Certificate.edition.desc())
    .limit(1)
)


# True when the enrolment (correlated to Enrolment) has a certificate: certificate_of() is
# None without one (the course page asks it with the enrolment).
CERTIFICATE_EXISTS = exists().where(
    Certificate.enrolment_id == Enrolment.id, Certificate.replaced_by_id.is_(None)
)


def progress_of(session: Session, enrolment: Enrolment) -> CourseProgress:
    """The activities of the learner's version with their status, in order (one query).

    The activities' content (a lesson's HTML, a final test's whole question bank) is not
    loaded: the pages that list steps do not need it, and decoding it was most of the cost.
    """
    rows = session.execute(
        _STEPS, {"version_id": enrolment.version_id, "enrolment_id": enrolment.id}
    ).all()
    steps = [Step(a, status or ProgressStatus.NOT_STARTED) for a, status in rows]
    return CourseProgress(enrolment, steps)


def progress_read(session: Session, enrolment: Enrolment) -> CourseProgress:
    """progress_of() for a page that only shows it: each step's activity is a StepActivity
    (its id, key, kind, title, minutes and whether it is required), read by a Core statement
    without making ORM objects (ten of them cost about as much as the rest of the query).
    Changes of this unit of work must be flushed first (no autoflush)."""
    rows = session.connection().execute(
        _STEP_ROWS, {"version_id": enrolment.version_id, "enrolment_id": enrolment.id}
    )
    steps = [Step(StepActivity(*row[:6]), row[6] or ProgressStatus.NOT_STARTED) for row in rows]
    return CourseProgress(enrolment, steps)


def _progress(
    session: Session,
    enrolment: Enrolment,
    activity: Activity,
    loaded: ActivityProgress | None = None,
) -> ActivityProgress:
    if activity.version_id != enrolment.version_id:
        raise DomainError(N_("This lesson is not part of your version of the course."))
    if enrolment.id is None or activity.id is None:
        session.flush()  # made in this unit of work: their ids are needed below
    keys = {"enrolment_id": enrolment.id, "activity_id": activity.id}
    progress = loaded if loaded is not None else session.scalar(_PROGRESS, keys)
    if progress is None:
        # Made by an insert that yields to one made at the same moment by another request of
        # the learner (coming back online, the lesson page, the outbox's opening and a SCO's
        # kept session arrive together); no savepoint, so a page fetched only to be kept
        # still takes it back with its rollback.
        dialect = session.get_bind().dialect.name
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        session.execute(
            insert(ActivityProgress)
            .values(**keys, status=ProgressStatus.NOT_STARTED, data={})
            .on_conflict_do_nothing(index_elements=["enrolment_id", "activity_id"])
        )
        progress = session.scalars(_PROGRESS, keys).one()
    return progress


def opened_already(
    started_at: datetime | None,
    last_activity_id: int | None,
    activity_id: int,
    status: ProgressStatus | None,
    first_opened_at: datetime | None,
    now: datetime,
) -> bool:
    """Whether open_activity() at `now` would change nothing: the enrolment started, this
    activity the last one opened, the learner's progress in it there, started and first
    opened no later than `now` (its values given as read; `status` None: no progress yet).
    A page that only shows a lesson opened before then needs no ORM object to record it."""
    return (
        status is not None
        and status != ProgressStatus.NOT_STARTED
        and first_opened_at is not None
        and not now < first_opened_at
        and started_at is not None
        and last_activity_id == activity_id
    )


class LessonActivity(NamedTuple):
    """A page activity as its lesson page reads it (the names of an Activity's)."""

    id: int
    version_id: int
    key: str
    kind: str
    title: str
    minutes: int
    min_minutes: int
    content: Mapping[str, Any]  # read-only: shared by the requests of a process


class LessonProgress(NamedTuple):
    status: ProgressStatus
    first_opened_at: datetime
    data: dict


class _Slug(NamedTuple):
    slug: str


class _Title(NamedTuple):
    title: str


class LessonEnrolment(NamedTuple):
    """The enrolment as a lesson page reads it (the names of an Enrolment's)."""

    id: int
    version_id: int
    course: _Slug
    version: _Title


# A learner's enrolment in a course (by its slug) with one of its lessons (by its key) and
# their progress in it, as columns.
_LESSON_ROW = (
    select(
        Enrolment.id,
        Enrolment.version_id,
        Enrolment.started_at,
        Enrolment.last_activity_id,
        Course.slug,
        CourseVersion.title,
        Activity.id,
        Activity.key,
        Activity.kind,
        Activity.title,
        Activity.minutes,
        Activity.min_minutes,
        cast(Activity.content, Text),  # its JSON text: decoded once per process (_content)
        ActivityProgress.status,
        ActivityProgress.first_opened_at,
        ActivityProgress.data,
    )
    .select_from(Enrolment)
    .join(Course, Enrolment.course_id == Course.id)
    .join(CourseVersion, Enrolment.version_id == CourseVersion.id)
    .join(
        Activity,
        (Activity.version_id == Enrolment.version_id) & (Activity.key == bindparam("key")),
    )
    .outerjoin(
        ActivityProgress,
        (ActivityProgress.activity_id == Activity.id)
        & (ActivityProgress.enrolment_id == Enrolment.id),
    )
    .where(Course.slug == bindparam("slug"), Enrolment.user_id == bindparam("user_id"))
)


# Lessons' contents decoded, by their JSON text: a lesson's (about 12 KB, its HTML and its
# self-check) took about 35 us to decode on every visit, and a few to find here. Read-only:
# shared by the requests of a process.
_CONTENTS: Kept[str, Mapping[str, Any]] = Kept(128)


def _content(raw: str | None) -> Mapping[str, Any] | None:
    if raw is None:
        return None
    found = _CONTENTS.get(raw)
    if found is None:
        found = _CONTENTS.keep(raw, MappingProxyType(json.loads(raw)))
    return found


def lesson_opened_before(
    session: Session, where: dict, now: datetime
) -> tuple[LessonEnrolment, LessonActivity, LessonProgress] | None:
    """A page lesson that open_activity() would change nothing of (opened before, the last
    one opened: most visits), with the enrolment and progress, read as columns by a Core
    statement: no ORM object made (the five of a lesson page cost about as much as the rest
    of its own work, bench/learner_pages.py). None: not so, or not found; `where` names the
    course's slug, the lesson's key and the learner's user_id."""
    row = session.connection().execute(_LESSON_ROW, where).first()
    if row is None:
        return None
    (id_, version_id, started, last, slug, title, activity_id, *lesson) = row
    status, opened, data = lesson[-3:]
    if lesson[1] != "page" or not opened_already(started, last, activity_id, status, opened, now):
        return None
    *columns, raw = lesson[:-3]
    return (
        LessonEnrolment(id_, version_id, _Slug(slug), _Title(title)),
        LessonActivity(activity_id, version_id, *columns, _content(raw)),
        LessonProgress(status, opened, data),
    )


def open_activity(
    session: Session,
    enrolment: Enrolment,
    activity: Activity,
    now: datetime | None = None,
    *,
    loaded: ActivityProgress | None = None,
) -> ActivityProgress:
    """Record that the learner opened an activity (the first time starts its clock).

    `loaded`: the learner's progress in it, when the caller loaded it already (one query
    less); None looks it up."""
    now = now or utcnow()
    if loaded is not None and (
        loaded.enrolment_id != enrolment.id or loaded.activity_id != activity.id
    ):
        raise ValueError("the progress of another activity or learner")
    progress = _progress(session, enrolment, activity, loaded)
    # What changes here is what opened_already() checks.
    # An opening recorded offline and sent later may be earlier than the one the server saw.
    if progress.first_opened_at is None or now < progress.first_opened_at:
        progress.first_opened_at = now
    if progress.status == ProgressStatus.NOT_STARTED:
        progress.status = ProgressStatus.IN_PROGRESS
    if enrolment.started_at is None:
        enrolment.started_at = now
    if enrolment.last_activity_id != activity.id:
        # Set only when it changes: assigning the same value would still mark the enrolment
        # dirty, and every visit of a page would pay for a flush that writes nothing.
        enrolment.last_activity_id = activity.id
    session.flush()
    return progress


def answer_self_check(
    session: Session,
    enrolment: Enrolment,
    activity: Activity,
    answers: dict[int, list[int]],
    now: datetime | None = None,
) -> ActivityProgress:
    """Keep the learner's self-check answers (all questions must be answered)."""
    questions = activity.content.get("self_check", [])
    cleaned: dict[str, list[int]] = {}
    for index, question in enumerate(questions):
        chosen = sorted({i for i in answers.get(index, []) if 0 <= i < len(question["options"])})
        if not chosen:
            raise DomainError(N_("Answer every question of the self-check."))
        cleaned[str(index)] = chosen
    progress = open_activity(session, enrolment, activity, now)
    progress.data = {**progress.data, "self_check": cleaned}
    session.flush()
    return progress


def complete_activity(
    session: Session, enrolment: Enrolment, activity: Activity, now: datetime | None = None
) -> ActivityProgress:
    """Mark an activity done when its kind allows it (idempotent)."""
    now = now or utcnow()
    progress = open_activity(session, enrolment, activity, now)
    if progress.status == ProgressStatus.DONE:
        return progress
    blocker = kind_of(activity).blocker(activity, progress, now)
    if blocker is not None:
        raise DomainError(blocker.message, **blocker.params)
    progress.status = ProgressStatus.DONE
    progress.completed_at = now
    session.flush()
    deadlines.check_completion(session, enrolment, now)
    return progress


# How far a phone's clock may run ahead of the server's, and the most time one visit of a
# lesson may count (a phone left on a lesson overnight did not read it all night).
CLOCK_SKEW = timedelta(minutes=2)
MAX_VISIT_SECONDS = 4 * 3600


def client_time(enrolment: Enrolment, at: datetime, now: datetime) -> datetime:
    """A time the learner's browser recorded, if it can be true: not in the future (a
    phone's clock a little ahead is taken as now) and not before the enrolment."""
    if at > now + CLOCK_SKEW:
        raise DomainError(N_("The phone's clock is ahead of the real time; this was not saved."))
    if at < enrolment.enrolled_at:
        raise DomainError(N_("This was recorded before you were enrolled in the course."))
    return min(at, now)


def record_time(
    session: Session, enrolment: Enrolment, activity: Activity, seconds: int, now: datetime
) -> ActivityProgress:
    """Add the time of one visit of a lesson, ended at `now`, to the learner's time in it (at
    most MAX_VISIT_SECONDS a visit). It never moves the lesson's opening earlier: only an
    opening decides the minimum reading time."""
    if not 0 < seconds <= MAX_VISIT_SECONDS:
        raise DomainError(N_("The time spent on the lesson is not plausible."))
    last = enrolment.last_activity_id
    progress = open_activity(session, enrolment, activity, now)
    # Time reported late is not where the learner is now ("continue" leads elsewhere).
    enrolment.last_activity_id = last or activity.id
    progress.data = {**progress.data, "seconds": int(progress.data.get("seconds", 0)) + seconds}
    session.flush()
    return progress


def certificate_of(session: Session, enrolment: Enrolment) -> Certificate | None:
    """The certificate the learner is offered for a course: the latest edition (a reissue
    replaces the earlier one), or None while none is issued."""
    return session.scalar(_CERTIFICATE, {"enrolment_id": enrolment.id})


def moved_since(since: datetime) -> ColumnElement[bool]:
    """A WHERE clause (correlated to Enrolment) true when the learner made progress in the
    course at or after `since`: started it, opened or finished an activity, a SCO committed,
    or a final-test attempt was started or handed in."""
    return or_(
        Enrolment.started_at >= since,
        exists().where(
            ActivityProgress.enrolment_id == Enrolment.id,
            or_(ActivityProgress.first_opened_at >= since, ActivityProgress.completed_at >= since),
        ),
        exists().where(ScoState.enrolment_id == Enrolment.id, ScoState.updated_at >= since),
        exists().where(
            TestAttempt.enrolment_id == Enrolment.id,
            or_(TestAttempt.started_at >= since, TestAttempt.submitted_at >= since),
        ),
    )

"""The final test in the LMS: starting attempts, saving answers, submitting, grading.

The server is the clock: an attempt's end time is fixed when it starts; answers arriving after
the end (plus a short grace for the network) are refused, and an attempt left open past its
end is graded with what was saved.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from courses.bundle import TestSettings
from courses.questions import Question, QuestionBank, question_from_dict
from courses.testing import Drawn, draw, grade_attempt
from lms.app.kept import Kept
from lms.models import (
    Activity,
    ActivityProgress,
    AttemptStatus,
    Enrolment,
    ProgressStatus,
    TestAttempt,
    User,
    utcnow,
)
from lms.services import attendance, audit, deadlines, drawing
from lms.services.activities import Blocker, TestKind
from lms.services.errors import N_, DomainError

GRACE = timedelta(seconds=30)


# Parsed banks by (version id, bundle checksum): a version's bank never changes after it is
# stored, and the test pages (an autosave every few seconds per learner) need it each time.
_BANKS: Kept[tuple[int, str], tuple[QuestionBank, Mapping[str, Question]]] = Kept(32)


def _parsed(activity: Activity) -> tuple[QuestionBank, dict[str, Question]]:
    version = activity.version
    key = (version.id, version.source_sha256)
    found = _BANKS.get(key)
    if found is None:
        found = _keep_bank(key, version.final_test)
    return found


def _keep_bank(key: tuple[int, str], raw: dict | None) -> tuple[QuestionBank, dict]:
    raw = raw or {"path": "", "questions": []}
    questions = [question_from_dict(q) for q in raw["questions"]]
    bank = QuestionBank(raw["path"], tuple(questions))
    found = (bank, MappingProxyType({q.id: q for q in bank.questions}))
    return _BANKS.keep(key, found)


def version_questions(
    session: Session, version_id: int, source_sha256: str
) -> Mapping[str, Question]:
    """question_map() of the final test of a version known by its id and checksum (a page
    that read them as columns); its bank is loaded only when this process has not parsed it."""
    found = _BANKS.get((version_id, source_sha256))
    if found is None:
        from lms.models import CourseVersion

        raw = session.scalar(select(CourseVersion.final_test).where(CourseVersion.id == version_id))
        found = _keep_bank((version_id, source_sha256), raw)
    return found[1]


def bank_of(activity: Activity) -> QuestionBank:
    """The question bank of a test activity's version, as frozen dataclasses."""
    return _parsed(activity)[0]


def settings_of(activity: Activity) -> TestSettings:
    return TestSettings(**activity.content.get("settings", {}))


# Built once, run with bind parameters (the learner pages run them on every visit).
_ATTEMPTS = (
    select(TestAttempt)
    .join(Activity, TestAttempt.activity_id == Activity.id)
    .where(
        TestAttempt.enrolment_id == bindparam("enrolment_id"), Activity.kind == bindparam("kind")
    )
    .order_by(TestAttempt.number)
)
# True when a learner (bind parameter "user_id") has a graded attempt at a final test of any
# of their courses: out_of_attempts() is None for each course without one (the learner's home
# asks this with other questions in one query).
GRADED_ATTEMPT_EXISTS = (
    select(TestAttempt.id)
    .join(Enrolment, TestAttempt.enrolment_id == Enrolment.id)
    .join(Activity, TestAttempt.activity_id == Activity.id)
    .where(
        Enrolment.user_id == bindparam("user_id"),
        TestAttempt.status == AttemptStatus.GRADED,
        Activity.kind == TestKind.name,
    )
    .exists()
)
# The same for one enrolment, correlated to Enrolment (a column of a query of enrolments).
ENROLMENT_GRADED_EXISTS = (
    select(TestAttempt.id)
    .join(Activity, TestAttempt.activity_id == Activity.id)
    .where(
        TestAttempt.enrolment_id == Enrolment.id,
        TestAttempt.status == AttemptStatus.GRADED,
        Activity.kind == TestKind.name,
    )
    .exists()
)
_FINAL_TEST = select(Activity).where(
    Activity.version_id == bindparam("version_id"), Activity.kind == TestKind.name
)


def final_test_of(session: Session, version_id: int) -> Activity | None:
    """The final test of a course version, if it has one."""
    return session.scalar(_FINAL_TEST, {"version_id": version_id})


def attempts_of(session: Session, enrolment: Enrolment, activity: Activity) -> list[TestAttempt]:
    """The learner's attempts at the course's final test, on this or an earlier version."""
    return list(session.scalars(_ATTEMPTS, {"enrolment_id": enrolment.id, "kind": activity.kind}))


def blocker(
    session: Session, enrolment: Enrolment, activity: Activity, now: datetime
) -> Blocker | None:
    """Why a new attempt cannot start now, or None."""
    attempts = attempts_of(session, enrolment, activity)
    if any(a.passed for a in attempts):
        return Blocker(N_("You have passed this test."), {})
    if deadlines.locked(enrolment, now):
        return Blocker(
            N_("The deadline has passed: the test opens again when your deadline is extended."),
            {},
        )
    others = session.scalars(
        select(Activity.id).where(
            Activity.version_id == enrolment.version_id,
            Activity.required.is_(True),
            Activity.id != activity.id,
        )
    ).all()
    done = set(
        session.scalars(
            select(ActivityProgress.activity_id).where(
                ActivityProgress.enrolment_id == enrolment.id,
                ActivityProgress.status == ProgressStatus.DONE,
            )
        )
    )
    if not set(others) <= done and (
        attendance.attended_class(session, enrolment.user_id, enrolment.course_id) is None
    ):
        return Blocker(N_("Finish every lesson before the final test."), {})
    settings = settings_of(activity)
    if attempts_left(settings, attempts) == 0:
        return Blocker(N_("You have used all %(n)d attempts."), {"n": settings.attempts})
    return None


def attempts_left(settings: TestSettings, attempts: list[TestAttempt]) -> int | None:
    """How many more attempts may be started after the graded ones; None when unlimited."""
    if not settings.attempts:
        return None
    graded = sum(1 for a in attempts if a.status == AttemptStatus.GRADED)
    return max(settings.attempts - graded, 0)


def all_attempts_failed(settings: TestSettings, attempts: list[TestAttempt]) -> int | None:
    """The number of attempts allowed when every one was used without passing, so that no
    attempt can start again; None otherwise."""
    if any(a.passed for a in attempts) or attempts_left(settings, attempts) != 0:
        return None
    return settings.attempts


def out_of_attempts(session: Session, enrolment: Enrolment) -> int | None:
    """all_attempts_failed() for the final test of the learner's course."""
    attempts = list(
        session.scalars(_ATTEMPTS, {"enrolment_id": enrolment.id, "kind": TestKind.name})
    )
    if not any(a.status == AttemptStatus.GRADED for a in attempts):
        # Nothing graded: attempts are left whatever the test allows (no need to load it).
        return None
    activity = final_test_of(session, enrolment.version_id)
    if activity is None:
        return None
    return all_attempts_failed(settings_of(activity), attempts)


def _open_attempt(attempts: list[TestAttempt]) -> TestAttempt | None:
    return next((a for a in attempts if a.status == AttemptStatus.OPEN), None)


def start(
    session: Session,
    enrolment: Enrolment,
    activity: Activity,
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> TestAttempt:
    """The open attempt, or a new one with its draw fixed now (raises when not allowed)."""
    now = now or utcnow()
    for attempt in attempts_of(session, enrolment, activity):
        finish_if_expired(session, attempt, now)
    current = _open_attempt(attempts_of(session, enrolment, activity))
    if current is not None:
        return current
    reason = blocker(session, enrolment, activity, now)
    if reason is not None:
        raise DomainError(reason.message, **reason.params)
    settings = settings_of(activity)
    bank = bank_of(activity)
    chosen = drawing.plan(settings, bank)
    drawn = draw(
        bank,
        chosen.counts,
        rng or random.SystemRandom(),
        shuffle_questions=settings.shuffle_questions,
        shuffle_options=settings.shuffle_options,
        by_category=chosen.by_category,
    )
    number = 1 + max((a.number for a in attempts_of(session, enrolment, activity)), default=0)
    limit = settings.time_limit_minutes
    attempt = TestAttempt(
        enrolment=enrolment,
        activity=activity,
        number=number,
        status=AttemptStatus.OPEN,
        started_at=now,
        ends_at=now + timedelta(minutes=limit) if limit else None,
        draw=[{"id": d.question_id, "order": list(d.order)} for d in drawn],
        answers={},
    )
    session.add(attempt)
    try:
        session.flush()
    except IntegrityError:
        # A second click started the same attempt at the same moment: use that one.
        session.rollback()
        current = _open_attempt(attempts_of(session, enrolment, activity))
        if current is None:
            raise
        return current
    from lms.services import learning

    learning.open_activity(session, enrolment, activity, now)
    return attempt


PAPER_SCORE_REASON_MAX = 500


def record_paper_score(
    session: Session,
    actor: User,
    enrolment: Enrolment,
    activity: Activity,
    score: float,
    note: str,
    now: datetime | None = None,
) -> TestAttempt:
    """Record a final test taken on paper in an in-person class: an attempt with the score a
    trainer or an admin entered and why (audited); a pass completes the test like an online
    one. The caller checks that the actor may enter it for this learner."""
    now = now or utcnow()
    note = " ".join((note or "").split())
    if not note:
        raise DomainError(N_("Give the reason for entering this score."), field="note")
    if len(note) > PAPER_SCORE_REASON_MAX:
        raise DomainError(N_("The reason is too long (at most 500 characters)."), field="note")
    if not (0 <= score <= 10):
        raise DomainError(N_("A score is a number from 0 to 10."), field="score")
    attempts = attempts_of(session, enrolment, activity)
    name = enrolment.user.full_name
    if any(a.passed for a in attempts):
        raise DomainError(N_("%(name)s has already passed the final test."), name=name)
    if _open_attempt(attempts) is not None:
        raise DomainError(
            N_("%(name)s has an online attempt in progress; enter the score after it ends."),
            name=name,
        )
    settings = settings_of(activity)
    if attempts_left(settings, attempts) == 0:
        raise DomainError(
            N_("%(name)s has used all %(n)d attempts at the final test."),
            name=name,
            n=settings.attempts,
        )
    score = round(score, 2)
    passed = score >= activity.version.pass_mark
    attempt = TestAttempt(
        enrolment=enrolment,
        activity=activity,
        number=1 + max((a.number for a in attempts), default=0),
        status=AttemptStatus.GRADED,
        started_at=now,
        submitted_at=now,
        graded_at=now,
        draw=[],
        answers={},
        score=score,
        passed=passed,
        per_question={},
        per_module={},
        source="paper",
        entered_by_id=actor.id,
        note=note,
    )
    session.add(attempt)
    try:
        session.flush()
    except IntegrityError as error:
        session.rollback()
        raise DomainError(
            N_("Another attempt was recorded at the same moment; try again.")
        ) from error
    audit.record(
        session,
        actor,
        "test.paper_score",
        enrolment.user,
        course=enrolment.course.title,
        score=score,
        passed=passed,
        note=note,
    )
    from lms.services import learning

    progress = learning.open_activity(session, enrolment, activity, now)
    if passed and progress.status != ProgressStatus.DONE:
        progress.status = ProgressStatus.DONE
        progress.completed_at = now
        session.flush()
        deadlines.check_completion(session, enrolment, now)
    return attempt


def accepting(attempt: TestAttempt, now: datetime) -> bool:
    """True while the attempt takes answers."""
    return attempt.status == AttemptStatus.OPEN and (
        attempt.ends_at is None or now <= attempt.ends_at + GRACE
    )


def _clean_answers(attempt: TestAttempt, answers: dict[str, Any]) -> dict[str, Any]:
    drawn_ids = {d["id"] for d in attempt.draw}
    return {k: v for k, v in answers.items() if k in drawn_ids}


# The autosave's statement (every few seconds per learner taking the test), built once and run
# on the session's connection: an ORM UPDATE built on each call cost as much as the rest of
# the autosave's work (bench/learner_pages.py, issue 24).
_ATTEMPT_TABLE = TestAttempt.__table__
_SAVE_ANSWERS = (
    update(_ATTEMPT_TABLE)
    .where(
        _ATTEMPT_TABLE.c.id == bindparam("attempt_id"),
        _ATTEMPT_TABLE.c.status == bindparam("open"),
    )
    .values(answers=bindparam("new"))
)


def save_answers(
    session: Session, attempt: TestAttempt, answers: dict[str, Any], now: datetime | None = None
) -> None:
    """Keep the answers given so far (merged with earlier ones)."""
    now = now or utcnow()
    if not accepting(attempt, now):
        finish_if_expired(session, attempt, now)
        raise DomainError(N_("This attempt is closed; answers can no longer be changed."))
    merged = {**attempt.answers, **_clean_answers(attempt, answers)}
    # Only an open attempt takes answers, even if a submit is being graded at this moment.
    saved = (
        session.connection()
        .execute(
            _SAVE_ANSWERS, {"attempt_id": attempt.id, "open": AttemptStatus.OPEN, "new": merged}
        )
        .rowcount
    )
    if not saved:
        session.refresh(attempt)  # graded meanwhile: the caller sees its status
        raise DomainError(N_("This attempt is closed; answers can no longer be changed."))
    # The row now holds these answers; nothing else of it changed (no SELECT to learn that).
    set_committed_value(attempt, "answers", merged)


def submit(
    session: Session, attempt: TestAttempt, answers: dict[str, Any], now: datetime | None = None
) -> TestAttempt:
    """Save the last answers and grade the attempt; a second submit changes nothing."""
    now = now or utcnow()
    if accepting(attempt, now) and answers:
        # Graded meanwhile by another request: its result stands.
        with contextlib.suppress(DomainError):
            save_answers(session, attempt, answers, now)
    _grade(session, attempt, now)
    return attempt


def finish_if_expired(session: Session, attempt: TestAttempt, now: datetime) -> bool:
    """Grade an attempt left open past its end with what was saved, as of its end (not of
    the visit that noticed it): deadlines and lateness are judged at that time."""
    if attempt.status == AttemptStatus.OPEN and not accepting(attempt, now):
        return _grade(session, attempt, min(now, attempt.ends_at))
    return False


def _grade(session: Session, attempt: TestAttempt, now: datetime) -> bool:
    # Only one transaction can move the attempt from open to graded: the others see no row.
    claimed = session.execute(
        update(TestAttempt)
        .where(TestAttempt.id == attempt.id, TestAttempt.status == AttemptStatus.OPEN)
        .values(status=AttemptStatus.GRADED, submitted_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(attempt)
    if not claimed:
        return False
    apply_grade(session, attempt, now)
    return True


def apply_grade(session: Session, attempt: TestAttempt, now: datetime) -> None:
    """Compute the score from the answers; a pass completes the test activity."""
    activity = attempt.activity
    result = grade_attempt(
        bank_of(activity),
        [Drawn(d["id"], tuple(d["order"])) for d in attempt.draw],
        attempt.answers,
        activity.version.pass_mark,
    )
    attempt.score = result.score
    attempt.passed = result.passed
    attempt.per_question = result.per_question
    attempt.per_module = {m: list(v) for m, v in result.per_module.items()}
    attempt.graded_at = now
    session.flush()
    enrolment = attempt.enrolment
    from lms.services import learning

    progress = learning.open_activity(session, enrolment, activity, attempt.started_at)
    if result.passed and progress.status != ProgressStatus.DONE:
        progress.status = ProgressStatus.DONE
        progress.completed_at = now
        session.flush()
        deadlines.check_completion(session, enrolment, now)


def question_map(activity: Activity) -> Mapping[str, Question]:
    """The bank's questions by id (read-only: it is shared by the requests of a process)."""
    return _parsed(activity)[1]


def regrade(session: Session, course, now: datetime | None = None) -> dict[str, int]:
    """Grade every attempt of a course again with the current version's questions.

    After an author fixes a question (a new version with the same question ids), scores,
    passes and completions follow: a learner who passes now completes the course; one whose
    only pass is gone is no longer complete.
    """
    from lms.models import CourseVersion

    now = now or utcnow()
    current: CourseVersion | None = course.current_version
    if current is None:
        return {"regraded": 0, "changed": 0}
    test_activity = next((a for a in current.activities if a.kind == "test"), None)
    if test_activity is None:
        return {"regraded": 0, "changed": 0}
    new_questions = {q.id: q for q in bank_of(test_activity).questions}
    attempts = session.scalars(
        select(TestAttempt)
        .join(Enrolment, TestAttempt.enrolment_id == Enrolment.id)
        .where(
            Enrolment.course_id == course.id,
            TestAttempt.status == AttemptStatus.GRADED,
            TestAttempt.source == "online",  # a paper test's score has no answers to regrade
        )
    ).all()
    changed = 0
    touched: set[int] = set()
    for attempt in attempts:
        old = {q.id: q for q in bank_of(attempt.activity).questions}
        questions = {
            qid: new_questions[qid]
            if qid in new_questions and _same_shape(new_questions[qid], old.get(qid))
            else old[qid]
            for qid in (d["id"] for d in attempt.draw)
            if qid in old
        }
        result = grade_attempt(
            QuestionBank("", tuple(questions.values())),
            [Drawn(d["id"], tuple(d["order"])) for d in attempt.draw],
            attempt.answers,
            attempt.activity.version.pass_mark,
        )
        if result.score != attempt.score or result.passed != attempt.passed:
            changed += 1
        attempt.score, attempt.passed = result.score, result.passed
        attempt.per_question = result.per_question
        attempt.per_module = {m: list(v) for m, v in result.per_module.items()}
        touched.add(attempt.enrolment_id)
    session.flush()
    for enrolment_id in touched:
        _sync_completion(session, session.get(Enrolment, enrolment_id), now)
    return {"regraded": len(attempts), "changed": changed}


def _same_shape(new: Question, old: Question | None) -> bool:
    """A fixed question can replace the old one only if the stored answers still fit it."""
    return (
        old is not None
        and new.type == old.type
        and len(new.choices) == len(old.choices)
        and len(new.pairs) == len(old.pairs)
    )


def _sync_completion(session: Session, enrolment: Enrolment, now: datetime) -> None:
    # The completion dates from the first passing attempt, not from the regrade.
    passed = session.scalar(
        select(func.min(TestAttempt.submitted_at)).where(
            TestAttempt.enrolment_id == enrolment.id, TestAttempt.passed.is_(True)
        )
    )
    if passed is not None and passed.tzinfo is None:  # SQLite aggregates bypass the type
        passed = passed.replace(tzinfo=UTC)
    for progress in session.scalars(
        select(ActivityProgress)
        .join(Activity, ActivityProgress.activity_id == Activity.id)
        .where(ActivityProgress.enrolment_id == enrolment.id, Activity.kind == "test")
    ):
        if passed and progress.status != ProgressStatus.DONE:
            progress.status, progress.completed_at = ProgressStatus.DONE, passed
        elif not passed and progress.status == ProgressStatus.DONE:
            progress.status, progress.completed_at = ProgressStatus.IN_PROGRESS, None
            enrolment.completed_at = None
            enrolment.completed_late = False
    session.flush()
    if passed:
        deadlines.check_completion(session, enrolment, passed)

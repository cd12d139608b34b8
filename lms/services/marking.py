"""Taking attendance at the sessions of in-person classes: a trainer's marks (possibly sent
late, twice or out of order from a phone's queue: the mark made last wins) and a learner's
own check-in with the session's short-lived code; either may complete a learner's course
(the attendance rule met, the final test passed)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from lms.models import (
    Attendance,
    AttendanceStatus,
    ClassMember,
    ClassSession,
    Enrolment,
    TrainingClass,
    User,
)
from lms.services import deadlines
from lms.services.errors import N_, DomainError

# A session's code works from a little before its start to a little after its end, so that
# learners arriving early or leaving late can check in; never on another day.
CHECK_IN_MARGIN = timedelta(minutes=30)
# A learner checking in this long after the start is marked late.
LATE_AFTER = timedelta(minutes=15)
# Codes change every CODE_STEP; the one shown just before is still taken (the learner was
# typing it when it changed).
CODE_STEP = 60
CODE_DIGITS = 6


@dataclass(frozen=True)
class Mark:
    """One mark from a trainer's roster, as made on the phone (`marked_at` is its clock)."""

    user_id: int
    status: AttendanceStatus
    marked_at: datetime


def record_marks(
    session: Session, trainer: User, meeting: ClassSession, marks: Sequence[Mark], now: datetime
) -> int:
    """Apply a trainer's marks: the latest mark of each learner wins, whatever the order they
    arrive in, so a queue sent twice or late changes nothing more. Marks for someone not on
    the roster are refused as a whole. Returns how many marks changed something."""
    roster = set(
        session.scalars(select(ClassMember.user_id).where(ClassMember.class_id == meeting.class_id))
    )
    strangers = {m.user_id for m in marks} - roster
    if strangers:
        raise DomainError(N_("Some of these learners are not on the class's roster."))
    # A phone whose clock runs ahead must not make its marks unbeatable.
    latest = now + timedelta(minutes=5)
    stored = {
        a.user_id: a
        for a in session.scalars(select(Attendance).where(Attendance.session_id == meeting.id))
    }
    changed = 0
    for mark in sorted(marks, key=lambda m: m.marked_at):
        marked_at = min(mark.marked_at, latest)
        old = stored.get(mark.user_id)
        if old is not None and old.marked_at > marked_at:
            continue
        if old is None:
            old = Attendance(session_id=meeting.id, user_id=mark.user_id)
            session.add(old)
            stored[mark.user_id] = old
        elif old.status == mark.status and old.source == "trainer":
            old.marked_at = marked_at
            continue
        old.status = mark.status
        old.source = "trainer"
        old.marked_at = marked_at
        old.marked_by_id = trainer.id
        old.received_at = now
        changed += 1
    session.flush()
    _recheck_completion(session, meeting.training_class, (m.user_id for m in marks), now)
    return changed


def _recheck_completion(
    session: Session, training_class: TrainingClass, user_ids: Iterable[int], now: datetime
) -> None:
    """Attendance may have met the class's rule: a learner who already passed the final test
    then completes the course."""
    ids = list(set(user_ids))
    if not ids:
        return
    for enrolment in session.scalars(
        select(Enrolment).where(
            Enrolment.course_id == training_class.course_id,
            Enrolment.user_id.in_(ids),
            Enrolment.completed_at.is_(None),
        )
    ):
        deadlines.check_completion(session, enrolment, now)


def check_in_code(secret: str | bytes, session_id: int, at: datetime) -> str:
    """The session's check-in code at `at`: six digits from a keyed hash of the session and the
    minute, so codes need no storage and one seen earlier is worthless later."""
    key = secret.encode() if isinstance(secret, str) else secret
    step = int(at.timestamp()) // CODE_STEP
    digest = hmac.new(key, f"hocvu-check-in:{session_id}:{step}".encode(), hashlib.sha256)
    return str(int.from_bytes(digest.digest()[:8], "big") % 10**CODE_DIGITS).zfill(CODE_DIGITS)


def code_seconds_left(at: datetime) -> int:
    """Seconds until the code shown at `at` changes."""
    return CODE_STEP - int(at.timestamp()) % CODE_STEP


def open_for_check_in(meeting: ClassSession, now: datetime) -> bool:
    """Whether learners may check in to the session now."""
    return meeting.starts_at - CHECK_IN_MARGIN <= now <= meeting.ends_at + CHECK_IN_MARGIN


def check_in(
    session: Session, secret: str | bytes, learner: User, code: str, now: datetime
) -> ClassSession:
    """Record the learner present (or late) at the session of their classes whose code, now or
    a minute ago, is `code`. A trainer's mark is not overwritten. Raises on a wrong code."""
    code = "".join(ch for ch in (code or "") if ch.isdigit())
    if len(code) != CODE_DIGITS:
        raise DomainError(N_("The code has 6 digits."), field="code")
    candidates = session.scalars(
        select(ClassSession)
        .join(ClassMember, ClassMember.class_id == ClassSession.class_id)
        .where(
            ClassMember.user_id == learner.id,
            ClassSession.starts_at <= now + CHECK_IN_MARGIN,
            ClassSession.ends_at >= now - CHECK_IN_MARGIN,
        )
    ).all()
    for meeting in candidates:
        valid = {
            check_in_code(secret, meeting.id, now),
            check_in_code(secret, meeting.id, now - timedelta(seconds=CODE_STEP)),
        }
        if code in valid:
            break
    else:
        raise DomainError(
            N_(
                "This code is not the code of a session of your classes that is open now. "
                "Check the code the trainer shows; it changes every minute."
            ),
            field="code",
        )
    existing = session.get(Attendance, (meeting.id, learner.id))
    if existing is None:
        status = (
            AttendanceStatus.LATE
            if now > meeting.starts_at + LATE_AFTER
            else AttendanceStatus.PRESENT
        )
        session.add(
            Attendance(
                session_id=meeting.id,
                user_id=learner.id,
                status=status,
                source="code",
                marked_at=now,
                received_at=now,
            )
        )
        session.flush()
        _recheck_completion(session, meeting.training_class, [learner.id], now)
    return meeting


# Built once (every visit of a learner's home runs it), with bind parameters.
_TO_CHECK_IN = (
    select(ClassSession)
    .join(ClassMember, ClassMember.class_id == ClassSession.class_id)
    .outerjoin(
        Attendance,
        (Attendance.session_id == ClassSession.id)
        & (Attendance.user_id == bindparam("learner_id")),
    )
    .where(
        ClassMember.user_id == bindparam("learner_id"),
        ClassSession.starts_at <= bindparam("starts_by"),
        ClassSession.ends_at >= bindparam("ends_from"),
        Attendance.session_id.is_(None),
    )
    .order_by(ClassSession.starts_at)
)
# True when sessions_to_check_in() has something (the learner's home asks it with other
# questions in one query); its parameters: check_in_parameters().
CHECK_IN_EXISTS = _TO_CHECK_IN.order_by(None).exists()


def check_in_parameters(learner_id: int, now: datetime) -> dict:
    """The bind parameters of CHECK_IN_EXISTS (and of sessions_to_check_in's query)."""
    return {
        "learner_id": learner_id,
        "starts_by": now + CHECK_IN_MARGIN,
        "ends_from": now - CHECK_IN_MARGIN,
    }


def sessions_to_check_in(session: Session, learner: User, now: datetime) -> list[ClassSession]:
    """The sessions of the learner's classes open for check-in now, where nobody has marked
    them yet (what the learner's home offers to check in to)."""
    return list(session.scalars(_TO_CHECK_IN, check_in_parameters(learner.id, now)))

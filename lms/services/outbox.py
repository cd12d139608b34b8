"""What a learner did offline, sent later: each action once, in order, checked as online.

The browser keeps actions in an outbox (IndexedDB, lms/static/js/offline.js) while the
connection is down and sends them in the order they happened when it returns, each with an id
it made. Each one goes through the same service functions as the online pages
(lms.services.learning), with the time the browser recorded, checked by
`learning.client_time`; so the minimum reading time is counted from the recorded opening to
the recorded completion, self-check answers are checked, and a completed lesson is never
taken back. Every handled id is kept with its outcome (`OfflineAction`): an action sent again
(an answer lost on the way, two tabs) changes nothing and gets the first answer again.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lms.models import Activity, Course, Enrolment, OfflineAction, User, utcnow
from lms.services import learning
from lms.services.errors import N_, DomainError

KINDS = ("open", "self_check", "complete", "time")
# Actions in one request (a day offline is a few dozen).
MAX_ACTIONS = 200
MAX_ID_LENGTH = 64


@dataclass(frozen=True)
class Outcome:
    """What became of one action: "done", "refused" (with its reason) or "duplicate"
    (handled before: `first` is what it was then)."""

    id: str
    status: str
    message: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    first: str | None = None


def user_key(login_id: str, secret: str) -> str:
    """Who is logged in (User.get_id()), as the browser keys its caches and outbox: changes
    with the account and with a password change (which bumps the account's epoch), and tells
    nothing else."""
    digest = hmac.new(secret.encode(), f"hocvu-offline:{login_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:20]


def _time(value: Any) -> datetime:
    """A time sent by the browser: milliseconds since the epoch (Date.now())."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DomainError(N_("The action has no valid time."))
    try:
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError) as error:
        raise DomainError(N_("The action has no valid time.")) from error


def _lesson(session: Session, user: User, action: dict[str, Any]) -> tuple[Enrolment, Activity]:
    """The learner's own enrolment and the lesson the action names, else a refusal."""
    slug, key = action.get("course"), action.get("lesson")
    if not isinstance(slug, str) or not isinstance(key, str):
        raise DomainError(N_("This lesson is not in your courses."))
    found = session.execute(
        select(Enrolment, Activity)
        .join(Course, Enrolment.course_id == Course.id)
        .join(Activity, Activity.version_id == Enrolment.version_id)
        .where(Course.slug == slug, Enrolment.user_id == user.id, Activity.key == key)
    ).first()
    if found is None:
        raise DomainError(N_("This lesson is not in your courses."))
    return found[0], found[1]


def _answers(raw: Any) -> dict[int, list[int]]:
    if not isinstance(raw, dict):
        raise DomainError(N_("Answer every question of the self-check."))
    answers: dict[int, list[int]] = {}
    for index, chosen in raw.items():
        if not str(index).isdigit() or not isinstance(chosen, list):
            raise DomainError(N_("Answer every question of the self-check."))
        answers[int(index)] = [c for c in chosen if isinstance(c, int) and not isinstance(c, bool)]
    return answers


def _apply(session: Session, user: User, action: dict[str, Any], now: datetime) -> datetime:
    """Do one action through the learning services; returns the time it happened."""
    kind = action.get("kind")
    if kind not in KINDS:
        raise DomainError(N_("This kind of action is not known."))
    enrolment, activity = _lesson(session, user, action)
    at = learning.client_time(enrolment, _time(action.get("at")), now)
    if kind == "open":
        learning.open_activity(session, enrolment, activity, at)
    elif kind == "self_check":
        learning.answer_self_check(
            session, enrolment, activity, _answers(action.get("answers")), at
        )
    elif kind == "complete":
        learning.complete_activity(session, enrolment, activity, at)
    else:
        seconds = action.get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int):
            raise DomainError(N_("The time spent on the lesson is not plausible."))
        learning.record_time(session, enrolment, activity, seconds, at)
    return at


def _record(session: Session, user: User, client_id: str, kind: Any, **values: Any) -> bool:
    """Keep the action's id with its outcome; False when it was kept already (a resend
    racing with the first sending)."""
    try:
        with session.begin_nested():
            session.add(
                OfflineAction(
                    user_id=user.id,
                    client_id=client_id,
                    kind=str(kind)[:20],
                    **values,
                )
            )
    except IntegrityError:
        return False
    return True


def _earlier(session: Session, user: User, client_id: str) -> Outcome | None:
    row = session.scalar(
        select(OfflineAction).where(
            OfflineAction.user_id == user.id, OfflineAction.client_id == client_id
        )
    )
    if row is None:
        return None
    return Outcome(client_id, "duplicate", row.message, row.params or {}, first=row.outcome)


def handle(
    session: Session, user: User, key: str, actions: list[Any], now: datetime | None = None
) -> list[Outcome]:
    """Handle a learner's queued actions in the order given, each at most once; `key` is
    the account key the browser stored with each action (an action saved for another account,
    or before a password change, is refused, never done for this one). The caller commits."""
    now = now or utcnow()
    if len(actions) > MAX_ACTIONS:
        raise DomainError(N_("Too many actions at once."))
    # One sending of a learner's outbox at a time (two tabs, the worker at logout): a write to
    # the account's row first, which waits for the other sending's commit (a row lock on
    # PostgreSQL; on SQLite the database's write lock, taken before any read of this
    # transaction, so the two never deadlock). The second then finds the first's ids.
    session.execute(update(User).where(User.id == user.id).values(auth_epoch=User.auth_epoch))
    outcomes = []
    for action in actions:
        client_id = action.get("id") if isinstance(action, dict) else None
        if not isinstance(client_id, str) or not 0 < len(client_id) <= MAX_ID_LENGTH:
            raise DomainError(N_("An action has no valid id."))
        earlier = _earlier(session, user, client_id)
        if earlier is not None:
            outcomes.append(earlier)
            continue
        try:
            if not hmac.compare_digest(str(action.get("user", "")), key):
                raise DomainError(N_("This was saved on the phone for another account."))
            with session.begin_nested():
                at = _apply(session, user, action, now)
                kept = _record(
                    session, user, client_id, action["kind"], happened_at=at, outcome="done"
                )
                if not kept:
                    raise _Duplicate
            outcomes.append(Outcome(client_id, "done"))
        except _Duplicate:
            outcomes.append(_earlier(session, user, client_id) or Outcome(client_id, "duplicate"))
        except DomainError as error:
            message = error.message
            if _record(
                session,
                user,
                client_id,
                action.get("kind"),
                outcome="refused",
                message=message,
                params=error.params,
            ):
                outcomes.append(Outcome(client_id, "refused", message, error.params))
            else:
                outcomes.append(
                    _earlier(session, user, client_id) or Outcome(client_id, "duplicate")
                )
    session.flush()
    return outcomes


class _Duplicate(Exception):
    """Another request kept the same action first: this one's changes are taken back."""

"""Extending the deadlines of a whole batch (or of a large selection) as a background job.

Each extension is the one `deadlines.extend` makes for a single learner (the new due date,
the record with its reason, the audit event, the learner's notice, an unlocked completion), so
a batch of 40,000 is tens of thousands of rows: the job extends a chunk of enrolments at a
time and commits each chunk with where it stopped, so a run stopped half-way is continued by
the next run without extending anyone twice.
"""

from __future__ import annotations

from datetime import date, datetime

from flask import current_app
from sqlalchemy import func, select

from lms.jobs import core as jobs
from lms.models import Enrolment, Job, JobStatus, User
from lms.services import deadlines
from lms.services.errors import N_, Forbidden
from lms.services.scope import Scope

TASK = "deadlines.extend"
CHUNK = 500


def same_job(session, args: dict) -> Job | None:
    """A waiting or running extension with exactly these arguments (a second click)."""
    found = session.scalars(
        select(Job)
        .where(Job.task == TASK, Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
        .order_by(Job.id.desc())
    )
    wanted = {k: v for k, v in args.items() if k != "now"}
    return next(
        (job for job in found if {k: v for k, v in job.args.items() if k != "now"} == wanted),
        None,
    )


@jobs.task(TASK, resumable=True)
def extend_deadlines(
    ctx: jobs.JobContext,
    *,
    actor_id: int,
    course_id: int,
    reason: str,
    now: str,
    days: int | None = None,
    until: str | None = None,
    cohort_id: int | None = None,
    user_ids: list[int] | None = None,
) -> dict:
    """Extend the deadlines of a batch's members (or of the accounts named) in one course, as
    asked at `now` (the admin's "today"), chunk by chunk."""
    session = ctx.session
    timezone = current_app.config["HOCVU_TIMEZONE"]
    actor = session.get(User, actor_id)
    if actor is None or not actor.is_admin:
        raise Forbidden(N_("You cannot change this account."))
    scope = Scope.of(actor)  # checked again here: the job may run long after the request
    asked = datetime.fromisoformat(now)
    day = date.fromisoformat(until) if until else None
    targets = deadlines.extension_targets(scope, course_id, cohort_id=cohort_id, user_ids=user_ids)
    earlier = session.get(Job, ctx.job_id).result or {}
    after, done, count = earlier.get("after", 0), earlier.get("done", 0), earlier.get("count", 0)
    total = done + (
        session.scalar(
            select(func.count()).select_from(targets.where(Enrolment.id > after).subquery())
        )
        or 0
    )
    ctx.progress(done, total)
    while True:
        ids = session.scalars(
            targets.where(Enrolment.id > after).order_by(Enrolment.id).limit(CHUNK)
        ).all()
        if not ids:
            break
        chunk = [
            e
            for e in session.scalars(
                select(Enrolment).where(Enrolment.id.in_(ids)).order_by(Enrolment.id)
            )
            # Not a site admin in a unit admin's subtree (Scope.can_manage_user), and not
            # already due on that day or later since the request checked (nothing to extend).
            if scope.can_manage_user(e.user)
            and (day is None or e.due_at is None or day > deadlines.due_day(e.due_at, timezone))
        ]
        count += deadlines.extend(
            session,
            actor,
            chunk,
            reason=reason,
            days=days,
            until=day,
            timezone=timezone,
            now=asked,
        )
        after, done = ids[-1], done + len(ids)
        session.get(Job, ctx.job_id).result = {"after": after, "done": done, "count": count}
        ctx.progress(done, max(total, done))  # commits the chunk with where it stopped
    return {"count": count, "cohort_id": cohort_id}

"""Bringing a batch's members in line with the batch, as a background job: enrolling them in
its courses, recomputing their due dates, setting a batch-wide issue date.

The job works through the members a chunk at a time (lms/services/cohorts.update_members) and
commits each chunk with its progress and where it stopped, so a run stopped half-way (a killed
worker, a lost connection) is continued by the next run of the same job, which enrols nobody
twice (and a chunk done twice changes nothing). A pass applies the batch as it was when the
pass began; when it ends, the job looks again, holding the batch's lock, and passes again if
the batch was changed meanwhile: a change saved while the job runs is applied by it, which is
why the page follows the running job instead of starting another.
"""

from __future__ import annotations

from datetime import date

from flask import current_app
from sqlalchemy import select, update

from lms.jobs import core as jobs
from lms.models import Cohort, Job, JobStatus, User
from lms.services import cohorts
from lms.services.errors import N_, DomainError, Forbidden
from lms.services.scope import Scope

TASK = "cohorts.members"


def active_job(session, cohort_id: int) -> Job | None:
    """The member job of this batch that is waiting, or working and not yet finishing (so a
    change saved now will still be applied by it), if any."""
    found = session.scalars(
        select(Job)
        .where(
            Job.task == TASK,
            Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]),
            Job.args["cohort_id"].as_integer() == cohort_id,
        )
        .order_by(Job.id.desc())
    ).all()
    return next((job for job in found if not (job.result or {}).get("finishing")), None)


def latest_job(session, cohort_id: int) -> Job | None:
    """The batch's most recent member job, whatever its state."""
    return session.scalars(
        select(Job)
        .where(Job.task == TASK, Job.args["cohort_id"].as_integer() == cohort_id)
        .order_by(Job.id.desc())
        .limit(1)
    ).first()


def _closing_state(session, job_id: int, cohort: Cohort) -> cohorts.BatchState:
    """The batch's state, read while no one can change it until this transaction commits.

    The job's row is written first: on SQLite that takes the database's write lock, so a
    change is committed either before this read or after this transaction; on PostgreSQL the
    batch's row is locked, as `save_cohort` locks it.
    """
    session.execute(
        update(Job).where(Job.id == job_id).values(message="checking the batch for changes")
    )
    session.execute(select(Cohort.id).where(Cohort.id == cohort.id).with_for_update())
    session.expire(cohort)
    return cohorts.batch_state(session, cohort)


@jobs.task(TASK, resumable=True)
def update_members(
    ctx: jobs.JobContext, *, cohort_id: int, actor_id: int, issued_at: str | None = None
) -> dict:
    """Bring the batch's members in line with it (and give them the issue date `issued_at`,
    an ISO date, when the admin set one for the whole batch), chunk by chunk."""
    session = ctx.session
    timezone = current_app.config["HOCVU_TIMEZONE"]
    cohort = session.get(Cohort, cohort_id)
    if cohort is None:
        raise DomainError(N_("This batch no longer exists."))
    actor = session.get(User, actor_id)
    # Checked again here: the job may run long after the request.
    if actor is None or not Scope.of(actor).covers_unit(cohort.org_unit):
        raise Forbidden(N_("You cannot manage this batch."))
    day = date.fromisoformat(issued_at) if issued_at else None
    # Where earlier, interrupted runs of this job stopped: continue there if the batch has not
    # changed since, else begin again (what they did is then done again, harmlessly).
    earlier = session.get(Job, ctx.job_id).result or {}
    state = cohorts.batch_state(session, cohort)
    counts = {"members": 0, "enrolled": 0, "changed": 0} | earlier.get("counts", {})
    if cohorts.BatchState.from_json(earlier.get("state")) == state:
        after, done = earlier.get("after", 0), earlier.get("done", 0)
    else:
        after, done = 0, 0

    def record(finishing: bool = False) -> None:
        job = session.get(Job, ctx.job_id)
        job.result = {
            "cohort_id": cohort_id,
            "state": state.as_json(),
            "after": after,
            "done": done,
            "counts": dict(counts),
            "finishing": finishing,
        }

    while True:
        total = cohorts.member_count(session, cohort)
        ctx.progress(done, max(total, done))
        while True:
            chunk = cohorts.update_members(
                session, cohort, state, after=after, issued_at=day, timezone=timezone
            )
            if chunk.last_id is None:
                break
            after, done = chunk.last_id, done + chunk.members
            counts["enrolled"] += chunk.enrolled
            counts["changed"] += chunk.changed
            record()
            ctx.progress(done, max(total, done))  # commits the chunk with where it stopped
        now = _closing_state(session, ctx.job_id, cohort)
        if now == state:
            counts["members"] = done
            record(finishing=True)
            session.commit()
            return {"cohort_id": cohort_id, "issued_at": issued_at, **counts}
        # Changed while this pass ran: apply the batch as it is now, from the first member.
        state, after, done = now, 0, 0
        record()
        session.commit()

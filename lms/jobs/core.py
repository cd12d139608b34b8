"""Background work with progress: bulk imports, certificate batches, reminders.

Callers see one interface:

    @task("import.accounts")
    def import_accounts(ctx: JobContext, *, upload_id: int) -> dict: ...

    job = enqueue("import.accounts", upload_id=7, created_by=admin)   # returns the Job row

A task receives a JobContext (its own database session, `progress(done, total, message)`)
and returns a JSON-able result. The Job row is the only shared state, so a page served by any
worker can show the progress. The embedded runner executes jobs in a thread of the web
process; with HOCVU_REDIS_URL set, `enqueue` puts the job on an RQ queue instead and
`hocvu worker` processes run it (lms/jobs/queue.py). Callers do not see the difference.

A job may run more than once when the queue retries it (a transient failure, a worker that
died): each run claims the row with a conditional UPDATE that counts the attempt, and writes
its outcome only while the row is still its own (the attempt number fences it). Tasks that
write must therefore be idempotent; the bulk import, the certificate batch and a batch's member
update are.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, request
from prometheus_client.core import GaugeMetricFamily
from redis import exceptions as redis_exc
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from lms.app.extensions import db
from lms.models import Job, JobStatus, User, utcnow
from lms.services.errors import DomainError

__all__ = ["Job", "JobContext", "TransientError", "can_resume", "enqueue", "resume", "task"]

log = logging.getLogger(__name__)

TaskFn = Callable[..., dict[str, Any] | None]
_TASKS: dict[str, TaskFn] = {}
# Tasks whose run continues from what earlier runs committed (their progress is committed with
# their work): a failed one may be queued again, and goes on where it stopped.
RESUMABLE: set[str] = set()


class TransientError(Exception):
    """Raised by a task for a failure that may pass by itself; the queue tries the job again."""


# Failures worth another try when a queue runs the job: the database or a connection went
# away or was busy for a moment. A task's own errors (a bad file, a missing record) are not:
# they fail the job at once with their message.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    TransientError,
    redis_exc.ConnectionError,
    redis_exc.TimeoutError,
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
    ConnectionError,
    TimeoutError,
)


def is_transient(error: BaseException) -> bool:
    """Whether a failure is worth another try."""
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, TRANSIENT_ERRORS)


def task(name: str, *, resumable: bool = False) -> Callable[[TaskFn], TaskFn]:
    """Register a function as the task `name`; `resumable` when a failed run may be queued
    again and continue from what it committed (see `resume`)."""

    def register(fn: TaskFn) -> TaskFn:
        if name in _TASKS and _TASKS[name] is not fn:
            raise ValueError(f"task {name!r} is registered twice")
        _TASKS[name] = fn
        if resumable:
            RESUMABLE.add(name)
        return fn

    return register


@dataclass
class JobContext:
    """What a running task gets: the job id, a session of its own and a progress reporter."""

    job_id: int
    session: Session
    attempt: int = 1  # 2 and more when the queue runs the job again

    def progress(self, done: int, total: int | None = None, message: str | None = None) -> None:
        """Record progress and commit it, so that pages polling the job see it at once."""
        job = self.session.get(Job, self.job_id)
        job.done = done
        if total is not None:
            job.total = total
        if message is not None:
            job.message = message[:500]
        self.session.commit()


class ThreadRunner:
    """The embedded runner: a small pool of threads inside the web process."""

    def __init__(self, app: Flask, threads: int) -> None:
        self.app = app
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="hocvu-job")
        self.lock = threading.Lock()
        self.resumed = False

    def submit(self, job_id: int) -> None:
        self.pool.submit(run_job, self.app, job_id)

    def resume_queued(self) -> None:
        """Once per process: start the jobs left queued by a previous process."""
        with self.lock:
            if self.resumed:
                return
            self.resumed = True
        for job_id in db.session.scalars(select(Job.id).where(Job.status == JobStatus.QUEUED)):
            self.submit(job_id)


def enqueue(name: str, *, created_by: User | None = None, **args: Any) -> Job:
    """Create a Job row for task `name` with JSON-able `args`, commit it and start it."""
    if name not in _TASKS:
        raise KeyError(f"no task named {name!r}")
    job = Job(task=name, args=args, created_by_id=created_by.id if created_by else None)
    db.session.add(job)
    db.session.commit()
    _start(job)
    return job


def _start(job: Job) -> None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config["HOCVU_JOBS_INLINE"]:
        run_job(app, job.id)
        db.session.expire(job)
    else:
        app.extensions["hocvu_jobs"].submit(job.id)


def can_resume(job: Job) -> bool:
    """A job of a resumable task that was stopped (a crash, a lost worker, a bug), not one the
    task refused with its own reason (a DomainError, whose message run_job keeps as the result
    in place of the progress): that would only be refused again."""
    return (
        job.status == JobStatus.FAILED
        and job.task in RESUMABLE
        and not (job.result or {}).get("message")
    )


def resume(job: Job) -> bool:
    """Queue a stopped job of a resumable task again, to go on where it stopped; False when it
    cannot (see `can_resume`) or is no longer failed."""
    if not can_resume(job):
        return False
    queued = db.session.execute(
        update(Job)
        .where(Job.id == job.id, Job.status == JobStatus.FAILED)
        .values(status=JobStatus.QUEUED, error=None, finished_at=None)
    ).rowcount
    db.session.commit()
    if queued:
        _start(job)
    return bool(queued)


def run_job(app: Flask, job_id: int, *, retry_transient: bool = False) -> None:
    """Run one job to completion, recording its status, result or error.

    With `retry_transient` (a queue that will try again), a transient failure puts the job back
    to queued and is raised for the queue to retry; any other failure is recorded once.
    """
    with app.app_context():
        session = db.session
        # Claim the job in one statement: of two runners given the same job, one gets it.
        claimed = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.QUEUED)
            .values(status=JobStatus.RUNNING, started_at=utcnow(), attempts=Job.attempts + 1)
        ).rowcount
        session.commit()
        if not claimed:
            return
        job = session.get(Job, job_id)
        name, attempt = job.task, job.attempts
        # Outcomes are written only while the row is still this run's: a run that the queue
        # gave up on (its worker looked dead) must not overwrite the run that replaced it.
        mine = update(Job).where(
            Job.id == job_id, Job.status == JobStatus.RUNNING, Job.attempts == attempt
        )
        try:
            fn = _TASKS[name]
            result = fn(JobContext(job_id, session, attempt), **job.args)
        except Exception as exc:  # noqa: BLE001 - any failure is recorded on the job
            session.rollback()
            error = "".join(traceback.format_exception_only(exc)).strip()[:2000]
            if retry_transient and is_transient(exc):
                log.warning("job %s (%s) attempt %s: %s; retrying", job_id, name, attempt, error)
                try:
                    session.execute(mine.values(status=JobStatus.QUEUED, error=error))
                    session.commit()
                except Exception:  # noqa: BLE001 - the database may be the thing that failed
                    session.rollback()
                    log.warning("job %s: could not put it back to queued", job_id, exc_info=True)
                raise
            log.exception("job %s (%s) failed", job_id, name)
            failed = {"status": JobStatus.FAILED, "error": error, "finished_at": utcnow()}
            if isinstance(exc, DomainError):
                # The reason in words the admin reads on the job's page (a msgid and params).
                failed["result"] = {"message": exc.message, "params": _jsonable(exc.params)}
            session.execute(mine.values(**failed))
            session.commit()
            return
        job = session.get(Job, job_id)
        values: dict[str, Any] = {
            "status": JobStatus.DONE,
            "result": result or {},
            "error": None,
            "finished_at": utcnow(),
        }
        if job.total is not None:
            values["done"] = job.total
        session.execute(mine.values(**values))
        session.commit()


def _jsonable(params: dict) -> dict:
    plain = (int, float, str, bool, type(None))
    return {key: v if isinstance(v, plain) else str(v) for key, v in params.items()}


def fail_interrupted(session: Session) -> int:
    """Mark the jobs left running by a stopped process as failed; return how many.

    With the embedded runner a job runs in a thread of the web process, so when `hocvu init`
    runs before the server starts, no job can be running. The queued ones are started by the
    web process itself (ThreadRunner.resume_queued). Not used with the Redis queue, where
    workers keep running across a restart of the site and the queue owns retries.
    """
    return session.execute(
        update(Job)
        .where(Job.status == JobStatus.RUNNING)
        .values(
            status=JobStatus.FAILED,
            error="interrupted: the process running this job stopped",
            finished_at=utcnow(),
        )
    ).rowcount


def import_task_modules(app: Flask) -> None:
    """Import the modules named in HOCVU_JOB_MODULES, which register more tasks."""
    import importlib

    for name in app.config.get("HOCVU_JOB_MODULES") or []:
        importlib.import_module(name)


def use_thread_runner(app: Flask) -> ThreadRunner:
    """The embedded runner: a thread pool of the web process, which resumes the queued jobs
    on the first request it serves."""
    runner = ThreadRunner(app, int(app.config["HOCVU_JOB_THREADS"]))
    app.extensions["hocvu_jobs"] = runner

    @app.before_request
    def resume_queued_jobs() -> None:
        if runner.resumed or app.config["HOCVU_JOBS_INLINE"]:
            return
        if request.blueprint == "ops":  # health checks touch no database
            return
        runner.resume_queued()

    return runner


class JobQueueCollector:
    """hocvu_jobs{status="queued"|"running"}: Job rows counted when /metrics is scraped."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def collect(self):
        gauge = GaugeMetricFamily(
            "hocvu_jobs", "Background jobs waiting or running (Job rows).", labels=["status"]
        )
        counts = dict.fromkeys((JobStatus.QUEUED, JobStatus.RUNNING), 0)
        try:
            rows = self.session.execute(
                select(Job.status, func.count())
                .where(Job.status.in_(list(counts)))
                .group_by(Job.status)
            )
            for status, count in rows:
                counts[JobStatus(status)] = count
        except Exception:  # noqa: BLE001 - a scrape must still report the other metrics
            self.session.rollback()
            log.warning("metrics: could not count jobs", exc_info=True)
            return
        for status, count in counts.items():
            gauge.add_metric([status.value], count)
        yield gauge


@contextmanager
def site_language(app):
    """Jobs run outside a request: texts in the site's default language."""
    from flask_babel import force_locale

    with app.test_request_context(), force_locale(app.config["HOCVU_DEFAULT_LOCALE"]):
        yield

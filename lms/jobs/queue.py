"""The Redis job queue: RQ behind `lms.jobs.core.enqueue`, run by `hocvu worker` processes.

With HOCVU_REDIS_URL set, `enqueue` stores the Job row as before and puts only its id on an RQ
queue; a worker runs `execute(job_id)`, which is `lms.jobs.run_job` in the worker's app. The
Job row stays the only shared state (progress, result, error), so the pages do not change.

Why RQ: it needs Redis and nothing else (no broker beside it), it is small, a job is a plain
function call, and it has the two things we need on top of our Job row: retries with backoff
and a registry of running jobs. Celery would bring a broker abstraction, its own result
backend and task state, which would compete with the Job row.

Failures:
- a transient one (the database or Redis briefly gone, see `jobs.is_transient`) is raised to
  RQ, which tries the job again after HOCVU_JOB_RETRY_INTERVALS (RQ `Retry`); a task's own
  error fails the job at once, with its message, and is not retried;
- a worker killed mid-job (SIGKILL, a lost machine): while a worker runs a job it keeps a lease
  in Redis, a key renewed by a thread every third of HOCVU_JOB_LEASE_SECONDS. Every worker
  looks, every HOCVU_JOB_LEASE_SECONDS, for Job rows "running" whose lease has expired, puts
  them back to queued and on the queue (up to HOCVU_JOB_MAX_ATTEMPTS runs, then failed).
  RQ's own abandoned-job handling (StartedJobRegistry cleanup) would notice it only after the
  job's whole timeout plus a minute, since a SimpleWorker sends no heartbeat while it works;
  when it later retries that stale RQ job, the run finds the row no longer queued and does
  nothing. A run's outcome is written only while the row has its attempt number, so an old
  run can never overwrite a newer one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from datetime import timedelta
from typing import Any

import redis
from flask import Flask
from rq import Queue, Retry, SimpleWorker, get_current_job
from sqlalchemy import select, update

from lms.app.extensions import db
from lms.jobs import core as jobs
from lms.models import Job, JobStatus, utcnow

log = logging.getLogger(__name__)

TRANSIENT_REDIS_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)

# The app of this worker process, given by `hocvu worker` (lms.cli, through `work`).
_worker_app: Flask | None = None


def connection(app: Flask) -> redis.Redis:
    """The app's Redis client (one connection pool per app)."""
    client = app.extensions.get("hocvu_redis")
    if client is None:
        client = redis.Redis.from_url(app.config["HOCVU_REDIS_URL"])
        app.extensions["hocvu_redis"] = client
    return client


def queue(app: Flask) -> Queue:
    """The app's RQ queue (HOCVU_JOB_QUEUE)."""
    return Queue(app.config["HOCVU_JOB_QUEUE"], connection=connection(app))


def lease_key(app: Flask, job_id: int) -> str:
    return f"hocvu:{app.config['HOCVU_JOB_QUEUE']}:lease:{job_id}"


class QueueRunner:
    """The runner used with HOCVU_REDIS_URL: `enqueue` hands the job id to RQ."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def submit(self, job_id: int) -> None:
        """Put the job on the queue; if Redis cannot be reached, the job fails at once."""
        config = self.app.config
        intervals = [int(s) for s in config["HOCVU_JOB_RETRY_INTERVALS"] or []]
        try:
            queue(self.app).enqueue(
                execute,
                job_id,
                retry=Retry(max=len(intervals), interval=intervals) if intervals else None,
                job_timeout=int(config["HOCVU_JOB_TIMEOUT"]),
                result_ttl=3600,
                failure_ttl=7 * 24 * 3600,
                description=f"hocvu job {job_id}",
            )
        except TRANSIENT_REDIS_ERRORS as error:
            log.error("job %s not queued: Redis is unreachable: %s", job_id, error)
            db.session.rollback()
            db.session.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == JobStatus.QUEUED)
                .values(
                    status=JobStatus.FAILED,
                    error=f"the job queue is unreachable: {error}"[:2000],
                    finished_at=utcnow(),
                )
            )
            db.session.commit()


class Lease:
    """A Redis key that lives while this process runs the job; renewed by a thread."""

    def __init__(self, app: Flask, job_id: int) -> None:
        self.client = connection(app)
        self.key = lease_key(app, job_id)
        self.seconds = max(1, int(app.config["HOCVU_JOB_LEASE_SECONDS"]))
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._renew, name="hocvu-lease", daemon=True)

    def _renew(self) -> None:
        while not self.stop.wait(self.seconds / 3):
            try:
                # SET, not EXPIRE: the key comes back even if Redis lost it (a restart).
                self.client.set(self.key, self.owner, ex=self.seconds)
            except redis.exceptions.RedisError as error:
                log.warning("lease %s not renewed: %s", self.key, error)

    def __enter__(self) -> Lease:
        self.client.set(self.key, self.owner, ex=self.seconds)
        self.thread.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop.set()
        self.thread.join()
        with contextlib.suppress(redis.exceptions.RedisError):  # it expires by itself
            self.client.delete(self.key)


def worker_app() -> Flask:
    """This worker process's app (Hocvu's jobs run in `hocvu worker`, not a plain `rq worker`,
    which would have no app to run them in)."""
    if _worker_app is None:
        raise RuntimeError("Hocvu's jobs run in `hocvu worker` processes, not in `rq worker`")
    return _worker_app


def execute(job_id: int) -> None:
    """The RQ job: run the Hocvu job `job_id` in this worker's app, under a lease."""
    app = worker_app()
    current = get_current_job()
    # On the last try a transient failure is recorded like any other: nobody will retry it.
    retries_left = bool(current and current.retries_left)
    with Lease(app, job_id):
        jobs.run_job(app, job_id, retry_transient=retries_left)


def requeue_abandoned(app: Flask) -> int:
    """Put the running jobs whose worker is gone (lease expired) back on the queue; fail
    those that have had HOCVU_JOB_MAX_ATTEMPTS runs. Returns how many were requeued."""
    seconds = max(1, int(app.config["HOCVU_JOB_LEASE_SECONDS"]))
    max_attempts = int(app.config["HOCVU_JOB_MAX_ATTEMPTS"])
    client = connection(app)
    requeued = 0
    with app.app_context():
        session = db.session
        # A run sets its lease before it claims the row, so a row claimed less than a lease
        # ago without one is still starting up; leave it for the next look.
        running = session.execute(
            select(Job.id, Job.attempts).where(
                Job.status == JobStatus.RUNNING,
                Job.started_at < utcnow() - timedelta(seconds=seconds),
            )
        ).all()
        session.rollback()
        if not running:
            return 0
        with client.pipeline(transaction=False) as pipe:
            for job_id, _ in running:
                pipe.exists(lease_key(app, job_id))
            alive = pipe.execute()
        for (job_id, attempts), has_lease in zip(running, alive, strict=True):
            if has_lease:
                continue
            gone = update(Job).where(
                Job.id == job_id, Job.status == JobStatus.RUNNING, Job.attempts == attempts
            )
            if attempts >= max_attempts:
                session.execute(
                    gone.values(
                        status=JobStatus.FAILED,
                        error=f"interrupted {attempts} times: the worker running it stopped",
                        finished_at=utcnow(),
                    )
                )
                session.commit()
                log.error("job %s failed: interrupted %s times", job_id, attempts)
                continue
            taken = session.execute(
                gone.values(status=JobStatus.QUEUED, error="the worker running it stopped")
            ).rowcount
            session.commit()
            if taken:
                log.warning("job %s: its worker stopped during run %s; requeued", job_id, attempts)
                app.extensions["hocvu_jobs"].submit(job_id)
                requeued += 1
    return requeued


class Reaper(threading.Thread):
    """Looks for abandoned jobs every HOCVU_JOB_LEASE_SECONDS while the worker runs."""

    def __init__(self, app: Flask) -> None:
        super().__init__(name="hocvu-reaper", daemon=True)
        self.app = app
        self.stop = threading.Event()

    def run(self) -> None:
        seconds = max(1, int(self.app.config["HOCVU_JOB_LEASE_SECONDS"]))
        while True:
            try:
                requeue_abandoned(self.app)
            except Exception:  # noqa: BLE001 - keep looking; the next pass may work
                log.exception("looking for abandoned jobs failed")
            if self.stop.wait(seconds):
                return


class WorkerNameTaken(Exception):
    """Another running worker has the name asked for."""


def _process_is_gone(pid: int) -> bool:
    if pid == os.getpid():  # a container restarted with the same pid: our own old record
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


def claim_name(worker: SimpleWorker) -> None:
    """Let a worker restarted under its old name (systemd's `hocvu-worker@1` after a crash)
    start: RQ keeps a dead worker's registration for its whole TTL (8 minutes) and refuses a
    new worker of that name, so `Restart=always` would fail until systemd gives up. A record
    of this host whose process is gone is marked dead; a live one is refused with
    WorkerNameTaken. A record of another host is left to RQ (it expires with its TTL)."""
    client = worker.connection
    host, pid, death = client.hmget(worker.key, "hostname", "pid", "death")
    if death or not pid or not host or host.decode() != socket.gethostname():
        return
    if not _process_is_gone(int(pid)):
        raise WorkerNameTaken(
            f"a worker named {worker.name!r} is already running on this machine "
            f"(process {int(pid)}); give each worker its own --name"
        )
    stale = SimpleWorker.find_by_key(worker.key, connection=client)
    if stale is not None:
        stale.register_death()
    log.warning("worker %s: the record of its stopped process %s was cleared", worker.name, pid)


def work(app: Flask, *, burst: bool = False, name: str | None = None) -> bool:
    """Run a worker on the app's queue until stopped (or, with `burst`, until it is empty)."""
    global _worker_app
    _worker_app = app
    worker = SimpleWorker(
        [queue(app)],
        connection=connection(app),
        name=name,
        # The job runs in this process (no fork, no new interpreter per job): the database
        # pool and the certificate signer stay warm. Run several workers for parallelism.
    )
    claim_name(worker)
    reaper = Reaper(app)
    reaper.start()
    try:
        return worker.work(burst=burst, with_scheduler=True, logging_level="INFO")
    finally:
        reaper.stop.set()

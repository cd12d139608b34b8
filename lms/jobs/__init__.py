"""Background work: the job runner and every job's body.

- `core`: the interface (`@task`, `enqueue`, `JobContext`), the Job row's life, the embedded
  thread runner;
- `queue`: the Redis queue (RQ) and `hocvu worker`;
- the bodies, each registering its tasks with `@task`: `imports` (accounts from a list),
  `exports` (learner lists), `reports` (completion figures, periodic reports), `certificates`
  (signing, issuing, the missing ones, ZIPs), `reminders` (deadline reminders and mail),
  `cohorts` (a batch's members: enrolling them, their due dates, a batch-wide issue date),
  `extensions` (extending the deadlines of a batch or of a large selection).

The core never imports a body or the queue: `init_app` picks the runner, and the application
factory imports the bodies (a registry filled by its entries, consulted by the layer below).
"""

from __future__ import annotations

from flask import Flask

from lms.jobs.core import (
    Job,
    JobContext,
    TransientError,
    can_resume,
    enqueue,
    fail_interrupted,
    import_task_modules,
    is_transient,
    resume,
    run_job,
    task,
    use_thread_runner,
)

__all__ = [
    "Job",
    "JobContext",
    "TransientError",
    "can_resume",
    "enqueue",
    "fail_interrupted",
    "init_app",
    "is_transient",
    "resume",
    "run_job",
    "task",
]


def init_app(app: Flask) -> None:
    """Attach the job runner: the Redis queue when HOCVU_REDIS_URL is set, else the embedded
    thread pool of the web process."""
    import_task_modules(app)
    if app.config.get("HOCVU_REDIS_URL"):
        from lms.jobs.queue import QueueRunner

        app.extensions["hocvu_jobs"] = QueueRunner(app)
        return
    use_thread_runner(app)

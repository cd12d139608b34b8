"""Tasks and hooks for the Redis queue tests, loaded by the test app and by the `hocvu worker`
subprocesses through HOCVU_JOB_MODULES.

HOCVU_TEST_STALL=import|certificates makes a worker stop in the middle of that job, at a point
where some of its work is written but not all committed, and write HOCVU_TEST_STALL_FILE so the
test knows it is time to kill the worker.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from sqlalchemy.exc import OperationalError

from lms import jobs
from lms.jobs import certificates as issuing
from lms.services import rosters


@jobs.task("test.flaky")
def flaky(ctx: jobs.JobContext, *, fail_times: int) -> dict:
    """Fails like a dropped database connection on its first `fail_times` runs."""
    ctx.progress(0, 1)
    if ctx.attempt <= fail_times:
        raise OperationalError("SELECT 1", {}, ConnectionError("server closed the connection"))
    return {"attempt": ctx.attempt}


@jobs.task("test.broken")
def broken(ctx: jobs.JobContext) -> dict:
    """A task's own error: the file is wrong, another try will not help."""
    raise ValueError("tệp hỏng ở dòng 2")


@jobs.task("test.replaced")
def replaced(ctx: jobs.JobContext) -> dict:
    """Meanwhile the job was given up on and claimed by another run (attempt 2)."""
    job = ctx.session.get(jobs.Job, ctx.job_id)
    job.attempts += 1
    ctx.session.commit()
    return {"stale": True}


def _stall() -> None:
    Path(os.environ["HOCVU_TEST_STALL_FILE"]).write_text("stalled", encoding="utf-8")
    time.sleep(120)  # until the test kills this worker


if os.environ.get("HOCVU_TEST_STALL") == "import":
    _commit_import = rosters.commit_import

    def _stalling_commit_import(*args, progress, **kwargs):
        def stall_after(done: int, total: int) -> None:
            progress(done, total)
            _stall()  # accounts inserted, transaction open

        return _commit_import(*args, progress=stall_after, **kwargs)

    rosters.commit_import = _stalling_commit_import

if os.environ.get("HOCVU_TEST_STALL") == "certificates":
    _issue_for = issuing.issue_for
    _calls = [0]

    def _stalling_issue_for(app, session, enrolment):
        certificate = _issue_for(app, session, enrolment)
        _calls[0] += 1
        if _calls[0] == 2:
            _stall()  # the first certificate committed, the second one written, not committed
        return certificate

    issuing.issue_for = _stalling_issue_for

"""The background-job interface: progress, results and failures, run in a thread."""

from __future__ import annotations

import time

import pytest

from lms import jobs
from lms.app.extensions import db
from lms.models import Job, JobStatus


@jobs.task("test.count")
def count_task(ctx: jobs.JobContext, *, upto: int) -> dict:
    for i in range(1, upto + 1):
        ctx.progress(i, upto, f"Đã xử lý {i}/{upto}")
    return {"counted": upto}


@jobs.task("test.fail")
def failing_task(ctx: jobs.JobContext) -> dict:
    ctx.progress(1, 3)
    raise ValueError("tệp hỏng ở dòng 2")


def _wait(app, job_id: int, timeout: float = 10.0) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.app_context():
            job = db.session.get(Job, job_id)
            if job.status in (JobStatus.DONE, JobStatus.FAILED):
                db.session.expunge(job)
                return job
        time.sleep(0.02)
    raise AssertionError("job did not finish")


def test_job_runs_in_a_thread_with_progress_and_result(app):
    with app.test_request_context():
        job_id = jobs.enqueue("test.count", upto=5).id
    job = _wait(app, job_id)
    assert job.status == JobStatus.DONE
    assert job.result == {"counted": 5}
    assert (job.done, job.total, job.percent) == (5, 5, 100)
    assert job.message == "Đã xử lý 5/5"
    assert job.started_at <= job.finished_at


def test_failure_is_recorded_not_raised(app):
    with app.test_request_context():
        job_id = jobs.enqueue("test.fail").id
    job = _wait(app, job_id)
    assert job.status == JobStatus.FAILED
    assert "tệp hỏng ở dòng 2" in job.error
    assert job.done == 1


def test_inline_mode_runs_before_returning(app):
    app.config["HOCVU_JOBS_INLINE"] = True
    with app.test_request_context():
        job = jobs.enqueue("test.count", upto=2)
        assert job.status == JobStatus.DONE


def test_unknown_task_is_refused(app):
    with app.test_request_context(), pytest.raises(KeyError):
        jobs.enqueue("test.nope")


def test_a_name_cannot_be_registered_twice():
    with pytest.raises(ValueError, match="registered twice"):
        jobs.task("test.count")(lambda ctx: None)


def test_restart_fails_running_jobs_and_resumes_queued_ones(app, session, client):
    running = Job(task="test.count", args={"upto": 1}, status=JobStatus.RUNNING)
    queued = Job(task="test.count", args={"upto": 3}, status=JobStatus.QUEUED)
    session.add_all([running, queued])
    session.commit()
    assert jobs.fail_interrupted(session) == 1
    session.commit()
    client.get("/login")  # the first request of the process resumes the queued jobs
    assert _wait(app, queued.id).result == {"counted": 3}
    failed = _wait(app, running.id)
    assert failed.status == JobStatus.FAILED and "interrupted" in failed.error


def test_a_job_runs_once_even_if_submitted_twice(app, session):
    job = Job(task="test.count", args={"upto": 2})
    session.add(job)
    session.commit()
    jobs.run_job(app, job.id)
    session.refresh(job)
    first_start = job.started_at
    jobs.run_job(app, job.id)
    session.refresh(job)
    assert job.started_at == first_start and job.status == JobStatus.DONE


def test_an_unknown_task_name_fails_the_job_instead_of_hanging(app, session):
    job = Job(task="test.removed", args={})
    session.add(job)
    session.commit()
    jobs.run_job(app, job.id)
    session.refresh(job)
    assert job.status == JobStatus.FAILED and "test.removed" in job.error


@jobs.task("test.resumable", resumable=True)
def resumable_task(ctx: jobs.JobContext) -> dict:
    return {"resumed": ctx.attempt}


def test_only_a_failed_job_of_a_resumable_task_is_queued_again(app, session):
    app.config["HOCVU_JOBS_INLINE"] = True
    failed = Job(task="test.resumable", args={}, status=JobStatus.FAILED, attempts=1)
    other = Job(task="test.fail", args={}, status=JobStatus.FAILED, attempts=1)
    done = Job(task="test.resumable", args={}, status=JobStatus.DONE, attempts=1)
    refused = Job(
        task="test.resumable",
        args={},
        status=JobStatus.FAILED,
        attempts=1,
        result={"message": "This batch no longer exists.", "params": {}},
    )
    session.add_all([failed, other, done, refused])
    session.commit()
    with app.test_request_context():
        for job in (other, done, refused):
            assert not jobs.resume(db.session.get(Job, job.id))
        assert jobs.resume(db.session.get(Job, failed.id))
    session.expire_all()
    assert (failed.status, failed.result) == (JobStatus.DONE, {"resumed": 2})
    assert (other.status, done.status) == (JobStatus.FAILED, JobStatus.DONE)

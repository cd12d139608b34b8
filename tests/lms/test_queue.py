"""The Redis job queue: jobs run by real `hocvu worker` processes, retried after transient
failures and after a worker is killed, never retried after a task's own error, and never
creating an account or a certificate twice.

Needs the machine's Redis (HOCVU_TEST_REDIS_URL, default redis://127.0.0.1:6379/13); each test
uses its own queue name. Skipped with a message when Redis is unreachable, unless
HOCVU_REQUIRE_REDIS=1.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
import warnings
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from rq import Queue
from sqlalchemy import func, select

from lms import jobs
from lms.app.extensions import db
from lms.app.storage import for_app as site_files
from lms.jobs import imports
from lms.models import Certificate, Job, JobStatus, User, utcnow

REDIS_URL = os.environ.get("HOCVU_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def redis_url() -> str:
    """The test Redis, or a loud skip (a failure with HOCVU_REQUIRE_REDIS=1)."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.RedisError as error:
        message = f"REDIS UNREACHABLE at {REDIS_URL} ({error}): the job queue tests did not run"
        if os.environ.get("HOCVU_REQUIRE_REDIS") == "1":
            pytest.fail(message)
        warnings.warn(message, stacklevel=1)
        pytest.skip(message)
    return REDIS_URL


@pytest.fixture
def queue_name(redis_url):
    """A queue of the test's own; its keys are removed afterwards."""
    name = f"hocvu-test-{uuid.uuid4().hex[:12]}"
    yield name
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"*{name}*"):
        client.delete(key)


@pytest.fixture
def app_config(redis_url, queue_name) -> dict:
    return {
        "HOCVU_REDIS_URL": redis_url,
        "HOCVU_JOB_QUEUE": queue_name,
        "HOCVU_JOB_RETRY_INTERVALS": [1, 1, 1],
        "HOCVU_JOB_LEASE_SECONDS": 1,
        "HOCVU_JOB_MODULES": ["tests.lms.queue_tasks"],
    }


@pytest.fixture
def workers(app, tmp_path, signing_key, queue_name):
    """Start `hocvu worker` processes on the test's database and queue; all are stopped at
    the end."""
    started: list[subprocess.Popen] = []

    def start(*args: str, **env_extra: str) -> subprocess.Popen:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "HOCVU_ENV": "testing",
            "HOCVU_SECRET_KEY": app.config["HOCVU_SECRET_KEY"],
            "HOCVU_DATABASE_URL": app.config["HOCVU_DATABASE_URL"],
            "HOCVU_INSTANCE_PATH": app.instance_path,
            "HOCVU_FILES_DIR": app.config["HOCVU_FILES_DIR"],
            "HOCVU_SIGNING_KEY": str(signing_key),
            "HOCVU_CERT_ORGANISATION": app.config["HOCVU_CERT_ORGANISATION"],
            "HOCVU_REDIS_URL": app.config["HOCVU_REDIS_URL"],
            "HOCVU_JOB_QUEUE": queue_name,
            "HOCVU_JOB_RETRY_INTERVALS": str(app.config["HOCVU_JOB_RETRY_INTERVALS"]),
            "HOCVU_JOB_LEASE_SECONDS": str(app.config["HOCVU_JOB_LEASE_SECONDS"]),
            "HOCVU_JOB_MODULES": '["tests.lms.queue_tasks"]',
            **env_extra,
        }
        log = (tmp_path / f"worker-{len(started)}.log").open("wb")
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "hocvu"), "worker", *args],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: RQ's scheduler goes with it
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in started:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        # The scheduler process of a killed worker may outlive it in the group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def kill(process: subprocess.Popen) -> None:
    """SIGKILL a worker and everything it started, as when a machine is lost."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def wait_for(app, job_id: int, statuses=(JobStatus.DONE, JobStatus.FAILED), timeout=30.0) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.app_context():
            job = db.session.get(Job, job_id)
            if job.status in statuses:
                db.session.expunge(job)
                return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} is still {job.status} ({job.error})")


def wait_file(path: Path, timeout=30.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def enqueue(app, name: str, **args) -> int:
    with app.test_request_context():
        return jobs.enqueue(name, **args).id


# --- a bulk import ----------------------------------------------------------------------------

ROSTER = "Họ và tên,Ngày sinh,Số điện thoại,Email,Đơn vị,Tên đăng nhập,Đợt học\n" + "".join(
    f"{name},{born},,,CDCS-HALAM,,Đợt 1\n"
    for name, born in [
        ("Nguyễn Văn An", "17/05/1990"),
        ("Trần Thị Bình", ""),
        ("Lê Văn Cường", ""),
        ("Phạm Thị Dung", ""),
        ("Nguyễn Văn An", "02/09/1985"),  # another man of that name: a numbered username
    ]
)


def _import_job(app, make, session) -> int:
    make.unit(code="CDCS-HALAM", name="CĐCS Công ty Than Hà Lầm")
    admin = make.site_admin(username="admin")
    make.commit()
    token = uuid.uuid4().hex
    site_files(app).write_file(imports.upload_key(token), ROSTER.encode("utf-8"))
    return enqueue(app, "users.import", token=token, filename="danh-sach.csv", actor_id=admin.id)


def _learners(session) -> list[str]:
    session.rollback()
    return sorted(session.scalars(select(User.username).where(User.username != "admin")))


def test_a_bulk_import_runs_in_a_worker(app, make, session, workers):
    job_id = _import_job(app, make, session)
    workers()
    job = wait_for(app, job_id)
    assert job.status == JobStatus.DONE, job.error
    assert job.result == {
        "created": 5,
        "updated": 0,
        "unchanged": 0,
        "skipped": 0,
        "units": 0,
        "batches": 1,  # the file's "Đợt học", new
        "enrolled": 0,  # it has no course yet
    }
    assert (job.done, job.total, job.attempts) == (5, 5, 1)
    assert len(_learners(session)) == 5


def test_a_killed_worker_s_import_is_retried_without_duplicate_accounts(
    app, make, session, workers, tmp_path
):
    job_id = _import_job(app, make, session)
    stalled = tmp_path / "stalled"
    first = workers(HOCVU_TEST_STALL="import", HOCVU_TEST_STALL_FILE=str(stalled))
    wait_file(stalled)  # the accounts are inserted, not committed
    kill(first)
    assert _learners(session) == []
    workers()  # a new worker finds the job abandoned and runs it again
    job = wait_for(app, job_id)
    assert job.status == JobStatus.DONE, job.error
    assert job.attempts == 2
    assert job.result["created"] == 5
    learners = _learners(session)
    assert len(learners) == 5 and len(set(learners)) == 5
    names = session.scalars(select(User.full_name).where(User.username != "admin")).all()
    assert sorted(names).count("Nguyễn Văn An") == 2


def test_an_import_committed_before_the_kill_is_not_imported_again(app, make, session):
    """A run killed after its commit but before the job was marked done: the next run sees
    the result committed with the accounts and does nothing."""
    job_id = _import_job(app, make, session)  # no worker: it stays queued
    jobs.run_job(app, job_id)
    assert len(_learners(session)) == 5
    job = session.get(Job, job_id)
    job.status, job.finished_at = JobStatus.QUEUED, None  # as if killed before finishing
    session.commit()
    jobs.run_job(app, job_id)
    session.rollback()
    job = session.get(Job, job_id)
    assert job.status == JobStatus.DONE and job.result["created"] == 5 and job.attempts == 2
    assert len(_learners(session)) == 5


# --- a certificate batch ----------------------------------------------------------------------


def _completed_without_certificates(app, make, session, count: int) -> None:
    version = make.course(app.config["HOCVU_FILES_DIR"])
    unit = make.unit(name="CĐCS Công ty Than Hà Lầm")
    for n in range(count):
        enrolment = make.enrol(make.learner(unit, full_name=f"Nguyễn Thị Số {n}"), version)
        enrolment.completed_at = utcnow() - timedelta(hours=1)
    make.commit()


def _certificates_per_enrolment(session) -> list[int]:
    session.rollback()
    return list(
        session.scalars(
            select(func.count()).select_from(Certificate).group_by(Certificate.enrolment_id)
        )
    )


def test_a_certificate_batch_runs_in_a_worker(app, make, session, workers):
    _completed_without_certificates(app, make, session, 3)
    job_id = enqueue(app, "certificates.issue")
    workers()
    job = wait_for(app, job_id)
    assert job.status == JobStatus.DONE, job.error
    assert job.result == {"count": 3} and (job.done, job.total) == (3, 3)
    assert _certificates_per_enrolment(session) == [1, 1, 1]


def test_a_killed_worker_s_certificate_batch_is_retried_without_duplicates(
    app, make, session, workers, tmp_path
):
    _completed_without_certificates(app, make, session, 4)
    job_id = enqueue(app, "certificates.issue")
    stalled = tmp_path / "stalled"
    first = workers(HOCVU_TEST_STALL="certificates", HOCVU_TEST_STALL_FILE=str(stalled))
    wait_file(stalled)  # one certificate committed, the second written but not committed
    kill(first)
    assert _certificates_per_enrolment(session) == [1]
    workers()
    job = wait_for(app, job_id)
    assert job.status == JobStatus.DONE, job.error
    assert job.attempts == 2
    assert job.result == {"count": 4}
    assert _certificates_per_enrolment(session) == [1, 1, 1, 1]


def test_the_database_refuses_a_second_certificate_of_the_same_edition(app, make, session):
    from sqlalchemy.exc import IntegrityError

    from lms.jobs import certificates as issuing

    _completed_without_certificates(app, make, session, 1)
    with app.app_context():
        assert issuing.issue_missing(app, db.session) == 1
        assert issuing.issue_missing(app, db.session) == 0
    first = session.scalars(select(Certificate)).one()
    session.add(
        Certificate(
            serial="AAAA-BBBB-CCCC",
            enrolment_id=first.enrolment_id,
            edition=first.edition,
            user_id=first.user_id,
            course_id=first.course_id,
            learner_name=first.learner_name,
            course_title=first.course_title,
            sha256="0" * 64,
            files_path="certificates/none.pdf",
        )
    )
    with pytest.raises(IntegrityError):
        session.commit()


# --- a worker's name ----------------------------------------------------------------------------


def registered(redis_url, name: str, process: subprocess.Popen, timeout=30.0) -> bool:
    """Whether RQ registers `process` as the live worker `name` within `timeout`."""
    client = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid, death = client.hmget(f"rq:worker:{name}", "pid", "death")
        if pid and int(pid) == process.pid and not death:
            return True
        time.sleep(0.1)
    return False


def test_a_worker_restarted_under_its_name_after_a_crash_starts(
    app, make, session, workers, redis_url, queue_name
):
    # systemd restarts hocvu-worker@1 with the same --name; RQ keeps the dead one's record.
    name = f"{queue_name}-1"
    first = workers("--name", name)
    assert registered(redis_url, name, first)
    kill(first)
    second = workers("--name", name)
    assert registered(redis_url, name, second)
    job_id = _import_job(app, make, session)
    assert wait_for(app, job_id).status == JobStatus.DONE
    assert second.poll() is None


def test_two_live_workers_cannot_share_a_name(app, workers, redis_url, queue_name, tmp_path):
    name = f"{queue_name}-1"
    first = workers("--name", name)
    assert registered(redis_url, name, first)
    second = workers("--name", name)
    assert second.wait(timeout=30) == 1
    log = (tmp_path / "worker-1.log").read_text()
    assert f"a worker named '{name}' is already running on this machine" in log
    assert "Traceback" not in log
    assert first.poll() is None and registered(redis_url, name, first, timeout=0.1)


# --- retries ----------------------------------------------------------------------------------


def test_a_transient_failure_is_retried(app, workers):
    job_id = enqueue(app, "test.flaky", fail_times=1)
    workers()
    job = wait_for(app, job_id)
    assert job.status == JobStatus.DONE, job.error
    assert job.result == {"attempt": 2} and job.attempts == 2


def test_a_transient_failure_fails_the_job_when_the_retries_are_used_up(app, workers):
    app.config["HOCVU_JOB_RETRY_INTERVALS"] = [0, 0]
    job_id = enqueue(app, "test.flaky", fail_times=99)
    workers()
    job = wait_for(app, job_id)
    assert job.status == JobStatus.FAILED
    assert job.attempts == 3 and "server closed the connection" in job.error


def test_a_domain_error_fails_the_job_once(app, workers, queue_name):
    job_id = enqueue(app, "test.broken")
    workers()
    job = wait_for(app, job_id)
    assert job.status == JobStatus.FAILED and job.attempts == 1
    assert "tệp hỏng ở dòng 2" in job.error
    # RQ saw the run succeed (the failure is the job's, recorded on its row): nothing to retry.
    rq_queue = Queue(queue_name, connection=redis.Redis.from_url(app.config["HOCVU_REDIS_URL"]))
    deadline = time.monotonic() + 5
    while rq_queue.finished_job_registry.count < 1:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert rq_queue.failed_job_registry.count == 0 and rq_queue.scheduled_job_registry.count == 0


# --- the pieces, without a worker -------------------------------------------------------------


def test_enqueue_puts_the_job_on_the_queue_not_in_a_thread(app, queue_name):
    job_id = enqueue(app, "test.flaky", fail_times=0)
    rq_queue = Queue(queue_name, connection=redis.Redis.from_url(app.config["HOCVU_REDIS_URL"]))
    assert rq_queue.count == 1
    assert rq_queue.jobs[0].args == (job_id,)
    time.sleep(0.2)
    with app.app_context():
        assert db.session.get(Job, job_id).status == JobStatus.QUEUED


def test_running_jobs_without_a_lease_are_requeued_then_failed(app, session, queue_name):
    from lms.jobs import queue

    old = utcnow() - timedelta(seconds=30)
    abandoned = Job(task="test.flaky", args={"fail_times": 0}, status=JobStatus.RUNNING)
    abandoned.attempts, abandoned.started_at = 1, old
    alive = Job(task="test.flaky", args={"fail_times": 0}, status=JobStatus.RUNNING)
    alive.attempts, alive.started_at = 1, old
    exhausted = Job(task="test.flaky", args={"fail_times": 0}, status=JobStatus.RUNNING)
    exhausted.attempts, exhausted.started_at = app.config["HOCVU_JOB_MAX_ATTEMPTS"], old
    session.add_all([abandoned, alive, exhausted])
    session.commit()
    client = redis.Redis.from_url(app.config["HOCVU_REDIS_URL"])
    client.set(queue.lease_key(app, alive.id), "elsewhere", ex=10)
    try:
        assert queue.requeue_abandoned(app) == 1
    finally:
        client.delete(queue.lease_key(app, alive.id))
        Queue(queue_name, connection=client).empty()
    session.rollback()
    assert session.get(Job, abandoned.id).status == JobStatus.QUEUED
    assert session.get(Job, alive.id).status == JobStatus.RUNNING
    failed = session.get(Job, exhausted.id)
    assert failed.status == JobStatus.FAILED and "interrupted" in failed.error


def test_init_leaves_running_jobs_to_the_queue(app, session, runner):
    running = Job(task="test.flaky", args={"fail_times": 0}, status=JobStatus.RUNNING)
    session.add(running)
    session.commit()
    result = runner.invoke(args=["init"])
    assert result.exit_code == 0, result.output
    assert "interrupted" not in result.output
    session.rollback()
    assert session.get(Job, running.id).status == JobStatus.RUNNING


def test_a_stale_run_cannot_overwrite_the_run_that_replaced_it(app, session):
    """A worker thought dead finishes after its job was requeued and claimed by another run:
    the row stays the newer run's."""
    job = Job(task="test.replaced", args={})
    session.add(job)
    session.commit()
    jobs.run_job(app, job.id)
    session.refresh(job)
    assert job.status == JobStatus.RUNNING and job.attempts == 2 and job.result is None

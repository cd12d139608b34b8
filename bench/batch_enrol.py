"""Benchmark: enrolling an existing batch of 40,000 learners in a second course.

Target (issue 19, "A real campaign from one spreadsheet"): linking a second course to a batch
of 40,000 learners enrols all of them, with due dates, in at most 30 s on SQLite and on
PostgreSQL on the 2-core machine, through the background job; the page itself answers at
once.

    .venv/bin/python bench/batch_enrol.py [--learners 40000] [--runs 3] [--database URL]
                                          [--extend]

With --extend, the batch's deadline in the first course is then extended by 3 days through
its job (no target: it is there to say how long the background work takes).

Without --database a SQLite file in a temporary folder is used. A PostgreSQL URL must name an
empty throw-away database (the migrations create the tables, the benchmark fills them).

Each run posts the batch's form with the second course ticked through Flask's test client (the
request saves the batch and enqueues the job on the embedded thread runner), then waits for the
job: the time reported runs from the POST to the job's row saying done. Between runs the second
course is unlinked and its enrolments deleted, so that each run enrols all 40,000 again.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET_S = 30
CHUNK = 5000


def _insert(session, model, rows: list[dict]) -> None:
    from sqlalchemy import insert

    for start in range(0, len(rows), CHUNK):
        session.execute(insert(model), rows[start : start + CHUNK])


def _second_course(session, storage):
    """The bundled course under another slug and title: a second course to link."""
    from courses.files import read_folder
    from lms.services import catalog
    from lms.setup.library import library_folders

    files = read_folder(library_folders()[0])
    toml = files["course.toml"].decode("utf-8")
    toml = toml.replace('slug = "', 'slug = "lan-hai-', 1)
    toml = toml.replace('title = "', 'title = "Lần hai: ', 1)
    files["course.toml"] = toml.encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return catalog.import_bundle(session, None, buffer.getvalue(), storage)


def generate(session, learners: int, now: datetime) -> dict:
    """A province -> 20 districts -> 400 grassroots unions; one batch at the province of
    `learners` accounts issued over a week, each enrolled in the first course."""
    from sqlalchemy import select

    from lms.models import Cohort, Course, Enrolment, OrgUnit, Role, RoleAssignment, User
    from lms.services import deadlines

    course = session.scalars(select(Course).order_by(Course.id)).first()
    version_id = course.current_version_id
    root = OrgUnit(code="QN", name="LĐLĐ tỉnh Quảng Ninh", path="", depth=0)
    session.add(root)
    session.flush()
    root.path = f"/{root.id}/"
    grassroots = []
    for d in range(20):
        district = OrgUnit(
            parent_id=root.id, code=f"D{d:02d}", name=f"LĐLĐ huyện {d + 1}", path="", depth=1
        )
        session.add(district)
        session.flush()
        district.path = f"{root.path}{district.id}/"
        for g in range(20):
            unit = OrgUnit(
                parent_id=district.id,
                code=f"G{d:02d}{g:02d}",
                name=f"CĐCS số {d + 1}.{g + 1}",
                path="",
                depth=2,
            )
            session.add(unit)
            session.flush()
            unit.path = f"{district.path}{unit.id}/"
            grassroots.append(unit.id)
    cohort = Cohort(name="Đợt 1 – tháng 12/2026", org_unit_id=root.id, courses=[course])
    session.add(cohort)
    session.flush()
    first_id = 1_000
    users, roles, enrolments = [], [], []
    for n in range(learners):
        uid = first_id + n
        issued = date(2026, 12, 1) + timedelta(days=n % 7)
        users.append(
            {
                "id": uid,
                "username": f"hv{n:06d}",
                "full_name": f"Nguyễn Văn Học Viên {n:06d}",
                "sort_name": f"hoc vien {n:06d}",
                "search_name": f"nguyen van hoc vien {n:06d}",
                "org_unit_id": grassroots[n % len(grassroots)],
                "issued_at": issued,
                "cohort_id": cohort.id,
                "password_hash": "x",
                "must_change_password": True,
                "auth_epoch": 0,
                "is_active": True,
                "created_at": now,
            }
        )
        roles.append({"user_id": uid, "role": Role.LEARNER.value, "created_at": now})
        enrolments.append(
            {
                "user_id": uid,
                "course_id": course.id,
                "version_id": version_id,
                "enrolled_at": now,
                "due_at": deadlines.due_after(issued, 10),
                "completed_late": False,
            }
        )
    _insert(session, User, users)
    _insert(session, RoleAssignment, roles)
    _insert(session, Enrolment, enrolments)
    return {"cohort": cohort.id, "root": root.id, "first": course.id}


def _wait(app, job_id: int) -> float:
    """Seconds until the job's row says done (it must not fail)."""
    from lms.app.extensions import db
    from lms.models import Job, JobStatus

    started = time.perf_counter()
    while True:
        with app.app_context():
            job = db.session.get(Job, job_id)
            if job.status in (JobStatus.DONE, JobStatus.FAILED):
                assert job.status == JobStatus.DONE, job.error
                return time.perf_counter() - started
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--learners", type=int, default=40_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database")
    parser.add_argument("--extend", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{tmp}/bench.sqlite3"
        from flask_migrate import upgrade
        from sqlalchemy import delete, func, select, text

        from lms import create_app
        from lms.app.extensions import db
        from lms.app.storage import LocalStorage
        from lms.models import (
            Enrolment,
            Role,
            RoleAssignment,
            User,
            utcnow,
        )
        from lms.models.accounts import cohort_course
        from lms.services.passwords import hash_password
        from lms.setup.library import install_library

        app = create_app(
            {
                "HOCVU_ENV": "testing",
                "HOCVU_SECRET_KEY": "bench",
                "HOCVU_DATABASE_URL": url,
                "HOCVU_INSTANCE_PATH": tmp,
                "HOCVU_JOBS_INLINE": False,  # the embedded runner: a thread of this process
                "HOCVU_SESSION_COOKIE_SECURE": False,
                "WTF_CSRF_ENABLED": False,
                # The test client's requests come to "localhost": packages live elsewhere.
                "HOCVU_CONTENT_ORIGIN": "http://content.localhost:5001",
            }
        )
        with app.app_context():
            upgrade()
            storage = LocalStorage(Path(tmp) / "files")
            install_library(db.session, storage)
            second = _second_course(db.session, storage).course_id
            started = time.perf_counter()
            ids = generate(db.session, args.learners, utcnow())
            admin = User(
                username="admin",
                full_name="Quản trị",
                password_hash=hash_password("bench-password"),
                sort_name="quan tri",
                search_name="quan tri",
                must_change_password=False,
                auth_epoch=0,
                is_active_account=True,
            )
            admin.roles = [RoleAssignment(role=Role.SITE_ADMIN)]
            db.session.add(admin)
            db.session.commit()
            with db.engine.connect() as conn:  # fresh statistics, as autovacuum would make
                conn.execute(text("ANALYZE"))
                conn.commit()
            print(f"generated {args.learners} learners in {time.perf_counter() - started:.0f} s")
        client = app.test_client()
        response = client.post("/login", data={"username": "admin", "password": "bench-password"})
        assert response.status_code == 302 and response.location == "/", response.location
        client.get("/admin/")  # the embedded runner starts with the first request
        backend = url.split(":", 1)[0].split("+")[0]
        form = {
            "name": "Đợt 1 – tháng 12/2026",
            "org_unit_id": str(ids["root"]),
            "course_ids": [str(ids["first"]), str(second)],
            "deadline_days": "",
        }
        times, requests = [], []
        for run in range(args.runs):
            with app.app_context():  # back to one course, no one enrolled in the second
                db.session.execute(delete(Enrolment).where(Enrolment.course_id == second))
                db.session.execute(
                    delete(cohort_course).where(
                        cohort_course.c.cohort_id == ids["cohort"],
                        cohort_course.c.course_id == second,
                    )
                )
                db.session.commit()
            started = time.perf_counter()
            response = client.post(f"/admin/cohorts/{ids['cohort']}/edit", data=form)
            answered = time.perf_counter() - started
            assert response.status_code == 302 and "/admin/jobs/" in response.location, (
                response.status_code,
                response.location,
            )
            seconds = _wait(app, int(response.location.rsplit("/", 1)[1])) + answered
            with app.app_context():
                enrolled = db.session.scalar(
                    select(func.count(Enrolment.id)).where(Enrolment.course_id == second)
                )
            assert enrolled == args.learners, enrolled
            times.append(seconds)
            requests.append(answered)
            print(
                f"{backend}: run {run + 1}: request {answered * 1000:.0f} ms, "
                f"{enrolled} enrolled by the job in {seconds:.1f} s"
            )
        median = statistics.median(times)
        verdict = "ok" if median <= TARGET_S else "TOO SLOW"
        print(
            f"{backend}: enrolling {args.learners} learners in a second course: median "
            f"{median:.1f} s over {args.runs} runs (target {TARGET_S} s) {verdict}; "
            f"the request itself: median {statistics.median(requests) * 1000:.0f} ms"
        )
        if args.extend:
            started = time.perf_counter()
            response = client.post(
                f"/admin/extend?cohort={ids['cohort']}",
                data={"course_id": str(ids["first"]), "days": "3", "reason": "Nghỉ lễ"},
            )
            assert "/admin/jobs/" in (response.location or ""), response.status_code
            seconds = _wait(app, int(response.location.rsplit("/", 1)[1]))
            print(f"{backend}: extending {args.learners} learners by 3 days: {seconds:.1f} s")
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()

"""Benchmark: the admin's reports and learner lists on 122,000 learners in 2,000 units and
10 batches.

Targets (issue 24, "Twice the learners per core"): the dashboard, the learner lists and the
other admin list pages each answer in at most 100 ms of server time (median of several runs)
on SQLite and on PostgreSQL, for a site admin and for the unit admin of one district (40
districts, about 3,000 learners each); the XLSX export of all learners finishes in under 30 s.

    .venv/bin/python bench/reports.py [--learners 122000] [--units 2000] [--runs 7]
                                      [--database URL] [--reuse] [--profile] [--no-export]

Without --database a SQLite file in a temporary folder is used. A PostgreSQL URL (or a
sqlite:/// URL of a file) must name an empty throw-away database: the migrations create the
tables, the benchmark fills them. `--reuse` measures again a database an earlier run filled
(after applying any new migration); `--profile` prints where each page's time goes.
Requests go through Flask's test client in this process, so the time measured is the server's
(routing, queries, template), without a network. Each page is measured twice: as the app
leaves the garbage collector, then after gc.freeze() (what a server's start-up would freeze:
the collector then no longer walks the objects made at start-up). Beside the wall time the CPU
time is printed, this process's and, on PostgreSQL, that of the database server's processes
(read from /proc, so the server must run on this machine): on a machine shared with other work
it varies much less than the wall time, which then includes waiting for a core.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET_PAGE_MS = 100
TARGET_EXPORT_S = 30
CHUNK = 5000
PASSWORD = "bench-password"


def _insert(session, model, rows: list[dict]) -> None:
    from sqlalchemy import insert

    for start in range(0, len(rows), CHUNK):
        session.execute(insert(model), rows[start : start + CHUNK])


def generate(session, learners: int, unit_count: int, now: datetime) -> dict:
    """Units (federation -> 40 districts -> grassroots), 10 batches, learners with enrolments,
    attempts and certificates in realistic proportions; returns ids used by the timings."""
    from sqlalchemy import select

    from lms.models import (
        Activity,
        Certificate,
        Cohort,
        Course,
        Enrolment,
        OrgUnit,
        Role,
        RoleAssignment,
        TestAttempt,
        User,
    )

    rng = random.Random(9)
    course = session.scalars(select(Course)).first()
    version_id = course.current_version_id
    test_activity = session.scalar(
        select(Activity.id).where(Activity.version_id == version_id, Activity.kind == "test")
    )
    root = OrgUnit(code="QN", name="LĐLĐ tỉnh Quảng Ninh", path="", depth=0)
    session.add(root)
    session.flush()
    root.path = f"/{root.id}/"
    districts = []
    for d in range(40):
        unit = OrgUnit(
            parent_id=root.id,
            code=f"D{d:02d}",
            name=f"LĐLĐ huyện số {d + 1:02d}",
            path="",
            depth=1,
        )
        session.add(unit)
        districts.append(unit)
    session.flush()
    for unit in districts:
        unit.path = f"{root.path}{unit.id}/"
    session.flush()
    grassroots = []
    next_id = max(u.id for u in districts) + 1
    rows = []
    for n in range(unit_count - 1 - len(districts)):
        district = districts[n % len(districts)]
        rows.append(
            {
                "id": next_id,
                "parent_id": district.id,
                "code": f"G{n:04d}",
                "name": f"CĐCS Công ty số {n + 1:04d}",
                "kind": "grassroots",
                "path": f"{district.path}{next_id}/",
                "depth": 2,
                "created_at": now,
            }
        )
        grassroots.append(next_id)
        next_id += 1
    _insert(session, OrgUnit, rows)
    cohorts = []
    for b in range(10):
        cohort = Cohort(name=f"Đợt {b + 1}", org_unit_id=root.id, courses=[course])
        session.add(cohort)
        cohorts.append(cohort)
    session.flush()
    users, roles, enrolments, attempts, certificates = [], [], [], [], []
    base_user = 1_000
    for n in range(learners):
        uid = base_user + n
        unit_id = grassroots[n % len(grassroots)]
        batch = n * 10 // learners
        issued = date(2026, 1, 5) + timedelta(days=batch * 30 + rng.randint(0, 5))
        due = datetime(issued.year, issued.month, issued.day, 17, tzinfo=UTC) + timedelta(days=10)
        logged = rng.random() < 0.85
        users.append(
            {
                "id": uid,
                "username": f"hv{n:06d}",
                "full_name": f"Nguyễn Văn Học Viên {n:06d}",
                "sort_name": f"hoc vien {n:06d}",
                "search_name": f"nguyen van hoc vien {n:06d}",
                "org_unit_id": unit_id,
                "issued_at": issued,
                "cohort_id": cohorts[batch].id,
                "password_hash": "x",
                "must_change_password": not logged,
                "auth_epoch": 0,
                "is_active": True,
                "last_login_at": due - timedelta(days=5) if logged else None,
                "created_at": now,
            }
        )
        roles.append({"user_id": uid, "role": Role.LEARNER.value, "created_at": now})
        started = logged and rng.random() < 0.9
        completed = started and rng.random() < 0.75
        done_at = due - timedelta(hours=rng.randint(1, 200)) if completed else None
        enrolments.append(
            {
                "id": uid,
                "user_id": uid,
                "course_id": course.id,
                "version_id": version_id,
                "enrolled_at": now,
                "started_at": due - timedelta(days=8) if started else None,
                "due_at": due,
                "completed_at": done_at,
                "completed_late": False,
            }
        )
        if completed:
            attempts.append(
                {
                    "enrolment_id": uid,
                    "activity_id": test_activity,
                    "number": 1,
                    "status": "graded",
                    "started_at": done_at,
                    "draw": [],
                    "answers": {},
                    "score": 8.5,
                    "passed": True,
                }
            )
            certificates.append(
                {
                    "serial": f"B{n:07d}",
                    "enrolment_id": uid,
                    "user_id": uid,
                    "course_id": course.id,
                    "learner_name": users[-1]["full_name"],
                    "course_title": course.title,
                    "score": 8.5,
                    "issued_at": done_at,
                    "sha256": f"{n:064d}",
                    "files_path": f"certificates/B/{n}.pdf",
                }
            )
    _insert(session, User, users)
    _insert(session, RoleAssignment, roles)
    _insert(session, Enrolment, enrolments)
    _insert(session, TestAttempt, attempts)
    _insert(session, Certificate, certificates)
    return {
        "course": course.id,
        "root": root.id,
        "district": districts[0].id,
        "grassroots": grassroots[0],
    }


class DatabaseCPU:
    """The CPU time PostgreSQL's server processes spent for the benchmark's database (read from
    /proc: the server must run on this machine), leaving out the connection that asks."""

    def __init__(self, url: str) -> None:
        from sqlalchemy import create_engine, text

        self.engine = create_engine(url) if url.startswith("postgresql") else None
        if self.engine is not None:
            self.connection = self.engine.connect()
            self.connection.execution_options(isolation_level="AUTOCOMMIT")
            self.query = text(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )

    def seconds(self) -> float:
        if self.engine is None:
            return 0.0
        total = 0
        for (pid,) in self.connection.execute(self.query):
            try:  # the nanoseconds the process has run on a CPU
                total += int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
            except OSError:
                continue
        return total / 1e9


def _median_ms(client, url: str, runs: int, database: DatabaseCPU) -> tuple[float, float]:
    """Median wall time and median CPU time (this process and the database server), in ms,
    of `runs` GETs."""
    wall, cpu = [], []
    for _ in range(runs):
        start_db = database.seconds()
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu + database.seconds() - start_db) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(wall), statistics.median(cpu)


def _profile(client, url: str, runs: int) -> None:
    """Print where the time of `runs` requests of `url` goes (cProfile, top functions)."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(runs):
        client.get(url)
    profiler.disable()
    stats = pstats.Stats(profiler).strip_dirs()
    stats.sort_stats("cumulative").print_stats(35)
    stats.sort_stats("tottime").print_stats(20)


def _prepare(app, tmp: str, learners: int, units: int, reuse: bool) -> dict:
    """Migrate, fill the database (unless `reuse` finds it filled) and add the two admins: a
    site admin and a unit admin of the first district."""
    from flask_migrate import upgrade
    from sqlalchemy import func, select, text

    from lms.app.extensions import db
    from lms.app.storage import LocalStorage
    from lms.models import Course, OrgUnit, Role, RoleAssignment, User, utcnow
    from lms.services.passwords import hash_password
    from lms.setup.library import install_library

    with app.app_context():
        upgrade()
        if reuse and db.session.scalar(select(User.id).where(User.username == "admin")):
            district = db.session.scalars(
                select(OrgUnit).where(OrgUnit.depth == 1).order_by(OrgUnit.id)
            ).first()
            grassroots = db.session.scalar(
                select(func.min(OrgUnit.id)).where(OrgUnit.parent_id == district.id)
            )
            course = db.session.scalar(select(func.min(Course.id)))
            print("reusing the database already filled")
            return {"course": course, "district": district.id, "grassroots": grassroots}
        install_library(db.session, LocalStorage(Path(tmp) / "files"))
        started = time.perf_counter()
        ids = generate(db.session, learners, units, utcnow())
        for username, role, scope_unit in (
            ("admin", Role.SITE_ADMIN, None),
            ("district-admin", Role.UNIT_ADMIN, db.session.get(OrgUnit, ids["district"])),
        ):
            admin = User(
                username=username,
                full_name="Quản trị",
                password_hash=hash_password(PASSWORD),
                sort_name="quan tri",
                search_name="quan tri",
                must_change_password=False,
                auth_epoch=0,
                is_active_account=True,
            )
            admin.roles = [RoleAssignment(role=role, scope_unit=scope_unit)]
            db.session.add(admin)
        db.session.commit()
        with db.engine.connect() as conn:  # fresh statistics, as autovacuum would make
            conn.execute(text("ANALYZE"))
            conn.commit()
        print(f"generated {learners} learners in {time.perf_counter() - started:.0f} s")
        return ids


def _client(app, username: str):
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    assert not response.headers["Location"].startswith("http"), response.headers["Location"]
    return client


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--learners", type=int, default=122_000)
    parser.add_argument("--units", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--database")
    parser.add_argument(
        "--reuse", action="store_true", help="keep the data of an earlier run of --database"
    )
    parser.add_argument("--profile", action="store_true", help="print a profile of each page")
    parser.add_argument("--no-export", action="store_true", help="skip the XLSX export")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{tmp}/bench.sqlite3"
        from lms import create_app
        from lms.app.extensions import db
        from lms.models import Job, JobStatus

        app = create_app(
            {
                "HOCVU_ENV": "testing",
                "HOCVU_SECRET_KEY": "bench",
                "HOCVU_DATABASE_URL": url,
                "HOCVU_INSTANCE_PATH": tmp,
                "HOCVU_JOBS_INLINE": True,
                "HOCVU_SESSION_COOKIE_SECURE": False,
                # The test client's requests come to "localhost": the content origin is
                # another name (on the default one the site redirects to its base URL).
                "HOCVU_CONTENT_ORIGIN": "http://content.localhost:5001",
                "WTF_CSRF_ENABLED": False,
            }
        )
        frozen_at_start = gc.get_freeze_count()
        ids = _prepare(app, tmp, args.learners, args.units, args.reuse)
        clients = {
            "site admin": _client(app, "admin"),
            "district admin": _client(app, "district-admin"),
        }
        course = ids["course"]
        district = ids["district"]
        pages = [
            ("site admin", "dashboard (all units)", f"/admin/reports/?course={course}"),
            (
                "site admin",
                "dashboard (district)",
                f"/admin/reports/?course={course}&unit={district}",
            ),
            ("site admin", "learner list (all)", "/admin/users"),
            (
                "site admin",
                "learner list (grassroots unit)",
                f"/admin/users?unit={ids['grassroots']}&course={course}",
            ),
            (
                "site admin",
                "learner list (district, overdue)",
                f"/admin/users?unit={district}&course={course}&progress=overdue",
            ),
            ("district admin", "dashboard (own district)", f"/admin/reports/?course={course}"),
            ("district admin", "learner list (own district)", "/admin/users"),
            (
                "district admin",
                "learner list (own district, overdue)",
                f"/admin/users?course={course}&progress=overdue",
            ),
            ("site admin", "certificates", "/admin/certificates"),
        ]
        backend = url.split(":", 1)[0].split("+")[0]
        database = DatabaseCPU(url)
        results: dict[tuple[str, str], list[tuple[float, float]]] = {}
        # Measured without, then with gc.freeze() (the app factory may already freeze what
        # start-up made; freezing here again moves this process's objects out of the
        # collector's reach as a server's start-up would).
        for frozen in (False, True):
            if frozen:
                gc.collect()
                gc.freeze()
            for who, name, page in pages:
                client = clients[who]
                client.get(page)  # warm up
                if args.profile and not frozen:
                    print(f"--- profile: {who}: {name} ({page})")
                    _profile(client, page, args.runs)
                results.setdefault((who, name), []).append(
                    _median_ms(client, page, args.runs, database)
                )
        print(
            f"objects frozen by the app's start-up: {frozen_at_start}"
            + ("" if frozen_at_start else " (the app factory does not call gc.freeze())")
        )
        for (who, name), (plain, frozen) in results.items():
            verdict = "ok" if max(plain[0], frozen[0]) <= TARGET_PAGE_MS else "TOO SLOW"
            print(
                f"{backend}: {who}: {name}: median {plain[0]:.0f} ms (CPU {plain[1]:.0f}), "
                f"after gc.freeze() {frozen[0]:.0f} ms (CPU {frozen[1]:.0f}); "
                f"target {TARGET_PAGE_MS} ms: {verdict}"
            )
        if args.no_export:
            return
        client = clients["site admin"]
        started = time.perf_counter()
        response = client.post(f"/admin/users/export?course={course}&format=xlsx")
        assert response.status_code == 302, response.status_code
        seconds = time.perf_counter() - started
        with app.app_context():
            job = db.session.scalars(db.select(Job).order_by(Job.id.desc())).first()
            assert job.status == JobStatus.DONE, job.error
            count = job.result["count"]
        verdict = "ok" if seconds < TARGET_EXPORT_S else "TOO SLOW"
        print(
            f"{backend}: XLSX export of {count} learners: {seconds:.1f} s "
            f"(target {TARGET_EXPORT_S}) {verdict}"
        )


if __name__ == "__main__":
    main()

"""Load test: a batch of learners on a working-day peak, against the deployment of
docs/deployment.md on this machine (nginx with deploy/nginx-hocvu.conf, gunicorn with
gunicorn.conf.py, PostgreSQL, Redis and `hocvu worker`), driven by Locust
(bench/locustfile.py).

    .venv/bin/pip install -e '.[load]'       # Locust and psutil
    .venv/bin/python bench/load_test.py [--batches 4500,9000] [--duration 300]
        [--peak-share 0.31] [--database postgresql+psycopg://postgres@127.0.0.1:5432/hocvu_load]

For each batch size B it creates a new database (dropped and created again: name a throw-away
one), loads the bundled course with a SCORM lesson added before the final test (the probe
package of the tests, mastery score 80), and imports the B learners with the code of `hocvu
import-users` into one batch of a federation's grassroots unions. At the peak a share of the
batch is online at once (PEAK_SHARE below, 31 %; `--peak-share 1` puts everyone online at
once): they start at random points of the course (some have never logged in; the others
have done the first k activities and are in the middle of a visit); the rest of the batch is
away and comes online, one learner each time a visit ends, so the number online stays the
same. Each simulated learner does what a learner's browser does (bench/locustfile.py), with
real reading and answering times; two admins follow the batch in the reports and export the
learner list (a job for the Redis worker) every few minutes.

Everything is on loopback. The first `--warmup` seconds (the first requests of those online,
spread over it) are not counted; then `--duration` seconds are measured: requests/s,
p50/p95/p99 per endpoint, failures (any unexpected answer), and the CPU each component used
(cores busy on average). A batch is "held" when the p99 over all requests stays under 500 ms
with no failure. `--time-scale 0.02` runs every pause 50 times faster (lessons then have no
minimum reading time) for a quick check of the script, not for figures.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scorm_commits import _config, _free_port, login_sessions  # noqa: E402

COURSE = ROOT / "courses" / "library" / "chuyen-doi-so-co-ban"
PROBE = ROOT / "tests" / "scorm" / "fixtures" / "probe12"
PASSWORD = "Hoc-vu-so-2026!"  # a returning learner's own password, and the admins'
# What the simulated browsers send as User-Agent: a cheap Android phone's Chrome. A returning
# learner's cookie carries the "_id" a login from it makes (Flask-Login's session protection),
# as a real one does; without it every request would change the session and send it again.
USER_AGENT = (
    "Mozilla/5.0 (Linux; Android 12; SM-A135F) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)
READ_SECONDS = (245, 330)  # a lesson asks for at least 4 minutes
VISIT_SECONDS = (600, 1500)
ANSWER_SECONDS = (10, 25)
SCORM_COMMITS = 40  # a 20-minute SCORM lesson, one commit every 30 s
HELD_P99_MS = 500
# The working-day peak: on the busiest day every learner of the batch does the whole course
# (about 75 minutes: nine lessons of 4-5.5 minutes, the 20-minute SCORM lesson, the test,
# logging in) within the 8-hour working day, and the busiest hour has twice the day's
# average. So at the peak 75 / 480 x 2 = 31 % of the batch is online at once.
PEAK_SHARE = 75 / 480 * 2

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng"]
MIDDLE = ["Văn", "Thị", "Minh", "Thu", "Quốc", "Ngọc", "Hữu", "Thanh"]
GIVEN = ["An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hùng", "Lan", "Mai", "Nam", "Phúc", "Yến"]


def _course(tmp: Path, scale: float) -> Path:
    """The bundled course with the SCORM lesson as module 10 (before the final test)."""
    from tests.factories import zip_bytes

    folder = tmp / "course"
    shutil.copytree(COURSE, folder)
    package = zip_bytes(
        {p.relative_to(PROBE).as_posix(): p.read_bytes() for p in PROBE.rglob("*") if p.is_file()}
    )
    (folder / "modules" / "10-nhan-dien-lua-dao.zip").write_bytes(package)
    if scale < 1:
        for page in (folder / "modules").glob("*.md"):
            text = page.read_text(encoding="utf-8")
            page.write_text(text.replace("min_minutes: 4\n", ""), encoding="utf-8")
    return folder


def _answer_key(version) -> dict[str, object]:
    """What the simulated learners answer when right: per question id, the right choices'
    texts, "true"/"false", the first accepted short answer, or each pair's right side."""
    from lms.services import assessment

    test = next(a for a in version.activities if a.kind == "test")
    key: dict[str, object] = {}
    for qid, question in assessment.question_map(test).items():
        if question.type in ("single", "multiple"):
            key[qid] = [c.text for c in question.choices if c.correct]
        elif question.type == "truefalse":
            key[qid] = "true" if question.answer else "false"
        elif question.type == "short":
            key[qid] = question.answers[0]
        elif question.type == "matching":
            key[qid] = [right for _left, right in question.pairs]
    return key


def prepare(url: str, tmp: Path, batch: int, online_count: int, scale: float) -> Path:
    """A new database with the course, the units, one batch of `batch` learners and the
    starting points of the `online_count` online at the start; returns the pool file for the
    Locust learners."""
    from flask import session
    from flask_migrate import upgrade
    from sqlalchemy import insert, select, update

    from lms import create_app
    from lms.app.extensions import db
    from lms.app.storage import LocalStorage
    from lms.jobs import certificates as issuing
    from lms.models import (
        ActivityProgress,
        Course,
        Enrolment,
        ProgressStatus,
        Role,
        User,
        utcnow,
    )
    from lms.models.accounts import UnitKind
    from lms.services import (
        accounts,
        catalog,
        clock,
        cohorts,
        organisation,
        passwords,
        rosters,
        units,
    )
    from lms.web.common import LOGIN_KEY

    app = create_app(_config(url, tmp))
    rng = random.Random(2026)
    with app.app_context():
        upgrade()
        issuing.ensure_development_key(app)  # a trial key: signing costs the same as a real one
        course_folder = _course(tmp, scale)
        files = LocalStorage(tmp / "files")
        version = catalog.import_bundle(db.session, None, course_folder, files)
        admins = []
        for name in ("admin1", "admin2"):
            user, _ = accounts.create_user(
                db.session,
                None,
                username=name,
                data=accounts.AccountData(full_name=f"Quản trị {name[-1]}", org_unit=None),
                roles=[(Role.SITE_ADMIN, None)],
                password=PASSWORD,
            )
            user.must_change_password = False
            admins.append(user)
        actor = admins[0]
        # A site names the issuer of its certificates before issuing any (the organisation
        # page); without it every certificate job refuses and no learner gets one.
        organisation.save(
            db.session,
            actor,
            files,
            organisation.Profile("", "", ""),
            organisation="LIÊN ĐOÀN LAO ĐỘNG TỈNH BÌNH ĐỊNH",
            place="Bình Định",
            signer_title="CHỦ TỊCH",
            signer_name="Nguyễn Văn An",
            serial_prefix="LDLD",
        )
        root = units.create_unit(
            db.session,
            actor,
            parent=None,
            code="LDLD",
            name="LĐLĐ tỉnh Bình Định",
            kind=UnitKind.FEDERATION,
        )
        grassroots = []
        for d in range(5):
            district = units.create_unit(
                db.session,
                actor,
                parent=root,
                code=f"H{d + 1}",
                name=f"LĐLĐ huyện {d + 1}",
                kind=UnitKind.DISTRICT,
            )
            for g in range(8):
                grassroots.append(
                    units.create_unit(
                        db.session,
                        actor,
                        parent=district,
                        code=f"H{d + 1}C{g + 1}",
                        name=f"Công đoàn cơ sở {d + 1}.{g + 1}",
                        kind=UnitKind.GRASSROOTS,
                    )
                )
        course = db.session.get(Course, version.course_id)
        cohorts.save_cohort(
            db.session, actor, None, name="Đợt 1", unit=root, courses=[course], deadline_days=None
        )
        db.session.commit()

        total = batch
        rows = ["Họ và tên,Số điện thoại,Đơn vị,Đợt học"]
        for n in range(total):
            name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
            rows.append(f"{name},09{n:08d},{grassroots[n % len(grassroots)].code},Đợt 1")
        table = rosters.read_csv("\n".join(rows).encode())
        plan = rosters.plan_import(db.session, actor, table)
        for row in plan.errors[:3]:
            print(f"line {row.line}: {row.errors}")
        started = time.perf_counter()
        result = rosters.commit_import(
            db.session,
            actor,
            plan,
            initial_key=passwords.initial_password_key(app.config["SECRET_KEY"]),
            today=clock.today(app.config["HOCVU_TIMEZONE"]),
        )
        db.session.commit()
        print(f"imported {result.created} learners in {time.perf_counter() - started:.1f} s")
        credentials = {c.username: c.password for c in result.credentials}

        # Starting points: the first `batch` are online, each having done the first k of the
        # course's activities (k = 0: never logged in yet); the rest have not started.
        activities = [a for a in version.activities if a.kind != "test"]
        users = db.session.execute(
            select(User.id, User.username, User.auth_epoch, Enrolment.id)
            .join(Enrolment, Enrolment.user_id == User.id)
            .where(User.username.in_(list(credentials)))
            .order_by(User.id)
        ).all()
        rng.shuffle(users)
        own_hash = passwords.hash_password(PASSWORD)  # one Argon2id hash, each learner's password
        now = utcnow()
        progress_rows, returning = [], []
        online, away = [], []
        serializer = app.session_interface.get_signing_serializer(app)
        # Through nginx, from loopback (gunicorn trusts its X-Forwarded-For).
        browser = {"REMOTE_ADDR": "127.0.0.1", "HTTP_USER_AGENT": USER_AGENT}
        login_keys = login_sessions(db.session, [u[0] for u in users[:online_count]])
        for index, (user_id, username, epoch, enrolment_id) in enumerate(users):
            learner = {"username": username, "password": credentials[username]}
            done = rng.randint(0, len(activities)) if index < online_count else 0
            if done:
                returning.append(user_id)
                learner["password"] = PASSWORD
                with app.test_request_context(environ_base=browser):
                    session["_user_id"] = f"{user_id}:{epoch}"
                    session[LOGIN_KEY] = login_keys[user_id]
                    session["_fresh"] = True
                    session["_id"] = app.login_manager._session_identifier_generator()
                    session.permanent = True
                    learner["cookie"] = serializer.dumps(dict(session))
                progress_rows += [
                    {
                        "enrolment_id": enrolment_id,
                        "activity_id": a.id,
                        "status": ProgressStatus.DONE,
                        "first_opened_at": now,
                        "completed_at": now,
                        "data": {},
                    }
                    for a in activities[:done]
                ]
            (online if index < online_count else away).append(learner)
        for start in range(0, len(progress_rows), 5000):
            db.session.execute(insert(ActivityProgress), progress_rows[start : start + 5000])
        for start in range(0, len(returning), 5000):
            chunk = returning[start : start + 5000]
            db.session.execute(
                update(User)
                .where(User.id.in_(chunk))
                .values(password_hash=own_hash, must_change_password=False)
            )
            db.session.execute(
                update(Enrolment).where(Enrolment.user_id.in_(chunk)).values(started_at=now)
            )
        db.session.commit()
        pool = {
            "slug": course.slug,
            "answer_key": _answer_key(version),
            "new_password": PASSWORD,
            "admin_password": PASSWORD,
            "user_agent": USER_AGENT,
            "admins": ["admin1", "admin2"],
            "read_seconds": READ_SECONDS if scale >= 1 else (1, 2),
            "visit_seconds": VISIT_SECONDS,
            "answer_seconds": ANSWER_SECONDS,
            "scorm_commits": SCORM_COMMITS,
            "online": online,
            "away": away,
        }
    path = tmp / "pool.json"
    path.write_text(json.dumps(pool, ensure_ascii=False))
    return path


def _wait_for_port(port: int, what: str, process: subprocess.Popen, seconds: float = 60) -> None:
    import socket

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{what} stopped at start (exit {process.returncode})")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"{what} did not start")


class Stack:
    """nginx, gunicorn (gunicorn.conf.py), `hocvu worker` processes: started, then stopped."""

    def __init__(self, env: dict[str, str], tmp: Path, workers: int, job_workers: int, nginx: bool):
        self.processes: dict[str, list[subprocess.Popen]] = {}
        bin_dir = Path(sys.executable).parent
        gunicorn_port = _free_port()
        # The learners reach the site at 127.0.0.1 and its content origin at localhost, on one
        # port (nginx's, or gunicorn's without it): two host names, as in production.
        self.port = _free_port() if nginx else gunicorn_port
        env = {
            **env,
            "HOCVU_BASE_URL": f"http://127.0.0.1:{self.port}",
            "HOCVU_CONTENT_ORIGIN": f"http://localhost:{self.port}",
            "GUNICORN_BIND": f"127.0.0.1:{gunicorn_port}",
            "GUNICORN_WORKERS": str(workers),
            "GUNICORN_LOGLEVEL": "warning",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp / "metrics"),
            "HOCVU_ACCESS_LOG": "false",
        }
        if nginx:
            env |= {"HOCVU_TRUST_PROXY_HOPS": "1", "HOCVU_ACCEL_REDIRECT_PREFIX": "/_hocvu_files"}
        gunicorn = subprocess.Popen(
            [str(bin_dir / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stderr=open(tmp / "gunicorn.log", "w"),  # noqa: SIM115
        )
        self.processes["gunicorn"] = [gunicorn]
        _wait_for_port(gunicorn_port, "gunicorn", gunicorn)
        self.processes["hocvu worker"] = [
            subprocess.Popen(
                [str(bin_dir / "hocvu"), "worker", "--name", f"load-{n}"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=open(tmp / f"worker-{n}.log", "w"),  # noqa: SIM115
            )
            for n in range(job_workers)
        ]
        if nginx:
            import lms
            from tests.deploy import nginx_config, start_nginx

            conf = nginx_config(
                tmp,
                port=self.port,
                upstream_port=gunicorn_port,
                files_dir=tmp / "files",
                static_dir=Path(lms.__file__).parent / "static",
                worker_processes="auto",
                worker_connections=50_000,
            )
            self.processes["nginx"] = [start_nginx(conf, self.port)]

    def stop(self) -> None:
        for group in reversed(list(self.processes.values())):
            for process in group:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
        for group in self.processes.values():
            for process in group:
                try:
                    process.wait(40)
                except subprocess.TimeoutExpired:
                    process.kill()


def _cpu_seconds(roots) -> float:
    """CPU time of processes and their descendants, ended children included."""
    import psutil

    total = 0.0
    seen = set()
    for root in roots:
        try:
            times = root.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
            seen.add(root.pid)
            for child in root.children(recursive=True):
                if child.pid not in seen:
                    seen.add(child.pid)
                    times = child.cpu_times()
                    total += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return total


def _components(stack: Stack, locust: subprocess.Popen) -> dict[str, list]:
    import psutil

    found = {
        name: [psutil.Process(p.pid) for p in group] for name, group in stack.processes.items()
    }
    found["PostgreSQL"] = [
        p
        for p in psutil.process_iter(["name", "ppid"])
        if p.info["name"] in ("postgres", "postmaster")
        and psutil.Process(p.info["ppid"]).name() not in ("postgres", "postmaster")
    ]
    found["Redis"] = [p for p in psutil.process_iter(["name"]) if p.info["name"] == "redis-server"]
    found["Locust (the learners)"] = [psutil.Process(locust.pid)]
    return found


def online_count(args, batch: int) -> int:
    return max(1, round(batch * args.peak_share))


def run_batch(args, batch: int, url: str) -> dict:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    # A new database for each batch.
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
    with tempfile.TemporaryDirectory(prefix="hocvu-load-") as name:
        tmp = Path(name)
        started = time.perf_counter()
        pool = prepare(url, tmp, batch, online_count(args, batch), args.time_scale)
        print(f"batch {batch}: prepared in {time.perf_counter() - started:.0f} s")
        env = {
            **os.environ,
            **_config(url, tmp),
            "HOCVU_REDIS_URL": args.redis,
        }
        stack = Stack(env, tmp, args.workers, args.job_workers, not args.no_nginx)
        try:
            return _measure(args, batch, stack, tmp, pool, env)
        finally:
            stack.stop()
            if args.keep:
                kept = Path(args.keep) / str(batch)
                kept.mkdir(parents=True, exist_ok=True)
                for item in tmp.iterdir():
                    if item.suffix in (".csv", ".log", ".out"):
                        shutil.copy(item, kept / item.name)


def _measure(args, batch: int, stack: Stack, tmp: Path, pool: Path, env: dict) -> dict:
    import psutil

    host = f"http://127.0.0.1:{stack.port}"
    warmup = int(args.warmup)
    locust = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "locust"),
            "-f",
            str(ROOT / "bench" / "locustfile.py"),
            "--headless",
            "--users",
            str(online_count(args, batch) + 2),
            "--spawn-rate",
            str(max(100, online_count(args, batch) // 10)),
            "--run-time",
            f"{warmup + args.duration}s",
            "--stop-timeout",
            "5",
            "--host",
            host,
            "--csv",
            str(tmp / "locust"),
            "--only-summary",
            "--loglevel",
            "WARNING",
        ],
        env={
            **env,
            "HOCVU_LOAD_POOL": str(pool),
            "HOCVU_LOAD_TIME_SCALE": str(args.time_scale),
            "HOCVU_LOAD_WARMUP": str(warmup),
        },
        stdout=open(tmp / "locust.out", "w"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
    )
    time.sleep(2)
    components = _components(stack, locust)
    time.sleep(max(0, warmup - 2))
    before = {name: _cpu_seconds(group) for name, group in components.items()}
    machine_before = psutil.cpu_times()
    window_start = time.monotonic()
    # The window ends when Locust stops; the CPU is read just before, every second.
    after = before
    while locust.poll() is None:
        time.sleep(1)
        if time.monotonic() - window_start < args.duration:
            after = {name: _cpu_seconds(group) for name, group in components.items()}
            machine_after = psutil.cpu_times()
            elapsed = time.monotonic() - window_start
    output = (tmp / "locust.out").read_text()
    stats = list(csv.DictReader(open(tmp / "locust_stats.csv", encoding="utf-8")))  # noqa: SIM115
    failures = list(csv.DictReader(open(tmp / "locust_failures.csv", encoding="utf-8")))  # noqa: SIM115
    exceptions = list(csv.DictReader(open(tmp / "locust_exceptions.csv", encoding="utf-8")))  # noqa: SIM115

    def busy(times) -> float:
        return sum(times) - times.idle - times.iowait

    machine = (busy(machine_after) - busy(machine_before)) / elapsed
    cpu = {name: (after[name] - before[name]) / elapsed for name in components}
    for line in output.splitlines():
        if "finished the course" in line or "Traceback" in line or "Error" in line:
            print("  locust:", line)
    return {
        "batch": batch,
        "online": online_count(args, batch),
        "stats": stats,
        "failures": failures,
        "exceptions": exceptions,
        "cpu": cpu,
        "machine": machine,
    }


def _row(stat: dict) -> str:
    return (
        f"| {stat['Name']} | {int(stat['Request Count']):,} | {float(stat['Requests/s']):.1f} | "
        f"{stat['50%']} | {stat['95%']} | {stat['99%']} | {stat['Failure Count']} |"
    )


def report(result: dict) -> bool:
    """Print the tables of one batch; True when the batch was held."""
    total = next(s for s in result["stats"] if s["Name"] == "Aggregated")
    errors = int(total["Failure Count"]) + sum(int(e["Count"]) for e in result["exceptions"])
    held = errors == 0 and float(total["99%"]) < HELD_P99_MS
    print(f"\n### Batch of {result['batch']:,} learners, {result['online']:,} online at once\n")
    print("| endpoint | requests | per second | p50 ms | p95 ms | p99 ms | failures |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for stat in sorted(result["stats"], key=lambda s: -int(s["Request Count"])):
        if stat["Name"] != "Aggregated":
            print(_row(stat))
    print(_row({**total, "Name": "**all**"}))
    print("\n| component | CPU (cores busy on average) |\n| --- | ---: |")
    for name, cores in result["cpu"].items():
        print(f"| {name} | {cores:.2f} |")
    print(f"| the whole machine (2 cores) | {result['machine']:.2f} |")
    for failure in result["failures"]:
        print(f"failure x{failure['Occurrences']}: {failure['Name']}: {failure['Error']}")
    for exception in result["exceptions"]:
        print(f"exception x{exception['Count']}: {exception['Message']}")
    print(f"\nheld (no failure, p99 < {HELD_P99_MS} ms): {'yes' if held else 'no'}")
    return held


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database", default="postgresql+psycopg://postgres@127.0.0.1:5432/hocvu_load"
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--batches", default="4500")
    parser.add_argument("--duration", type=int, default=300, help="measured seconds")
    parser.add_argument("--warmup", type=int, default=240, help="seconds not measured")
    parser.add_argument("--workers", type=int, default=5, help="gunicorn workers")
    parser.add_argument("--job-workers", type=int, default=1)
    parser.add_argument(
        "--peak-share",
        type=float,
        default=PEAK_SHARE,
        help=f"share of the batch online at once (default {PEAK_SHARE:.2f}; 1 = everyone)",
    )
    parser.add_argument("--time-scale", type=float, default=1.0)
    parser.add_argument("--no-nginx", action="store_true")
    parser.add_argument("--keep", help="copy Locust's CSV files and the logs into this folder")
    args = parser.parse_args()
    if not args.database.startswith("postgresql"):
        sys.exit("the load test runs on PostgreSQL (--database postgresql+psycopg://...)")
    from tests.deploy import NGINX

    if not args.no_nginx and NGINX is None:
        sys.exit("nginx is missing: apt-get install nginx-light (or --no-nginx)")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 200_000), hard))
    held = []
    for batch in (int(b) for b in args.batches.split(",")):
        if report(run_batch(args, batch, args.database)):
            held.append(batch)
    print(f"\nlargest batch held: {max(held):,}" if held else "\nno batch held")


if __name__ == "__main__":
    main()

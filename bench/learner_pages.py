"""Benchmark: server CPU per request of the learner pages, against a bare Flask app.

Target (issue 24, "Twice the learners per core"): every learner page (home, course, lesson,
final-test page) and the final-test autosave costs at most 2x the server CPU of its bare
Flask baseline of the same shape, medians of interleaved runs.

    /work/main/.venv/bin/python bench/learner_pages.py [--database URL] [--learners 32]
        [--duration 5] [--runs 5] [--workers 2] [--profile PAGE]

Run it from the repository root. It needs gunicorn (pip) and wrk (apt-get install wrk).
Without --database a SQLite file in a temporary folder is used; a PostgreSQL URL must name a
throw-away database (it is migrated and filled).

The database holds the bundled course with `--learners` learners, each mid-course: every
lesson done, the course not completed, an attempt at the final test open with half of its
questions answered. Each learner has a live login (its session cookie and CSRF token).

Both applications run under gunicorn with the same explicit settings (`--config` names a
file written here, so ./gunicorn.conf.py's settings are not read: sync workers, none
replaced; only its post_worker_init hook is taken, for both apps: Hocvu's templates compiled,
then gc.freeze()), and wrk sends the same requests to both, rotating through the learners'
cookies:

- home `GET /`, course `GET /courses/<slug>`, lesson `GET /courses/<slug>/<key>` (a lesson
  already done), final-test page `GET /courses/<slug>/test/1`, and the autosave
  `POST /courses/<slug>/test/1/save` (the page's form: CSRF token and ten answers).

The bare baseline (bare_app below) answers the same paths as a minimal Flask app would: it
reads the same signed session cookie, loads the user and the page's row with one SQL query
each, and renders a Jinja layout and page whose output is Hocvu's page for that learner (the
same bytes, captured before the runs); its autosave parses the form and writes the answers
with one UPDATE.

Measured: the CPU time (user + system, from /proc) of the gunicorn workers divided by the
requests wrk completed in the run. Runs are interleaved (each run measures every page on
both apps, one after the other) and the medians are printed with the ratio to the baseline
beside each figure and the target (2.0x). `--profile home` (or course, lesson, test, save)
instead runs that page in this process under cProfile and prints where the time goes, and
the SQL statements one request issues.

Last run (2026-12-04, SQLite, 2 workers, 32 learners, 5 runs of 5 s, on the 2-core machine
shared with other work, load average 7-10; medians of server CPU ms per request, the bare
baseline beside, ratio to it; target <= 2.0x):

    page     before (d21907e)          after
    home     7.27 / 0.92  7.9x     4.01 / 0.91  4.4x
    course   8.13 / 0.95  8.6x     3.62 / 0.95  3.8x
    lesson   6.98 / 0.97  7.2x     3.66 / 0.97  3.8x
    test    10.71 / 0.98 10.9x     4.35 / 0.97  4.5x
    save     4.95 / 1.04  4.8x     2.94 / 1.00  2.9x

Then (2026-12-04, same settings, 3 runs of 5 s, main at 6a2c8ab and this branch run one after
the other on a machine that grew quieter during the second, load average 5 -> 0.1):

    page     main (6a2c8ab)            after
    home     4.12 / 0.85  4.9x     3.47 / 0.89  3.9x
    course   3.58 / 0.89  4.0x     3.22 / 0.88  3.7x
    lesson   3.46 / 0.93  3.7x     3.08 / 0.92  3.4x
    test     4.05 / 0.94  4.3x     3.26 / 0.94  3.5x
    save     2.65 / 0.95  2.8x     2.59 / 0.94  2.8x

(home: the Data Saver and notice forms written from plain values; lesson and test: their
forms' CSRF field without a WTForms form; test: its questions written from fragments kept per
question, choice order and language; course and save did not change, so their difference is
the noise, about 10 %.)

Last runs (2026-12-05, same settings, 3 runs of 5 s each, main at 34217c9 and this branch
(h/pages3) run one right after the other, branch first, on the shared machine in a quiet
spell, load average 1.5-1.9; main's runs used this file too, whose cookies carry the "_id"
a login writes):

    page     main (34217c9)            after
    home     3.66 / 0.82  4.5x     2.87 / 0.79  3.6x
    course   3.58 / 0.83  4.3x     2.70 / 0.81  3.3x
    lesson   3.41 / 0.84  4.1x     2.51 / 0.83  3.0x
    test     3.76 / 0.88  4.3x     2.75 / 0.85  3.2x
    save     2.54 / 0.91  2.8x     2.21 / 0.87  2.6x

(the session cookie signed again only when changed or 5 minutes old; the templates' url_for
and csrf_token keeping what they made per process; _() bound to the request's catalog per
render; the login's account made from its query's plain row; one query each for a course's
steps with their statuses, a lesson with its progress, an attempt with its test and the
version's test; every question kind but cloze written from kept fragments.) In busier
spells of the same day (load average 5-10) each figure moved by up to a whole 1x (main's
home page 3.8x-5.7x in one set of runs): compare only runs made together. Still not met.
In process a logged-in request that does nothing costs about 0.75 ms against 0.32 for the
bare app reading its cookie: the login query with its account and roles about 0.2 ms, the
request hooks (content origin, body limit, access log, security headers, gzip check, offline
key) about 0.1-0.15 ms; each ORM statement of a page about 0.05-0.1 ms against a few tens of
microseconds for the bare app's plain queries; the layout about 0.1 ms. A process-wide cache
of checked logins (no login query) was not made: a revoked login, a changed password or a
deactivated account would go on working on the other workers for the cache's lifetime.

Then (2026-12-05, h/pages4: the pages' own queries and templates; same settings, 3 runs of
5 s, main at 876ca38 run right after this branch, load average 1-2):

    page     main (876ca38)            after
    home     3.29 / 0.80  4.1x     1.85 / 0.79  2.3x
    course   2.84 / 0.82  3.5x     1.93 / 0.82  2.4x
    lesson   2.51 / 0.84  3.0x     2.21 / 0.83  2.7x
    test     2.70 / 0.87  3.1x     2.09 / 0.86  2.4x
    save     2.43 / 0.90  2.7x     2.13 / 0.90  2.4x

(what a page only shows read as columns by Core statements, not ORM objects: the home's and
the course page's enrolments, every page's steps; whether the rare parts exist (notices,
certificates, a class to check in to, a graded attempt) asked in one query and each loaded
only then; a lesson's enrolment, lesson and progress in one query, and the final-test
page's enrolment, attempt and test; the autosave reads only the attempt with its test; the
test page's questions written in one pass in Python. Statements, the login's included: home
8 -> 4, course 5 -> 3, lesson 4 -> 3, test 3 -> 2, save 4 -> 3.)

Last runs (2026-12-05, main with h/pages4 merged and the fixed costs cut (below), same
settings, 3 runs of 5 s, nothing else running, load average 1-2):

    page     hocvu / bare  ratio    (h/pages4 merged, before the last three changes)
    home     1.75 / 0.82  2.14x    1.72 / 0.80  2.15x
    course   1.91 / 0.83  2.30x    1.79 / 0.83  2.15x
    lesson   2.14 / 0.84  2.55x    2.23 / 0.84  2.65x
    test     1.98 / 0.88  2.24x    1.98 / 0.88  2.25x
    save     1.71 / 0.90  1.89x    1.99 / 0.89  2.23x

(every page: the layout's head, header and footer made once per process for each kind of
page, lms/web/layout.py; a signed CSRF token's check kept per process, lms/app/csrf.py; the
security headers in one pass; the cookie's serializer made only for an unchecked cookie;
the access line's fields looked up once. Last three: the autosave's UPDATE built once on the
session's connection, an open attempt's page from one query of three objects, the home's
Data Saver labels from the kept texts. Course's 1.79 -> 1.91 is the noise of runs an hour
apart.) Met for the autosave only. Left, per logged-in request in one process: the login
query and its account and role objects about 0.25 ms, the ORM session's start and end
about 0.08 ms, the hooks about 0.15 ms; the lesson page's own query still makes five ORM
objects (it records the opening) and decodes the lesson's JSON.

Then (2026-12-05, h/pages5: the learner pages' own work), measured in process, not with wrk:
this file's data (32 learners), each request through Flask's test client, CPU us per request
(time.process_time), 70b4f16 and the branch each in a process of its own, side by side,
medians of 25 interleaved pairs of 100 requests (12 on PostgreSQL), the machine quiet:

    page     SQLite: 70b4f16 -> after (difference)    PostgreSQL: 70b4f16 -> after
    home      1520 -> 1381   (-141)                   2285 -> 1982   (-302)
    course    1664 -> 1384   (-281)                   2333 -> 2004   (-349)
    lesson    2018 -> 1422   (-595)                   2700 -> 2042   (-641)
    test      1814 -> 1480   (-334)                   2388 -> 1999   (-401)
    save      1555 -> 1540   (-16, unchanged)         2238 -> 2174   (-67, noise)

(a lesson opened before and an open attempt still taking answers read as columns, without
ORM objects, and the lesson without a commit; a lesson's content decoded once per process;
templates read the environment's globals without a ChainMap (every render and every
`{% from ... import %}` cost 15-20 us, lms/web/templating.py); the home's flags on its
enrolments' rows (4 -> 3 statements); parts the same for every learner kept per process:
the course page's offline section, the deadline, the status labels, the Data Saver choices
(kept_macro), the lessons' links, titles and minutes; the course's lessons and a lesson's
self-check written in Python in one pass (lms/web/fragments.py); the layout filled in one
pass; dates formatted once per day.) The pages' HTML is the same (dumped for four learners
on both databases and compared). A short wrk run of both, 2 runs of 3 s each, not for final
figures, on a machine busier than the quiet runs above (the bare app 0.94-1.03 ms):
70b4f16 home 1.97x, course 2.01x, lesson 2.32x, test 2.04x, save 1.82x; after 1.83x, 1.76x,
1.74x, 1.75x, 1.85x. Left in process, per page: each Core statement about 40-55 us, of
which SQLAlchemy's part (binding, its compiled cache's key hashed and compared, the result)
is 20-40 us against 12-20 us of the driver's own; the template's runtime about 1-2 us a
`{{ call() }}`.

Last runs (2026-12-05, main with h/pages5 and h/driver merged (the login's query on the
driver's cursor, lms/app/driver.py) and the shared hooks cut again (the request read once
per hook, Vary added in one look, Flask-Login's session identifier kept); same settings,
3 runs of 5 s, nothing else running, load average 0.7 at the start):

    page     hocvu / bare  ratio    target
    home     1.53 / 0.90  1.70x    <= 2.0x (met)
    course   1.51 / 0.90  1.68x    <= 2.0x (met)
    lesson   1.50 / 0.91  1.65x    <= 2.0x (met)
    test     1.53 / 0.95  1.61x    <= 2.0x (met)
    save     1.66 / 0.96  1.74x    <= 2.0x (met)

Every learner page and the autosave at most 2x: issue 24's target for the pages is met.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scorm_commits import _config, _free_port, login_sessions  # noqa: E402

COURSE = ROOT / "courses" / "library" / "chuyen-doi-so-co-ban"
PAGES = ("home", "course", "lesson", "test", "save")
TARGET = 2.0

# One wrk script for every page: each request takes the next learner's cookie (and token).
LUA = r"""
local lines = {}
for line in io.lines("%(creds)s") do
  local cookie, token, body = line:match("^(%%S+) (%%S+) (%%S*)$")
  table.insert(lines, {cookie = cookie, token = token, body = body})
end
local counter = 0
function request()
  counter = counter + 1
  local l = lines[(counter %% #lines) + 1]
  local headers = {["Cookie"] = "session=" .. l.cookie}
  if "%(method)s" == "POST" then
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    headers["Accept"] = "application/json"
    return wrk.format("POST", "%(path)s", headers, l.body)
  end
  return wrk.format("GET", "%(path)s", headers)
end
"""

# Explicit gunicorn settings for both applications (so that ./gunicorn.conf.py is not read).
GUNICORN_CONF = """\
worker_class = "sync"
workers = {workers}
bind = "127.0.0.1:{port}"
loglevel = "warning"
accesslog = None
errorlog = "-"
timeout = 60
keepalive = 5
max_requests = 0
preload_app = False

# The deployment's worker start-up (templates compiled, then gc.freeze()) for both apps.
import runpy

post_worker_init = runpy.run_path({conf!r})["post_worker_init"]
"""


def prepare(url: str, tmp: Path, learners: int) -> dict:
    """A migrated database with the bundled course and `learners` learners mid-course, each
    with an open final-test attempt; returns what the runs need (paths, cookies, pages)."""
    import random

    from flask import session
    from flask_migrate import upgrade
    from flask_wtf.csrf import generate_csrf
    from sqlalchemy import insert, select

    from lms import create_app
    from lms.app.extensions import db, login_manager
    from lms.app.storage import LocalStorage
    from lms.models import ActivityProgress, Course, ProgressStatus, utcnow
    from lms.services import assessment, catalog
    from lms.web.common import LOGIN_KEY
    from tests.factories import Factories

    app = create_app(_config(url, tmp))
    with app.app_context():
        upgrade()
        version = catalog.import_bundle(db.session, None, COURSE, LocalStorage(tmp / "files"))
        course = db.session.get(Course, version.course_id)
        make = Factories(db.session)
        unit = make.unit(name="Công đoàn cơ sở Trường Tiểu học Nhơn Bình")
        users = [
            make.learner(unit, username=f"hv{n:03d}", full_name=f"Nguyễn Thị Học Viên {n}")
            for n in range(learners)
        ]
        lessons = [a for a in version.activities if a.kind != "test"]
        test = next(a for a in version.activities if a.kind == "test")
        now = utcnow()
        rng = random.Random(24)
        attempts = {}
        for user in users:
            enrolment = catalog.enrol(db.session, user, course)
            enrolment.started_at = now
            db.session.execute(
                insert(ActivityProgress),
                [
                    {
                        "enrolment_id": enrolment.id,
                        "activity_id": a.id,
                        "status": ProgressStatus.DONE,
                        "first_opened_at": now,
                        "completed_at": now,
                        "data": {},
                    }
                    for a in lessons
                ],
            )
            db.session.flush()
            attempt = assessment.start(db.session, enrolment, test, rng=rng)
            attempts[user.id] = attempt
        db.session.commit()
        questions = assessment.question_map(test)
        answers = {}
        for user in users:
            # The page's form with ten answers (what an autosave sends), and two more saved.
            attempt = attempts[user.id]
            form, saved = {}, {}
            for n, item in enumerate(attempt.draw[:12]):
                kind = questions[item["id"]].type
                value = {"single": 0, "multiple": [0], "truefalse": True}.get(kind)
                if value is None:
                    continue
                if n < 10:
                    form[f"q-{item['id']}"] = "true" if value is True else "0"
                else:
                    saved[item["id"]] = value
            answers[user.id] = form
            assessment.save_answers(db.session, attempt, saved)
        db.session.commit()
        login_keys = login_sessions(db.session, [u.id for u in users])
        db.session.commit()
        ids = {u.id: (u.get_id(), attempts[u.id].id, attempts[u.id].enrolment_id) for u in users}
        lesson_key = lessons[len(lessons) // 2].key
        slug = course.slug
        user_ids = [u.id for u in users]
        # Check that the rows are what the pages expect.
        assert db.session.scalar(select(ActivityProgress.id).limit(1)) is not None

    paths = {
        "home": ("GET", "/"),
        "course": ("GET", f"/courses/{slug}"),
        "lesson": ("GET", f"/courses/{slug}/{lesson_key}"),
        "test": ("GET", f"/courses/{slug}/test/1"),
        "save": ("POST", f"/courses/{slug}/test/1/save"),
    }
    serializer = app.session_interface.get_signing_serializer(app)
    lines, cookies = [], []
    for user_id in user_ids:
        login_id, attempt_id, enrolment_id = ids[user_id]
        # A fresh request context each time: the CSRF token is cached in `g`. The session a
        # login makes, its "_id" (Flask-Login's session protection) that of wrk's requests:
        # from 127.0.0.1 without a User-Agent (the profile's test client sends none either).
        with app.test_request_context(environ_base={"REMOTE_ADDR": "127.0.0.1"}):
            session["_user_id"] = login_id
            session[LOGIN_KEY] = login_keys[user_id]
            session["_fresh"] = True
            session["_id"] = login_manager._session_identifier_generator()
            session.permanent = True
            token = generate_csrf()
            cookie = serializer.dumps(dict(session))
        body = urlencode({"csrf_token": token, **answers[user_id]})
        lines.append(f"{cookie} {token} {body}")
        cookies.append((cookie, token, body, attempt_id, enrolment_id))
    creds = tmp / "creds.txt"
    creds.write_text("\n".join(lines) + "\n")
    return {"creds": creds, "paths": paths, "cookies": cookies, "app": app}


def capture_templates(app, prepared: dict, folder: Path) -> None:
    """Write the bare app's templates: for each page a layout and a page that extends it,
    whose output is Hocvu's page for the first learner (the same size and shape)."""
    folder.mkdir(parents=True, exist_ok=True)
    cookie, _token, _body, *_ = prepared["cookies"][0]
    client = app.test_client()
    client.set_cookie("session", cookie, domain="localhost")
    for page in PAGES:
        method, path = prepared["paths"][page]
        if method != "GET":
            continue
        html = client.get(path).get_data(as_text=True)
        start, end = html.index("<main"), html.index("</main>") + len("</main>")
        head, main, tail = html[:start], html[start:end], html[end:]
        (folder / f"{page}_layout.html").write_text(
            _raw(head) + "{% block content %}{% endblock %}" + _raw(tail), encoding="utf-8"
        )
        (folder / f"{page}.html").write_text(
            '{% extends "'
            + page
            + '_layout.html" %}{% block content %}'
            + _raw(main)
            + "{% endblock %}",
            encoding="utf-8",
        )


def _raw(text: str) -> str:
    return "{% raw %}" + text + "{% endraw %}"


def bare_app():
    """The baseline: the same paths in a minimal Flask app (session cookie, one query for the
    user and one for the page's row, a Jinja page of the same output; the autosave parses the
    form and writes the answers)."""
    import json

    from flask import Flask, abort, jsonify, render_template, request, session
    from sqlalchemy import create_engine, text

    import lms  # noqa: F401 - the same SQLite settings as Hocvu (WAL, synchronous=NORMAL)

    app = Flask(__name__, template_folder=os.environ["BENCH_TEMPLATES"])
    app.config["SECRET_KEY"] = os.environ["HOCVU_SECRET_KEY"]
    engine = create_engine(os.environ["HOCVU_DATABASE_URL"])

    def user():
        user_id = int(session["_user_id"].split(":")[0])
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT id, full_name, locale FROM user_account WHERE id = :id"),
                {"id": user_id},
            ).one_or_none()
        if row is None:
            abort(403)
        return row

    def page(name: str, query: str, params: dict):
        who = user()
        with engine.connect() as conn:
            row = conn.execute(text(query), {**params, "user_id": who.id}).first()
        if row is None:
            abort(404)
        return render_template(f"{name}.html", user=who, row=row)

    @app.get("/")
    def home():
        return page("home", "SELECT * FROM enrolment WHERE user_id = :user_id", {})

    @app.get("/courses/<slug>")
    def course(slug):
        return page(
            "course",
            "SELECT e.* FROM enrolment e JOIN course c ON c.id = e.course_id "
            "WHERE c.slug = :slug AND e.user_id = :user_id",
            {"slug": slug},
        )

    @app.get("/courses/<slug>/<key>")
    def lesson(slug, key):
        return page(
            "lesson",
            "SELECT a.* FROM activity a JOIN enrolment e ON e.version_id = a.version_id "
            "WHERE a.key = :key AND e.user_id = :user_id",
            {"key": key},
        )

    @app.get("/courses/<slug>/test/<int:number>")
    def test(slug, number):
        return page(
            "test",
            "SELECT t.* FROM test_attempt t JOIN enrolment e ON e.id = t.enrolment_id "
            "WHERE e.user_id = :user_id AND t.number = :number",
            {"number": number},
        )

    @app.post("/courses/<slug>/test/<int:number>/save")
    def save(slug, number):
        if request.form.get("csrf_token") is None:
            abort(400)
        who = user()
        answers = {k[2:]: v for k, v in request.form.items() if k.startswith("q-")}
        with engine.begin() as conn:
            saved = conn.execute(
                text(
                    "UPDATE test_attempt SET answers = :answers WHERE number = :number AND "
                    "enrolment_id IN (SELECT id FROM enrolment WHERE user_id = :user_id)"
                ),
                {"answers": json.dumps(answers), "number": number, "user_id": who.id},
            ).rowcount
        return jsonify(saved=saved, seconds_left=1200)

    return app


class Server:
    """gunicorn serving `app` with the explicit settings above on a free loopback port."""

    def __init__(self, app: str, env: dict[str, str], workers: int, tmp: Path, name: str):
        self.port = _free_port()
        conf = tmp / f"gunicorn-{name}.py"
        conf.write_text(
            GUNICORN_CONF.format(
                workers=workers, port=self.port, conf=str(ROOT / "gunicorn.conf.py")
            )
        )
        gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
        self.process = subprocess.Popen(
            [gunicorn, "--config", str(conf), "--pythonpath", str(ROOT), app],
            env={**os.environ, **env},
            cwd=tmp,  # no ./gunicorn.conf.py here either
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("gunicorn did not start")
        # Every worker up before the first run.
        while len(self.workers()) < workers and time.monotonic() < deadline:
            time.sleep(0.1)

    def workers(self) -> list[int]:
        try:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
            return [int(p) for p in children.read_text().split()]
        except OSError:
            return []

    def cpu_seconds(self) -> float:
        """User + system CPU time of the workers so far."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self.workers():
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / ticks

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(20)


def run_wrk(server: Server, script: Path, seconds: int) -> tuple[float, int]:
    """Load the server for `seconds`; CPU ms per request and the requests completed."""
    workers_before = server.workers()
    before = server.cpu_seconds()
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            "-c4",
            f"-d{seconds}s",
            "-s",
            str(script),
            f"http://127.0.0.1:{server.port}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    after = server.cpu_seconds()
    if server.workers() != workers_before:
        sys.exit("a worker was replaced during a run: its CPU time is lost")
    requests = int(re.search(r"(\d+) requests in", out)[1])
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad or "Socket errors" in out:
        sys.exit(f"failed requests:\n{out}")
    return 1000 * (after - before) / max(requests, 1), requests


def check_pages(port: int, prepared: dict, label: str) -> None:
    """Every page answers 200 with a page (or the autosave's JSON) for a learner: a redirect
    to the login page would be a cheap, wrong figure."""
    import http.client

    cookie, token, body, *_ = prepared["cookies"][1]
    for page in PAGES:
        method, path = prepared["paths"][page]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        headers = {"Cookie": f"session={cookie}"}
        if method == "POST":
            headers |= {
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            }
        conn.request(method, path, body if method == "POST" else None, headers)
        response = conn.getresponse()
        text = response.read().decode()
        expected = '"saved"' if method == "POST" else "</main>"
        if response.status != 200 or expected not in text:
            sys.exit(f"{label} {page}: {response.status} {text[:300]!r}")


def profile(prepared: dict, page: str, n: int = 300) -> None:
    """Run one page `n` times in this process under cProfile; print the hot spots and the
    SQL statements of one request."""
    import cProfile
    import pstats

    from sqlalchemy import event

    from lms.app.extensions import db

    app = prepared["app"]
    method, path = prepared["paths"][page]
    client = app.test_client()
    client.environ_base.pop("HTTP_USER_AGENT", None)  # as wrk (the cookies' "_id")

    def one(i: int):
        cookie, token, body, *_ = prepared["cookies"][i % len(prepared["cookies"])]
        client.set_cookie("session", cookie, domain="localhost")
        if method == "POST":
            response = client.post(
                path,
                data=body,
                content_type="application/x-www-form-urlencoded",
                headers={"Accept": "application/json"},
            )
        else:
            response = client.get(path)
        assert response.status_code == 200, (response.status_code, response.data[:300])

    for i in range(30):
        one(i)
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def note(_conn, _cursor, statement, *_args):
        statements.append(" ".join(statement.split())[:160])

    event.listen(engine, "before_cursor_execute", note)
    one(0)
    event.remove(engine, "before_cursor_execute", note)
    print(f"{page}: {len(statements)} SQL statements in one request")
    for statement in statements:
        print("   ", statement)
    started = time.process_time()
    for i in range(n):
        one(i)
    print(f"{page}: {1000 * (time.process_time() - started) / n:.2f} ms CPU per request in process")
    profiler = cProfile.Profile()
    started = time.process_time()
    profiler.enable()
    for i in range(n):
        one(i)
    profiler.disable()
    print(f"{page}: {1000 * (time.process_time() - started) / n:.2f} ms CPU per request (profiled)")
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(45)
    stats.sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database")
    parser.add_argument("--learners", type=int, default=32)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--profile", choices=PAGES)
    parser.add_argument("--pages", default=",".join(PAGES), help="comma-separated subset")
    args = parser.parse_args()
    pages = [p for p in args.pages.split(",") if p]
    if not args.profile and not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install wrk")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        url = args.database or f"sqlite:///{tmp}/bench.sqlite3"
        started = time.perf_counter()
        prepared = prepare(url, tmp, args.learners)
        print(f"prepared {args.learners} learners in {time.perf_counter() - started:.1f} s")
        if args.profile:
            profile(prepared, args.profile)
            return
        templates = tmp / "bare-templates"
        capture_templates(prepared["app"], prepared, templates)
        scripts = {}
        for page in pages:
            method, path = prepared["paths"][page]
            scripts[page] = tmp / f"{page}.lua"
            scripts[page].write_text(
                LUA % {"creds": prepared["creds"], "method": method, "path": path}
            )
        env = {**_config(url, tmp), "BENCH_TEMPLATES": str(templates)}
        servers = {
            "hocvu": Server("lms:create_app()", env, args.workers, tmp, "hocvu"),
            "bare": Server("bench.learner_pages:bare_app()", env, args.workers, tmp, "bare"),
        }
        figures: dict[tuple[str, str], list[float]] = {}
        try:
            for label, server in servers.items():
                check_pages(server.port, prepared, label)
                for page in pages:  # warm up: templates, caches, connections
                    run_wrk(server, scripts[page], 1)
            for run in range(1, args.runs + 1):
                for page in pages:
                    for label, server in servers.items():
                        ms, requests = run_wrk(server, scripts[page], args.duration)
                        figures.setdefault((page, label), []).append(ms)
                    hocvu, bare = figures[(page, "hocvu")][-1], figures[(page, "bare")][-1]
                    print(
                        f"run {run} {page:7} hocvu {hocvu:6.3f} ms  bare {bare:6.3f} ms  "
                        f"ratio {hocvu / bare:4.2f}"
                    )
        finally:
            for server in servers.values():
                server.stop()
        backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
        print(
            f"\n{backend}, {args.workers} workers, {args.runs} runs of {args.duration:g} s: "
            "server CPU per request, medians"
        )
        print(f"{'page':8} {'hocvu ms':>9} {'bare ms':>8} {'ratio':>6}  target")
        failed = []
        for page in pages:
            hocvu = statistics.median(figures[(page, "hocvu")])
            bare = statistics.median(figures[(page, "bare")])
            ratio = hocvu / bare
            verdict = "met" if ratio <= TARGET else "NOT met"
            if ratio > TARGET:
                failed.append(page)
            print(f"{page:8} {hocvu:9.3f} {bare:8.3f} {ratio:6.2f}  <= {TARGET:.1f}x ({verdict})")
        if failed:
            print(f"over the target: {', '.join(failed)}")


if __name__ == "__main__":
    main()

"""Locust learners for bench/load_test.py: a batch online at once on a working-day peak.

Run by bench/load_test.py, which prepares the database and the pool of learners
(HOCVU_LOAD_POOL, a JSON file) and starts the servers. Each Locust user is one learner online;
a learner works through the course in visits (log in, the home page, the course, the next
lesson, ..., log out), and when one learner's visit ends another, who has been away longest,
comes online, so the number online stays the batch size. What a visit does follows the course
(the server's "continue" link), as a learner's browser would:

- a Markdown lesson: the page, reading for at least the lesson's minimum time, the
  self-check, "done" (which opens the next lesson);
- the SCORM lesson: the player page, the runtime (a POST), the API frame and the package's
  files from the content origin, a commit every 30 s
  (bookmark, suspend data, time), at the end the score and "passed" with Terminate; a visit
  that ends in the middle leaves with exit=suspend and resumes from the bookmark;
- the final test: start, one autosave per answered question, submit, the result page;
- the certificate: the home page, the PDF, and its public verification page.

Every answer is checked (status, the page that should come, a commit taken, a passed test, a
PDF); anything else counts as a failure. Times are real seconds times HOCVU_LOAD_TIME_SCALE
(1 in a measured run; smaller for a quick check of the script).
"""

from __future__ import annotations

import collections
import html
import json
import os
import random
import re
import time
from urllib.parse import urlencode

import gevent
from locust import FastHttpUser, constant, events, task
from requests.cookies import create_cookie

SCALE = float(os.environ.get("HOCVU_LOAD_TIME_SCALE", "1"))
WARMUP = float(os.environ.get("HOCVU_LOAD_WARMUP", "0"))  # seconds before the counting starts
POOL = json.loads(open(os.environ["HOCVU_LOAD_POOL"], encoding="utf-8").read())  # noqa: SIM115
SLUG = POOL["slug"]
TEST = f"/courses/{SLUG}/test"
KEY = POOL["answer_key"]
READ_SECONDS = POOL["read_seconds"]  # (low, high) per Markdown lesson
SCORM_COMMITS = POOL["scorm_commits"]  # commits (30 s apart) that finish the SCORM lesson
VISIT_SECONDS = POOL["visit_seconds"]  # (low, high) of one visit
ANSWER_SECONDS = POOL["answer_seconds"]  # (low, high) per test question
ACCURACY = 0.85  # a learner's chance to answer a question right
LOGOUT_SHARE = 0.2  # visits that end with "log out" (the others close the tab)

# Learners online at the start, and those away (longest away first).
_online = collections.deque(POOL["online"])
_away = collections.deque(POOL["away"])

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
# The meta tag of a logged-in page, or the login form's hidden field.
META_CSRF = re.compile(
    r'(?:name="csrf-token" content|name="csrf_token" type="hidden" value)="([^"]+)"'
)
CHOICE = re.compile(
    r'<input type="(radio|checkbox)" name="(q-[^"]+)" value="([^"]+)"[^>]*>\s*<span>(.*?)</span>',
    re.S,
)
SELECT = re.compile(r'<select id="[^"]+" name="(q-[^"]+)-(\d+)"[^>]*>(.*?)</select>', re.S)
OPTION = re.compile(r'<option value="(\d+)"[^>]*>(.*?)</option>', re.S)
TEXT = re.compile(r'<input type="text" id="(q-[^"]+)" name="q-[^"]+"')
SELF_CHECK = re.compile(r'name="(q\d+)" value="(\d+)"')
CERTIFICATE = re.compile(r'href="/certificates/([^"/]+)\.pdf"')


def pause(low: float, high: float | None = None) -> None:
    gevent.sleep(random.uniform(low, high if high is not None else low) * SCALE)


class VisitOver(Exception):
    """The learner leaves (the visit's time is up)."""


class Browser(FastHttpUser):
    """What the learners and the admins share: a browser's form posts and page loads, each
    checked, keeping the CSRF token of the last page."""

    abstract = True
    wait_time = constant(0)
    # Pages and JSON only; the browser's static files come from nginx (cached for a year).
    default_headers = {"Accept-Language": "vi", "User-Agent": POOL["user_agent"]}
    csrf = ""

    def form(self, values: dict[str, object]) -> str:
        """A form body as the browser sends it (a name once per chosen value)."""
        fields = [("csrf_token", self.csrf)]
        for name, value in values.items():
            for item in value if isinstance(value, list) else [value]:
                fields.append((name, str(item)))
        return urlencode(fields)

    def get(self, path: str, name: str, follow: bool = False):
        """A GET that must answer 200 (or, with `follow` False, a redirect for "continue")."""
        expect = (200, 302) if name == "continue" else (200,)
        with self.client.get(
            path, name=name, allow_redirects=follow, catch_response=True
        ) as response:
            problem = None
            if response.status_code not in expect:
                where = response.headers.get("Location", "")
                problem = f"{path}: HTTP {response.status_code} {where}"
                response.failure(problem)
        if problem:
            raise AssertionError(problem)
        html_page = response.headers.get("Content-Type", "").startswith("text/html")
        token = META_CSRF.search(response.text) if html_page else None
        if token:
            self.csrf = token[1]
        return response

    def post(self, path: str, name: str, values: dict[str, object], expect: int = 302):
        """A form POST (with the page's CSRF token) that must answer `expect`."""
        with self.client.post(
            path,
            data=self.form(values),
            headers=FORM,
            name=name,
            allow_redirects=False,
            catch_response=True,
        ) as response:
            problem = None
            if response.status_code != expect:
                problem = f"{path}: HTTP {response.status_code}"
                response.failure(problem)
        if problem:
            raise AssertionError(problem)
        return response


class Learner(Browser):
    def on_start(self) -> None:
        self.learner = _online.popleft() if _online else _away.popleft()
        self.first_visit = True

    @task
    def visit(self) -> None:
        learner = self.learner
        if learner.get("done"):  # finished, and nobody away to come online in their place
            pause(*VISIT_SECONDS)
            return
        self.client.cookiejar.clear()
        resumed = self.first_visit and learner.get("cookie")
        if learner.get("cookie"):
            # Still logged in (the login lasts 12 hours): from before the run, or from an
            # earlier visit left without logging out.
            self.client.cookiejar.set_cookie(
                create_cookie("session", learner["cookie"], domain=self.host_name, path="/")
            )
        if resumed:
            # In the middle of a visit when the run starts: back from reading, for the rest of
            # it; their first requests are spread over the warm-up.
            gevent.sleep(random.uniform(0, WARMUP))
            self.leave_at = time.monotonic() + random.uniform(0, VISIT_SECONDS[1]) * SCALE
        else:
            if self.first_visit:
                pause(0, VISIT_SECONDS[1])  # arrives some time into the run
            self.leave_at = time.monotonic() + random.uniform(*VISIT_SECONDS) * SCALE
        self.first_visit = False
        try:
            if not learner.get("cookie"):
                self.log_in(learner)
            if not resumed:
                self.home()
                self.get(f"/courses/{SLUG}", "course page")
            target = None
            while True:
                if target is None:  # the "continue" button
                    where = self.get(f"/courses/{SLUG}/continue", "continue", follow=False)
                    target = where.headers.get("Location", "")
                if target.rstrip("/").endswith(f"/courses/{SLUG}"):
                    self.certificate()
                    learner["done"] = True
                    break
                target = self.lesson(target)
        except VisitOver:
            pass
        except Exception:
            learner.pop("cookie", None)  # start again from the login page
            if _away:
                _away.append(learner)
            pause(5)  # counted as a failure already; no tight loop of failing requests
            raise
        finally:
            # The learner who has been away longest comes online (or this one goes on).
            self.learner = _away.popleft() if _away else learner
        if learner.get("done") or random.random() < LOGOUT_SHARE:
            self.post("/logout", "log out", {}, expect=302)
            learner.pop("cookie", None)
        else:  # most close the tab: the next visit needs no login
            learner["cookie"] = next(
                (c.value for c in self.client.cookiejar if c.name == "session"), None
            )
        if not learner.get("done") and self.learner is not learner:
            _away.append(learner)

    # Steps ----------------------------------------------------------------------------------

    @property
    def host_name(self) -> str:
        return re.sub(r"^https?://|:\d+$", "", self.host)

    def check_time(self) -> None:
        if time.monotonic() >= self.leave_at:
            raise VisitOver

    def log_in(self, learner: dict) -> None:
        self.get("/login", "log in page")
        response = self.post(
            "/login",
            "log in",
            {"username": learner["username"], "password": learner["password"]},
            expect=302,
        )
        if response.headers.get("Location", "").endswith("/password"):
            self.get("/password", "change password page")
            new = POOL["new_password"]
            self.post(
                "/password",
                "change password",
                {"current_password": learner["password"], "new_password": new, "confirm": new},
                expect=302,
            )
            learner["password"] = new

    def home(self) -> str:
        return self.get("/", "home").text

    def lesson(self, url: str) -> str | None:
        """Do the lesson at `url`; where the browser goes next (None: the continue button)."""
        path = re.sub(r"^https?://[^/]+", "", url)
        page = self.get(path, "lesson page").text
        if "data-runtime-url" in page:
            self.scorm(page)
        elif re.search(rf'/courses/{SLUG}/test/(start|\d+)"', page):
            self.test(page)
        else:
            return self.markdown(path, page)
        return None

    def markdown(self, path: str, page: str) -> str:
        pause(*READ_SECONDS)
        answers: dict[str, str] = {}
        for name, value in SELF_CHECK.findall(page):
            answers.setdefault(name, value)
        self.post(f"{path}/self-check", "self-check", answers, expect=302)
        self.get(path, "lesson page")  # the answers shown (the redirect after the form)
        self.check_time()
        done = self.post(f"{path}/complete", "lesson done", {}, expect=302)
        following = done.headers.get("Location", "")
        if "#finish" in following:
            raise AssertionError(f"{path}: the lesson could not be marked done")
        return following

    def scorm(self, page: str) -> None:
        runtime_url = html.unescape(re.search(r'data-runtime-url="([^"]+)"', page)[1])
        # Starting a session is a POST with the page's CSRF token.
        with self.client.post(
            runtime_url,
            headers={"X-CSRFToken": self.csrf, "Accept": "application/json"},
            name="scorm runtime",
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"{runtime_url}: HTTP {response.status_code}")
                raise AssertionError(f"{runtime_url}: HTTP {response.status_code}")
        run = response.json()
        # The content origin (another host name, no cookie): the API frame, its scripts the
        # first time (then cached for a year), the package's files through the launch's link.
        frame = self.get(run["frame_url"], "scorm frame")
        if not getattr(self, "frame_cached", False):
            origin = run["content_origin"]
            for script in re.findall(r'<script src="([^"]+)"', frame.text):
                self.get(origin + html.unescape(script), "scorm frame script")
            self.frame_cached = True
        launch = self.get(run["launch_url"], "scorm package file")
        for script in re.findall(r'src="([^"]+\.js)"', launch.text):
            base = run["launch_url"].rsplit("/", 1)[0]
            self.get(f"{base}/{script}", "scorm package file")
        if not getattr(self, "rules_cached", False):
            self.get(run["rules_url"], "scorm rules")
            self.rules_cached = True
        stored = dict(run["stored"])  # [[element, value], ...]
        position = int(stored.get("cmi.core.lesson_location") or 0)
        seq = run["seq"]
        started = time.monotonic()
        while True:
            pause(30)
            position += 1
            seq += 1
            finished = position >= SCORM_COMMITS
            leaving = not finished and time.monotonic() >= self.leave_at
            minutes = int((time.monotonic() - started) / 60)
            data = [
                ["cmi.core.lesson_location", str(position)],
                ["cmi.suspend_data", f"v1|{position}|" + "a1b2c3d4e5" * 20],
                ["cmi.core.lesson_status", "passed" if finished else "incomplete"],
                ["cmi.core.session_time", f"00:{minutes:02d}:00"],
            ]
            if finished:
                data += [
                    ["cmi.core.score.raw", "90"],
                    ["cmi.core.score.min", "0"],
                    ["cmi.core.score.max", "100"],
                ]
            data.append(["cmi.core.exit", "" if finished else "suspend"])
            body = {
                "session": run["session"],
                "seq": seq,
                "terminated": finished or leaving,
                "data": data,
            }
            with self.client.post(
                run["commit_url"],
                data=json.dumps(body),
                headers={"Content-Type": "application/json", "X-CSRFToken": self.csrf},
                name="scorm commit",
                catch_response=True,
            ) as response:
                if response.status_code != 200 or not response.json().get("taken"):
                    response.failure(f"commit not taken: {response.status_code} {response.text}")
            if finished:
                return
            if leaving:
                raise VisitOver

    def test(self, page: str) -> None:
        open_attempt = re.search(rf'class="button primary wide" href="({TEST}/\d+)"', page)
        if open_attempt:
            attempt_path = open_attempt[1]
        elif f"/courses/{SLUG}/test/start" in page:
            started = self.post(f"/courses/{SLUG}/test/start", "test start", {}, expect=302)
            attempt_path = re.sub(r"^https?://[^/]+", "", started.headers["Location"])
        else:
            raise AssertionError("the final test can be neither started nor continued")
        attempt = self.get(attempt_path, "test page").text
        answers = self.answers(attempt)
        given: dict[str, object] = {}
        for name, value in answers.items():
            pause(*ANSWER_SECONDS)
            given[name] = value
            with self.client.post(
                f"{attempt_path}/save",
                data=self.form(given),
                headers=FORM,
                name="test autosave",
                catch_response=True,
            ) as response:
                if response.status_code != 200:
                    response.failure(f"autosave: {response.status_code}")
        submitted = self.post(
            f"{attempt_path}/submit", "test submit", given | {"confirm": "1"}, expect=302
        )
        # A learner who did not pass comes back to the test page by "continue" (3 attempts).
        self.get(re.sub(r"^https?://[^/]+", "", submitted.headers["Location"]), "test result")

    def answers(self, attempt: str) -> dict[str, object]:
        """The learner's answers: right with ACCURACY, else a wrong one."""
        options: dict[str, list[tuple[str, str, str]]] = collections.defaultdict(list)
        for kind, name, value, text in CHOICE.findall(attempt):
            options[name].append((kind, value, html.unescape(text).strip()))
        answers: dict[str, object] = {}
        for name, choices in options.items():
            key = KEY[name[2:]]
            right = random.random() < ACCURACY
            if choices[0][0] == "checkbox":
                picked = [v for _, v, t in choices if (t in key) == right]
                answers[name] = picked or [choices[0][1]]
            elif key in ("true", "false"):
                answers[name] = key if right else {"true": "false", "false": "true"}[key]
            else:
                wanted = [v for _, v, t in choices if (t in key) == right]
                answers[name] = random.choice(wanted or [choices[0][1]])
        for name, left, body in SELECT.findall(attempt):
            key = KEY[name[2:]][int(left)]
            for value, text in OPTION.findall(body):
                if html.unescape(text).strip() == key:
                    answers[f"{name}-{left}"] = value
        for name in TEXT.findall(attempt):
            answers[name] = KEY[name[2:]] if random.random() < ACCURACY else "không biết"
        return answers

    def certificate(self) -> None:
        page = self.home()
        serial = CERTIFICATE.search(page)
        if serial is None:
            raise AssertionError("no certificate on the home page after the course")
        pdf = self.get(f"/certificates/{serial[1]}.pdf", "certificate pdf")
        if not pdf.content.startswith(b"%PDF"):
            raise AssertionError("the certificate is not a PDF")
        self.get(f"/verify/{serial[1]}", "certificate verification")


class Admin(Browser):
    """An admin following the batch: the dashboard and a unit's overdue learners every minute
    or so, and every fifth time the learner list as XLSX (a job for the Redis workers),
    waiting for the file as the job page does."""

    fixed_count = 2

    def on_start(self) -> None:
        name = POOL["admins"][self.environment.runner.user_count % len(POOL["admins"])]
        self.get("/login", "log in page")
        self.post("/login", "log in", {"username": name, "password": POOL["admin_password"]})
        self.rounds = 0

    @task
    def follow(self) -> None:
        pause(45, 75)
        self.get("/admin/reports/", "admin: reports dashboard")
        self.get("/admin/users?progress=overdue&per_page=50", "admin: learner list")
        self.rounds += 1
        if self.rounds % 5:
            return
        started = time.monotonic()
        response = self.post("/admin/users/export?format=xlsx", "admin: export learners", {})
        job = re.sub(r"^https?://[^/]+", "", response.headers["Location"])
        while True:
            gevent.sleep(2)
            state = self.client.get(
                job, headers={"Accept": "application/json"}, name="admin: job progress"
            ).json()
            if state["status"] in ("done", "failed"):
                break
        exception = None
        if state["status"] != "done":
            exception = AssertionError(f"the export job ended {state['status']}")
        else:
            data = self.client.get(state["download"], name="admin: export file").content
            if not data.startswith(b"PK"):
                exception = AssertionError("the export is not an XLSX file")
        self.environment.events.request.fire(
            request_type="JOB",
            name="admin: export job, start to file",
            response_time=(time.monotonic() - started) * 1000,
            response_length=0,
            exception=exception,
            context={},
        )


@events.test_start.add_listener
def _count_after_warmup(environment, **kwargs) -> None:
    """Forget the warm-up: the learners' first requests, spread over it, are not counted."""

    def reset() -> None:
        gevent.sleep(WARMUP)
        environment.runner.stats.reset_all()

    if WARMUP:
        gevent.spawn(reset)


@events.test_stop.add_listener
def _report_learners(environment, **kwargs) -> None:
    done = sum(1 for item in POOL["online"] + POOL["away"] if item.get("done"))
    print(f"learners who finished the course during the run: {done}")

"""Operations: /healthz, /readyz, request ids in responses and log lines, /metrics."""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
import time
import types

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event, select

from lms.app.extensions import db
from lms.app.logs import _HocvuHandler
from lms.models import Job, JobStatus
from lms.web import ops
from tests.conftest import csrf_token, make_app
from tests.lms.test_scorm_tracking import _token, enrolled, runtime, send


@pytest.fixture
def unreachable_app(backend, tmp_path):
    """An app whose database cannot be reached."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'no-such-folder' / 'hocvu.sqlite3'}"
    else:
        url = "postgresql+psycopg://postgres@127.0.0.1:9/hocvu"  # nothing listens on port 9
    return make_app(url, tmp_path / "instance")


def metric(client, name: str, **labels) -> float:
    """The value of one sample of /metrics (0 when absent)."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.get_data(as_text=True)
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


@pytest.fixture
def log_lines(app):
    """What Hocvu's log handler writes during the test, as a list of lines."""
    handler = next(h for h in logging.getLogger().handlers if isinstance(h, _HocvuHandler))
    stream = io.StringIO()
    handler.setStream(stream)
    return lambda: stream.getvalue().splitlines()


# --- health and readiness ---------------------------------------------------------------


def test_healthz_answers_without_touching_the_database(app, client):
    statements = []

    def note(_conn, _cursor, statement, *_args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        # The first request of a process would resume queued jobs: not a health check.
        response = client.get("/healthz")
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert statements == []


def test_healthz_is_up_and_readyz_fails_when_the_database_is_unreachable(unreachable_app):
    client = unreachable_app.test_client()
    assert client.get("/healthz").status_code == 200
    started = time.perf_counter()
    response = client.get("/readyz")
    assert time.perf_counter() - started < 1.5
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "not ready"
    assert body["reason"].startswith("database: OperationalError")


def test_readyz_checks_the_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ready"
    assert response.get_json()["checks"] == ["database"]


def test_readyz_gives_up_after_its_timeout_and_does_not_pile_up_checks(client, monkeypatch):
    release = threading.Event()
    monkeypatch.setattr(ops, "READY_TIMEOUT_SECONDS", 0.2)
    monkeypatch.setattr(ops, "_check", lambda engine, redis_url: release.wait(5))
    try:
        started = time.perf_counter()
        response = client.get("/readyz")
        assert time.perf_counter() - started < 1.0
        assert response.status_code == 503
        assert response.get_json()["reason"] == "no answer within 0.2 s"
        again = client.get("/readyz")
        assert again.status_code == 503
        assert "earlier check has not finished" in again.get_json()["reason"]
    finally:
        release.set()
    for _ in range(50):  # the hung check ends: the next one runs again
        if ops._probe.done():
            break
        time.sleep(0.01)
    monkeypatch.undo()
    assert client.get("/readyz").status_code == 200


def _fake_redis(ping):
    calls = []

    class Redis:
        @classmethod
        def from_url(cls, url, **options):
            calls.append((url, options))
            return cls()

        def ping(self):
            return ping()

        def close(self):
            pass

    return types.SimpleNamespace(Redis=Redis), calls


def test_readyz_checks_redis_when_configured(app, client, monkeypatch):
    app.config["HOCVU_REDIS_URL"] = "redis://127.0.0.1:6379/0"
    fake, calls = _fake_redis(lambda: True)
    monkeypatch.setitem(sys.modules, "redis", fake)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["checks"] == ["database", "redis"]
    assert calls == [
        (
            "redis://127.0.0.1:6379/0",
            {"socket_connect_timeout": 1.0, "socket_timeout": 1.0},
        )
    ]

    def refused():
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    fake, _ = _fake_redis(refused)
    monkeypatch.setitem(sys.modules, "redis", fake)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["reason"].startswith("redis: ConnectionError: Error 111")

    monkeypatch.setitem(sys.modules, "redis", None)  # the package is not installed
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "redis package is not installed" in response.get_json()["reason"]


def test_health_endpoints_need_no_login_even_when_a_password_change_is_due(
    client, login, make, session
):
    make.learner(make.unit(), username="hv.doimk", must_change_password=True)
    make.commit()
    login("hv.doimk")
    assert client.get("/").status_code == 302  # every page leads to the password change
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/metrics").status_code == 200


# --- request ids and logs ---------------------------------------------------------------


def test_request_id_is_taken_from_a_safe_header_or_made(client):
    given = client.get("/healthz", headers={"X-Request-ID": "9f1c2e0a-nginx.42"})
    assert given.headers["X-Request-ID"] == "9f1c2e0a-nginx.42"
    made = client.get("/healthz").headers["X-Request-ID"]
    other = client.get("/healthz").headers["X-Request-ID"]
    assert len(made) == 16 and int(made, 16) >= 0 and made != other
    for unsafe in ("<script>", "a" * 65, "id with spaces", "ü-id"):
        answer = client.get("/healthz", headers={"X-Request-ID": unsafe})
        assert answer.headers["X-Request-ID"] != unsafe
        assert len(answer.headers["X-Request-ID"]) == 16


@pytest.mark.parametrize("app_config", [{"HOCVU_LOG_FORMAT": "json"}])
def test_json_logs_carry_the_request_id_in_every_record(app, monkeypatch, log_lines):
    client = app.test_client()
    # /readyz logs a warning when a dependency fails: a record written inside the request.
    monkeypatch.setitem(sys.modules, "redis", None)
    app.config["HOCVU_REDIS_URL"] = "redis://127.0.0.1:6379/0"
    response = client.get("/readyz", headers={"X-Request-ID": "req-json-1"})
    assert response.status_code == 503
    records = [json.loads(line) for line in log_lines()]  # each line is one JSON object
    mine = [r for r in records if r["request_id"] == "req-json-1"]
    assert [r["logger"] for r in mine] == ["lms.web.ops", "lms.access"]
    warning, access = mine
    assert warning["level"] == "WARNING" and "redis package" in warning["message"]
    assert warning["method"] == "GET" and warning["path"] == "/readyz"
    assert access["level"] == "INFO"
    assert access["status"] == 503 and access["method"] == "GET" and access["path"] == "/readyz"
    assert isinstance(access["duration_ms"], float) and access["duration_ms"] >= 0
    assert set(access) >= {"time", "level", "logger", "message", "request_id"}
    assert access["time"].endswith("+00:00")


def test_text_logs_are_readable_lines_with_the_request_id(app, client, log_lines):
    client.get("/login", headers={"X-Request-ID": "req-text-1"})
    (line,) = [line for line in log_lines() if "req-text-1" in line]
    assert "INFO [req-text-1] lms.access: GET /login 200" in line
    assert not line.startswith("{")


def test_health_checks_and_successful_commits_get_no_access_line(app, client, log_lines):
    client.get("/healthz", headers={"X-Request-ID": "req-quiet-1"})
    client.post("/player/state/1/commit", headers={"X-Request-ID": "req-refused-1"})
    lines = log_lines()
    assert not [line for line in lines if "req-quiet-1" in line]
    # A commit that is refused is logged: it may be a learner who cannot save.
    (refused,) = [line for line in lines if "req-refused-1" in line]
    assert "POST /player/state/1/commit 401" in refused


@pytest.mark.parametrize("app_config", [{"HOCVU_ACCESS_LOG": False}])
def test_access_lines_can_be_turned_off(app, client, log_lines):
    response = client.get("/login")
    assert response.headers["X-Request-ID"]
    assert not [line for line in log_lines() if "lms.access" in line]


# --- metrics ----------------------------------------------------------------------------


def test_metrics_are_served_to_loopback_or_with_the_token_only(app, client):
    assert client.get("/metrics").status_code == 200
    # Through nginx on the same machine the peer is loopback too, but the request is not local.
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 403
    remote = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/metrics", environ_base=remote).status_code == 403
    app.config["HOCVU_METRICS_TOKEN"] = "s3cret-token"
    good = {"Authorization": "Bearer s3cret-token"}
    assert client.get("/metrics", environ_base=remote, headers=good).status_code == 200
    wrong = {"Authorization": "Bearer s3cret-tokem"}
    assert client.get("/metrics", environ_base=remote, headers=wrong).status_code == 403
    assert client.get("/metrics", headers=wrong).status_code == 403  # a wrong token is wrong


def test_metrics_count_commits_by_outcome_requests_and_login_failures(
    app, client, login, make, session
):
    files_dir = app.config["HOCVU_FILES_DIR"]
    learner = make.learner(make.unit(), username="hv.metrics")
    make.commit()
    version = enrolled(make, session, files_dir, learner)

    def commits(outcome):
        return metric(client, "hocvu_scorm_commits_total", outcome=outcome)

    outcomes = ("taken", "replay", "superseded", "refused", "error")
    before = {o: commits(o) for o in outcomes}
    latency_before = metric(client, "hocvu_scorm_commit_seconds_count")
    ok_before = metric(client, "hocvu_http_requests_total", endpoint="player.commit", status="200")
    failures_before = metric(client, "hocvu_login_failures_total", reason="credentials")

    token = csrf_token(client, "/login")
    wrong = {"username": "hv.metrics", "password": "sai", "csrf_token": token}
    assert client.post("/login", data=wrong).status_code == 401
    login("hv.metrics")
    first = runtime(client, version)
    second = runtime(client, version)
    token = _token(client)
    data = [["cmi.core.lesson_location", "p1"]]
    assert send(client, second, 1, data, token=token).status_code == 200  # taken
    assert send(client, second, 1, data, token=token).get_json()["taken"] is False  # replay
    assert send(client, first, 2, data, token=token).status_code == 409  # superseded
    assert send(client, second, 3, data, token="not-a-token").status_code == 403  # refused

    after = {o: commits(o) for o in outcomes}
    assert {o: after[o] - before[o] for o in outcomes} == {
        "taken": 1,
        "replay": 1,
        "superseded": 1,
        "refused": 1,
        "error": 0,
    }
    assert metric(client, "hocvu_scorm_commit_seconds_count") - latency_before == 4
    assert (
        metric(client, "hocvu_http_requests_total", endpoint="player.commit", status="200")
        - ok_before
        == 2
    )
    assert metric(client, "hocvu_login_failures_total", reason="credentials") - failures_before == 1
    unknown = metric(client, "hocvu_http_requests_total", endpoint="unmatched", status="404")
    client.get("/no-such-page")
    assert (
        metric(client, "hocvu_http_requests_total", endpoint="unmatched", status="404") - unknown
        == 1
    )


def test_a_commit_that_fails_on_the_server_counts_as_an_error(
    app, client, login, make, session, monkeypatch
):
    from lms.services import tracking

    learner = make.learner(make.unit(), username="hv.loi")
    make.commit()
    version = enrolled(make, session, app.config["HOCVU_FILES_DIR"], learner)
    login("hv.loi")
    rt = runtime(client, version)
    before = metric(client, "hocvu_scorm_commits_total", outcome="error")

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(tracking, "commit", broken)
    response = send(client, rt, 1, [["cmi.core.lesson_location", "p1"]])
    assert response.status_code == 500
    assert metric(client, "hocvu_scorm_commits_total", outcome="error") - before == 1


def test_metrics_report_the_job_queue_from_the_database(client, session):
    session.add_all(
        [
            Job(task="reports.refresh", args={}, status=JobStatus.QUEUED),
            Job(task="reports.refresh", args={}, status=JobStatus.QUEUED),
            Job(task="reports.refresh", args={}, status=JobStatus.RUNNING),
            Job(task="reports.refresh", args={}, status=JobStatus.DONE),
        ]
    )
    session.commit()
    assert metric(client, "hocvu_jobs", status="queued") == 2
    assert metric(client, "hocvu_jobs", status="running") == 1


# --- files sent by nginx ------------------------------------------------------------------


@pytest.mark.parametrize("app_config", [{"HOCVU_ACCEL_REDIRECT_PREFIX": "/_hocvu_files/"}])
def test_package_files_are_handed_to_nginx_with_their_headers(app, client, login, make, session):
    from lms.models import ScormPackage

    learner = make.learner(make.unit(), username="hv.nginx")
    make.commit()
    version = enrolled(make, session, app.config["HOCVU_FILES_DIR"], learner)
    package = session.scalars(select(ScormPackage)).one()
    login("hv.nginx")
    rt = runtime(client, version)
    response = client.get(rt["launch_url"])  # on the content origin
    assert response.status_code == 200
    assert response.data == b""  # nginx sends the bytes
    assert response.headers["X-Accel-Redirect"] == f"/_hocvu_files/{package.files_path}/index.html"
    assert response.mimetype == "text/html"
    assert (
        "frame-ancestors http://content.localhost:5001 "
        in (response.headers["Content-Security-Policy"])
    )
    assert response.headers["Cache-Control"] == "private, max-age=86400, immutable"
    base = rt["launch_url"].rsplit("/", 1)[0]
    script = client.get(f"{base}/probe.js")
    assert script.mimetype == "text/javascript"
    assert script.headers["X-Accel-Redirect"].endswith("/probe.js")
    # A path outside the package is refused before nginx is asked for anything.
    outside = client.get(f"{base}/../../../etc/passwd")
    assert outside.status_code == 404 and "X-Accel-Redirect" not in outside.headers


def test_static_urls_change_when_the_file_changes(app, client, tmp_path, monkeypatch):
    import os
    import re

    import lms.web

    page = client.get("/login").get_data(as_text=True)
    match = re.search(r'href="/static/css/hocvu\.css\?v=([0-9a-f]{12})"', page)
    assert match, "the stylesheet's URL carries its version"
    assert client.get(f"/static/css/hocvu.css?v={match[1]}").status_code == 200

    monkeypatch.setattr(lms.web.common, "_STATIC_ROOT", tmp_path)
    (tmp_path / "app.js").write_text("one")
    first = lms.web.common.static_version("app.js")
    (tmp_path / "app.js").write_text("two")
    os.utime(tmp_path / "app.js", ns=(1, 10**18))
    assert lms.web.common.static_version("app.js") != first
    assert lms.web.common.static_version("missing.js") is None


def test_warm_up_compiles_every_template_before_the_first_request(app, client, login, make):
    from lms.web import warm_up

    compiled = warm_up(app)
    names = [n for n in app.jinja_env.list_templates() if n.startswith("hocvu/")]
    assert compiled == len(names) > 30
    cached = {key[1] for key in app.jinja_env.cache.keys()}  # noqa: SIM118 - an LRUCache
    assert set(names) <= cached
    make.learner(make.unit(), username="hv.warm")
    make.commit()
    login("hv.warm")
    assert client.get("/").status_code == 200  # pages render as before

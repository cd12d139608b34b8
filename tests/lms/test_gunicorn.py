"""gunicorn.conf.py: Hocvu served by several workers, metrics added up across them, HUP."""

from __future__ import annotations

import os
import runpy
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import make_app

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = shutil.which("gunicorn", path=str(Path(sys.executable).parent))


def test_settings_follow_the_machine_and_the_environment(monkeypatch):
    monkeypatch.delenv("GUNICORN_WORKERS", raising=False)
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert settings["worker_class"] == "sync"
    assert settings["workers"] == 2 * os.cpu_count() + 1
    assert settings["preload_app"] is False
    assert settings["max_requests"] > 0 and settings["max_requests_jitter"] > 0
    assert settings["forwarded_allow_ips"] == "127.0.0.1,::1"
    monkeypatch.setenv("GUNICORN_WORKERS", "7")
    assert runpy.run_path(str(ROOT / "gunicorn.conf.py"))["workers"] == 7


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, path: str) -> tuple[int, str]:
    # Generous: after a HUP, requests wait in the socket's backlog while the new workers
    # import the application, which takes seconds on a busy machine.
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=60) as response:
        return response.status, response.read().decode()


@pytest.mark.skipif(
    GUNICORN is None, reason="gunicorn is not installed (pip install hocvu[server])"
)
def test_workers_share_metrics_and_reload_on_hup(tmp_path):
    url = f"sqlite:///{tmp_path / 'hocvu.sqlite3'}"
    app = make_app(url, tmp_path / "instance")
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    port = _free_port()
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    (metrics_dir / "counter_99999.db").write_bytes(b"stale")  # a previous run's
    env = {
        **os.environ,
        "HOCVU_ENV": "production",
        "HOCVU_SECRET_KEY": "gunicorn-test-secret-key",
        "HOCVU_DATABASE_URL": url,
        "HOCVU_INSTANCE_PATH": str(tmp_path / "instance"),
        "HOCVU_SESSION_COOKIE_SECURE": "false",
        "HOCVU_BASE_URL": f"http://127.0.0.1:{port}",
        "HOCVU_CONTENT_ORIGIN": "http://content.localhost:5001",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    server = subprocess.Popen(
        [GUNICORN, "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                assert _get(port, "/healthz")[0] == 200
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert not (metrics_dir / "counter_99999.db").exists()
        assert _get(port, "/readyz")[0] == 200
        for _ in range(20):
            _get(port, "/healthz")
        server.send_signal(signal.SIGHUP)  # new workers with the code on disk; old ones finish
        time.sleep(2)
        for _ in range(9):
            assert _get(port, "/healthz")[0] == 200
        status, text = _get(port, "/metrics")
        assert status == 200
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }
        key = ("hocvu_http_requests_total", (("endpoint", "ops.healthz"), ("status", "200")))
        # 30 health checks, served by workers before and after the reload, counted together.
        assert samples[key] == 30
        assert samples[("hocvu_jobs", (("status", "queued"),))] == 0
        assert len(list(metrics_dir.glob("counter_*.db"))) >= 3  # 2 workers, then 2 new ones
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)


@pytest.mark.skipif(
    GUNICORN is None, reason="gunicorn is not installed (pip install hocvu[server])"
)
def test_two_web_processes_serve_the_same_session(tmp_path):
    """Nothing about a login is kept in a process: a session started on one server is
    served by another (as behind a load balancer on several machines)."""
    import http.cookiejar
    import re
    import urllib.parse

    from lms.app.extensions import db
    from tests.factories import Factories

    url = f"sqlite:///{tmp_path / 'hocvu.sqlite3'}"
    app = make_app(url, tmp_path / "instance")
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        make = Factories(db.session)
        make.learner(make.unit(), username="hv.haimay", full_name="Trần Thị Hai Máy")
        db.session.commit()
    env = {
        **os.environ,
        "HOCVU_ENV": "production",
        "HOCVU_SECRET_KEY": "two-servers-one-secret-key",
        "HOCVU_DATABASE_URL": url,
        "HOCVU_INSTANCE_PATH": str(tmp_path / "instance"),
        "HOCVU_SESSION_COOKIE_SECURE": "false",
        # The two servers stand behind one public address (a load balancer in life).
        "HOCVU_BASE_URL": "http://127.0.0.1",
        "HOCVU_CONTENT_ORIGIN": "http://content.localhost:5001",
        "GUNICORN_WORKERS": "1",
    }
    ports = [_free_port(), _free_port()]
    servers = [
        subprocess.Popen(
            [GUNICORN, "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT,
            env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        for port in ports:
            deadline = time.monotonic() + 30
            while True:
                try:
                    assert _get(port, "/healthz")[0] == 200
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        first, second = (f"http://127.0.0.1:{port}" for port in ports)
        form = opener.open(f"{first}/login", timeout=30).read().decode()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)[1]
        body = urllib.parse.urlencode(
            {"csrf_token": token, "username": "hv.haimay", "password": "mat-khau-1"}
        ).encode()
        opener.open(f"{first}/login", data=body, timeout=30).read()
        # The cookie was set for 127.0.0.1 and is sent to the second server as well.
        page = opener.open(f"{second}/", timeout=30).read().decode()
        assert "Trần Thị Hai Máy" in page
    finally:
        for server in servers:
            server.send_signal(signal.SIGTERM)
            server.wait(30)

"""The `hocvu` command: init (with demo data, twice; never demo data in production),
create-admin, and `run` with the links the other commands print beside it."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from lms.models import OrgUnit, User
from lms.services.logins import ThrottleRules, authenticate, begin_login
from tests.lms.test_reminders import smtp  # noqa: F401 - the fixture: a real SMTP server


def test_init_with_demo_loads_once_and_prints_the_login(runner, app, session):
    first = runner.invoke(args=["init", "--demo"])
    assert first.exit_code == 0, first.output
    assert "Demo data loaded." in first.output
    password = re.search(r"password for all: (\S+)\)", first.output).group(1)
    assert "site administrator:  admin" in first.output
    units = session.scalar(select(func.count()).select_from(OrgUnit))
    users = session.scalar(select(func.count()).select_from(User))
    assert units >= 8 and users >= 10
    root = session.scalar(select(OrgUnit).where(OrgUnit.parent_id.is_(None)))
    assert root.name == "Liên đoàn Lao động tỉnh Quảng Ninh"

    second = runner.invoke(args=["init", "--demo"])
    assert second.exit_code == 0, second.output
    assert "already loaded" in second.output and password in second.output
    session.rollback()
    assert session.scalar(select(func.count()).select_from(User)) == users

    rules = ThrottleRules(5, 100, timedelta(minutes=15))
    admin = authenticate(session, begin_login(session, "admin", "127.0.0.1"), password, rules)
    assert admin is not None and admin.is_site_admin and not admin.must_change_password
    attempt = begin_login(session, "hv.nguyenvanan", "127.0.0.1")
    learner = authenticate(session, attempt, password, rules)
    assert learner.must_change_password and learner.org_unit.code == "CDCS-HALAM"
    cred_file = app.instance_path + "/demo-credentials.txt"
    assert (__import__("os").stat(cred_file).st_mode & 0o777) == 0o600


def test_demo_data_is_refused_in_production(runner, app):
    """Demo accounts share one printed password: `init --demo` refuses a production site."""
    app.config["HOCVU_ENV"] = "production"
    result = runner.invoke(args=["init", "--demo"])
    assert result.exit_code != 0 and "refused in production" in result.output
    assert not (__import__("pathlib").Path(app.instance_path) / "demo-credentials.txt").exists()


def test_init_in_production_makes_no_trial_key(runner, app, tmp_path):
    # Trial certificates say they have no legal value: not for real learners.
    app.config["HOCVU_ENV"] = "production"
    key = tmp_path / "signing" / "development.p12"
    app.config["HOCVU_SIGNING_KEY"] = str(key)
    result = runner.invoke(args=["init"])
    assert result.exit_code == 0, result.output
    assert not key.exists()
    assert "Warning: no certificate can be signed" in result.stderr
    assert "hocvu issue-certificates" in result.stderr


def test_init_in_production_warns_of_a_trial_key(runner, app):
    # The `app` fixture signs with a self-signed trial key, as the old init made one.
    app.config["HOCVU_ENV"] = "production"
    result = runner.invoke(args=["init"])
    assert result.exit_code == 0, result.output
    assert "is the self-signed trial key" in result.stderr
    assert "reissue them" in result.stderr


def test_init_for_a_trial_makes_a_self_signed_key(runner, app, tmp_path):
    key = tmp_path / "signing" / "development.p12"
    app.config["HOCVU_SIGNING_KEY"] = str(key)
    result = runner.invoke(args=["init"])
    assert result.exit_code == 0, result.output
    assert key.exists() and "Development signing certificate created" in result.output
    assert "Warning" not in result.output


def test_create_admin(runner, session):
    result = runner.invoke(
        args=["create-admin", "quantri", "--full-name", "Lê Thị Quản Trị"],
        input="mat-khau-rat-dai\nmat-khau-rat-dai\n",
    )
    assert result.exit_code == 0, result.output
    user = session.scalar(select(User).where(User.username == "quantri"))
    assert user.is_site_admin and user.full_name == "Lê Thị Quản Trị"


def test_create_admin_errors_are_vietnamese_and_short(runner, make):
    make.site_admin(username="quantri")
    make.commit()
    taken = runner.invoke(
        args=["create-admin", "quantri", "--full-name", "X", "--password", "mat-khau-dai-1"]
    )
    assert taken.exit_code != 0
    assert "Tên đăng nhập quantri đã được sử dụng." in taken.output
    short = runner.invoke(args=["create-admin", "moi", "--full-name", "X", "--password", "ngan"])
    assert "Mật khẩu phải có ít nhất 8 ký tự." in short.output
    assert "Traceback" not in short.output


def _two_free_ports() -> int:
    """A port free on 127.0.0.1 whose next one is free on localhost too: `hocvu run` serves the
    content origin one port up (a port picked alone once had its neighbour taken in a full run,
    and the server could not start)."""
    import socket

    for _ in range(50):
        with socket.socket() as site, socket.socket() as content:
            site.bind(("127.0.0.1", 0))
            port = site.getsockname()[1]
            try:
                content.bind(("localhost", port + 1))
            except OSError:
                continue
            return port
    raise AssertionError("no two free ports side by side")


def test_run_serves_the_site_and_its_content_origin(tmp_path):
    """`make run` (hocvu run) serves two origins: the site on 127.0.0.1 and the packages on
    localhost, one port up; each answers for itself only, and links name the port served."""
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    import requests

    port = _two_free_ports()
    hocvu = str(Path(sys.executable).with_name("hocvu"))
    env = {
        **os.environ,
        "HOCVU_ENV": "development",
        "HOCVU_INSTANCE_PATH": str(tmp_path),
    }
    env.pop("HOCVU_CONTENT_ORIGIN", None)
    env.pop("HOCVU_BASE_URL", None)
    subprocess.run([hocvu, "init"], env=env, check=True, capture_output=True)
    server = subprocess.Popen(
        [hocvu, "run", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                site = requests.get(f"http://127.0.0.1:{port}/login", timeout=2)
                break
            except requests.ConnectionError:
                # Stopped (its port taken meanwhile, an error): fail now, not in 30 s.
                assert server.poll() is None, "hocvu run stopped"
                assert time.monotonic() < deadline, "hocvu run did not start"
                time.sleep(0.2)
        assert site.status_code == 200 and "Đăng nhập" in site.text
        content = f"http://localhost:{port + 1}"
        assert f"frame-src {content}" in site.headers["Content-Security-Policy"]
        frame_script = requests.get(f"{content}/frame-assets/scorm-frame.js", timeout=5)
        assert frame_script.status_code == 200
        assert requests.get(f"{content}/login", timeout=5).status_code == 404
        on_site = requests.get(f"http://127.0.0.1:{port}/frame-assets/scorm-frame.js", timeout=5)
        assert on_site.status_code == 404
        # The site typed as localhost: sent to its own address (its cookie would reach the
        # packages under a shared host name).
        moved = requests.get(f"http://localhost:{port}/login", allow_redirects=False, timeout=5)
        assert moved.headers["Location"] == f"http://127.0.0.1:{port}/login"
    finally:
        server.terminate()
        output = server.communicate(timeout=10)[0]
    assert f"Hocvu: http://127.0.0.1:{port}" in output
    assert f"content origin): {content}" in output


def test_links_printed_beside_hocvu_run_name_the_port_it_serves(
    app,
    make,
    session,
    signing_key,
    smtp,  # noqa: F811 - the fixture imported above
):
    """`make run PORT=5101`, then, in another terminal, `hocvu issue-certificates` and the
    reminders' cron: the certificate's verification link (its QR code and printed address)
    and the reminder email lead to the port served, not to the default 5000."""
    import email
    import io
    import os
    import subprocess
    import sys
    import time
    from datetime import date
    from email.policy import default as default_policy
    from pathlib import Path

    import requests
    from pypdf import PdfReader

    from lms.app.storage import for_app as site_files
    from lms.models import Certificate, utcnow

    version = make.course(app.config["HOCVU_FILES_DIR"])
    done = make.enrol(make.learner(make.unit(), username="hv.xong"), version)
    done.completed_at = utcnow()  # completed while the signing key was missing
    learner = make.learner(make.unit(), username="hv.nhac", issued_at=date(2026, 11, 1))
    learner.email = "nhac@example.vn"
    make.enrol(learner, version)
    make.commit()

    port = _two_free_ports()
    hocvu = str(Path(sys.executable).with_name("hocvu"))
    env = {
        **os.environ,
        "HOCVU_ENV": "development",
        "HOCVU_INSTANCE_PATH": app.instance_path,
        "HOCVU_DATABASE_URL": app.config["HOCVU_DATABASE_URL"],
        "HOCVU_SIGNING_KEY": str(signing_key),
        "HOCVU_CERT_ORGANISATION": app.config["HOCVU_CERT_ORGANISATION"],
        "HOCVU_SMTP_HOST": "127.0.0.1",
        "HOCVU_SMTP_PORT": str(smtp[0]),
    }
    env.pop("HOCVU_CONTENT_ORIGIN", None)
    env.pop("HOCVU_BASE_URL", None)
    server = subprocess.Popen(
        [hocvu, "run", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).ok
                break
            except requests.ConnectionError:
                # Stopped (its port taken meanwhile, an error): fail now, not in 30 s.
                assert server.poll() is None, "hocvu run stopped"
                assert time.monotonic() < deadline, "hocvu run did not start"
                time.sleep(0.2)
        for command in (
            ["issue-certificates"],
            ["send-reminders", "--now", "2026-11-06T09:00+0700"],
        ):
            result = subprocess.run(
                [hocvu, *command], env=env, capture_output=True, text=True, check=False
            )
            assert result.returncode == 0, result.stderr
    finally:
        server.terminate()
        server.wait(10)

    site = f"http://127.0.0.1:{port}"
    certificate = session.scalars(select(Certificate)).one()
    pdf = site_files(app).local_path(certificate.files_path).read_bytes()
    text = "".join(PdfReader(io.BytesIO(pdf)).pages[0].extract_text().split())
    assert f"{site}/verify/{certificate.serial}" in text
    (message,) = [
        email.message_from_bytes(p.read_bytes(), policy=default_policy)
        for p in smtp[1].glob("*.eml")
    ]
    assert f"{site}/" in message.get_content()
    assert "127.0.0.1:5000" not in message.get_content()

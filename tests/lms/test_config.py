"""Configuration sources, their order, and the refusal to run without a secret key or the
site's public address."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lms import ConfigError, create_app
from lms.app.config import load_config


def test_production_without_secret_key_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="HOCVU_SECRET_KEY is not set"):
        load_config(tmp_path, environ={})


def test_wsgi_entry_point_refuses_to_start_without_a_key(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOCVU_INSTANCE_PATH": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "HOCVU_SECRET_KEY is not set" in result.stderr


def test_cli_refuses_to_start_without_a_key(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOCVU_INSTANCE_PATH": str(tmp_path)}
    hocvu = str(__import__("pathlib").Path(sys.executable).with_name("hocvu"))
    result = subprocess.run([hocvu, "init"], env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "HOCVU_SECRET_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_production_without_a_base_url_refuses_to_start_and_says_what_to_set(tmp_path):
    """Certificates, slips and reminders print links to the site: production needs its real
    address, never the development default."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOCVU_INSTANCE_PATH": str(tmp_path),
        "HOCVU_SECRET_KEY": "k" * 40,
        "HOCVU_CONTENT_ORIGIN": "https://noidung.hoc.example.vn",
    }
    hocvu = str(__import__("pathlib").Path(sys.executable).with_name("hocvu"))
    result = subprocess.run([hocvu, "init"], env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "HOCVU_BASE_URL is not set" in result.stderr
    assert "HOCVU_BASE_URL=https://hoc.example.vn" in result.stderr
    assert "Traceback" not in result.stderr


PRODUCTION = {
    "HOCVU_ENV": "production",
    "HOCVU_SECRET_KEY": "k" * 40,
    "HOCVU_CONTENT_ORIGIN": "https://noidung.hoc.example.vn",
}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"HOCVU_BASE_URL": "hoc.example.vn"}, "scheme and host name only"),
        ({"HOCVU_BASE_URL": "https://hoc.example.vn/hocvu"}, "no path"),
        ({"HOCVU_BASE_URL": "https://hoc.example.vn/?a=1"}, "no path"),
        ({"HOCVU_BASE_URL": "ftp://hoc.example.vn"}, "scheme and host name only"),
        # The login cookie is Secure: an http link leads where nobody can log in.
        ({"HOCVU_BASE_URL": "http://hoc.example.vn"}, "Write the https address"),
    ],
    ids=["no-scheme", "path", "query", "ftp", "http-with-secure-cookies"],
)
def test_a_wrong_base_url_is_refused_with_what_to_write(tmp_path, settings, message):
    with pytest.raises(ConfigError, match=message):
        load_config(tmp_path, {**PRODUCTION, **settings}, environ={})


def test_a_base_url_is_kept_as_an_origin(tmp_path):
    """A trailing slash or the default port would give "https://hoc.example.vn//verify/..."."""
    config = load_config(
        tmp_path, {**PRODUCTION, "HOCVU_BASE_URL": "https://Hoc.Example.VN:443/"}, environ={}
    )
    assert config["HOCVU_BASE_URL"] == "https://hoc.example.vn"
    plain = load_config(
        tmp_path,
        {
            **PRODUCTION,
            "HOCVU_BASE_URL": "http://hoc.example.vn:8080",
            "HOCVU_SESSION_COOKIE_SECURE": False,
            "HOCVU_CONTENT_ORIGIN": "http://noidung.vn",
        },
        environ={},
    )
    assert plain["HOCVU_BASE_URL"] == "http://hoc.example.vn:8080"


def test_outside_production_the_base_url_is_the_address_hocvu_run_served(tmp_path):
    from lms.app.config import record_served_base_url

    development = {"HOCVU_ENV": "development"}
    assert load_config(tmp_path, development, environ={})["HOCVU_BASE_URL"] == (
        "http://127.0.0.1:5000"
    )
    record_served_base_url(tmp_path, "http://127.0.0.1:5101")
    config = load_config(tmp_path, development, environ={})
    assert config["HOCVU_BASE_URL"] == "http://127.0.0.1:5101"
    assert config["HOCVU_BASE_URL_GIVEN"] is False
    given = load_config(
        tmp_path, {**development, "HOCVU_BASE_URL": "http://192.168.1.20:5101"}, environ={}
    )
    assert given["HOCVU_BASE_URL"] == "http://192.168.1.20:5101"


def test_development_keeps_a_generated_key_across_restarts(tmp_path):
    first = load_config(tmp_path, environ={"HOCVU_ENV": "development"})
    second = load_config(tmp_path, environ={"HOCVU_ENV": "development"})
    assert first["HOCVU_SECRET_KEY"] == second["HOCVU_SECRET_KEY"]
    assert len(first["HOCVU_SECRET_KEY"]) >= 40
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_sources_in_order_defaults_instance_file_environment_overrides(tmp_path):
    (tmp_path / "config.py").write_text(
        'HOCVU_SECRET_KEY = "from-file"\nHOCVU_SITE_NAME = "Từ tệp"\nHOCVU_PAGE_SIZE = 20\n',
        encoding="utf-8",
    )
    config = load_config(
        tmp_path,
        overrides={"HOCVU_PAGE_SIZE": 7},
        environ={
            "HOCVU_SITE_NAME": "Từ môi trường",
            "HOCVU_LOGIN_WINDOW_MINUTES": "30",
            "HOCVU_SESSION_COOKIE_SECURE": "false",
            "HOCVU_BASE_URL": "http://hoc.example.vn",
            "HOCVU_CONTENT_ORIGIN": "http://noidung.example.vn",
        },
    )
    assert config["HOCVU_SECRET_KEY"] == "from-file"
    assert config["HOCVU_SITE_NAME"] == "Từ môi trường"
    assert config["HOCVU_LOGIN_WINDOW_MINUTES"] == 30
    assert config["HOCVU_PAGE_SIZE"] == 7
    assert config["HOCVU_SESSION_COOKIE_SECURE"] is False
    assert config["HOCVU_DATABASE_URL"] == f"sqlite:///{tmp_path / 'hocvu.sqlite3'}"


def test_production_cookies_are_secure_by_default(tmp_path):
    config = load_config(
        tmp_path,
        environ={
            "HOCVU_SECRET_KEY": "k" * 40,
            "HOCVU_BASE_URL": "https://hoc.example.vn",
            "HOCVU_CONTENT_ORIGIN": "https://noidung.example.vn",
        },
    )
    assert config["HOCVU_SESSION_COOKIE_SECURE"] is True


def test_unknown_environment_name_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="HOCVU_ENV"):
        load_config(tmp_path, environ={"HOCVU_ENV": "prod", "HOCVU_SECRET_KEY": "x"})


def test_create_app_maps_settings_to_flask(tmp_path):
    app = create_app(
        {
            "HOCVU_SECRET_KEY": "s3cret",
            "HOCVU_INSTANCE_PATH": str(tmp_path),
            "HOCVU_DATABASE_URL": "sqlite://",
            "HOCVU_BASE_URL": "https://hoc.example.vn",
            "HOCVU_CONTENT_ORIGIN": "https://noidung.example.vn",
        }
    )
    assert app.config["SECRET_KEY"] == "s3cret"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite://"
    assert app.instance_path == str(tmp_path)


def test_a_connection_killed_while_idle_is_replaced_unnoticed(
    app, client, login, make, monkeypatch
):
    """PostgreSQL restarted, or a proxy closed idle connections: the next request still works
    (idle connections are checked before use; busy ones are not, to save a round trip)."""
    import sqlalchemy as sa

    import lms
    from lms.app.extensions import db

    if app.config["HOCVU_DATABASE_URL"].startswith("sqlite"):
        pytest.skip("server connections only")
    make.learner(make.unit(), username="hv.ketnoi")
    make.commit()
    login("hv.ketnoi")
    assert client.get("/").status_code == 200
    monkeypatch.setattr(lms, "IDLE_PING_SECONDS", 0.0)
    with app.app_context():
        name = db.engine.url.database
    killer = sa.create_engine(app.config["HOCVU_DATABASE_URL"], isolation_level="AUTOCOMMIT")
    with killer.connect() as conn:
        killed = conn.execute(
            sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = :n AND pid <> pg_backend_pid()"
            ),
            {"n": name},
        ).scalar()
    killer.dispose()
    assert killed >= 1
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("value", [0, -1, "64KB", True])
def test_a_body_limit_that_is_not_a_number_of_bytes_is_refused(tmp_path, value):
    with pytest.raises(ConfigError, match="HOCVU_MAX_FORM_BODY_BYTES"):
        load_config(
            tmp_path,
            {"HOCVU_ENV": "testing", "HOCVU_MAX_FORM_BODY_BYTES": value},
            environ={},
        )


HSTS = "max-age=31536000; includeSubDomains"


@pytest.mark.parametrize(
    ("app_config", "expected"),
    [
        (
            {
                "HOCVU_ENV": "production",
                "HOCVU_SESSION_COOKIE_SECURE": True,
                "HOCVU_BASE_URL": "https://hoc.example.vn",
                "HOCVU_CONTENT_ORIGIN": "https://content.localhost",
            },
            HSTS,
        ),
        (
            {
                "HOCVU_ENV": "production",
                "HOCVU_SESSION_COOKIE_SECURE": False,
                "HOCVU_BASE_URL": "http://hoc.example.vn",
            },
            None,
        ),
        ({"HOCVU_ENV": "development", "HOCVU_SESSION_COOKIE_SECURE": False}, None),
        ({"HOCVU_ENV": "development", "HOCVU_SESSION_COOKIE_SECURE": True}, None),
        ({"HOCVU_ENV": "testing", "HOCVU_SESSION_COOKIE_SECURE": False}, None),
    ],
    ids=["production", "production-over-http", "development", "development-secure", "testing"],
)
def test_hsts_is_sent_by_a_production_site_served_over_https_only(client, expected):
    # RFC 6797: the header makes browsers use HTTPS only, for a year; a development site
    # must not send it (it would bind localhost to HTTPS for every other local app too).
    pages = {"/login": 200, "/static/css/hocvu.css": 200, "/healthz": 200, "/no-such-page": 404}
    for path, status in pages.items():
        response = client.get(path)
        assert response.status_code == status, path
        assert response.headers.get("Strict-Transport-Security") == expected, path

"""Configuration sources, their order, and the refusal to run without a secret key."""

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
        environ={"HOCVU_SECRET_KEY": "k" * 40, "HOCVU_CONTENT_ORIGIN": "https://noidung.example.vn"},
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
                "HOCVU_CONTENT_ORIGIN": "https://content.localhost",
            },
            HSTS,
        ),
        ({"HOCVU_ENV": "production", "HOCVU_SESSION_COOKIE_SECURE": False}, None),
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

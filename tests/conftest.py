"""Fixtures: an app on a fresh database per test (SQLite, and PostgreSQL when
HOCVU_TEST_DATABASE_URL is set), a client, a CLI runner, factories and a login helper."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from lms import create_app
from lms.app.extensions import db
from lms.services import passwords
from tests import factories

PG_URL = os.environ.get("HOCVU_TEST_DATABASE_URL")
# Where the tests' package files are served (browsers resolve *.localhost to this machine).
CONTENT_ORIGIN = "http://content.localhost:5001"
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch):
    """Argon2id at its production cost takes ~20 ms a hash; tests use a cheap setting of the
    same KDF."""
    monkeypatch.setattr(
        passwords, "PASSWORD_PARAMS", {"memory_cost": 64, "time_cost": 1, "parallelism": 1}
    )


class Database:
    """A database created once per run and emptied after each test."""

    def __init__(self, url: str, cleanup=None) -> None:
        self.url = url
        self.cleanup = cleanup
        self.migrated = False

    def empty(self) -> None:
        engine = sa.create_engine(self.url)
        with engine.begin() as conn:
            tables = list(reversed(db.metadata.sorted_tables))
            if conn.dialect.name == "postgresql":
                names = ", ".join(f'"{t.name}"' for t in tables)
                conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                # course and course_version refer to each other: check keys at commit.
                conn.execute(sa.text("PRAGMA defer_foreign_keys=ON"))
                for table in tables:
                    conn.execute(table.delete())
        engine.dispose()


def _pg_database(worker: str) -> Database:
    """A throw-away PostgreSQL database for this run, dropped at the end."""
    base = sa.engine.make_url(PG_URL)
    name = f"hocvu_test_{worker}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"
                ),
                {"n": name},
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()

    url = base.set(database=name).render_as_string(hide_password=False)
    return Database(url, drop)


@pytest.fixture(scope="session")
def databases(tmp_path_factory, worker_id) -> Iterator[dict[str, Database]]:
    """One database per backend for the whole run."""
    worker = re.sub(r"\W", "", worker_id)
    found = {"sqlite": Database(f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}")}
    if PG_URL:
        found["postgresql"] = _pg_database(worker)
    yield found
    for database in found.values():
        if database.cleanup:
            database.cleanup()


@pytest.fixture(scope="session")
def worker_id(request) -> str:
    """The pytest-xdist worker id, or 'main' without xdist."""
    return getattr(request.config, "workerinput", {}).get("workerid", "main")


def make_app(database_url: str, instance: Path, **overrides) -> Flask:
    """An app on `database_url` with test settings."""
    config = {
        "HOCVU_ENV": "testing",
        "HOCVU_SECRET_KEY": "test-secret-key",
        "HOCVU_DATABASE_URL": database_url,
        "HOCVU_INSTANCE_PATH": str(instance),
        "HOCVU_JOBS_INLINE": False,
        "HOCVU_SESSION_COOKIE_SECURE": False,
        # The test client's requests come to "localhost": the content origin is another name.
        "HOCVU_CONTENT_ORIGIN": CONTENT_ORIGIN,
        # A site whose operator named the issuer of its certificates (none by default).
        "HOCVU_CERT_ORGANISATION": "Liên đoàn Lao động tỉnh Quảng Ninh",
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture(scope="session")
def signing_key(tmp_path_factory) -> Path:
    """A development signing key, made once for the run (RSA key generation is slow)."""
    from certificates.sign import make_development_key

    path = tmp_path_factory.mktemp("signing") / "development.p12"
    make_development_key(path, "Liên đoàn Lao động tỉnh Quảng Ninh")
    return path


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    """The database backend of this test run ('sqlite' or 'postgresql')."""
    return request.param


@pytest.fixture
def app_config() -> dict:
    """Extra settings for the `app` fixture; override in a test module to change them."""
    return {}


@pytest.fixture
def app(backend, databases, tmp_path, app_config, signing_key) -> Iterator[Flask]:
    """The application on a fresh (migrated, empty) database.

    No app context stays pushed during the test: each request gets its own, as in
    production (a shared one would share `g`, and with it CSRF tokens and the logged-in user,
    between requests). Tests reach the database through the `session` fixture.
    """
    database = databases[backend]
    app = make_app(
        database.url, tmp_path / "instance", HOCVU_SIGNING_KEY=str(signing_key), **app_config
    )
    if not database.migrated:
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
        database.migrated = True
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    database.empty()


@pytest.fixture
def session(app) -> Iterator[Session]:
    """A session on the test's database, separate from the requests' sessions.

    Call `session.rollback()` before reading what a request changed, so that a read
    transaction opened earlier does not show an older snapshot.
    """
    with app.app_context():
        engine = db.engine
    with Session(engine) as test_session:
        yield test_session


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make(session):
    """The factories, bound to the test's session."""
    return factories.Factories(session)


class LoggedIn:
    """Log a test client in through the real login form (CSRF token included)."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def __call__(self, username: str, password: str = factories.PASSWORD):
        token = csrf_token(self.client, "/login")
        response = self.client.post(
            "/login", data={"username": username, "password": password, "csrf_token": token}
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        return response


@pytest.fixture
def login(client) -> LoggedIn:
    return LoggedIn(client)


_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str) -> str:
    """The CSRF token of the form on `path`."""
    page = client.get(path).get_data(as_text=True)
    match = _TOKEN.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


@pytest.fixture
def post(client):
    """POST a form with a valid CSRF token taken from `form_page` (default: the same path)."""

    def send(path: str, data: dict | None = None, form_page: str | None = None, **kwargs):
        token = csrf_token(client, form_page or path)
        return client.post(path, data={"csrf_token": token, **(data or {})}, **kwargs)

    return send

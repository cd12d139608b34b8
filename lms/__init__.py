"""Hocvu, the LMS: create_app() for a standalone site, init_app() to mount it in a host app."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import Pool

from lms.app.config import ConfigError, default_instance_path, load_config
from lms.app.database import end_autocommit

__all__ = ["ConfigError", "create_app", "init_app"]

PACKAGE_DIR = Path(__file__).resolve().parent


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the standalone Hocvu application.

    `config` overrides every other source (used by tests); HOCVU_INSTANCE_PATH in it or in the
    environment chooses the instance folder.
    """
    config = dict(config or {})
    instance = Path(config.get("HOCVU_INSTANCE_PATH") or default_instance_path())
    app = Flask(__name__, instance_path=str(instance), static_folder=None)
    init_app(app, config=config)
    from lms.app.logs import configure_logging

    configure_logging(app)
    return app


def init_app(app: Flask, url_prefix: str = "", config: Mapping[str, Any] | None = None) -> None:
    """Add Hocvu to `app`, its pages under `url_prefix` (for example "/hocvu")."""
    from lms import cli, jobs
    from lms.app import logs, metrics
    from lms.app.extensions import babel, csrf, db, login_manager, migrate
    from lms.app.i18n import init_i18n
    from lms.jobs import (  # noqa: F401 - register their tasks
        certificates,
        cohorts,
        exports,
        extensions,
        imports,
        reminders,
        reports,
    )
    from lms.services import uploads
    from lms.web import limits, register_web

    settings = load_config(Path(app.instance_path), config)
    app.config.update(settings)
    app.config.update(
        SECRET_KEY=settings["HOCVU_SECRET_KEY"],
        SQLALCHEMY_DATABASE_URI=settings["HOCVU_DATABASE_URL"],
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings["HOCVU_DATABASE_URL"]),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings["HOCVU_SESSION_COOKIE_SECURE"],
        PERMANENT_SESSION_LIFETIME=timedelta(hours=int(settings["HOCVU_SESSION_HOURS"])),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        # The largest upload and its form (lms.services.uploads): larger is refused with a 413.
        MAX_CONTENT_LENGTH=app.config.get("MAX_CONTENT_LENGTH") or uploads.REQUEST_BYTES,
        TESTING=settings["HOCVU_ENV"] == "testing" or app.config.get("TESTING", False),
    )
    app.config["HOCVU_URL_PREFIX"] = url_prefix.rstrip("/")

    # First of the request hooks: every later hook's log records carry the request id.
    logs.init_app(app, on_response=metrics.count_request)
    # Second: each request's body limit is set before the CSRF check or a view reads the body.
    limits.init_app(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PACKAGE_DIR / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    init_i18n(app, babel)
    jobs.init_app(app)
    certificates.init_app(app)
    register_web(app, url_prefix=app.config["HOCVU_URL_PREFIX"])
    cli.register(app)
    if settings["HOCVU_TRUST_PROXY_HOPS"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(settings["HOCVU_TRUST_PROXY_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    logging.getLogger(__name__).debug("Hocvu initialised (%s)", settings["HOCVU_ENV"])


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30}}
    # Connections are checked before use only when they have been idle (see _ping_if_idle):
    # a ping before every request would double the round trips of the busiest requests.
    return {"pool_pre_ping": False, "pool_recycle": 3600}


# A pooled connection idle this long may have been closed by a database restart or a proxy.
IDLE_PING_SECONDS = 10.0


@event.listens_for(Pool, "checkout")
def _ping_if_idle(dbapi_connection, record, _proxy) -> None:
    """Check a server connection that has been idle before handing it out; a dead one is
    replaced (the pool retries the checkout), so a request never fails on it."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        return
    last = record.info.get("hocvu_checked_in")
    if last is None or time.monotonic() - last < IDLE_PING_SECONDS:
        return
    try:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
        dbapi_connection.rollback()
    except Exception as error:  # noqa: BLE001 - any failure means the connection is gone
        raise DisconnectionError() from error


@event.listens_for(Pool, "checkin")
def _note_checkin(dbapi_connection, record) -> None:
    record.info["hocvu_checked_in"] = time.monotonic()
    if dbapi_connection is not None:
        end_autocommit(dbapi_connection, record)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL for concurrent readers, enforced foreign keys, waiting instead of failing, and
    Unicode-aware lower()/upper()."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        # SQLite's own lower()/upper() know only ASCII; searches must fold "Đ" and "Ễ" too.
        dbapi_connection.create_function("lower", 1, _lower, deterministic=True)
        dbapi_connection.create_function("upper", 1, _upper, deterministic=True)


def _lower(value):
    return value.lower() if isinstance(value, str) else value


def _upper(value):
    return value.upper() if isinstance(value, str) else value

"""Endpoints for the machines that run Hocvu: health, readiness and metrics.

/healthz answers as long as the process serves requests (it touches no database), for a
process supervisor or a load balancer's liveness check. /readyz checks that the database, and
Redis when HOCVU_REDIS_URL is set, answer within a second, so that a load balancer sends
requests only to workers that can serve them. /metrics is for Prometheus. None needs a login
or a CSRF token; they are registered outside the audiences' blueprints, so no login rule,
password-change redirect or job start runs before them.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

from flask import Blueprint, Response, current_app, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from sqlalchemy.engine import Engine

from lms.app import metrics
from lms.app.extensions import csrf, db
from lms.jobs.core import JobQueueCollector

log = logging.getLogger(__name__)

bp = Blueprint("ops", __name__)

# Readiness must answer quickly even when a dependency hangs (a black-holed address).
READY_TIMEOUT_SECONDS = 1.0

# One readiness check at a time per process: a probe that hangs past the timeout is not
# joined by another every few seconds.
_probe_lock = threading.Lock()
_probe: Future | None = None


@bp.route("/healthz")
@csrf.exempt
def healthz():
    """The process is up and serves requests (no database access)."""
    return jsonify(status="ok")


def _check(engine: Engine, redis_url: str | None) -> None:
    """Raise when the database or Redis does not answer."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    if redis_url:
        try:
            import redis
        except ImportError:
            raise RuntimeError(
                "redis: HOCVU_REDIS_URL is set but the redis package is not installed"
            ) from None
        client = redis.Redis.from_url(
            redis_url,
            socket_connect_timeout=READY_TIMEOUT_SECONDS,
            socket_timeout=READY_TIMEOUT_SECONDS,
        )
        try:
            client.ping()
        except Exception as error:  # noqa: BLE001 - any failure means not ready
            raise RuntimeError(f"redis: {type(error).__name__}: {error}") from None
        finally:
            client.close()


def _run_probe(engine: Engine, redis_url: str | None, future: Future) -> None:
    try:
        _check(engine, redis_url)
    except Exception as error:  # noqa: BLE001 - reported as the reason
        future.set_exception(error)
    else:
        future.set_result(True)


@bp.route("/readyz")
@csrf.exempt
def readyz():
    """The database (and Redis, when configured) answers within a second: 200, else 503."""
    global _probe
    started = time.perf_counter()
    engine = db.engine
    redis_url = current_app.config.get("HOCVU_REDIS_URL")
    with _probe_lock:
        if _probe is not None and not _probe.done():
            return _not_ready("an earlier check has not finished: a dependency hangs")
        _probe = future = Future()
    threading.Thread(
        target=_run_probe, args=(engine, redis_url, future), name="hocvu-readyz", daemon=True
    ).start()
    try:
        future.result(timeout=READY_TIMEOUT_SECONDS)
    except FutureTimeout:
        return _not_ready(f"no answer within {READY_TIMEOUT_SECONDS:g} s")
    except Exception as error:  # noqa: BLE001 - any failure means not ready
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        if not reason.startswith("redis:"):
            reason = f"database: {type(error).__name__}: {reason}"
        return _not_ready(reason[:300])
    checks = ["database"] + (["redis"] if redis_url else [])
    return jsonify(
        status="ready",
        checks=checks,
        duration_ms=round(1000 * (time.perf_counter() - started), 1),
    )


def _not_ready(reason: str):
    log.warning("not ready: %s", reason)
    return jsonify(status="not ready", reason=reason), 503


def _metrics_allowed() -> bool:
    """A bearer token equal to HOCVU_METRICS_TOKEN, or a loopback client not behind a proxy."""
    token = current_app.config.get("HOCVU_METRICS_TOKEN")
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer "):
        return hmac.compare_digest(header[7:].strip().encode(), str(token).encode())
    # nginx on the same machine connects from loopback too: a request it forwarded carries
    # X-Forwarded-For (or Forwarded) and is not treated as local.
    if "X-Forwarded-For" in request.headers or "Forwarded" in request.headers:
        return False
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


@bp.route("/metrics")
@csrf.exempt
def scrape():
    """Prometheus metrics (text exposition format)."""
    if not _metrics_allowed():
        return jsonify(
            status="forbidden",
            reason="metrics are served to loopback clients or with the bearer token "
            "HOCVU_METRICS_TOKEN",
        ), 403
    body = metrics.exposition(JobQueueCollector(db.session))
    db.session.rollback()
    return Response(body, content_type=CONTENT_TYPE_LATEST)

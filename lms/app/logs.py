"""Logs: a request id on every request and in every log record, readable or JSON lines.

Each request gets an id: the incoming X-Request-ID when it is a short safe token (nginx's
$request_id, a load balancer's), else a new one. It is sent back in X-Request-ID and added to
every log record written while the request runs, with its method and path, so that the lines
of one request can be found across nginx, gunicorn and Hocvu. HOCVU_LOG_FORMAT=json writes one
JSON object per line (for a log collector); the default is one readable line.

The request path pays for this on every request, including the SCORM commit endpoint: the
hooks only read a header, set one context variable and one response header.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import sys
import time
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_KEY = "HTTP_X_REQUEST_ID"  # the header in the WSGI environ, read directly
# Letters, digits and a few separators, at most 64: safe to log and to echo in a header.
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}\Z")

# (request id, start time) of the request running in this thread, or None. The method and
# path are read from the request only when a record is written.
_current: contextvars.ContextVar[tuple[str, float] | None] = contextvars.ContextVar(
    "hocvu_request", default=None
)

access_log = logging.getLogger("lms.access")


def new_request_id() -> str:
    """A fresh request id: 16 hex digits (64 random bits)."""
    return os.urandom(8).hex()


def request_id() -> str | None:
    """The id of the request being served, or None outside a request."""
    current = _current.get()
    return current[0] if current else None


class RequestContextFilter(logging.Filter):
    """Adds request_id, method and path (or None) to every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "rid" in record.__dict__:  # the access line brings its own
            return True
        current = _current.get()
        if current is None or not has_request_context():
            record.request_id = record.method = record.path = None
            record.rid = "-"
        else:
            record.request_id = record.rid = current[0]
            record.method, record.path = request.method, request.path
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request fields, extras."""

    EXTRA = ("status", "duration_ms", "endpoint", "remote_addr")

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "method": getattr(record, "method", None),
            "path": getattr(record, "path", None),
        }
        for name in self.EXTRA:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s [%(rid)s] %(name)s: %(message)s"


class _HocvuHandler(logging.StreamHandler):
    """The handler configure_logging() installs (so that it replaces only its own)."""


def configure_logging(app: Flask) -> None:
    """Send log records to stderr in the configured format, each with its request fields.

    Called by create_app() only: an application that mounts Hocvu keeps its own logging.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _HocvuHandler):
            root.removeHandler(handler)
    handler = _HocvuHandler(sys.stderr)
    handler.addFilter(RequestContextFilter())
    if app.config["HOCVU_LOG_FORMAT"] == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(str(app.config["HOCVU_LOG_LEVEL"]).upper())
    # Flask's own handler on app.logger would print each of its records a second time.
    from flask.logging import default_handler

    app.logger.removeHandler(default_handler)


# Successful answers of these endpoints get no access line unless slow: a SCORM commit comes
# every 30 s from every learner; /metrics has their count and latency, nginx's log each one.
QUIET_ENDPOINTS = frozenset(
    {"player.commit", "ops.healthz", "ops.readyz", "ops.scrape", "content.files", "content.asset"}
)
QUIET_BELOW_SECONDS = 1.0


def init_app(app: Flask, on_response=None) -> None:
    """Give every request an id, echo it in the response, and log one access line.

    `on_response(endpoint, status, seconds)` is called after each request (the metrics
    hook), so that the endpoint and the clock are read once.
    """
    access = bool(app.config["HOCVU_ACCESS_LOG"])

    @app.before_request
    def start_request() -> None:
        incoming = request.environ.get(_REQUEST_ID_KEY)
        rid = incoming if incoming and _SAFE_ID.match(incoming) else new_request_id()
        _current.set((rid, time.perf_counter()))

    @app.after_request
    def finish_request(response: Response) -> Response:
        current = _current.get()
        if current is None:  # a request that failed before start_request
            return response
        rid = current[0]
        response.headers[REQUEST_ID_HEADER] = rid
        seconds = time.perf_counter() - current[1]
        served = request._get_current_object()  # once, not through the proxy each time
        endpoint, status = served.endpoint, response.status_code
        if on_response is not None:
            on_response(endpoint, status, seconds)
        if not access or (
            status < 400 and seconds < QUIET_BELOW_SECONDS and endpoint in QUIET_ENDPOINTS
        ):
            return response
        if access_log.isEnabledFor(logging.INFO):
            duration = round(1000 * seconds, 2)
            method, path = served.method, served.path
            token = (served.view_args or {}).get("token")
            if token:  # a link to a package's files is a capability: kept out of the logs
                path = path.replace(token, "<link>")
            access_log.info(
                "%s %s %s %.2f ms",
                method,
                path,
                status,
                duration,
                extra={
                    "status": status,
                    "duration_ms": duration,
                    "endpoint": endpoint,
                    # What RequestContextFilter would look up again.
                    "request_id": rid,
                    "rid": rid,
                    "method": method,
                    "path": path,
                },
            )
        return response

    @app.teardown_request
    def end_request(_error=None) -> None:
        _current.set(None)

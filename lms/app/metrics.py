"""Prometheus metrics: SCORM commits, HTTP requests, login failures, the job queue.

Counters and histograms live in this process (prometheus_client). Under gunicorn each worker
is a process of its own: with PROMETHEUS_MULTIPROC_DIR set in the environment before the
workers start, prometheus_client keeps their values in files in that folder and /metrics adds
up every worker's (gunicorn.conf.py clears the folder at start and marks dead workers). The
job queue is read from the database when /metrics is scraped, so every worker reports the
same figure.
"""

from __future__ import annotations

import logging
import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

log = logging.getLogger(__name__)

# Hocvu's own registry: nothing of a host application's, and none of the default process
# collectors, which do not add up across workers.
REGISTRY = CollectorRegistry(auto_describe=True)

COMMIT_OUTCOMES = ("taken", "replay", "superseded", "refused", "error")

scorm_commits = Counter(
    "hocvu_scorm_commits",
    "SCORM commits received, by outcome: taken (stored), replay (not newer than the stored "
    "one), superseded (an older launch), refused (not logged in, expired page, unreadable, "
    "not the learner's), error (server error).",
    ["outcome"],
    registry=REGISTRY,
)
scorm_commit_seconds = Histogram(
    "hocvu_scorm_commit_seconds",
    "Time to handle a SCORM commit in the application (from the view's start).",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
    registry=REGISTRY,
)
scorm_values_refused = Counter(
    "hocvu_scorm_commit_values_refused",
    "Values of taken SCORM commits that the data model's rules refused (the stored one kept).",
    registry=REGISTRY,
)
http_requests = Counter(
    "hocvu_http_requests",
    "HTTP requests answered, by endpoint (the Flask endpoint name; 'unmatched' for unknown "
    "paths) and status code.",
    ["endpoint", "status"],
    registry=REGISTRY,
)
login_failures = Counter(
    "hocvu_login_failures",
    "Failed logins, by reason: credentials (wrong username or password), throttled "
    "(refused while over the limit), inactive (a deactivated account).",
    ["reason"],
    registry=REGISTRY,
)

# Label values known in advance start at 0, so that rate() sees the first increase. The
# children are kept: labels() takes a lock and builds a key on every call, and these are
# counted on the busiest request.
_commit_children = {outcome: scorm_commits.labels(outcome) for outcome in COMMIT_OUTCOMES}
for _reason in ("credentials", "throttled", "inactive"):
    login_failures.labels(_reason)
_request_children: dict[tuple[str | None, int], Counter] = {}


def record_commit(outcome: str, seconds: float) -> None:
    """Count one SCORM commit and its time."""
    _commit_children[outcome].inc()
    scorm_commit_seconds.observe(seconds)


def count_request(endpoint: str | None, status: int, _seconds: float) -> None:
    """Count one answered request (called by lms.app.logs after each request)."""
    key = (endpoint, status)
    child = _request_children.get(key)
    if child is None:
        # Endpoints and status codes are few (unknown paths are all "unmatched").
        child = _request_children[key] = http_requests.labels(key[0] or "unmatched", str(key[1]))
    child.inc()


def multiprocess_dir() -> str | None:
    """The folder of multiprocess mode, when prometheus_client runs in it."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR")


def exposition(*collectors) -> bytes:
    """The text exposition of every metric: this process's (or all workers'), then those of
    `collectors`, counted now (the job queue's, lms.jobs.core.JobQueueCollector)."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        counters = generate_latest(registry)
    else:
        counters = generate_latest(REGISTRY)
    scraped = CollectorRegistry()
    for collector in collectors:
        scraped.register(collector)
    return counters + generate_latest(scraped)

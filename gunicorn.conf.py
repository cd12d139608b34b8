"""gunicorn settings for Hocvu: `gunicorn -c gunicorn.conf.py wsgi:app` (docs/deployment.md).

Every value can be changed without editing this file: gunicorn's own GUNICORN_CMD_ARGS, or
the variables read below (GUNICORN_BIND, GUNICORN_WORKERS, ...).
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
from pathlib import Path


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


# nginx on the same machine talks to gunicorn on loopback; on several machines bind the
# private address the load balancer reaches (and keep the port closed to everything else).
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# Sync workers: each request is short (a SCORM commit takes about a millisecond of Python,
# then the database), Hocvu's code is synchronous (SQLAlchemy, psycopg), and a worker that
# waits on a slow client is not a concern because nginx buffers requests and responses.
# Two per core plus one keeps the cores busy while some workers wait on the database.
worker_class = "sync"
workers = _int("GUNICORN_WORKERS", 2 * multiprocessing.cpu_count() + 1)

# A request running longer than this is killed and its worker replaced; the longest
# requests (an XLSX import's check, a package upload) stay well under it, the long work runs
# as jobs. On HUP or TERM, workers get graceful_timeout to finish their requests.
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = 5  # behind nginx; sync workers close after each response anyway

# Replace each worker after about this many requests (jitter: not all at once), so that
# memory a library keeps growing is given back. Not much more often: a new worker costs
# about 5 s of CPU on a small server (imports, the app, the templates), which at 2,000
# requests was a tenth of all the CPU and, with the workers started together, stalled every
# request for seconds while they were replaced together (the load test, bench/load_test.py).
max_requests = _int("GUNICORN_MAX_REQUESTS", 20000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 5000)

# Not preloaded: each worker imports the application itself. `kill -HUP <master>` then starts
# workers with the new code (a deploy without downtime: old workers finish their requests),
# and no database connection, pool or job-runner thread is created before the fork and
# shared by the workers. The cost is a few seconds of start-up and the memory of one import
# per worker.
preload_app = False

# X-Forwarded-Proto and friends are believed only from nginx (the same machine). Hocvu's
# own HOCVU_TRUST_PROXY_HOPS=1 makes Flask read the client address from X-Forwarded-For.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Hocvu writes its own access line with the request id (HOCVU_ACCESS_LOG); gunicorn's
# messages go to stderr beside Hocvu's logs.
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
proc_name = "hocvu"


def on_starting(server) -> None:
    """Start Prometheus multiprocess mode with an empty folder (stale files of a previous run
    would be added to the new counts)."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        return
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    for child in path.iterdir():
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()
    server.log.info("Prometheus multiprocess folder emptied: %s", path)


def child_exit(server, worker) -> None:
    """Tell prometheus_client that a worker is gone (its live gauges are dropped)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker) -> None:
    """Compile the templates before the worker takes its first request (workers are replaced
    every ~20,000 requests; each new one would otherwise be slow for its first learners),
    then freeze what start-up made out of the garbage collector's reach."""
    import gc

    from flask import Flask

    from lms.web import warm_up

    app = worker.wsgi
    # Hocvu's app only (the commit benchmark serves a bare Flask app with this file too).
    if isinstance(app, Flask) and "HOCVU_LOCALES" in app.config:
        count = warm_up(app)
        worker.log.info("Worker %s: %d templates compiled", worker.pid, count)
    # A worker holds about 200,000 objects from its imports, the app and the templates, all
    # kept to the end; a full collection walked them every few requests (about 100 ms each,
    # a fifth of a learner page's CPU on average). Frozen, they are never walked again; what
    # requests make is collected as before.
    gc.collect()
    gc.freeze()

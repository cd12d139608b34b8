"""Benchmark: the SCORM commit endpoint in-process (no server, no network), per commit.

Measures what Hocvu's own code costs per commit, so that a change to the request path
(request ids, logs, metrics) can be compared before and after:

    .venv/bin/python bench/commit_overhead.py [--standard both] [--commits 2000] [--rounds 7]
        [--learners 200] [--profile] [--database URL]

For each standard (SCORM 1.2, and 2004 with the SN engine) it calls the WSGI application
directly with a prepared login cookie and CSRF token (the same preparation as
bench/scorm_commits.py) on a SQLite file in a temporary folder (--database: on that empty
database instead, e.g. a PostgreSQL one made for the run), and prints the median time
per commit of each round and the median of the rounds (--profile: and cProfile's top
functions of one more round), then the same for bench/scorm_commits.py's bare Flask
endpoint (it only updates the row) and the ratio of the two. Start-up is frozen out of the
garbage collector's reach first (gc.freeze(), as gunicorn.conf.py's workers do). A whole
commit varies by
hundreds of microseconds from run to run on a shared machine, so it then times the
operations hooks alone (request id, metrics, access line) on a commit request, which a
whole-commit comparison cannot resolve.

Figures (2026-12-05, the shared 2-core machine, medians of 5 rounds, 3 interleaved runs on
SQLite and 2 on PostgreSQL with its server on the machine; bare app 230-280 us on SQLite,
800-940 us on PostgreSQL): before h/driver a SCORM 1.2 commit took 781-830 us on SQLite and
1,598-1,627 us on PostgreSQL, a 2004 commit 839-948 and 1,653-1,657 us; with the commit's
statements and the login query on the driver's cursor (lms/app/driver.py) 581-667 and
1,337-1,338 us (1.2), 669-694 and 1,442-1,489 us (2004). Inside the view (timers around
the parts, SQLite, 1.2, the driver's cursor or Connection.execute in turn):
tracking.find_for_commit 137 -> 76 us, tracking.commit 149 -> 102 us (its UPDATE); the
launch values kept per learner and the values checked in one pass saved 7-10 us more.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scorm_commits import COMMITS, _config, bare_app, prepare  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--learners", type=int, default=200)
    parser.add_argument("--standard", choices=("1.2", "2004", "both"), default="both")
    parser.add_argument("--database", help="URL of an empty database (default: SQLite)")
    parser.add_argument(
        "--profile", action="store_true", help="print cProfile's top functions of one round"
    )
    args = parser.parse_args()
    standards = ("1.2", "2004") if args.standard == "both" else (args.standard,)

    from lms import create_app

    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        url = args.database or f"sqlite:///{tmp / 'bench.sqlite3'}"
        creds = {standard: prepare(url, tmp, args.learners, standard) for standard in standards}
        app = create_app(_config(url, tmp))
        os.environ["HOCVU_DATABASE_URL"] = url
        bare = bare_app()
        for standard in standards:
            lines = [line.split() for line in creds[standard].read_text().splitlines()]
            print(f"SCORM {standard}:")
            hocvu = per_commit(app, lines, COMMITS[standard], args)
            print(f"SCORM {standard}, the bare app:")
            baseline = per_commit(bare, lines, COMMITS[standard], args, bare=True)
            print(
                f"SCORM {standard}: Hocvu {hocvu:.0f} µs, bare {baseline:.0f} µs a commit "
                f"(bare/Hocvu {baseline / hocvu:.2f})"
            )
        hooks(app, lines[0])
    replays()


def per_commit(app, lines: list[list[str]], data: list[list[str]], args, bare=False) -> float:
    """Time `args.rounds` rounds of `args.commits` commits, the learners in turn; the
    median time of a commit in µs."""
    seqs = [0] * len(lines)
    wsgi = app.wsgi_app

    def one(i: int) -> None:
        state_id, cookie, token, key = lines[i]
        seqs[i] += 1
        body = json.dumps({"session": key, "seq": seqs[i], "data": data}).encode()
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": f"/player/state/{state_id}/commit",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_COOKIE": f"session={cookie}",
            "HTTP_X_CSRFTOKEN": token,
        }
        status = []
        out = b"".join(wsgi(environ, lambda s, h, e=None: status.append(s)))
        if not status[0].startswith("200") or b'"taken":true' not in out.replace(b" ", b""):
            sys.exit(f"commit not taken: {status[0]} {out[:200]!r}")

    for i in range(len(lines)):  # warm up: every state once
        one(i)
    gc.collect()
    gc.freeze()
    rounds = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        for n in range(args.commits):
            one(n % len(lines))
        rounds.append(1e6 * (time.perf_counter() - started) / args.commits)
    print("per commit (µs):", " ".join(f"{r:.0f}" for r in rounds))
    print(f"median: {statistics.median(rounds):.0f} µs")
    if args.profile and not bare:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        for n in range(args.commits):
            one(n % len(lines))
        profiler.disable()
        pstats.Stats(profiler).sort_stats(os.environ.get("PROFILE_SORT", "cumulative")).print_stats(
            45
        )
    return statistics.median(rounds)


def replays() -> None:
    """Time the re-check of a commit's values (a replay of 50 writes on each data model),
    which every taken commit does in Python; it should stay well under a millisecond."""
    import timeit

    from scorm import cmi12, cmi2004
    from scorm.datamodel import Launch

    for module, version, response, latency in (
        (cmi12, "1.2", "student_response", "00:00:05"),
        (cmi2004, "2004", "learner_response", "PT5S"),
    ):
        location = "cmi.core.lesson_location" if version == "1.2" else "cmi.location"
        writes = [(location, f"p{i}") for i in range(10)]
        for i in range(8):
            writes += [
                (f"cmi.interactions.{i}.id", f"q{i}"),
                (f"cmi.interactions.{i}.type", "choice"),
                (f"cmi.interactions.{i}.{response}", "a,b" if version == "1.2" else "a[,]b"),
                (f"cmi.interactions.{i}.result", "correct"),
                (f"cmi.interactions.{i}.latency", latency),
            ]
        launch = Launch(learner_id="hv-1", learner_name="Nguyễn Văn An", entry="ab-initio")

        def one(module=module, writes=writes, launch=launch):
            module.MODEL.replay(launch, {"cmi.suspend_data": "x" * 2000}, writes)

        best = min(timeit.repeat(one, number=200, repeat=7)) / 200
        print(f"SCORM {version}: replay of 50 writes {best * 1e6:.0f} µs")


def hooks(app, line) -> None:
    """Time the request-id, metrics and access-line hooks of one commit request."""
    import timeit

    from flask import Response

    from lms.app import logs, metrics

    start = app.before_request_funcs[None][0]
    finish = next(f for f in app.after_request_funcs[None] if f.__name__ == "finish_request")
    end = next(f for f in app.teardown_request_funcs[None] if f.__name__ == "end_request")
    assert start.__module__ == logs.__name__
    response = Response("{}", mimetype="application/json")
    path = f"/player/state/{line[0]}/commit"

    def one_request():
        start()
        finish(response)
        metrics.record_commit("taken", 0.004)
        end()

    n = 20_000
    with app.test_request_context(path, method="POST", headers={"X-Request-ID": "a1b2c3d4"}):
        best = min(timeit.repeat(one_request, number=n, repeat=7)) / n
        print(f"hooks per commit (request id, metrics; no access line): {best * 1e6:.1f} µs")
        # Another endpoint's successful answer gets an access line (to stderr).
        quiet, logs.QUIET_ENDPOINTS = logs.QUIET_ENDPOINTS, frozenset()
        try:
            best = min(timeit.repeat(one_request, number=n // 4, repeat=7)) / (n // 4)
        finally:
            logs.QUIET_ENDPOINTS = quiet
        print(f"the same with an access line: {best * 1e6:.1f} µs")


if __name__ == "__main__":
    main()

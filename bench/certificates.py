"""Benchmark: signed, stored certificates per second.

Targets (issue 24, "Twice the learners per core"): a signed, stored certificate in at most
10 ms median on one core, and 4,500 certificates (one batch) in at most 30 s on a 2-core
machine. (The first targets, issue "Signed Vietnamese PDF completion certificates", were 25 ms
and 90 s.) Run from the repository root:

    .venv/bin/python bench/certificates.py [--count 4500] [--processes 2] [--single 300]
        [--runs 3]

Each certificate is rendered (reportlab, Be Vietnam Pro), signed (PAdES, pyHanko with the
development key) and written to a storage folder, as `lms.services.certification` does, with
names that differ from one certificate to the next. Each run times `--single` certificates one
by one in this process (the wall-clock median, and beside it the median CPU time of the
process, which other programs on the machine do not inflate), then a batch of `--count` in
`--processes` processes (its wall-clock time, and the CPU time its processes used divided by
their number: the time on idle cores); the last line gives the medians over the runs, with the
targets.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from certificates.render import CertificateData, render_pdf  # noqa: E402
from certificates.sign import Signer, make_development_key  # noqa: E402

NAMES = [
    "Nguyễn Thị Bích Phượng",
    "Lò Văn Hặc",
    "Hoàng Thị Ngọc Trâm Anh Đào Nguyễn",
    "Trần Văn Bình",
    "Đặng Minh Giang",
]
BASE = CertificateData(
    serial="0000-0000-0000",
    verify_url="https://hoc.ldld-quangninh.vn/verify/0000-0000-0000",
    organisation="Liên đoàn Lao động tỉnh Quảng Ninh",
    learner_name=NAMES[0],
    course_title="Chuyển đổi số cơ bản",
    result="Đạt - 8,5/10",
    period="từ ngày 01/11/2026 đến ngày 09/11/2026",
    place_and_date="Hạ Long, ngày 23 tháng 11 năm 2026",
    signer_title="Chủ tịch",
    signer_name="Nguyễn Văn Hùng",
    birth_date="17/05/1990",
    unit="CĐCS Công ty Than Hà Lầm",
)

TARGET_MEDIAN_MS = 10.0
TARGET_BATCH_S = 30.0
TARGET_BATCH_COUNT = 4500

_signer: Signer | None = None
_out: Path | None = None


def _init(key: str, out: str) -> None:
    global _signer, _out
    _signer, _out = Signer(Path(key)), Path(out)


def _one(n: int) -> tuple[float, float]:
    """Render, sign and store certificate `n`: (wall-clock seconds, CPU seconds)."""
    start, cpu = time.perf_counter(), time.process_time()
    serial = f"BNCH-{n // 10000:04d}-{n % 10000:04d}"
    data = replace(
        BASE,
        serial=serial,
        learner_name=NAMES[n % len(NAMES)],
        verify_url=f"https://hoc.ldld-quangninh.vn/verify/{serial}",
    )
    pdf = _signer.sign(render_pdf(data))
    (_out / f"{serial}.pdf").write_bytes(pdf)
    return time.perf_counter() - start, time.process_time() - cpu


def _single(count: int, first: int) -> tuple[float, float, float]:
    """Median wall, p90 wall and median CPU time in ms of `count` certificates one by one."""
    times = [_one(first + n) for n in range(count)]
    wall = [w for w, _ in times]
    return (
        statistics.median(wall) * 1000,
        statistics.quantiles(wall, n=10)[-1] * 1000,
        statistics.median([c for _, c in times]) * 1000,
    )


def _batch(count: int, processes: int, key: str, out: str, first: int) -> tuple[float, float]:
    """Wall-clock seconds of a batch, and the CPU seconds its processes used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with ProcessPoolExecutor(processes, initializer=_init, initargs=(key, out)) as pool:
        list(pool.map(_one, range(first, first + count), chunksize=50))
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the workers have exited
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=TARGET_BATCH_COUNT)
    parser.add_argument("--single", type=int, default=300, help="certificates timed one by one")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    # The batch target is for 4,500; another --count is compared at the same rate.
    batch_target = TARGET_BATCH_S * args.count / TARGET_BATCH_COUNT
    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f} before the runs")
    with tempfile.TemporaryDirectory() as tmp:
        key = Path(tmp) / "dev.p12"
        make_development_key(key, "Liên đoàn Lao động tỉnh Quảng Ninh")
        out = Path(tmp) / "out"
        out.mkdir()
        _init(str(key), str(out))
        for n in range(20):  # warm-up: fonts, key, CMS template
            _one(n)
        medians, cpus, batches, batch_cpus = [], [], [], []
        for run in range(args.runs):
            first = (run + 1) * 100_000  # new serials, new files
            median, p90, cpu = _single(args.single, first)
            elapsed, batch_cpu = _batch(
                args.count, args.processes, str(key), str(out), first + 50_000
            )
            medians.append(median)
            cpus.append(cpu)
            batches.append(elapsed)
            batch_cpus.append(batch_cpu / args.processes)
            print(
                f"run {run + 1}: one core: median {median:.1f} ms (CPU {cpu:.1f} ms), "
                f"p90 {p90:.1f} ms per signed, stored certificate ({args.single}; target "
                f"<= {TARGET_MEDIAN_MS:.0f} ms) · batch: {args.count} in {elapsed:.1f} s with "
                f"{args.processes} processes ({args.count / elapsed:.0f}/s; CPU "
                f"{batch_cpu / args.processes:.1f} s per process; target <= {batch_target:.0f} s)"
            )
        print(
            f"median of {args.runs} runs: {statistics.median(medians):.1f} ms per certificate "
            f"(CPU {statistics.median(cpus):.1f} ms; target <= {TARGET_MEDIAN_MS:.0f} ms), "
            f"{args.count} in {statistics.median(batches):.1f} s on {args.processes} processes "
            f"(CPU {statistics.median(batch_cpus):.1f} s per process; target "
            f"<= {batch_target:.0f} s)"
        )


if __name__ == "__main__":
    main()

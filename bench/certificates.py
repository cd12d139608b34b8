"""Benchmark: signed, stored certificates per second.

Targets (issue "Signed Vietnamese PDF completion certificates"): median at most 25 ms per
signed, stored certificate on one core, and 4,500 certificates (one batch) in at most 90 s on a
2-core machine.

    .venv/bin/python bench/certificates.py [--count 4500] [--processes 2]

Each certificate is rendered (reportlab, Be Vietnam Pro), signed (PAdES, pyHanko with the
development key) and written to a storage folder, as `lms.services.certification` does.
"""

from __future__ import annotations

import argparse
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

_signer: Signer | None = None
_out: Path | None = None


def _init(key: str, out: str) -> None:
    global _signer, _out
    _signer, _out = Signer(Path(key)), Path(out)


def _one(n: int) -> float:
    start = time.perf_counter()
    serial = f"BNCH-{n // 10000:04d}-{n % 10000:04d}"
    data = replace(
        BASE,
        serial=serial,
        learner_name=NAMES[n % len(NAMES)],
        verify_url=f"https://hoc.ldld-quangninh.vn/verify/{serial}",
    )
    pdf = _signer.sign(render_pdf(data))
    (_out / f"{serial}.pdf").write_bytes(pdf)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=4500)
    parser.add_argument("--single", type=int, default=300, help="certificates timed one by one")
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        key = Path(tmp) / "dev.p12"
        make_development_key(key, "Liên đoàn Lao động tỉnh Quảng Ninh")
        out = Path(tmp) / "out"
        out.mkdir()
        _init(str(key), str(out))
        for n in range(20):  # warm-up: fonts, key, CMS template
            _one(n)
        times = [_one(n) for n in range(args.single)]
        median = statistics.median(times) * 1000
        p90 = statistics.quantiles(times, n=10)[-1] * 1000
        print(
            f"one core: median {median:.1f} ms, p90 {p90:.1f} ms per signed, stored "
            f"certificate ({args.single} certificates; target <= 25 ms)"
        )
        start = time.perf_counter()
        with ProcessPoolExecutor(
            args.processes, initializer=_init, initargs=(str(key), str(out))
        ) as pool:
            list(pool.map(_one, range(args.count), chunksize=50))
        elapsed = time.perf_counter() - start
        print(
            f"batch: {args.count} certificates in {elapsed:.1f} s with {args.processes} "
            f"processes ({args.count / elapsed:.0f}/s; target <= 90 s)"
        )


if __name__ == "__main__":
    main()

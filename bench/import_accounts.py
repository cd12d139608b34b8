"""Benchmark: importing 36,000 accounts from one CSV file.

Targets (issue "Admins create 36,000 learner accounts from one spreadsheet in under a minute"):
parse + validate + insert + enrol in at most 60 s on SQLite and on PostgreSQL, peak memory
under 500 MB; the dry run of the same file in at most 20 s.

    .venv/bin/python bench/import_accounts.py [--rows 36000] [--database URL]

Without --database a SQLite file in a temporary folder is used. A PostgreSQL URL must name a
throw-away database (its tables are created by the migrations and filled).
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương"]
MIDDLE = ["Văn", "Thị", "Minh", "Ngọc", "Quang", "Thu", "Đức", "Thanh", "Hữu", "Kim"]
GIVEN = [
    "An",
    "Bình",
    "Cường",
    "Dung",
    "Em",
    "Giang",
    "Hoa",
    "Hùng",
    "Lan",
    "Mai",
    "Nam",
    "Phượng",
    "Quân",
    "Sơn",
    "Tâm",
    "Trang",
    "Uyên",
    "Vinh",
    "Yến",
    "Đào",
]


def make_csv(rows: int, units: list[str]) -> bytes:
    rng = random.Random(7)
    lines = [
        "Họ và tên;Ngày sinh;Số điện thoại;Email;Đơn vị;Tên đăng nhập;Đợt học;Ngày cấp tài khoản"
    ]
    for n in range(rows):
        name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
        birth = f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(1965, 2004)}"
        phone = f"09{n:08d}"
        lines.append(f"{name};{birth};{phone};;{units[n % len(units)]};;;23/11/2026")
    return ("\n".join(lines) + "\n").encode("utf-8")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=36000)
    parser.add_argument("--database")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{tmp}/bench.sqlite3"
        from flask_migrate import upgrade

        from lms import create_app
        from lms.app.extensions import db
        from lms.app.storage import LocalStorage
        from lms.models import Cohort, Course, Role, RoleAssignment, User
        from lms.services import passwords, rosters
        from lms.services.units import create_unit
        from lms.setup.library import install_library

        app = create_app(
            {
                "HOCVU_ENV": "testing",
                "HOCVU_SECRET_KEY": "bench",
                "HOCVU_DATABASE_URL": url,
                "HOCVU_INSTANCE_PATH": tmp,
            }
        )
        with app.app_context():
            upgrade()
            install_library(db.session, LocalStorage(Path(tmp) / "files"))
            admin = User(
                username="admin",
                full_name="Quản trị",
                password_hash="x",
                sort_name="",
                search_name="",
                must_change_password=False,
                auth_epoch=0,
                is_active_account=True,
            )
            admin.roles = [RoleAssignment(role=Role.SITE_ADMIN)]
            db.session.add(admin)
            db.session.flush()
            root = create_unit(
                db.session, admin, parent=None, code="QN", name="LĐLĐ tỉnh Quảng Ninh"
            )
            codes = []
            for d in range(20):
                district = create_unit(
                    db.session, admin, parent=root, code=f"D{d}", name=f"LĐLĐ huyện {d}"
                )
                for g in range(10):
                    unit = create_unit(
                        db.session,
                        admin,
                        parent=district,
                        code=f"G{d}-{g}",
                        name=f"CĐCS số {d}-{g}",
                    )
                    codes.append(unit.code)
            course = db.session.query(Course).one()
            db.session.add(Cohort(name="Đợt 1", org_unit=root, courses=[course]))
            db.session.commit()
            data = make_csv(args.rows, codes)
            start = time.perf_counter()
            table = rosters.read_file("ds.csv", data)
            plan = rosters.plan_import(db.session, admin, table)
            dry = time.perf_counter() - start
            assert not plan.errors, plan.errors[:3]
            result = rosters.commit_import(
                db.session,
                admin,
                plan,
                batch_name="Đợt 1",
                initial_key=passwords.initial_password_key("bench"),
                today=__import__("datetime").date(2026, 11, 23),
            )
            db.session.commit()
            total = time.perf_counter() - start
            assert result.created == args.rows
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        backend = url.split(":", 1)[0]
        print(
            f"{backend}: {args.rows} rows: dry run {dry:.1f} s (target 20), "
            f"dry run + commit {total:.1f} s (target 60), peak memory {peak:.0f} MB "
            f"(target 500)"
        )


if __name__ == "__main__":
    main()

"""The demo organisation loaded by `hocvu init --demo` (and so by `make run`).

A provincial federation with district and sector unions and grassroots unions, a site
administrator, a unit administrator, a course author and learners, and the organisation
profile that its certificates print (the federation, Quảng Ninh, its chairman, numbers
QN-...). Loading it twice changes nothing. The demo accounts share one generated password,
kept (outside the database) in instance/demo-credentials.txt so that every `make run` can
print it again.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.app.storage import LocalStorage
from lms.models import Course, OrgUnit, Role, UnitKind, User
from lms.services import organisation
from lms.services.accounts import AccountData, create_user
from lms.services.catalog import enrol
from lms.services.passwords import generate_password
from lms.services.units import create_unit
from lms.setup.library import library_slugs

ROOT_CODE = "LDLD-QN"

# (code, name, kind, children)
TREE = (
    ROOT_CODE,
    "Liên đoàn Lao động tỉnh Quảng Ninh",
    UnitKind.FEDERATION,
    [
        (
            "LDLD-HL",
            "Liên đoàn Lao động thành phố Hạ Long",
            UnitKind.DISTRICT,
            [
                (
                    "CDCS-UBND-HL",
                    "Công đoàn cơ sở Văn phòng HĐND và UBND thành phố Hạ Long",
                    UnitKind.GRASSROOTS,
                    [],
                ),
                ("CDCS-THPT-HL", "Công đoàn Trường THPT Hòn Gai", UnitKind.GRASSROOTS, []),
            ],
        ),
        (
            "LDLD-CP",
            "Liên đoàn Lao động thành phố Cẩm Phả",
            UnitKind.DISTRICT,
            [
                ("CDCS-BV-CP", "Công đoàn Bệnh viện Đa khoa Cẩm Phả", UnitKind.GRASSROOTS, []),
            ],
        ),
        (
            "CDN-THAN",
            "Công đoàn ngành Than",
            UnitKind.SECTOR,
            [
                ("CDCS-HALAM", "CĐCS Công ty Than Hà Lầm", UnitKind.GRASSROOTS, []),
                ("CDCS-VANGDANH", "CĐCS Công ty Than Vàng Danh", UnitKind.GRASSROOTS, []),
            ],
        ),
    ],
)

LEARNERS = (
    ("hv.nguyenvanan", "Nguyễn Văn An", "CDCS-HALAM", "0912345671"),
    ("hv.tranthibinh", "Trần Thị Bình", "CDCS-HALAM", "0987654322"),
    ("hv.lequangcuong", "Lê Quang Cường", "CDCS-VANGDANH", None),
    ("hv.phamthidung", "Phạm Thị Dung", "CDCS-UBND-HL", "0904111223"),
    ("hv.hoangvanem", "Hoàng Văn Em", "CDCS-THPT-HL", None),
    ("hv.vuthiphuong", "Vũ Thị Phượng", "CDCS-BV-CP", "0345678901"),
    ("hv.dangminhgiang", "Đặng Minh Giang", "CDCS-BV-CP", None),
    ("hv.buithihoa", "Bùi Thị Hoa", "CDCS-UBND-HL", None),
)

CREDENTIALS_FILE = "demo-credentials.txt"

# What the demo's certificates print (the organisation page): the federation issues them.
# The signatory is a made-up person; no seal: the demo does not imitate a real one.
PROFILE = {
    "organisation": "Liên đoàn Lao động tỉnh Quảng Ninh",
    "place": "Quảng Ninh",
    "signer_title": "Chủ tịch",
    "signer_name": "Vũ Minh Khang",
    "serial_prefix": "QN",
}


def _load_tree(session: Session, actor: User | None) -> dict[str, OrgUnit]:
    by_code: dict[str, OrgUnit] = {}

    def add(node, parent: OrgUnit | None) -> None:
        code, name, kind, children = node
        unit = create_unit(session, actor, parent=parent, code=code, name=name, kind=kind)
        by_code[code] = unit
        for child in children:
            add(child, unit)

    add(TREE, None)
    return by_code


def _set_profile(session: Session, admin: User, storage: LocalStorage) -> None:
    """The demo's organisation profile, as a site admin saves it on the organisation page."""
    organisation.save(
        session, admin, storage, organisation.Profile("", "", ""), seal=None, **PROFILE
    )


def _enrol_in_library(session: Session, storage: LocalStorage, usernames: list[str]) -> None:
    """Enrol the demo learners in the bundled courses."""
    for course in session.scalars(select(Course).where(Course.slug.in_(library_slugs()))):
        for user in session.scalars(select(User).where(User.username.in_(usernames))):
            enrol(session, user, course)


def load_demo(session: Session, instance_path: str, today: date, storage: LocalStorage) -> str:
    """Load the demo data unless it is there already; return the text to print."""
    cred_path = Path(instance_path) / CREDENTIALS_FILE
    exists = session.scalar(select(OrgUnit).where(OrgUnit.code == ROOT_CODE)) is not None
    if exists:
        # A demo loaded before the organisation page existed gets its profile (once).
        admin = session.scalar(select(User).where(User.username == "admin"))
        if admin is not None and admin.is_site_admin and organisation.stored(session) is None:
            _set_profile(session, admin, storage)
        if cred_path.is_file():
            return "Demo data already loaded (kept as it is).\n" + cred_path.read_text("utf-8")
        return "Demo data already loaded (kept as it is)."

    password = generate_password(12)
    admin, _ = create_user(
        session,
        None,
        username="admin",
        data=AccountData(full_name="Quản trị hệ thống", org_unit=None),
        roles=[(Role.SITE_ADMIN, None)],
        password=password,
    )
    admin.must_change_password = False
    units = _load_tree(session, admin)
    _set_profile(session, admin, storage)
    unit_admin, _ = create_user(
        session,
        admin,
        username="qt.halong",
        data=AccountData(full_name="Đỗ Thị Lan", org_unit=units["LDLD-HL"]),
        roles=[(Role.UNIT_ADMIN, units["LDLD-HL"])],
        password=password,
    )
    unit_admin.must_change_password = False
    author, _ = create_user(
        session,
        admin,
        username="tacgia",
        data=AccountData(full_name="Ngô Minh Tâm", org_unit=units[ROOT_CODE]),
        roles=[(Role.AUTHOR, None)],
        password=password,
    )
    author.must_change_password = False
    issued = today
    for username, name, unit_code, phone in LEARNERS:
        create_user(
            session,
            admin,
            username=username,
            data=AccountData(
                full_name=name, org_unit=units[unit_code], phone=phone, issued_at=issued
            ),
            roles=[(Role.LEARNER, None)],
            password=password,
        )
    session.flush()
    _enrol_in_library(session, storage, [u for u, *_ in LEARNERS])

    text = (
        "Demo accounts (password for all: {pw}):\n"
        "  site administrator:  admin\n"
        "  unit administrator:  qt.halong  (LĐLĐ thành phố Hạ Long)\n"
        "  course author:       tacgia\n"
        "  learners:            {learners}\n"
        "    (learners must choose a new password at first login)\n"
    ).format(pw=password, learners=", ".join(u for u, *_ in LEARNERS[:3]) + ", ...")
    Path(instance_path).mkdir(parents=True, exist_ok=True)
    fd = os.open(cred_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return "Demo data loaded.\n" + text

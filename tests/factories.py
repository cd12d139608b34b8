"""Small factories with numbered defaults; they flush, never commit."""

from __future__ import annotations

import io
import itertools
import zipfile
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session

from lms.models import OrgUnit, Role, RoleAssignment, UnitKind, User
from lms.services.passwords import hash_password
from lms.services.text import fold, sort_key

PASSWORD = "mat-khau-1"
_numbers = itertools.count(1)


class Factories:
    """Create rows in the test's session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def unit(
        self,
        parent: OrgUnit | None = None,
        *,
        name: str | None = None,
        code: str | None = None,
        kind: UnitKind = UnitKind.GRASSROOTS,
    ) -> OrgUnit:
        n = next(_numbers)
        unit = OrgUnit(
            parent=parent,
            code=code or f"U{n}",
            name=name or f"Công đoàn cơ sở số {n}",
            kind=kind,
            path="",
            depth=parent.depth + 1 if parent else 0,
        )
        self.session.add(unit)
        self.session.flush()
        unit.path = f"{parent.path if parent else '/'}{unit.id}/"
        self.session.flush()
        return unit

    def user(
        self,
        unit: OrgUnit | None = None,
        *,
        username: str | None = None,
        full_name: str | None = None,
        roles: list[tuple[Role, OrgUnit | None]] | None = None,
        password: str = PASSWORD,
        must_change_password: bool = False,
        active: bool = True,
        issued_at: date | None = None,
    ) -> User:
        n = next(_numbers)
        full_name = full_name or f"Nguyễn Văn Số {n}"
        user = User(
            username=username or f"user{n}",
            full_name=full_name,
            sort_name=sort_key(full_name),
            search_name=fold(full_name),
            org_unit=unit,
            password_hash=hash_password(password),
            must_change_password=must_change_password,
            is_active_account=active,
            auth_epoch=0,
            issued_at=issued_at,
        )
        user.roles = [
            RoleAssignment(role=role, scope_unit=scope)
            for role, scope in (roles if roles is not None else [(Role.LEARNER, None)])
        ]
        self.session.add(user)
        self.session.flush()
        return user

    def learner(self, unit: OrgUnit, **kwargs) -> User:
        return self.user(unit, roles=[(Role.LEARNER, None)], **kwargs)

    def site_admin(self, **kwargs) -> User:
        return self.user(None, roles=[(Role.SITE_ADMIN, None)], **kwargs)

    def unit_admin(self, scope: OrgUnit, **kwargs) -> User:
        return self.user(scope, roles=[(Role.UNIT_ADMIN, scope)], **kwargs)

    def course(self, storage_root, files: dict[str, bytes] | None = None, publish: bool = True):
        """Import a bundle (the mini test course by default) as a version of its course."""
        from lms.app.storage import LocalStorage
        from lms.services import catalog

        version = catalog.import_bundle(
            self.session,
            None,
            zip_bytes(files or mini_course_files()),
            LocalStorage(storage_root),
            publish_now=publish,
        )
        return version

    def enrol(self, user: User, version) -> object:
        from lms.services import catalog

        return catalog.enrol(self.session, user, version.course)

    def commit(self) -> None:
        self.session.commit()


MINI_COURSE = Path(__file__).resolve().parent / "courses" / "fixtures" / "mini"


def mini_course_files(**replace: str | bytes | None) -> dict[str, bytes]:
    """The small test bundle as {path: bytes}, with files replaced (None deletes one)."""
    files = {
        p.relative_to(MINI_COURSE).as_posix(): p.read_bytes()
        for p in sorted(MINI_COURSE.rglob("*"))
        if p.is_file()
    }
    for name, data in replace.items():
        name = name.replace("__", "/")
        if data is None:
            files.pop(name, None)
        else:
            files[name] = data.encode() if isinstance(data, str) else data
    return files


def zip_bytes(files: dict[str, bytes]) -> bytes:
    """A zip archive of `files`, in memory."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def correct_answers(attempt) -> dict:
    """The right answer to every drawn question, in shown positions (as the page would send)."""
    from lms.services.assessment import question_map

    questions = question_map(attempt.activity)
    answers: dict = {}
    for item in attempt.draw:
        q, order = questions[item["id"]], item["order"]
        if q.type == "single":
            answers[q.id] = next(p for p, i in enumerate(order) if q.choices[i].correct)
        elif q.type == "multiple":
            answers[q.id] = [p for p, i in enumerate(order) if q.choices[i].correct]
        elif q.type == "truefalse":
            answers[q.id] = q.answer
        elif q.type == "short":
            answers[q.id] = q.answers[0]
        elif q.type == "numerical":
            answers[q.id] = str(next(n.value for n in q.numbers if n.fraction >= 1))
        elif q.type == "cloze":
            answers[q.id] = {
                str(n): (
                    part.right_answers()[0]
                    if part.kind == "short"
                    else str(next(x.value for x in part.numbers if x.fraction >= 1))
                    if part.kind == "numerical"
                    else next(i for i, c in enumerate(part.choices) if c.correct)
                )
                for n, part in enumerate(q.parts, start=1)
            }
        else:
            answers[q.id] = {str(left): order.index(left) for left in range(len(q.pairs))}
    return answers

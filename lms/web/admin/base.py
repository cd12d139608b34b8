"""What every administration page shares: the blueprint, the admin check and the admin's
scope (checked on every query), and the lookups that answer 404 outside it."""

from __future__ import annotations

import re
from functools import wraps

from flask import (
    Blueprint,
    abort,
    current_app,
    request,
)
from flask_babel import gettext
from flask_login import current_user, login_required
from sqlalchemy import func, select

from lms.app.extensions import db
from lms.models import (
    Cohort,
    Course,
    OrgUnit,
    User,
)
from lms.services import (
    cohorts,
    units,
)
from lms.services.scope import Scope, get_unit, get_user

bp = Blueprint("admin", __name__, url_prefix="/admin")


def admin_required(view):
    """Logged in, and a site or unit admin; the scope is in `scope()`."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def scope() -> Scope:
    return Scope.of(current_user)


def me() -> User:
    return current_user._get_current_object()


def unit_or_404(unit_id: int) -> OrgUnit:
    unit = get_unit(db.session, scope(), unit_id)
    if unit is None:
        abort(404)
    return unit


def user_or_404(user_id: int) -> User:
    user = get_user(db.session, scope(), user_id)
    if user is None:
        abort(404)
    return user


def unit_choices(blank: str | None = None) -> list[tuple[int, str]]:
    """Units of the scope as (id, indented name), in tree order."""
    rows = units.unit_tree(db.session, scope(), with_counts=False)
    choices = [(0, blank)] if blank is not None else []
    choices += [(r.unit.id, "\u2003" * r.level + r.unit.name) for r in rows]
    return choices


MAX_PAGE = 100_000


def page_args() -> tuple[int, int]:
    page = request.args.get("page", 1, type=int) or 1
    return min(max(page, 1), MAX_PAGE), int(current_app.config["HOCVU_PAGE_SIZE"])


def tz() -> str:
    return current_app.config["HOCVU_TIMEZONE"]


def assign_cohort(user: User, cohort_id: int | None) -> None:
    """Put the account in the chosen batch (enrolling it in the batch's courses)."""
    cohort = cohort_or_404(cohort_id) if cohort_id else None
    if cohort != user.cohort:
        cohorts.assign(db.session, user, cohort, tz())


def published_courses() -> list[Course]:
    return db.session.scalars(
        select(Course).where(Course.current_version_id.is_not(None)).order_by(Course.title)
    ).all()


def cohort_or_404(cohort_id: int) -> Cohort:
    cohort = db.session.get(Cohort, cohort_id)
    if cohort is None or not scope().covers_unit(cohort.org_unit):
        abort(404)
    return cohort


def cohort_choices() -> list[tuple[int, str]]:
    sc = scope()
    stmt = select(Cohort).join(OrgUnit, Cohort.org_unit_id == OrgUnit.id).where(sc.unit_filter())
    return [(0, gettext("(no batch)"))] + [
        (c.id, f"{c.name} – {c.org_unit.name}")
        for c in db.session.scalars(stmt.order_by(Cohort.created_at.desc()))
    ]


def site_admin_only() -> None:
    if not scope().everything:
        abort(403)


def named_users(text: str) -> tuple[list[User], list[str]]:
    """The accounts named in `text` that the admin manages, and the names not found (an
    account outside the scope is reported as not found, like one that does not exist)."""
    # Usernames have no spaces: any run of spaces, line breaks, commas or semicolons parts them
    # (the form's filter folds line breaks into spaces).
    names = [n.lower() for n in re.split(r"[\s,;]+", text or "") if n]
    names = list(dict.fromkeys(names))
    found = {
        u.username.lower(): u
        for u in db.session.scalars(select(User).where(func.lower(User.username).in_(names)))
        if scope().can_manage_user(u)
    }
    return [found[n] for n in names if n in found], [n for n in names if n not in found]

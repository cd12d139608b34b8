"""What every administration page shares: the blueprint, the admin check and the admin's
scope (checked on every query), and the lookups that answer 404 outside it."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import wraps

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    request,
)
from flask_babel import gettext
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import func, select
from wtforms import SelectMultipleField

from lms.app.extensions import db
from lms.models import (
    Cohort,
    Course,
    OrgUnit,
    User,
    versions,
)
from lms.services import (
    cohorts,
    units,
)
from lms.services.scope import Scope, get_unit, get_user
from lms.web.forms import MenuSelect, choices

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


@dataclass(frozen=True)
class UnitMenu:
    """The units of one scope for a menu: (id, indented name) pairs and their <option>s."""

    choices: list[tuple[int, str]]
    options: Markup


class _UnitMenus:
    """The unit menus this process built, by scope, each with the unit tree's token it was
    built under (lms/models/versions.py): a menu is used again only while the database still
    holds that token, so a unit added, renamed, moved or deleted by any process shows at once.
    """

    SIZE = 256  # scopes; a menu of a whole province is ~150 kB

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._menus: OrderedDict[Scope, tuple[str, UnitMenu]] = OrderedDict()

    def get(self, sc: Scope) -> UnitMenu:
        # The token first, then the units: a unit changed in between makes the menu newer
        # than its token (built again next time), never older.
        token = versions.current_token(db.session)
        with self._lock:
            found = self._menus.get(sc)
            if found is not None and token is not None and found[0] == token:
                self._menus.move_to_end(sc)
                return found[1]
        pairs = units.unit_options(db.session, sc)
        option = Markup('<option value="{}">{}</option>')
        menu = UnitMenu(pairs, Markup("").join(option.format(i, label) for i, label in pairs))
        if token is not None:
            with self._lock:
                self._menus[sc] = (token, menu)
                self._menus.move_to_end(sc)
                while len(self._menus) > self.SIZE:
                    self._menus.popitem(last=False)
        return menu


def unit_menu() -> UnitMenu:
    """The admin's units for a menu (built once per process and unit tree, once a request)."""
    if "unit_menu" not in g:
        menus = current_app.extensions.setdefault("hocvu.unit_menus", _UnitMenus())
        g.unit_menu = menus.get(scope())
    return g.unit_menu


def unit_choices(blank: str | None = None) -> list[tuple[int, str]]:
    """Units of the scope as (id, indented name), in tree order."""
    return ([(0, blank)] if blank is not None else []) + unit_menu().choices


def unit_field(field, blank: str | None = None) -> None:
    """Offer the scope's units in a form's select field (`blank` first when given), rendered
    from the menu the process keeps."""
    menu = unit_menu()
    field.choices = choices(unit_choices(blank))
    field.widget = MenuSelect(
        menu.options, len(menu.choices), multiple=isinstance(field, SelectMultipleField)
    )


def unit_options(selected: int | None = None) -> Markup:
    """The <option>s of the scope's units, `selected` chosen: a menu of 2,000 units without
    2,000 turns of a template loop."""
    options = unit_menu().options
    if selected:
        options = options.replace(
            Markup('<option value="{}">').format(int(selected)),
            Markup('<option value="{}" selected>').format(int(selected)),
            1,
        )
    return options


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
    # Plain rows: not one load of a batch's unit per batch.
    stmt = (
        select(Cohort.id, Cohort.name, OrgUnit.name)
        .join(OrgUnit, Cohort.org_unit_id == OrgUnit.id)
        .where(sc.unit_filter())
    )
    return [(0, gettext("(no batch)"))] + [
        (cohort_id, f"{name} – {unit_name}")
        for cohort_id, name, unit_name in db.session.execute(
            stmt.order_by(Cohort.created_at.desc(), Cohort.id.desc())
        )
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

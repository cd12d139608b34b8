"""The administration home page: what needs the admin's attention in their scope."""

from __future__ import annotations

from flask import (
    render_template,
)
from sqlalchemy import func, select

from lms.app.extensions import db
from lms.models import (
    OrgUnit,
    User,
)
from lms.web.admin.base import (
    admin_required,
    bp,
    scope,
)


@bp.route("/")
@admin_required
def index():
    """Overview: counts of units and accounts in the admin's scope."""
    sc = scope()
    unit_count = db.session.scalar(
        select(func.count()).select_from(OrgUnit).where(sc.unit_filter())
    )
    user_stmt = (
        select(func.count(User.id))
        .join(OrgUnit, User.org_unit_id == OrgUnit.id)
        .where(sc.user_filter())
    )
    totals = {
        "units": unit_count,
        "users": db.session.scalar(user_stmt),
        "inactive": db.session.scalar(user_stmt.where(User.is_active_account.is_(False))),
        "never_logged_in": db.session.scalar(user_stmt.where(User.last_login_at.is_(None))),
    }
    return render_template("hocvu/admin/index.html", totals=totals, scope=sc)

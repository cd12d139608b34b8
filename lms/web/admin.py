"""Administration of units and accounts, scoped to the admin's subtree on every query."""

from __future__ import annotations

import io
import secrets
from datetime import timedelta
from functools import wraps

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import func, select

from lms import jobs
from lms.app.extensions import db
from lms.app.storage import StorageError
from lms.app.storage import for_app as site_files
from lms.documents.spreadsheets import CSV_MIMETYPE, XLSX_MIMETYPE, Column, table_bytes
from lms.jobs import certificates as certs
from lms.jobs import exports, imports
from lms.models import (
    AuditEvent,
    Certificate,
    Cohort,
    Course,
    Enrolment,
    Job,
    JobStatus,
    OrgUnit,
    OverduePolicy,
    Reminder,
    Role,
    TestAttempt,
    User,
    utcnow,
)
from lms.services import (
    accounts,
    audit,
    catalog,
    certification,
    clock,
    cohorts,
    deadlines,
    learning,
    reports,
    rosters,
    units,
)
from lms.services.errors import DomainError, Forbidden
from lms.services.scope import Scope, get_unit, get_user
from lms.services.text import clean_text
from lms.web.common import message_of
from lms.web.forms import (
    ROLE_LABELS,
    UNIT_KIND_LABELS,
    ActionForm,
    CohortForm,
    CourseSettingsForm,
    EnrolForm,
    ExportForm,
    ExtendForm,
    ImportCommitForm,
    ImportForm,
    MoveUnitForm,
    RevokeForm,
    UnitForm,
    UserForm,
    choices,
)
from lms.web.limits import UPLOADS, body_limit

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


def _me() -> User:
    return current_user._get_current_object()


def _unit_or_404(unit_id: int) -> OrgUnit:
    unit = get_unit(db.session, scope(), unit_id)
    if unit is None:
        abort(404)
    return unit


def _user_or_404(user_id: int) -> User:
    user = get_user(db.session, scope(), user_id)
    if user is None:
        abort(404)
    return user


def _unit_choices(blank: str | None = None) -> list[tuple[int, str]]:
    """Units of the scope as (id, indented name), in tree order."""
    rows = units.unit_tree(db.session, scope(), with_counts=False)
    choices = [(0, blank)] if blank is not None else []
    choices += [(r.unit.id, "\u2003" * r.level + r.unit.name) for r in rows]
    return choices


MAX_PAGE = 100_000


def _page_args() -> tuple[int, int]:
    page = request.args.get("page", 1, type=int) or 1
    return min(max(page, 1), MAX_PAGE), int(current_app.config["HOCVU_PAGE_SIZE"])


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


# --- units -------------------------------------------------------------------------------


@bp.route("/units")
@admin_required
def units_index():
    """The unit tree of the scope, with counts and actions."""
    rows = units.unit_tree(db.session, scope())
    return render_template(
        "hocvu/admin/units.html",
        rows=rows,
        scope=scope(),
        kind_labels=UNIT_KIND_LABELS,
        action_form=ActionForm(),
    )


@bp.route("/units/new", methods=["GET", "POST"])
@admin_required
def unit_new():
    """Add a unit under ?parent=<id> (a top-level unit without it, site admins only)."""
    parent_id = request.args.get("parent", type=int)
    parent = _unit_or_404(parent_id) if parent_id else None
    if parent is None and not scope().everything:
        abort(403)
    form = UnitForm()
    if form.validate_on_submit():
        try:
            unit = units.create_unit(
                db.session,
                _me(),
                parent=parent,
                code=form.code.data,
                name=form.name.data,
                kind=form.kind.data,
            )
        except DomainError as error:
            db.session.rollback()
            form.add_error(error.field, message_of(error))
        else:
            db.session.commit()
            flash(gettext("Unit %(name)s added.", name=unit.name), "success")
            return redirect(url_for("admin.units_index", _anchor=f"unit-{unit.id}"))
    return render_template("hocvu/admin/unit_form.html", form=form, parent=parent, unit=None)


@bp.route("/units/<int:unit_id>/edit", methods=["GET", "POST"])
@admin_required
def unit_edit(unit_id: int):
    """Rename a unit or change its code or kind."""
    unit = _unit_or_404(unit_id)
    if not scope().can_edit_unit(unit):
        abort(403)
    form = UnitForm(obj=unit)
    if form.validate_on_submit():
        try:
            units.update_unit(
                db.session,
                _me(),
                unit,
                code=form.code.data,
                name=form.name.data,
                kind=form.kind.data,
            )
        except DomainError as error:
            db.session.rollback()
            unit = _unit_or_404(unit_id)
            form.add_error(error.field, message_of(error))
        else:
            db.session.commit()
            flash(gettext("Unit %(name)s saved.", name=unit.name), "success")
            return redirect(url_for("admin.units_index", _anchor=f"unit-{unit.id}"))
    return render_template("hocvu/admin/unit_form.html", form=form, parent=unit.parent, unit=unit)


@bp.route("/units/<int:unit_id>/move", methods=["GET", "POST"])
@admin_required
def unit_move(unit_id: int):
    """Move a unit with its subtree under another unit."""
    unit = _unit_or_404(unit_id)
    if not scope().can_edit_unit(unit):
        abort(403)
    form = MoveUnitForm(parent_id=unit.parent_id or 0)
    form.parent_id.choices = choices((i, label) for i, label in _unit_choices() if i != unit.id)
    if form.validate_on_submit():
        target = _unit_or_404(form.parent_id.data)
        try:
            units.move_unit(db.session, _me(), unit, target)
        except DomainError as error:
            db.session.rollback()
            unit = _unit_or_404(unit_id)
            form.add_error(error.field or "parent_id", message_of(error))
        else:
            db.session.commit()
            flash(gettext("Unit %(name)s moved.", name=unit.name), "success")
            return redirect(url_for("admin.units_index", _anchor=f"unit-{unit.id}"))
    return render_template("hocvu/admin/unit_move.html", form=form, unit=unit)


@bp.route("/units/<int:unit_id>/delete", methods=["POST"])
@admin_required
def unit_delete(unit_id: int):
    """Delete an empty unit."""
    unit = _unit_or_404(unit_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    name = unit.name
    try:
        units.delete_unit(db.session, _me(), unit)
    except Forbidden:
        abort(403)
    except DomainError as error:
        db.session.rollback()
        flash(message_of(error), "error")
    else:
        db.session.commit()
        flash(gettext("Unit %(name)s deleted.", name=name), "success")
    return redirect(url_for("admin.units_index"))


# --- accounts ----------------------------------------------------------------------------


def _learner_filter() -> reports.LearnerFilter:
    """The learner list's filters from the query string (unknown values are ignored)."""
    unit_id = request.args.get("unit", type=int) or None
    if unit_id:
        _unit_or_404(unit_id)
    cohort_id = request.args.get("batch", type=int) or None
    if cohort_id:
        _cohort_or_404(cohort_id)
    course_id = request.args.get("course", type=int) or None
    if course_id and db.session.get(Course, course_id) is None:
        abort(404)
    status = request.args.get("status")
    progress = request.args.get("progress")
    sort = request.args.get("sort", "name")
    return reports.LearnerFilter(
        q=clean_text(request.args.get("q"))[:100],
        unit_id=unit_id,
        cohort_id=cohort_id,
        course_id=course_id,
        role=request.args.get("role") if request.args.get("role") in set(Role) else None,
        status=status if status in reports.ACCOUNT_STATUSES else None,
        progress=progress if progress in reports.PROGRESS_STATUSES else None,
        sort=sort if sort in reports.SORTS else "name",
        descending=request.args.get("order") == "desc",
    )


@bp.route("/users")
@admin_required
def users_index():
    """Accounts of the scope: searchable, filtered by unit, batch, course, role, account status
    and learning progress, sortable; each with its state in the courses."""
    sc = scope()
    chosen = _learner_filter()
    page, per_page = _page_args()
    pagination = db.paginate(
        reports.learner_query(db.session, sc, chosen),
        page=page,
        per_page=per_page,
        error_out=False,
    )
    states = reports.states_of(
        db.session, [u.id for u in pagination.items], chosen.course_id, _tz()
    )
    return render_template(
        "hocvu/admin/users.html",
        pagination=pagination,
        states=states,
        unit_choices=_unit_choices(),
        cohort_choices=[(i, label) for i, label in _cohort_choices() if i],
        course_choices=[(c.id, c.title) for c in _published_courses()],
        role_labels=ROLE_LABELS,
        status_labels=exports.reports_status_labels(),
        filters=chosen,
        export_form=ActionForm(),
    )


@bp.route("/users/export", methods=["POST"])
@admin_required
def users_export():
    """Export the filtered learner list as XLSX or CSV (a background job: it may be long)."""
    if not ActionForm().validate_on_submit():
        abort(400)
    fmt = request.args.get("format", "xlsx")
    if fmt not in ("xlsx", "csv"):
        abort(404)
    chosen = _learner_filter()
    job = jobs.enqueue(
        "reports.learners",
        created_by=_me(),
        actor_id=_me().id,
        filters=chosen.as_args(),
        fmt=fmt,
    )
    return redirect(url_for("admin.job_view", job_id=job.id))


def _fill_user_form(form: UserForm) -> None:
    form.org_unit_id.choices = choices(_unit_choices(blank=gettext("(no unit)")))
    form.cohort_id.choices = choices(_cohort_choices())
    form.admin_unit_ids.choices = choices(_unit_choices())
    if not scope().everything:
        form.roles.choices = choices(
            (r.value, label)
            for r, label in ROLE_LABELS.items()
            if r in (Role.LEARNER, Role.UNIT_ADMIN)
        )


def _form_roles(form: UserForm) -> list[tuple[Role, OrgUnit | None]]:
    """The roles ticked, a unit-admin role once per unit managed, without duplicates."""
    roles: list[tuple[Role, OrgUnit | None]] = []
    for value in dict.fromkeys(form.roles.data or []):
        role = Role(value)
        if role != Role.UNIT_ADMIN:
            roles.append((role, None))
            continue
        scope_ids = list(dict.fromkeys(form.admin_unit_ids.data or []))
        if not scope_ids:
            roles.append((role, None))  # the service explains that a unit is needed
        roles.extend((role, _unit_or_404(unit_id)) for unit_id in scope_ids)
    return roles


def _form_data(form: UserForm) -> accounts.AccountData:
    unit = _unit_or_404(form.org_unit_id.data) if form.org_unit_id.data else None
    return accounts.AccountData(
        full_name=form.full_name.data,
        org_unit=unit,
        email=form.email.data,
        phone=form.phone.data,
        birth_date=form.birth_date.data,
        issued_at=form.issued_at.data,
    )


@bp.route("/users/new", methods=["GET", "POST"])
@admin_required
def user_new():
    """Create an account; its initial password is shown once, to be handed over."""
    form = UserForm()
    _fill_user_form(form)
    if request.method == "GET":
        form.roles.data = [Role.LEARNER.value]
        form.org_unit_id.data = request.args.get("unit", type=int) or 0
        form.issued_at.data = clock.today(current_app.config["HOCVU_TIMEZONE"])
    if form.validate_on_submit():
        try:
            user, password = accounts.create_user(
                db.session,
                _me(),
                username=form.username.data,
                data=_form_data(form),
                roles=_form_roles(form),
                password=form.password.data or None,
            )
            _assign_cohort(user, form.cohort_id.data)
        except Forbidden as error:
            db.session.rollback()
            form.add_error("roles", message_of(error))
        except DomainError as error:
            db.session.rollback()
            form.add_error(error.field, message_of(error))
        else:
            db.session.commit()
            return render_template(
                "hocvu/admin/credentials.html", user=user, password=password, created=True
            )
    return render_template("hocvu/admin/user_form.html", form=form, user=None)


@bp.route("/users/<int:user_id>")
@admin_required
def user_view(user_id: int):
    """An account's record: details, roles, status and its audit history."""
    user = _user_or_404(user_id)
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.target_type == "user", AuditEvent.target_id == user.id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(50)
    ).all()
    enrolments = db.session.scalars(
        select(Enrolment).where(Enrolment.user_id == user.id).order_by(Enrolment.enrolled_at)
    ).all()
    now = utcnow()
    rows = [
        (e, learning.progress_of(db.session, e), deadlines.countdown(e, now, _tz()))
        for e in enrolments
    ]
    user_certificates = db.session.scalars(
        select(Certificate).where(Certificate.user_id == user.id).order_by(Certificate.issued_at)
    ).all()
    attempts = db.session.scalars(
        select(TestAttempt)
        .where(TestAttempt.enrolment_id.in_([e.id for e in enrolments]))
        .order_by(TestAttempt.started_at)
    ).all()
    reminders_sent = db.session.scalars(
        select(Reminder)
        .where(Reminder.enrolment_id.in_([e.id for e in enrolments]), Reminder.skipped.is_(False))
        .order_by(Reminder.created_at.desc())
        .limit(20)
    ).all()
    from lms.models import ScoState

    sco_states = db.session.scalars(
        select(ScoState)
        .where(ScoState.enrolment_id.in_([e.id for e in enrolments]))
        .order_by(ScoState.activity_id, ScoState.id)
    ).all()
    enrol_form = EnrolForm()
    enrolled = {e.course_id for e in enrolments}
    enrol_form.course_id.choices = choices(
        (c.id, c.title) for c in _published_courses() if c.id not in enrolled
    )
    return render_template(
        "hocvu/admin/user_view.html",
        user=user,
        events=events,
        role_labels=ROLE_LABELS,
        action_form=ActionForm(),
        rows=rows,
        enrol_form=enrol_form,
        reminders_sent=reminders_sent,
        attempts=attempts,
        user_certificates=user_certificates,
        sco_states=sco_states,
    )


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@admin_required
def user_edit(user_id: int):
    """Change an account's details and roles."""
    user = _user_or_404(user_id)
    form = UserForm(obj=user)
    _fill_user_form(form)
    del form.password
    if request.method == "GET":
        form.roles.data = list(dict.fromkeys(r.role.value for r in user.roles))
        form.admin_unit_ids.data = [
            r.scope_unit_id for r in user.roles if r.role == Role.UNIT_ADMIN
        ]
        form.org_unit_id.data = user.org_unit_id or 0
        form.cohort_id.data = user.cohort_id or 0
    if form.validate_on_submit():
        try:
            accounts.update_user(
                db.session, _me(), user, data=_form_data(form), roles=_form_roles(form)
            )
            _assign_cohort(user, form.cohort_id.data)
        except Forbidden as error:
            db.session.rollback()
            form.add_error("roles", message_of(error))
        except DomainError as error:
            db.session.rollback()
            form.add_error(error.field, message_of(error))
        else:
            db.session.commit()
            flash(gettext("Account %(username)s saved.", username=user.username), "success")
            return redirect(url_for("admin.user_view", user_id=user.id))
    return render_template("hocvu/admin/user_form.html", form=form, user=user)


@bp.route("/users/<int:user_id>/reset-password", methods=["POST"])
@admin_required
def user_reset_password(user_id: int):
    """Give the account a new initial password, shown once."""
    user = _user_or_404(user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    password = accounts.reset_password(db.session, _me(), user)
    db.session.commit()
    return render_template(
        "hocvu/admin/credentials.html", user=user, password=password, created=False
    )


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
@admin_required
def user_deactivate(user_id: int):
    """Deactivate an account: it can no longer log in and is logged out everywhere."""
    return _set_active(user_id, False)


@bp.route("/users/<int:user_id>/activate", methods=["POST"])
@admin_required
def user_activate(user_id: int):
    """Reactivate a deactivated account."""
    return _set_active(user_id, True)


def _set_active(user_id: int, active: bool):
    user = _user_or_404(user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        accounts.set_active(db.session, _me(), user, active)
    except DomainError as error:
        db.session.rollback()
        flash(message_of(error), "error")
    else:
        db.session.commit()
        message = (
            gettext("Account %(username)s reactivated.", username=user.username)
            if active
            else gettext("Account %(username)s deactivated.", username=user.username)
        )
        flash(message, "success")
    return redirect(url_for("admin.user_view", user_id=user.id))


# --- audit log ---------------------------------------------------------------------------


@bp.route("/audit")
@admin_required
def audit_index():
    """The audit log of the scope, newest first."""
    sc = scope()
    stmt = select(AuditEvent)
    if not sc.everything:
        stmt = stmt.where(sc.path_filter(AuditEvent.unit_path))
    page, per_page = _page_args()
    pagination = db.paginate(
        stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()),
        page=page,
        per_page=per_page,
        error_out=False,
    )
    return render_template("hocvu/admin/audit.html", pagination=pagination)


AUDIT_LABELS = {
    "unit.create": _l("Unit added"),
    "unit.update": _l("Unit renamed or changed"),
    "unit.move": _l("Unit moved"),
    "unit.delete": _l("Unit deleted"),
    "user.create": _l("Account created"),
    "user.update": _l("Account changed"),
    "user.reset_password": _l("Password reset"),
    "user.deactivate": _l("Account deactivated"),
    "user.activate": _l("Account reactivated"),
    "enrolment.create": _l("Enrolled in a course"),
    "enrolment.extend": _l("Deadline extended"),
    "cohort.create": _l("Batch created"),
    "cohort.update": _l("Batch changed"),
    "course.upload": _l("Course version uploaded"),
    "course.publish": _l("Course version published"),
    "course.settings": _l("Course settings changed"),
    "certificate.revoke": _l("Certificate revoked"),
    "user.import": _l("Accounts imported"),
    "user.credentials": _l("Initial logins downloaded"),
    "certificate.reissue": _l("Certificate reissued"),
}


@bp.app_template_global()
def audit_label(action: str) -> str:
    """The audit action in the user's language."""
    label = AUDIT_LABELS.get(action)
    return str(label) if label else action


# --- enrolments, deadlines and batches -------------------------------------------------------


def _tz() -> str:
    return current_app.config["HOCVU_TIMEZONE"]


def _assign_cohort(user: User, cohort_id: int | None) -> None:
    """Put the account in the chosen batch (enrolling it in the batch's courses)."""
    cohort = _cohort_or_404(cohort_id) if cohort_id else None
    if cohort != user.cohort:
        cohorts.assign(db.session, user, cohort, _tz())


def _published_courses() -> list[Course]:
    return db.session.scalars(
        select(Course).where(Course.current_version_id.is_not(None)).order_by(Course.title)
    ).all()


def _cohort_or_404(cohort_id: int) -> Cohort:
    cohort = db.session.get(Cohort, cohort_id)
    if cohort is None or not scope().covers_unit(cohort.org_unit):
        abort(404)
    return cohort


def _cohort_choices() -> list[tuple[int, str]]:
    sc = scope()
    stmt = select(Cohort).join(OrgUnit, Cohort.org_unit_id == OrgUnit.id).where(sc.unit_filter())
    return [(0, gettext("(no batch)"))] + [
        (c.id, f"{c.name} – {c.org_unit.name}")
        for c in db.session.scalars(stmt.order_by(Cohort.created_at.desc()))
    ]


@bp.route("/users/<int:user_id>/enrol", methods=["POST"])
@admin_required
def user_enrol(user_id: int):
    """Enrol an account in a published course."""
    user = _user_or_404(user_id)
    form = EnrolForm()
    form.course_id.choices = choices((c.id, c.title) for c in _published_courses())
    if form.validate_on_submit():
        course = db.session.get(Course, form.course_id.data) or abort(404)
        catalog.enrol(db.session, user, course, _tz())
        audit.record(db.session, _me(), "enrolment.create", user, course=course.title)
        db.session.commit()
        flash(
            gettext(
                "%(name)s is enrolled in %(course)s.", name=user.full_name, course=course.title
            ),
            "success",
        )
    return redirect(url_for("admin.user_view", user_id=user.id))


def _extension_targets() -> tuple[list[Enrolment], str, dict]:
    """The enrolments named by ?enrolment=, ?user= (several) or ?cohort=, inside the scope."""
    sc = scope()
    if enrolment_id := request.args.get("enrolment", type=int):
        enrolment = db.session.get(Enrolment, enrolment_id)
        if enrolment is None or not sc.can_manage_user(enrolment.user):
            abort(404)
        return [enrolment], enrolment.user.full_name, {"enrolment": enrolment_id}
    if cohort_id := request.args.get("cohort", type=int):
        cohort = _cohort_or_404(cohort_id)
        found = db.session.scalars(select(User).where(User.cohort_id == cohort.id)).all()
    else:
        ids = [int(i) for i in request.args.getlist("user") if i.isdigit()][:5000]
        found = [u for u in (db.session.get(User, i) for i in ids) if u is not None]
    # An account outside the scope is treated as one that does not exist: it is dropped
    # before the label below names anyone on the page.
    users = [u for u in found if sc.can_manage_user(u)]
    if not users:
        abort(404)
    if cohort_id:
        label = gettext("batch %(name)s", name=cohort.name)
        args = {"cohort": cohort_id}
    else:
        label = ", ".join(u.full_name for u in users[:5]) + ("…" if len(users) > 5 else "")
        args = {"user": [u.id for u in users]}
    enrolments = db.session.scalars(
        select(Enrolment).where(Enrolment.user_id.in_([u.id for u in users]))
    ).all()
    return list(enrolments), label, args


@bp.route("/extend", methods=["GET", "POST"])
@admin_required
def extend():
    """Extend the deadline of one learner, a selection, or a whole batch, with a reason."""
    enrolments, label, args = _extension_targets()
    form = ExtendForm()
    course_ids = list(dict.fromkeys(e.course_id for e in enrolments))
    courses_by_id = {
        c.id: c for c in db.session.scalars(select(Course).where(Course.id.in_(course_ids)))
    }
    form.course_id.choices = choices((i, courses_by_id[i].title) for i in course_ids)
    if request.method == "GET" and course_ids:
        form.course_id.data = course_ids[0]
    if form.validate_on_submit():
        chosen = [e for e in enrolments if e.course_id == form.course_id.data]
        try:
            count = deadlines.extend(
                db.session,
                _me(),
                chosen,
                reason=form.reason.data,
                days=form.days.data,
                until=form.until.data,
                timezone=_tz(),
            )
        except DomainError as error:
            db.session.rollback()
            form.add_error(error.field if error.field != "days" else None, message_of(error))
        else:
            db.session.commit()
            flash(
                ngettext(
                    "Deadline extended for %(num)s learner.",
                    "Deadline extended for %(num)s learners.",
                    count,
                ),
                "success",
            )
            if "cohort" in args:
                return redirect(url_for("admin.cohorts_index"))
            if len({e.user_id for e in enrolments}) == 1:
                return redirect(url_for("admin.user_view", user_id=enrolments[0].user_id))
            return redirect(url_for("admin.users_index"))
    learners = len({e.user_id for e in enrolments})
    return render_template(
        "hocvu/admin/extend.html",
        form=form,
        label=label,
        learners=learners,
        args=args,
        none=not enrolments,
    ), (200 if request.method == "GET" or not form.errors and not form.form_errors else 422)


@bp.route("/cohorts")
@admin_required
def cohorts_index():
    """The batches of the scope with their courses and member counts."""
    sc = scope()
    rows = db.session.execute(
        select(Cohort, func.count(User.id))
        .join(OrgUnit, Cohort.org_unit_id == OrgUnit.id)
        .outerjoin(User, User.cohort_id == Cohort.id)
        .where(sc.unit_filter())
        .group_by(Cohort.id)
        .order_by(Cohort.created_at.desc())
    ).all()
    return render_template("hocvu/admin/cohorts.html", rows=rows)


@bp.route("/cohorts/new", methods=["GET", "POST"])
@bp.route("/cohorts/<int:cohort_id>/edit", methods=["GET", "POST"])
@admin_required
def cohort_edit(cohort_id: int | None = None):
    """Create or change a batch: its unit, courses and number of days."""
    cohort = _cohort_or_404(cohort_id) if cohort_id else None
    form = CohortForm(obj=cohort)
    form.org_unit_id.choices = choices(_unit_choices())
    form.course_ids.choices = choices((c.id, c.title) for c in _published_courses())
    if request.method == "GET" and cohort is not None:
        form.course_ids.data = [c.id for c in cohort.courses]
    if form.validate_on_submit():
        unit = _unit_or_404(form.org_unit_id.data)
        selected = [db.session.get(Course, i) for i in form.course_ids.data or []]
        try:
            saved = cohorts.save_cohort(
                db.session,
                _me(),
                cohort,
                name=form.name.data,
                unit=unit,
                courses=[c for c in selected if c is not None],
                deadline_days=form.deadline_days.data,
                timezone=_tz(),
            )
        except DomainError as error:
            db.session.rollback()
            form.add_error(error.field, message_of(error))
        else:
            db.session.commit()
            flash(gettext("Batch %(name)s saved.", name=saved.name), "success")
            return redirect(url_for("admin.cohorts_index"))
    return render_template("hocvu/admin/cohort_form.html", form=form, cohort=cohort)


def _site_admin_only() -> None:
    if not scope().everything:
        abort(403)


@bp.route("/courses")
@admin_required
def courses_index():
    """Courses and their deadline settings (site administrators)."""
    _site_admin_only()
    return render_template("hocvu/admin/courses.html", courses=_published_courses())


@bp.route("/courses/<int:course_id>/attempts")
@admin_required
def course_attempts(course_id: int):
    """Final-test attempts of a course by the learners of the admin's units."""
    course = db.session.get(Course, course_id) or abort(404)
    sc = scope()
    stmt = (
        select(TestAttempt, User)
        .join(Enrolment, TestAttempt.enrolment_id == Enrolment.id)
        .join(User, Enrolment.user_id == User.id)
        .outerjoin(OrgUnit, User.org_unit_id == OrgUnit.id)
        .where(Enrolment.course_id == course.id)
    )
    if not sc.everything:
        stmt = stmt.where(sc.user_filter())
    page, per_page = _page_args()
    rows = db.session.execute(
        stmt.order_by(TestAttempt.started_at.desc()).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return render_template("hocvu/admin/course_attempts.html", course=course, rows=rows, page=page)


@bp.route("/courses/<int:course_id>/settings", methods=["GET", "POST"])
@admin_required
def course_settings(course_id: int):
    """What happens after the deadline, and when reminders go out."""
    _site_admin_only()
    course = db.session.get(Course, course_id) or abort(404)
    form = CourseSettingsForm(obj=course)
    if request.method == "GET":
        form.reminder_days.data = ", ".join(str(d) for d in course.reminder_days)
    if form.validate_on_submit():
        raw = [p.strip() for p in form.reminder_days.data.split(",") if p.strip()]
        if not all(p.isdigit() and int(p) <= 60 for p in raw):
            form.add_error(
                "reminder_days",
                gettext("Numbers separated by commas; 0 is the last day. For example: 5, 2, 0."),
            )
        else:
            course.overdue_policy = OverduePolicy(form.overdue_policy.data)
            course.reminder_days = sorted({int(p) for p in raw}, reverse=True)
            course.not_started_after_days = form.not_started_after_days.data
            audit.record(
                db.session,
                _me(),
                "course.settings",
                course,
                policy=course.overdue_policy.value,
                reminders=course.reminder_days,
            )
            db.session.commit()
            flash(gettext("Settings of %(course)s saved.", course=course.title), "success")
            return redirect(url_for("admin.courses_index"))
    return render_template("hocvu/admin/course_settings.html", form=form, course=course)


# --- certificates ----------------------------------------------------------------------------


def _certificate_or_404(certificate_id: int) -> Certificate:
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None or not scope().can_manage_user(certificate.user):
        abort(404)
    return certificate


@bp.route("/certificates")
@admin_required
def certificates_index():
    """Certificates issued to the learners of the scope, newest first."""
    sc = scope()
    stmt = (
        select(Certificate)
        .join(User, Certificate.user_id == User.id)
        .outerjoin(OrgUnit, User.org_unit_id == OrgUnit.id)
    )
    if not sc.everything:
        stmt = stmt.where(sc.user_filter())
    if unit_id := request.args.get("unit", type=int):
        stmt = stmt.where(OrgUnit.path.startswith(_unit_or_404(unit_id).path))
    page, per_page = _page_args()
    pagination = db.paginate(
        stmt.order_by(Certificate.issued_at.desc(), Certificate.id.desc()),
        page=page,
        per_page=per_page,
        error_out=False,
    )
    export = ExportForm()
    export.unit_id.choices = choices(_unit_choices(blank=gettext("(all my units)")))
    export.cohort_id.choices = choices(_cohort_choices())
    return render_template(
        "hocvu/admin/certificates.html",
        export=export,
        pagination=pagination,
        unit_choices=_unit_choices(),
        unit=unit_id,
        missing=certs.missing_count(db.session) if sc.everything else 0,
        issuing=_issuing_job() if sc.everything else None,
        signing_problem=certs.signing_problem(current_app) if sc.everything else None,
        action_form=ActionForm(),
    )


def _issuing_job() -> Job | None:
    """The run of "issue the missing certificates" that is waiting or working, if any."""
    return db.session.scalars(
        select(Job)
        .where(
            Job.task == "certificates.issue",
            Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]),
        )
        .order_by(Job.id.desc())
        .limit(1)
    ).first()


@bp.route("/certificates/issue-missing", methods=["POST"])
@admin_required
def certificates_issue_missing():
    """Issue, in the background, the certificates that completed courses are missing (after
    the signing key was missing or broken). A second click follows the run already started."""
    _site_admin_only()
    if not ActionForm().validate_on_submit():
        abort(400)
    job = _issuing_job() or jobs.enqueue("certificates.issue", created_by=_me())
    return redirect(url_for("admin.job_view", job_id=job.id))


@bp.route("/certificates/<int:certificate_id>/revoke", methods=["GET", "POST"])
@admin_required
def certificate_revoke(certificate_id: int):
    """Revoke a certificate with a reason."""
    certificate = _certificate_or_404(certificate_id)
    form = RevokeForm()
    if form.validate_on_submit():
        try:
            certification.revoke(db.session, _me(), certificate, form.reason.data)
        except DomainError as error:
            db.session.rollback()
            form.add_error(error.field, message_of(error))
        else:
            db.session.commit()
            flash(gettext("Certificate %(serial)s revoked.", serial=certificate.serial), "success")
            return redirect(url_for("admin.user_view", user_id=certificate.user_id))
    return render_template(
        "hocvu/admin/certificate_revoke.html", form=form, certificate=certificate
    )


@bp.route("/certificates/<int:certificate_id>/reissue", methods=["POST"])
@admin_required
def certificate_reissue(certificate_id: int):
    """Issue a new certificate with the account's current details (after a correction)."""
    certificate = _certificate_or_404(certificate_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    app = current_app._get_current_object()
    signer = certs.signer_if_ready(app)
    if signer is None:
        flash(
            gettext(
                "The certificates could not be issued: ask the site administrator to check "
                "the signing key, then try again."
            ),
            "error",
        )
        return redirect(url_for("admin.user_view", user_id=certificate.user_id))
    try:
        new = certification.reissue(
            db.session, _me(), certificate, signer, site_files(app), certs.settings(app)
        )
    except DomainError as error:
        db.session.rollback()
        flash(message_of(error), "error")
    else:
        db.session.commit()
        flash(
            gettext(
                "New certificate %(serial)s issued; the old one is marked replaced.",
                serial=new.serial,
            ),
            "success",
        )
    return redirect(url_for("admin.user_view", user_id=certificate.user_id))


@bp.route("/certificates/export", methods=["POST"])
@admin_required
def certificates_export():
    """Start a ZIP of the certificates of a unit (with its sub-units) or of a batch."""
    form = ExportForm()
    form.unit_id.choices = choices(_unit_choices(blank=gettext("(all my units)")))
    form.cohort_id.choices = choices(_cohort_choices())
    if not form.validate_on_submit():
        abort(400)
    unit_id = form.unit_id.data or None
    if unit_id:
        _unit_or_404(unit_id)
    cohort_id = form.cohort_id.data or None
    if cohort_id:
        _cohort_or_404(cohort_id)
    job = jobs.enqueue(
        "certificates.zip",
        created_by=_me(),
        actor_id=_me().id,
        unit_id=unit_id,
        cohort_id=cohort_id,
    )
    return redirect(url_for("admin.job_view", job_id=job.id))


def _job_or_404(job_id: int) -> Job:
    job = db.session.get(Job, job_id)
    if job is None or (job.created_by_id != current_user.id and not scope().everything):
        abort(404)
    return job


@bp.route("/jobs/<int:job_id>")
@admin_required
def job_view(job_id: int):
    """A background job's progress (the page refreshes it) and its result."""
    job = _job_or_404(job_id)
    if request.accept_mimetypes.best == "application/json":
        return {
            "status": str(job.status),
            "done": job.done,
            "total": job.total,
            "percent": job.percent,
            "download": url_for("admin.job_download", job_id=job.id)
            if job.status == JobStatus.DONE
            else None,
        }
    return render_template("hocvu/admin/job.html", job=job)


@bp.route("/jobs/<int:job_id>/download")
@admin_required
def job_download(job_id: int):
    """The file a finished export job made."""
    job = _job_or_404(job_id)
    if job.status != JobStatus.DONE:
        abort(404)
    if job.task == "certificates.zip":
        key, mimetype = certs.export_key(job.id), "application/zip"
        name = f"giay-chung-nhan-{job.id}.zip"
    elif job.task == "reports.learners":
        fmt = job.result.get("format", "xlsx")
        key, name = exports.learners_key(job.id, fmt), f"danh-sach-hoc-vien-{job.id}.{fmt}"
        mimetype = XLSX_MIMETYPE if fmt == "xlsx" else CSV_MIMETYPE
    elif job.task == "reports.periodic":
        return redirect(url_for("reports.periodic_pdf", report_id=job.result["report_id"]))
    else:
        abort(404)
    try:
        path = site_files(current_app).local_path(key)
    except StorageError:
        abort(404)
    return send_file(path, mimetype=mimetype, as_attachment=True, download_name=name, max_age=0)


# --- bulk import of accounts -----------------------------------------------------------------

CREDENTIALS_HOURS = 24


@bp.route("/import", methods=["GET", "POST"])
@body_limit(UPLOADS)
@admin_required
def import_users():
    """Upload an account list; every row is checked and shown before anything is written."""
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read(20 * 1024 * 1024 + 1)
        filename = upload.filename or "danh-sach.csv"
        if len(data) > 20 * 1024 * 1024:
            form.add_error("file", gettext("The file is larger than this site accepts."))
        else:
            try:
                table = rosters.read_file(filename, data)
            except DomainError as error:
                form.add_error("file", message_of(error))
            else:
                options = {
                    "username_from": form.username_from.data,
                    "update_existing": bool(form.update_existing.data),
                }
                plan = rosters.plan_import(db.session, _me(), table, **options)
                token = f"{_me().id}-{secrets.token_urlsafe(12)}"
                site_files(current_app).write_file(imports.upload_key(token), data)
                session["import"] = {"token": token, "filename": filename[:200], **options}
                return render_template(
                    "hocvu/admin/import_preview.html",
                    plan=plan,
                    table=table,
                    commit_form=ImportCommitForm(
                        batch_name=form.batch_name.data, strict="y" if form.strict.data else ""
                    ),
                    token=token,
                    field_names=rosters.TEMPLATE_HEADERS,
                )
    return render_template("hocvu/admin/import.html", form=form), 422 if form.errors else 200


def _import_upload(token: str) -> tuple[str, str, dict]:
    pending = session.get("import") or {}
    if pending.get("token") != token or not token.startswith(f"{current_user.id}-"):
        abort(404)
    options = {
        "username_from": pending.get("username_from", "name"),
        "update_existing": pending.get("update_existing", True),
    }
    return token, pending["filename"], options


@bp.route("/import/<token>/errors.csv")
@admin_required
def import_errors(token: str):
    """The uploaded rows with an error column, to correct in Excel and upload again."""
    token, filename, options = _import_upload(token)
    try:
        data = site_files(current_app).local_path(imports.upload_key(token)).read_bytes()
    except StorageError:
        abort(404)
    table = rosters.read_file(filename, data)
    plan = rosters.plan_import(db.session, _me(), table, **options)
    width = len(table.header)
    rows = []
    for row in plan.rows:
        reasons = " ".join(gettext(m, **p) for m, p in row.errors)
        rows.append([*(table.raw.get(row.line, []) + [""] * width)[:width], reasons])
    columns = [*(Column(h) for h in table.header), Column(gettext("Errors"))]
    data, mimetype = table_bytes("csv", gettext("Errors"), columns, rows, _tz())
    response = current_app.response_class(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = "attachment; filename=danh-sach-kiem-tra.csv"
    return response


@bp.route("/import/<token>/commit", methods=["POST"])
@admin_required
def import_commit(token: str):
    """Start the import job (all rows, or in non-strict mode the good ones)."""
    token, filename, options = _import_upload(token)
    form = ImportCommitForm()
    if not form.validate_on_submit():
        abort(400)
    session.pop("import", None)
    job = jobs.enqueue(
        "users.import",
        created_by=_me(),
        token=token,
        filename=filename,
        actor_id=_me().id,
        batch_name=(form.batch_name.data or None),
        strict=bool(form.strict.data),
    )
    return redirect(url_for("admin.job_view", job_id=job.id))


@bp.route("/import/template.xlsx")
@admin_required
def import_template():
    """The list template with its Vietnamese headers and one example row."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Danh sách"
    sheet.append(rosters.TEMPLATE_HEADERS)
    sheet.append(
        [
            "Nguyễn Văn An",
            "17/05/1990",
            "0912 345 678",
            "an@example.vn",
            "LĐLĐ tỉnh Quảng Ninh / Công đoàn ngành Than / CĐCS Công ty Than Hà Lầm",
            "",
            "Đợt 1",
            "23/11/2026",
        ]
    )
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return current_app.response_class(
        buffer.getvalue(),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": "attachment; filename=mau-danh-sach-hoc-vien.xlsx"},
    )


@bp.route("/jobs/<int:job_id>/credentials")
@admin_required
def job_credentials(job_id: int):
    """The new accounts' logins, once, within a day; then the file is gone."""
    from lms.documents import credentials

    job = _job_or_404(job_id)
    if job.task != "users.import" or job.created_by_id != current_user.id:
        abort(404)
    storage = site_files(current_app)
    key = imports.credentials_key(job.id)
    try:
        path = storage.local_path(key)
    except StorageError:
        return render_template(
            "hocvu/error.html",
            status=410,
            title=gettext("Not available"),
            message=gettext(
                "The logins can be downloaded only once, within %(hours)s hours of the import.",
                hours=CREDENTIALS_HOURS,
            ),
        ), 410
    if job.finished_at and utcnow() - job.finished_at > timedelta(hours=CREDENTIALS_HOURS):
        path.unlink(missing_ok=True)
        abort(410)
    data = credentials.decrypt(path.read_bytes(), current_app.config["SECRET_KEY"], job.id)
    path.unlink(missing_ok=True)
    audit.record(db.session, _me(), "user.credentials", _me(), job=job.id)
    db.session.commit()
    return current_app.response_class(
        data,
        mimetype="application/zip",
        headers={
            "Content-Disposition": f"attachment; filename=dang-nhap-{job.id}.zip",
            "Cache-Control": "no-store",
        },
    )


def _sco_state_or_404(state_id: int):
    from lms.models import ScoState

    state = db.session.get(ScoState, state_id)
    if state is None:
        abort(404)
    _user_or_404(state.enrolment.user_id)  # the learner must be inside the admin's scope
    return state


@bp.route("/scorm/states/<int:state_id>", methods=["GET", "POST"])
@admin_required
def sco_state(state_id: int):
    """One learner's raw CMI state in one SCO, and the form to correct its statuses."""
    from lms.services import tracking
    from lms.web.forms import COMPLETION_LABELS, SUCCESS_LABELS, ScoOverrideForm

    state = _sco_state_or_404(state_id)
    form = ScoOverrideForm(
        completion=state.override_completion or "", success=state.override_success or ""
    )
    if form.validate_on_submit():
        try:
            tracking.override(
                db.session,
                _me(),
                state,
                form.completion.data or None,
                form.success.data or None,
                form.reason.data,
            )
        except DomainError as error:
            db.session.rollback()
            flash(message_of(error), "error")
        else:
            db.session.commit()
            flash(gettext("The correction is saved and logged."), "success")
            return redirect(url_for("admin.sco_state", state_id=state.id))
    item = next((s for s in state.package.manifest["scos"] if s["identifier"] == state.sco), {})
    return render_template(
        "hocvu/admin/sco_state.html",
        state=state,
        learner=state.enrolment.user,
        item=item,
        form=form,
        completion_labels=COMPLETION_LABELS,
        success_labels=SUCCESS_LABELS,
    ), (422 if form.errors else 200)

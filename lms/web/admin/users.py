"""Accounts in the admin's scope: the filtered list and its export, creating, editing,
resetting a password, deactivating, and enrolling one learner."""

from __future__ import annotations

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from lms import jobs
from lms.app.extensions import db
from lms.jobs import exports
from lms.models import (
    AuditEvent,
    Certificate,
    Course,
    Enrolment,
    OrgUnit,
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
    clock,
    deadlines,
    learning,
    reports,
)
from lms.services.errors import DomainError, Forbidden
from lms.services.text import clean_text
from lms.web.admin.base import (
    admin_required,
    assign_cohort,
    bp,
    cohort_choices,
    cohort_or_404,
    me,
    page_args,
    published_courses,
    scope,
    tz,
    unit_field,
    unit_options,
    unit_or_404,
    user_or_404,
)
from lms.web.common import message_of
from lms.web.forms import (
    ROLE_LABELS,
    ActionForm,
    EnrolForm,
    UserForm,
    choices,
)


def _learner_filter() -> reports.LearnerFilter:
    """The learner list's filters from the query string (unknown values are ignored)."""
    unit_id = request.args.get("unit", type=int) or None
    if unit_id:
        unit_or_404(unit_id)
    cohort_id = request.args.get("batch", type=int) or None
    if cohort_id:
        cohort_or_404(cohort_id)
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
    page, per_page = page_args()
    # The page's units and batches in two queries, not one lazy load per row.
    listed = reports.learner_query(db.session, sc, chosen).options(
        selectinload(User.org_unit), selectinload(User.cohort)
    )
    pagination = db.paginate(
        listed,
        page=page,
        per_page=per_page,
        error_out=False,
    )
    states = reports.states_of(db.session, [u.id for u in pagination.items], chosen.course_id, tz())
    return render_template(
        "hocvu/admin/users.html",
        pagination=pagination,
        states=states,
        unit_options=unit_options(chosen.unit_id),
        cohort_choices=[(i, label) for i, label in cohort_choices() if i],
        course_choices=[(c.id, c.title) for c in published_courses()],
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
        created_by=me(),
        actor_id=me().id,
        filters=chosen.as_args(),
        fmt=fmt,
    )
    return redirect(url_for("admin.job_view", job_id=job.id))


def _fill_user_form(form: UserForm) -> None:
    unit_field(form.org_unit_id, blank=gettext("(no unit)"))
    form.cohort_id.choices = choices(cohort_choices())
    unit_field(form.admin_unit_ids)
    if not scope().everything:
        form.roles.choices = choices(
            (r.value, label)
            for r, label in ROLE_LABELS.items()
            if r in (Role.LEARNER, Role.TRAINER, Role.TEAM_MEMBER, Role.UNIT_ADMIN)
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
        roles.extend((role, unit_or_404(unit_id)) for unit_id in scope_ids)
    return roles


def _form_data(form: UserForm) -> accounts.AccountData:
    unit = unit_or_404(form.org_unit_id.data) if form.org_unit_id.data else None
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
                me(),
                username=form.username.data,
                data=_form_data(form),
                roles=_form_roles(form),
                password=form.password.data or None,
            )
            assign_cohort(user, form.cohort_id.data)
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
    user = user_or_404(user_id)
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
        (e, learning.progress_of(db.session, e), deadlines.countdown(e, now, tz()))
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
        (c.id, c.title) for c in published_courses() if c.id not in enrolled
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
    user = user_or_404(user_id)
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
                db.session, me(), user, data=_form_data(form), roles=_form_roles(form)
            )
            assign_cohort(user, form.cohort_id.data)
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
    user = user_or_404(user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    password = accounts.reset_password(db.session, me(), user)
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
    user = user_or_404(user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        accounts.set_active(db.session, me(), user, active)
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


@bp.route("/users/<int:user_id>/enrol", methods=["POST"])
@admin_required
def user_enrol(user_id: int):
    """Enrol an account in a published course."""
    user = user_or_404(user_id)
    form = EnrolForm()
    form.course_id.choices = choices((c.id, c.title) for c in published_courses())
    if form.validate_on_submit():
        course = db.session.get(Course, form.course_id.data) or abort(404)
        catalog.enrol(db.session, user, course, tz())
        audit.record(db.session, me(), "enrolment.create", user, course=course.title)
        db.session.commit()
        flash(
            gettext(
                "%(name)s is enrolled in %(course)s.", name=user.full_name, course=course.title
            ),
            "success",
        )
    return redirect(url_for("admin.user_view", user_id=user.id))

"""In-person classes for admins: the classes of the scope, a class's settings, its sessions,
trainers and roster, and each learner's attendance against the class's rule."""

from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, render_template, send_file, url_for
from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField, TimeField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from lms.app.extensions import db
from lms.app.i18n import format_date, format_time
from lms.models import (
    ClassMember,
    ClassSession,
    Cohort,
    Course,
    OrgUnit,
    Role,
    RoleAssignment,
    TrainingClass,
    User,
)
from lms.services import classes
from lms.services.errors import N_, DomainError
from lms.web.admin.base import (
    admin_required,
    bp,
    cohort_choices,
    me,
    named_users,
    page_args,
    published_courses,
    scope,
    tz,
    unit_field,
    unit_or_404,
)
from lms.web.classes import sheet_download
from lms.web.common import message_of
from lms.web.forms import REQUIRED, ActionForm, Form, choices


class ClassForm(Form):
    name = StringField(
        _l("Name of the class"),
        validators=[DataRequired(REQUIRED), Length(max=200)],
        description=_l("For example: Lớp kỹ năng số – Đông Triều, đợt 1."),
    )
    course_id = SelectField(_l("Course"), coerce=int)
    org_unit_id = SelectField(_l("Unit holding the class"), coerce=int)
    capacity = IntegerField(
        _l("Capacity"),
        validators=[Optional(), NumberRange(1, 10000, message=_l("From 1 to 10,000."))],
        description=_l("Leave empty for no limit."),
    )
    min_attendance = IntegerField(
        _l("Attendance required (%)"),
        default=80,
        validators=[DataRequired(REQUIRED), NumberRange(0, 100, message=_l("From 0 to 100."))],
        description=_l(
            "The share of sessions a learner must attend (present or late) to complete the "
            "class; sessions they were excused from are not counted."
        ),
    )
    due_on = DateField(
        _l("The class's deadline"),
        validators=[Optional()],
        format="%Y-%m-%d",
        description=_l(
            "Leave empty to keep each learner's usual deadline. With a day here, the class's "
            "learners have until the end of that day when it is later than their own deadline "
            "(recorded as an extension naming the class)."
        ),
    )


class SessionForm(Form):
    day = DateField(_l("Day"), validators=[DataRequired(REQUIRED)], format="%Y-%m-%d")
    starts = TimeField(_l("Starts at"), validators=[DataRequired(REQUIRED)])
    ends = TimeField(_l("Ends at"), validators=[DataRequired(REQUIRED)])
    place = StringField(_l("Place"), validators=[Optional(), Length(max=300)])


class PeopleForm(Form):
    usernames = TextAreaField(
        _l("Usernames"),
        validators=[Optional(), Length(max=200_000)],
        description=_l("One per line, or separated by commas."),
    )
    cohort_id = SelectField(_l("Or every learner of a batch"), coerce=int, validators=[Optional()])
    unit_id = SelectField(
        _l("Or every learner of a unit and its sub-units"), coerce=int, validators=[Optional()]
    )


def _class_or_404(class_id: int) -> TrainingClass:
    found = db.session.get(TrainingClass, class_id)
    if found is None or not scope().covers_unit(found.org_unit):
        abort(404)
    return found


@bp.route("/classes")
@admin_required
def classes_index():
    """The in-person classes of the scope, newest first, with their sessions and learners."""
    page, per_page = page_args()
    pagination = db.paginate(
        select(TrainingClass)
        .join(OrgUnit, TrainingClass.org_unit_id == OrgUnit.id)
        .where(scope().unit_filter())
        .order_by(TrainingClass.created_at.desc(), TrainingClass.id.desc()),
        page=page,
        per_page=per_page,
        error_out=False,
        count=True,
    )
    members = dict(
        db.session.execute(
            select(ClassMember.class_id, func.count())
            .where(ClassMember.class_id.in_([c.id for c in pagination.items]))
            .group_by(ClassMember.class_id)
        ).all()
    )
    return render_template("hocvu/admin/classes.html", pagination=pagination, members=members)


@bp.route("/classes/new", methods=["GET", "POST"])
@bp.route("/classes/<int:class_id>/edit", methods=["GET", "POST"])
@admin_required
def class_edit(class_id: int | None = None):
    """Create or change a class: its name, course, unit, capacity and attendance rule."""
    training_class = _class_or_404(class_id) if class_id else None
    form = ClassForm(obj=training_class)
    form.course_id.choices = choices((c.id, c.title) for c in published_courses())
    unit_field(form.org_unit_id)
    if form.validate_on_submit():
        course = db.session.get(Course, form.course_id.data)
        try:
            if course is None:
                raise DomainError(N_("Choose a course."), field="course")
            saved = classes.save_class(
                db.session,
                scope(),
                me(),
                name=form.name.data,
                course=course,
                unit=unit_or_404(form.org_unit_id.data),
                capacity=form.capacity.data,
                min_attendance=form.min_attendance.data,
                due_on=form.due_on.data,
                training_class=training_class,
            )
        except DomainError as error:
            db.session.rollback()
            target = {
                "name": form.name,
                "course": form.course_id,
                "unit": form.org_unit_id,
                "capacity": form.capacity,
                "min_attendance": form.min_attendance,
                "due_on": form.due_on,
            }.get(error.field or "")
            if target is not None:
                target.errors = [*target.errors, message_of(error)]
            else:
                form.form_errors.append(message_of(error))
        else:
            db.session.commit()
            flash(gettext("Class %(name)s saved.", name=saved.name), "success")
            return redirect(url_for("admin.class_view", class_id=saved.id))
    status = 422 if form.errors or form.form_errors else 200
    return render_template(
        "hocvu/admin/class_form.html", form=form, training_class=training_class
    ), status


def _class_page(training_class: TrainingClass, status: int = 200, **forms):
    people = PeopleForm(prefix="members")
    people.cohort_id.choices = choices(cohort_choices())
    unit_field(people.unit_id, blank=gettext("(choose a unit)"))
    trainers = PeopleForm(prefix="trainers")
    if "trainers" not in forms:
        trainers.usernames.data = "\n".join(u.username for u in training_class.trainers)
    return render_template(
        "hocvu/admin/class_view.html",
        training_class=training_class,
        session_form=forms.get("session") or SessionForm(prefix="session"),
        members_form=forms.get("members") or people,
        trainers_form=forms.get("trainers") or trainers,
        attendance=classes.attendance_of(db.session, training_class),
        action_form=ActionForm(),
        tz=tz(),
    ), status


@bp.route("/classes/<int:class_id>")
@admin_required
def class_view(class_id: int):
    """A class: its sessions, trainers and roster with each learner's attendance."""
    return _class_page(_class_or_404(class_id))


@bp.route("/classes/<int:class_id>/sessions", methods=["POST"])
@admin_required
def class_add_session(class_id: int):
    """Add a session (day, times in the site's time zone, place)."""
    training_class = _class_or_404(class_id)
    form = SessionForm(prefix="session")
    if form.validate_on_submit():
        zone = ZoneInfo(tz())
        try:
            classes.add_session(
                db.session,
                training_class,
                datetime.combine(form.day.data, form.starts.data, zone),
                datetime.combine(form.day.data, form.ends.data, zone),
                form.place.data or "",
            )
        except DomainError as error:
            db.session.rollback()
            form.ends.errors = [*form.ends.errors, message_of(error)]
        else:
            db.session.commit()
            flash(gettext("Session added."), "success")
            return redirect(url_for("admin.class_view", class_id=class_id, _anchor="sessions"))
    return _class_page(training_class, status=422, session=form)


@bp.route("/classes/<int:class_id>/sessions/<int:session_id>/delete", methods=["POST"])
@admin_required
def class_delete_session(class_id: int, session_id: int):
    """Remove a session that nobody was marked at (a mistake in the plan)."""
    training_class = _class_or_404(class_id)
    meeting = db.session.get(ClassSession, session_id)
    if meeting is None or meeting.class_id != training_class.id or not ActionForm().validate():
        abort(404)
    try:
        classes.delete_session(db.session, meeting)
    except DomainError as error:
        db.session.rollback()
        flash(message_of(error), "error")
    else:
        db.session.commit()
        flash(gettext("Session removed."), "success")
    return redirect(url_for("admin.class_view", class_id=class_id, _anchor="sessions"))


@bp.route("/classes/<int:class_id>/trainers", methods=["POST"])
@admin_required
def class_trainers(class_id: int):
    """Name the class's trainers by username."""
    training_class = _class_or_404(class_id)
    form = PeopleForm(prefix="trainers")
    form.cohort_id.choices = choices(cohort_choices())
    unit_field(form.unit_id, blank="")
    if form.validate_on_submit():
        users, unknown = named_users(form.usernames.data)
        if unknown:
            form.usernames.errors = [
                gettext("No account you manage is named: %(names)s.", names=", ".join(unknown))
            ]
        else:
            classes.set_trainers(db.session, scope(), me(), training_class, users)
            db.session.commit()
            flash(gettext("Trainers saved."), "success")
            return redirect(url_for("admin.class_view", class_id=class_id, _anchor="trainers"))
    return _class_page(training_class, status=422, trainers=form)


@bp.route("/classes/<int:class_id>/members", methods=["POST"])
@admin_required
def class_members(class_id: int):
    """Add learners to the roster by username or a whole batch (enrolling them in the
    class's course)."""
    training_class = _class_or_404(class_id)
    form = PeopleForm(prefix="members")
    form.cohort_id.choices = choices(cohort_choices())
    unit_field(form.unit_id, blank=gettext("(choose a unit)"))
    if form.validate_on_submit():
        users, unknown = named_users(form.usernames.data)
        if form.unit_id.data:
            chosen = unit_or_404(form.unit_id.data)
            users += [
                u
                for u in db.session.scalars(
                    select(User)
                    .join(OrgUnit, User.org_unit_id == OrgUnit.id)
                    .join(RoleAssignment, RoleAssignment.user_id == User.id)
                    .where(
                        OrgUnit.path.startswith(chosen.path, autoescape=True),
                        RoleAssignment.role == Role.LEARNER,
                        User.is_active_account.is_(True),
                    )
                    .order_by(User.sort_name)
                )
                if scope().can_manage_user(u)
            ]
        if form.cohort_id.data:
            cohort = db.session.get(Cohort, form.cohort_id.data)
            if cohort is None or not scope().covers_unit(cohort.org_unit):
                abort(404)
            users += [
                u
                for u in db.session.scalars(
                    select(User).where(User.cohort_id == cohort.id).order_by(User.sort_name)
                )
                if scope().can_manage_user(u)
            ]
        if unknown:
            form.usernames.errors = [
                gettext("No account you manage is named: %(names)s.", names=", ".join(unknown))
            ]
        elif not users:
            form.usernames.errors = [
                gettext("Name the learners to add, or choose a batch or a unit.")
            ]
        else:
            try:
                added = classes.add_members(db.session, scope(), me(), training_class, users)
            except DomainError as error:
                db.session.rollback()
                form.usernames.errors = [message_of(error)]
            else:
                db.session.commit()
                flash(
                    ngettext(
                        "%(num)s learner added to the class.",
                        "%(num)s learners added to the class.",
                        added,
                    ),
                    "success",
                )
                return redirect(url_for("admin.class_view", class_id=class_id, _anchor="roster"))
    return _class_page(training_class, status=422, members=form)


@bp.route("/classes/<int:class_id>/attendance.pdf")
@admin_required
def class_sheet(class_id: int):
    """The attendance sheet to print, with a signature column."""
    return sheet_download(_class_or_404(class_id))


@bp.route("/classes/<int:class_id>/attendance.xlsx")
@admin_required
def class_export(class_id: int):
    """The class's roster and attendance as a spreadsheet."""
    from lms.documents.spreadsheets import Column, write_xlsx

    training_class = _class_or_404(class_id)
    labels = {
        "present": gettext("Present"),
        "late": gettext("Arrived late"),
        "absent": gettext("Absent"),
        "excused": gettext("Excused"),
    }
    marks = classes.marks_of(db.session, training_class)
    passed = classes.passed_test(db.session, training_class)
    columns = [
        Column(gettext("Full name"), width=28),
        Column(gettext("Username"), width=18),
        Column(gettext("Unit"), width=30),
        *(
            Column(f"{format_date(s.starts_at, 'short')} {format_time(s.starts_at)}", width=14)
            for s in training_class.sessions
        ),
        Column(gettext("Sessions attended"), "int"),
        Column(gettext("Sessions counted"), "int"),
        Column(gettext("Attendance"), "percent"),
        Column(gettext("Rule met"), width=12),
        Column(gettext("Final test passed"), width=14),
    ]
    rows = (
        [
            row.user.full_name,
            row.user.username,
            row.user.org_unit.name if row.user.org_unit else "",
            *(
                labels[m.value] if (m := marks.get(row.user.id, {}).get(s.id)) else ""
                for s in training_class.sessions
            ),
            row.attended,
            row.counted,
            row.percent / 100,
            gettext("Yes") if row.meets_rule else gettext("No"),
            gettext("Yes") if row.user.id in passed else gettext("No"),
        ]
        for row in classes.attendance_of(db.session, training_class)
    )
    out = io.BytesIO()
    write_xlsx(out, training_class.name[:31], columns, rows, tz())
    out.seek(0)
    return send_file(
        out,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=f"diem-danh-lop-{training_class.id}.xlsx",
    )

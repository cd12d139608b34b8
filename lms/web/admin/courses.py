"""Course settings a site admin decides (days to finish, attempts, what an overdue learner
may still do) and the final-test attempts of a course."""

from __future__ import annotations

from flask import (
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from sqlalchemy import select

from lms.app.extensions import db
from lms.models import (
    Course,
    Enrolment,
    OrgUnit,
    OverduePolicy,
    TestAttempt,
    User,
)
from lms.services import (
    audit,
)
from lms.web.admin.base import (
    admin_required,
    bp,
    me,
    page_args,
    published_courses,
    scope,
    site_admin_only,
)
from lms.web.forms import (
    CourseSettingsForm,
)


@bp.route("/courses")
@admin_required
def courses_index():
    """Courses and their deadline settings (site administrators)."""
    site_admin_only()
    return render_template("hocvu/admin/courses.html", courses=published_courses())


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
    page, per_page = page_args()
    rows = db.session.execute(
        stmt.order_by(TestAttempt.started_at.desc()).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return render_template("hocvu/admin/course_attempts.html", course=course, rows=rows, page=page)


@bp.route("/courses/<int:course_id>/settings", methods=["GET", "POST"])
@admin_required
def course_settings(course_id: int):
    """What happens after the deadline, and when reminders go out."""
    site_admin_only()
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
                me(),
                "course.settings",
                course,
                policy=course.overdue_policy.value,
                reminders=course.reminder_days,
            )
            db.session.commit()
            flash(gettext("Settings of %(course)s saved.", course=course.title), "success")
            return redirect(url_for("admin.courses_index"))
    return render_template("hocvu/admin/course_settings.html", form=form, course=course)

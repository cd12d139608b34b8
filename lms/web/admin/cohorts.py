"""Batches ("đợt học") and their courses, and extending deadlines for one learner, a
selection or a whole batch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import (
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext, ngettext
from sqlalchemy import func, select

from lms import jobs
from lms.app.extensions import db
from lms.app.i18n import format_date
from lms.jobs import cohorts as member_jobs
from lms.jobs import extensions as extension_jobs
from lms.models import (
    Cohort,
    Course,
    Enrolment,
    OrgUnit,
    User,
    utcnow,
)
from lms.services import (
    cohorts,
    deadlines,
)
from lms.services.errors import DomainError
from lms.web.admin.base import (
    admin_required,
    bp,
    cohort_or_404,
    me,
    published_courses,
    scope,
    tz,
    unit_field,
    unit_or_404,
    user_or_404,
)
from lms.web.common import message_of
from lms.web.forms import (
    ActionForm,
    CohortForm,
    CohortIssueForm,
    ExtendForm,
    choices,
)

# Extensions of more enrolments than this run as a job (each is several rows: the due date,
# its record, the audit event, the learner's notice); a whole batch always does.
EXTEND_IN_REQUEST = 200


@dataclass
class _Targets:
    """Whom the extension page extends: enrolments loaded for one learner or a selection; a
    batch's are counted and listed by the job, never loaded here."""

    label: str
    args: dict
    learners: int
    course_ids: list[int]
    enrolments: list[Enrolment] | None = None  # None for a batch
    cohort_id: int | None = None
    user_ids: list[int] | None = None


def _extension_targets() -> _Targets:
    """The enrolments named by ?enrolment=, ?user= (several) or ?cohort=, inside the scope."""
    sc = scope()
    if enrolment_id := request.args.get("enrolment", type=int):
        enrolment = db.session.get(Enrolment, enrolment_id)
        if enrolment is None or not sc.can_manage_user(enrolment.user):
            abort(404)
        return _Targets(
            enrolment.user.full_name,
            {"enrolment": enrolment_id},
            1,
            [enrolment.course_id],
            [enrolment],
            user_ids=[enrolment.user_id],
        )
    if cohort_id := request.args.get("cohort", type=int):
        cohort = cohort_or_404(cohort_id)
        members = (
            select(User.id)
            .outerjoin(OrgUnit, User.org_unit_id == OrgUnit.id)
            .where(User.cohort_id == cohort.id)
        )
        if not sc.everything:
            members = members.where(sc.user_filter())
        learners = db.session.scalar(select(func.count()).select_from(members.subquery()))
        if not learners:
            abort(404)
        course_ids = db.session.scalars(
            select(Enrolment.course_id)
            .where(Enrolment.user_id.in_(members))
            .distinct()
            .order_by(Enrolment.course_id)
        ).all()
        return _Targets(
            gettext("batch %(name)s", name=cohort.name),
            {"cohort": cohort_id},
            learners,
            list(course_ids),
            cohort_id=cohort.id,
        )
    ids = [int(i) for i in request.args.getlist("user") if i.isdigit()][:5000]
    found = [u for u in (db.session.get(User, i) for i in ids) if u is not None]
    # An account outside the scope is treated as one that does not exist: it is dropped
    # before the label below names anyone on the page.
    users = [u for u in found if sc.can_manage_user(u)]
    if not users:
        abort(404)
    label = ", ".join(u.full_name for u in users[:5]) + ("…" if len(users) > 5 else "")
    enrolments = db.session.scalars(
        select(Enrolment).where(Enrolment.user_id.in_([u.id for u in users]))
    ).all()
    return _Targets(
        label,
        {"user": [u.id for u in users]},
        len(users),
        list(dict.fromkeys(e.course_id for e in enrolments)),
        list(enrolments),
        user_ids=[u.id for u in users],
    )


def _extend_in_background(form: ExtendForm, targets: _Targets):
    """Check the extension of a batch or a large selection here, with one query for all, and
    hand it to its job; the job's page, or None when the form has errors now."""
    now = utcnow()
    statement = deadlines.extension_targets(
        scope(), form.course_id.data, cohort_id=targets.cohort_id, user_ids=targets.user_ids
    )
    try:
        reason = deadlines.check_extension(
            form.reason.data, form.days.data, form.until.data, deadlines.local_today(now, tz())
        )
        deadlines.check_until(db.session, statement, form.until.data, tz())
    except DomainError as error:
        form.add_error(error.field if error.field != "days" else None, message_of(error))
        return None
    args = {
        "actor_id": me().id,
        "course_id": form.course_id.data,
        "reason": reason,
        "days": form.days.data,
        "until": form.until.data.isoformat() if form.until.data else None,
        "cohort_id": targets.cohort_id,
        "user_ids": None if targets.cohort_id else targets.user_ids,
        "now": now.isoformat(),
    }
    job = extension_jobs.same_job(db.session, args) or jobs.enqueue(
        extension_jobs.TASK, created_by=me(), **args
    )
    return redirect(url_for("admin.job_view", job_id=job.id))


def _extension_preview(
    enrolment: Enrolment | None, days: int | None, until: date | None
) -> tuple[str, str]:
    """What an extension will give, in words: the rule it follows (from when it counts) and,
    once a number of days or a date is given, the new deadline. `enrolment` is the one
    learner's enrolment in the chosen course, None for a selection or a batch."""
    zone = tz()
    today = deadlines.local_today(utcnow(), zone)
    if enrolment is None:
        rule = gettext(
            "Counted from each learner's current deadline, or from today for learners already "
            "overdue; today itself is not counted."
        )
        start = today  # the overdue learners' start: the others' differs for each
    elif enrolment.completed_at is not None:
        return gettext("This learner has completed the course: there is nothing to extend."), ""
    else:
        start = deadlines.extension_start(enrolment.due_at, today, zone)
        if enrolment.due_at is not None and start > today:
            rule = gettext(
                "Counted from the current deadline, 24:00 on %(date)s.",
                date=format_date(start),
            )
        elif enrolment.due_at is not None:
            rule = gettext(
                "Counted from today, %(date)s, as the learner is overdue or due today; today "
                "itself is not counted.",
                date=format_date(today),
            )
        else:
            rule = gettext(
                "Counted from today, %(date)s (the learner has no deadline yet); today itself "
                "is not counted.",
                date=format_date(today),
            )
    if days is not None and until is None:
        if not 1 <= days <= deadlines.MAX_EXTENSION_DAYS:
            return rule, gettext("Extend by 1 to %(max)d days.", max=deadlines.MAX_EXTENSION_DAYS)
        last = deadlines.last_day(start, days)
    elif until is not None and days is None:
        if until < today:
            return rule, gettext("The new deadline cannot be in the past.")
        last = until
    else:
        return rule, ""
    left = (last - today).days
    if enrolment is None and until is None:
        # Counted from today for the overdue learners: as many days left as added.
        return rule, ngettext(
            "Learners already overdue: new deadline 24:00 on %(date)s (%(num)d day left). "
            "The others: %(num)d day after their current deadline.",
            "Learners already overdue: new deadline 24:00 on %(date)s (%(num)d days left). "
            "The others: %(num)d days after their current deadline.",
            days,
            date=format_date(last),
        )
    if left == 0:
        return rule, gettext("New deadline: 24:00 today, %(date)s.", date=format_date(last))
    return rule, ngettext(
        "New deadline: 24:00 on %(date)s (%(num)d day left).",
        "New deadline: 24:00 on %(date)s (%(num)d days left).",
        left,
        date=format_date(last),
    )


def _previewed(enrolments: list[Enrolment], course_id: int | None) -> Enrolment | None:
    """The one enrolment the preview speaks of: the single learner's, in the chosen course."""
    if len({e.user_id for e in enrolments}) != 1:
        return None
    return next((e for e in enrolments if e.course_id == course_id), None)


@bp.route("/extend/preview")
@admin_required
def extend_preview():
    """The extension form's sentence for the number of days or the date typed (JSON), for
    extend.js: the same words the page prints without JavaScript. ?learner= names the one
    learner (with ?course_id=); without it the sentence is the one for several learners."""
    enrolment = None
    if learner_id := request.args.get("learner", type=int):
        learner = user_or_404(learner_id)
        enrolment = db.session.scalar(
            select(Enrolment).where(
                Enrolment.user_id == learner.id,
                Enrolment.course_id == request.args.get("course_id", type=int),
            )
        )
        if enrolment is None:
            abort(404)
    until = None
    if raw := request.args.get("until", "").strip():
        try:
            until = date.fromisoformat(raw)
        except ValueError:
            until = None
    days = request.args.get("days", type=int) if request.args.get("days", "").strip() else None
    rule, result = _extension_preview(enrolment, days, until)
    return {"rule": rule, "result": result}


@bp.route("/extend", methods=["GET", "POST"])
@admin_required
def extend():
    """Extend the deadline of one learner, a selection, or a whole batch, with a reason."""
    targets = _extension_targets()
    enrolments, args, course_ids = targets.enrolments or [], targets.args, targets.course_ids
    form = ExtendForm()
    courses_by_id = {
        c.id: c for c in db.session.scalars(select(Course).where(Course.id.in_(course_ids)))
    }
    form.course_id.choices = choices((i, courses_by_id[i].title) for i in course_ids)
    if request.method == "GET" and course_ids:
        form.course_id.data = course_ids[0]
    if form.validate_on_submit():
        chosen = [e for e in enrolments if e.course_id == form.course_id.data]
        if targets.enrolments is None or len(chosen) > EXTEND_IN_REQUEST:
            if response := _extend_in_background(form, targets):
                return response
        else:
            try:
                count = deadlines.extend(
                    db.session,
                    me(),
                    chosen,
                    reason=form.reason.data,
                    days=form.days.data,
                    until=form.until.data,
                    timezone=tz(),
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
                if targets.learners == 1:
                    return redirect(url_for("admin.user_view", user_id=targets.user_ids[0]))
                return redirect(url_for("admin.users_index"))
    learners = targets.learners
    single = _previewed(enrolments, form.course_id.data)
    rule, result = _extension_preview(
        single,
        form.days.data if not form.days.errors else None,
        form.until.data if not form.until.errors else None,
    )
    return render_template(
        "hocvu/admin/extend.html",
        form=form,
        label=targets.label,
        learners=learners,
        args=args,
        none=not course_ids,
        preview_url=url_for(
            "admin.extend_preview",
            **({"learner": targets.user_ids[0]} if learners == 1 and enrolments else {}),
        ),
        rule=rule,
        result=result,
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


def _start_member_job(cohort: Cohort, issued_at: date | None = None):
    """Hand the work on the batch's members to its job and show the job's progress: the one
    already waiting or running when there is one (it applies the batch as saved now)."""
    job = member_jobs.active_job(db.session, cohort.id)
    if job is None:
        job = jobs.enqueue(
            member_jobs.TASK,
            created_by=me(),
            cohort_id=cohort.id,
            actor_id=me().id,
            issued_at=issued_at.isoformat() if issued_at else None,
        )
    return redirect(url_for("admin.job_view", job_id=job.id))


def _cohort_page(form: CohortForm, cohort: Cohort | None, issue_form=None, status: int = 200):
    return render_template(
        "hocvu/admin/cohort_form.html",
        form=form,
        cohort=cohort,
        issue_form=issue_form or (CohortIssueForm() if cohort else None),
        members=cohorts.member_count(db.session, cohort) if cohort else 0,
        job=member_jobs.latest_job(db.session, cohort.id) if cohort else None,
        action_form=ActionForm(),
    ), status


@bp.route("/cohorts/new", methods=["GET", "POST"])
@bp.route("/cohorts/<int:cohort_id>/edit", methods=["GET", "POST"])
@admin_required
def cohort_edit(cohort_id: int | None = None):
    """Create or change a batch: its unit, courses and number of days. The batch is saved at
    once; the work on its members (enrolling, due dates) is a job whose progress is shown."""
    cohort = cohort_or_404(cohort_id) if cohort_id else None
    form = CohortForm(obj=cohort)
    unit_field(form.org_unit_id)
    form.course_ids.choices = choices((c.id, c.title) for c in published_courses())
    if request.method == "GET" and cohort is not None:
        form.course_ids.data = [c.id for c in cohort.courses]
    if form.validate_on_submit():
        unit = unit_or_404(form.org_unit_id.data)
        selected = [db.session.get(Course, i) for i in form.course_ids.data or []]
        try:
            saved = cohorts.save_cohort(
                db.session,
                me(),
                cohort,
                name=form.name.data,
                unit=unit,
                courses=[c for c in selected if c is not None],
                deadline_days=form.deadline_days.data,
            )
        except DomainError as error:
            db.session.rollback()
            form.add_error(error.field, message_of(error))
        else:
            db.session.commit()
            flash(gettext("Batch %(name)s saved.", name=saved.cohort.name), "success")
            if saved.members_to_update:
                return _start_member_job(saved.cohort)
            return redirect(url_for("admin.cohorts_index"))
    return _cohort_page(form, cohort, status=422 if form.errors or form.form_errors else 200)


@bp.route("/cohorts/<int:cohort_id>/issue-date", methods=["POST"])
@admin_required
def cohort_issue_date(cohort_id: int):
    """Set the issue date of every account of the batch (inside its unit), as a job that then
    recomputes their due dates; a date leaving no time needs a tick."""
    cohort = cohort_or_404(cohort_id)
    issue_form = CohortIssueForm()
    if issue_form.validate_on_submit():
        running = member_jobs.active_job(db.session, cohort.id)
        day = issue_form.issued_at.data
        if running is not None:
            if (running.args or {}).get("issued_at") == day.isoformat():
                return redirect(url_for("admin.job_view", job_id=running.id))  # a second click
            issue_form.add_error(
                None,
                gettext(
                    "The learners of this batch are being updated: set the issue date once "
                    "that has finished."
                ),
            )
        else:
            try:
                cohorts.check_issue_date(
                    db.session,
                    me(),
                    cohort,
                    day,
                    past_ok=bool(issue_form.past_ok.data),
                    timezone=tz(),
                )
            except DomainError as error:
                db.session.rollback()
                if error.field == "past_ok":
                    issue_form.needs_tick = True
                issue_form.add_error(
                    None if error.field == "past_ok" else error.field, message_of(error)
                )
            else:
                db.session.commit()
                return _start_member_job(cohort, day)
    form = CohortForm(obj=cohort, formdata=None)
    unit_field(form.org_unit_id)
    form.course_ids.choices = choices((c.id, c.title) for c in published_courses())
    form.course_ids.data = [c.id for c in cohort.courses]
    return _cohort_page(form, cohort, issue_form, status=422)


@bp.route("/cohorts/<int:cohort_id>/apply", methods=["POST"])
@admin_required
def cohort_apply(cohort_id: int):
    """Bring the batch's members in line with it again (after a job that did not finish)."""
    cohort = cohort_or_404(cohort_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    return _start_member_job(cohort)

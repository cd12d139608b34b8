"""Completion reports for admins: the dashboard (figures, charts, drill-down by unit), table
exports as XLSX or CSV, and the periodic report issued as a frozen PDF. Scoped everywhere."""

from __future__ import annotations

from datetime import date, timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from lms import jobs
from lms.app.extensions import db
from lms.app.i18n import format_date, format_number
from lms.app.storage import StorageError
from lms.app.storage import for_app as site_files
from lms.documents import charts
from lms.documents.report_pdf import figure_labels
from lms.documents.spreadsheets import Column, table_bytes
from lms.jobs.reports import report_key
from lms.models import Course, Job, JobStatus, OrgUnit, Report, utcnow
from lms.services import clock, reports, teams
from lms.services.errors import DomainError
from lms.web.admin.base import (
    admin_required,
    cohort_choices,
    cohort_or_404,
    me,
    page_args,
    scope,
    unit_field,
    unit_or_404,
)
from lms.web.common import message_of
from lms.web.forms import ActionForm, ReportForm, choices

bp = Blueprint("reports", __name__, url_prefix="/admin/reports")

DEFAULT_DAYS = 30
FIGURES = ("issued", "started", "completed", "passed", "certified", "overdue")
TEAM_LABELS = {
    "teams": _l("Support teams"),
    "members": _l("Members"),
    "supported": _l("Learners supported"),
    "contacts": _l("Support contacts"),
    "completed_after": _l("Completed after support"),
}


def tz() -> str:
    return current_app.config["HOCVU_TIMEZONE"]


def _course(courses: list[Course]) -> Course:
    """The course asked for (?course=), else the most enrolled one."""
    if not courses:
        abort(404)
    wanted = request.args.get("course", type=int)
    if wanted is None:
        return courses[0]
    return next((c for c in courses if c.id == wanted), None) or abort(404)


def _period() -> tuple[reports.Period, str | None]:
    """The chart's period from ?start=&end= (ISO dates); the last 30 days by default."""
    today = clock.today(tz())
    default = reports.Period(today - timedelta(days=DEFAULT_DAYS - 1), today)
    raw_start, raw_end = request.args.get("start"), request.args.get("end")
    if not raw_start and not raw_end:
        return default, None
    try:
        start = date.fromisoformat(raw_start) if raw_start else default.start
        end = date.fromisoformat(raw_end) if raw_end else default.end
    except ValueError:
        return default, gettext("The dates of the period are not valid dates.")
    try:
        return reports.check_period(start, end), None
    except DomainError as error:
        return default, message_of(error)


def _snapshot(course: Course):
    """The newest figures of the course; counted now the first time, and refreshed in the
    background when older than HOCVU_REPORT_MAX_AGE_MINUTES."""
    snapshot = reports.latest_snapshot(db.session, course.id)
    if snapshot is None:
        snapshot = reports.refresh(db.session, course.id, tz())
        db.session.commit()
        return snapshot, False
    age = utcnow() - snapshot.completed_at
    if age > timedelta(minutes=current_app.config["HOCVU_REPORT_MAX_AGE_MINUTES"]):
        return snapshot, _start_refresh(course)
    return snapshot, False


def _start_refresh(course: Course) -> bool:
    """Queue a refresh unless one for this course is already waiting or running."""
    pending = db.session.scalars(
        select(Job).where(
            Job.task == "reports.refresh",
            Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]),
            Job.created_at > utcnow() - timedelta(minutes=30),
        )
    ).all()
    if not any(job.args.get("course_id") == course.id for job in pending):
        jobs.enqueue("reports.refresh", course_id=course.id)
    return True


def _rate_text(counts: reports.Counts) -> str:
    return "–" if counts.rate is None else format_number(counts.rate) + " %"


def _unit_chart(overview: reports.Overview):
    rows = [r for r in overview.rows if r.total.issued]
    if not rows:
        return None
    average = overview.total.rate or 0
    ranked = sorted(rows, key=lambda r: (r.total.rate, r.name.casefold()))[:20]
    bars = [
        charts.Bar(r.name, r.total.rate, _rate_text(r.total), r.total.rate < average)
        for r in ranked
    ]
    title = gettext("Completion rate by unit")
    description = gettext(
        "The %(count)s units with the lowest completion rate, lowest first; red bars are "
        "below the average of %(rate)s. The table below gives every figure.",
        count=len(bars),
        rate=_rate_text(overview.total),
    )
    return charts.bar_chart(title, description, bars, 100)


def _batch_chart(overview: reports.Overview):
    rows = [b for b in overview.batches if b.counts.issued]
    if not rows:
        return None
    average = overview.total.rate or 0
    bars = [
        charts.Bar(
            b.name or gettext("(no batch)"),
            b.counts.rate,
            _rate_text(b.counts),
            b.counts.rate < average,
        )
        for b in rows
    ]
    return charts.bar_chart(
        gettext("Completion rate by batch"),
        gettext(
            "One bar per batch; red bars are below the average of %(rate)s.",
            rate=_rate_text(overview.total),
        ),
        bars,
        100,
    )


def _day_chart(days: list[tuple[date, int]]):
    values = [(f"{format_date(d, 'short')}: {format_number(n)}", n) for d, n in days]
    marks = sorted({0, len(days) // 2, len(days) - 1})
    axis = [(i, format_date(days[i][0], "short")) for i in marks]
    total = sum(n for _, n in days)
    return charts.column_chart(
        gettext("Completions per day"),
        gettext(
            "%(count)s completions from %(start)s to %(end)s; the busiest day had %(max)s.",
            count=format_number(total),
            start=format_date(days[0][0], "short"),
            end=format_date(days[-1][0], "short"),
            max=format_number(max(n for _, n in days)),
        ),
        values,
        axis,
        format_number(max(n for _, n in days)),
    )


def _breadcrumbs(unit: OrgUnit | None) -> list[OrgUnit]:
    """The viewed unit's ancestors inside the scope, top first."""
    if unit is None:
        return []
    ids = [int(i) for i in unit.path.strip("/").split("/")]
    found = {u.id: u for u in db.session.scalars(select(OrgUnit).where(OrgUnit.id.in_(ids)))}
    sc = scope()
    return [found[i] for i in ids if i in found and sc.covers_unit(found[i])]


def _view_args():
    """The dashboard's subject: course, unit, batch, period (404 outside the scope)."""
    courses = reports.courses_in_use(db.session)
    course = _course(courses)
    unit_id = request.args.get("unit", type=int)
    unit = unit_or_404(unit_id) if unit_id else None
    batch = request.args.get("batch", type=int)
    if batch:
        cohort_or_404(batch)
    return courses, course, unit, batch or None


@bp.route("/")
@admin_required
def index():
    """The dashboard: totals, units (drill down), batches and completions per day."""
    courses, course, unit, batch = _view_args()
    period, period_error = _period()
    snapshot, refreshing = _snapshot(course)
    sc = scope()
    overview = reports.dashboard(db.session, sc, snapshot, unit, batch)
    days = reports.daily_from_snapshot(db.session, sc, snapshot, period, unit)
    cohorts = [(i, label) for i, label in cohort_choices() if i]
    return render_template(
        "hocvu/admin/reports.html",
        courses=courses,
        course=course,
        unit=unit,
        batch=batch,
        cohorts=cohorts,
        period=period,
        period_error=period_error,
        snapshot=snapshot,
        refreshing=refreshing,
        overview=overview,
        days=days,
        labels=figure_labels(),
        figures=FIGURES,
        unit_chart=_unit_chart(overview),
        batch_chart=_batch_chart(overview),
        day_chart=_day_chart(days),
        crumbs=_breadcrumbs(unit),
        classes=reports.class_figures(
            db.session, sc, course.id, unit, utcnow(), None if period_error else period, tz()
        ),
        rate_text=_rate_text,
        action_form=ActionForm(),
        team_figures=_team_figures(sc, overview, unit, course),
        team_labels=TEAM_LABELS,
    ), (200 if period_error is None else 400)


def _team_figures(sc, overview: reports.Overview, unit: OrgUnit | None, course: Course):
    """The support teams' figures of each unit row, and of the whole view (key None)."""
    paths: dict[int | None, str | None] = {r.id: r.path for r in overview.rows}
    paths[None] = unit.path if unit else None
    return teams.figures(db.session, sc, paths, course.id)


@bp.route("/refresh", methods=["POST"])
@admin_required
def refresh():
    """Count the figures again now (in the background)."""
    if not ActionForm().validate_on_submit():
        abort(400)
    courses = reports.courses_in_use(db.session)
    course = _course(courses)
    _start_refresh(course)
    db.session.commit()
    flash(gettext("The figures are being counted again; reload the page in a moment."), "info")
    return redirect(url_for("reports.index", **request.args.to_dict()))


def _count_columns(first: str) -> list[Column]:
    labels = figure_labels()
    return [
        Column(first, width=40),
        *(Column(labels[name], "int", 12) for name in FIGURES),
        Column(labels["never_logged_in"], "int", 12),
        Column(gettext("Completion rate"), "percent", 12),
    ]


def _count_cells(counts: reports.Counts) -> list:
    rate = counts.completed / counts.issued if counts.issued else None
    return [*(getattr(counts, n) for n in FIGURES), counts.never_logged_in, rate]


@bp.route("/export/<table>.<fmt>")
@admin_required
def export(table: str, fmt: str):
    """One of the dashboard's tables (units, batches, days) as XLSX or CSV."""
    if fmt not in ("xlsx", "csv") or table not in ("units", "batches", "days", "classes", "teams"):
        abort(404)
    _courses, course, unit, batch = _view_args()
    snapshot, _refreshing = _snapshot(course)
    sc = scope()
    if table == "classes":
        period, error = _period()
        if error:
            abort(400)
        total, found = reports.class_figures(
            db.session, sc, course.id, unit, utcnow(), period, tz()
        )
        columns = [
            Column(gettext("Unit code"), width=12),
            Column(gettext("Unit"), width=40),
            Column(gettext("Classes held"), "int", 12),
            Column(gettext("Class sessions"), "int", 12),
            Column(gettext("Learners in classes"), "int", 14),
            Column(gettext("Attendance rate"), "percent", 12),
            Column(gettext("In-person completions"), "int", 14),
        ]

        def cells(c: reports.ClassCounts) -> list:
            return [c.classes, c.sessions, c.learners, c.rate, c.completed]

        rows = [[r.code, r.name, *cells(r.counts)] for r in found if r.counts.learners]
        rows.append(["", gettext("Total"), *cells(total)])
        title = gettext("In-person classes")
    elif table == "days":
        period, error = _period()
        if error:
            abort(400)
        columns = [Column(gettext("Day"), "date", 14), Column(gettext("Completed"), "int", 14)]
        rows = reports.daily_from_snapshot(db.session, sc, snapshot, period, unit)
        title = gettext("Completions per day")
    else:
        overview = reports.dashboard(db.session, sc, snapshot, unit, batch)
        if table == "teams":
            columns, rows = _team_table(sc, overview, unit, course)
            title = gettext("Support teams")
        elif table == "units":
            columns = [Column(gettext("Unit code"), width=12), *_count_columns(gettext("Unit"))]
            rows = [[r.code, r.name, *_count_cells(r.total)] for r in overview.rows]
            title = gettext("By unit")
        else:
            columns = _count_columns(gettext("Batch"))
            rows = [
                [b.name or gettext("(no batch)"), *_count_cells(b.counts)] for b in overview.batches
            ]
            title = gettext("By batch")
    data, mimetype = table_bytes(fmt, title, columns, rows, tz())
    name = f"bao-cao-{table}-{unit.code.lower() if unit else 'tat-ca'}.{fmt}"
    return current_app.response_class(
        data, mimetype=mimetype, headers={"Content-Disposition": f"attachment; filename={name}"}
    )


def _team_table(sc, overview: reports.Overview, unit: OrgUnit | None, course: Course):
    """The support teams' figures by unit, with the total of the view last."""
    found = _team_figures(sc, overview, unit, course)
    columns = [
        Column(gettext("Unit code"), width=12),
        Column(gettext("Unit"), width=40),
        *(Column(str(label), "int", 14) for label in TEAM_LABELS.values()),
    ]
    rows = [
        [r.code, r.name, *(getattr(found[r.id], name) for name in TEAM_LABELS)]
        for r in overview.rows
    ]
    rows.append(
        [
            unit.code if unit else "",
            gettext("Total"),
            *(getattr(found[None], name) for name in TEAM_LABELS),
        ]
    )
    return columns, rows


# --- periodic reports ------------------------------------------------------------------------


def _fill_report_form(form: ReportForm, courses: list[Course]) -> None:
    unit_field(form.unit_id, blank=gettext("(the whole site)") if scope().everything else None)
    form.course_id.choices = choices((c.id, c.title) for c in courses)


def _form_period(form: ReportForm) -> reports.Period:
    if form.kind.data == "half_year":
        first = form.half.data == "1"
        year = form.year.data
        return reports.Period(
            date(year, 1 if first else 7, 1), date(year, 6 if first else 12, 30 if first else 31)
        )
    if form.kind.data == "year":
        return reports.year(date(form.year.data, 1, 1))
    return reports.check_period(form.start.data, form.end.data)


@bp.route("/periodic", methods=["GET", "POST"])
@admin_required
def periodic():
    """Issue a periodic report (a background job) and list the reports already issued."""
    courses = reports.courses_in_use(db.session)
    form = ReportForm()
    _fill_report_form(form, courses)
    if request.method == "GET":
        last = reports.previous_half_year(clock.today(tz()))
        form.year.data = last.start.year
        form.half.data = "1" if last.start.month == 1 else "2"
        form.unit_id.data = request.args.get("unit", type=int) or (
            0 if scope().everything else (form.unit_id.choices[0].value)
        )
        if courses:
            form.course_id.data = request.args.get("course", type=int) or courses[0].id
    if form.validate_on_submit():
        unit = unit_or_404(form.unit_id.data) if form.unit_id.data else None
        if unit is None and not scope().everything:
            abort(404)
        try:
            period = _form_period(form)
        except DomainError as error:
            form.add_error(error.field, message_of(error))
        else:
            job = jobs.enqueue(
                "reports.periodic",
                created_by=me(),
                actor_id=me().id,
                course_id=form.course_id.data,
                unit_id=unit.id if unit else None,
                kind=form.kind.data,
                start=period.start.isoformat(),
                end=period.end.isoformat(),
            )
            return redirect(url_for("admin.job_view", job_id=job.id))
    page, per_page = page_args()
    issued = db.paginate(
        reports.reports_of(db.session, scope()), page=page, per_page=per_page, error_out=False
    )
    status = 422 if form.errors or form.form_errors else 200
    return render_template("hocvu/admin/report_periodic.html", form=form, issued=issued), status


def _report_or_404(report_id: int) -> Report:
    report = db.session.get(Report, report_id)
    if report is None:
        abort(404)
    sc = scope()
    if report.org_unit_id is None and not sc.everything:
        abort(404)
    if report.org_unit is not None and not sc.covers_unit(report.org_unit):
        abort(404)
    return report


@bp.route("/periodic/<int:report_id>.pdf")
@admin_required
def periodic_pdf(report_id: int):
    """An issued report's PDF, exactly as issued."""
    report = _report_or_404(report_id)

    try:
        path = site_files(current_app).local_path(report_key(report.id))
    except StorageError:
        abort(404)
    return send_file(
        path,
        mimetype="application/pdf",
        as_attachment=True,
        download_name=f"bao-cao-ket-qua-{report.id}.pdf",
        max_age=0,
    )

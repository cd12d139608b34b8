"""Learner lists as XLSX or CSV, with an admin's filters, as a background job."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import func, select

from lms.app import storage as files
from lms.jobs import core as jobs
from lms.jobs.core import site_language
from lms.models import OrgUnit, User
from lms.services.scope import Scope


def learners_key(job_id: int, fmt: str) -> str:
    return f"exports/learners-{job_id}.{fmt}"


def learner_columns() -> list:
    """The learner list's columns, headers in the current language."""
    from flask_babel import gettext

    from lms.documents.spreadsheets import Column

    return [
        Column(gettext("Full name"), width=28),
        Column(gettext("Username"), width=16),
        Column(gettext("Unit"), width=32),
        Column(gettext("Unit code"), width=10),
        Column(gettext("Batch"), width=14),
        Column(gettext("Account issued on"), "date", 13),
        Column(gettext("Last login"), "datetime", 17),
        Column(gettext("Course"), width=30),
        Column(gettext("Status"), width=16),
        Column(gettext("Started at"), "datetime", 17),
        Column(gettext("Due"), "date", 13),
        Column(gettext("Completed at"), "datetime", 17),
        Column(gettext("Best score"), "number", 10),
        Column(gettext("Passed the final test"), width=12),
        Column(gettext("Certificate"), width=12),
        Column(gettext("Overdue"), width=10),
    ]


def learner_rows(session, scope, filters, timezone: str, progress=None):
    """The rows of a learner list export, streamed in chunks (one row per course)."""
    from flask_babel import gettext

    from lms.models import Cohort
    from lms.services import reports

    yes, no = gettext("Yes"), gettext("No")
    status_labels = reports_status_labels()
    units = {
        u.id: (u.name, u.code)
        for u in session.execute(select(OrgUnit.id, OrgUnit.name, OrgUnit.code))
    }
    batches = dict(session.execute(select(Cohort.id, Cohort.name)).all())
    # The ids in list order first, then the rows chunk by chunk: no cursor stays open, so the
    # job may commit its progress in between (a commit closes PostgreSQL's server cursors).
    ids = list(
        session.scalars(reports.learner_query(session, scope, filters).with_only_columns(User.id))
    )
    done = 0
    for start in range(0, len(ids), 2000):
        chunk_ids = ids[start : start + 2000]
        found = {
            row.id: row
            for row in session.execute(
                select(
                    User.id,
                    User.full_name,
                    User.username,
                    User.org_unit_id,
                    User.cohort_id,
                    User.issued_at,
                    User.last_login_at,
                ).where(User.id.in_(chunk_ids))
            )
        }
        chunk = [found[i] for i in chunk_ids if i in found]
        states = reports.states_of(session, [r.id for r in chunk], filters.course_id, timezone)
        for user in chunk:
            unit_name, unit_code = units.get(user.org_unit_id, ("", ""))
            head = [
                user.full_name,
                user.username,
                unit_name,
                unit_code,
                batches.get(user.cohort_id, ""),
                user.issued_at,
                user.last_login_at,
            ]
            for state in states[user.id] or [None]:
                if state is None:
                    yield [
                        *head,
                        "",
                        status_labels["not_enrolled"],
                        None,
                        None,
                        None,
                        None,
                        "",
                        "",
                        "",
                    ]
                    continue
                yield [
                    *head,
                    state.course_title,
                    status_labels[state.status],
                    state.started_at,
                    state.due_day,
                    state.completed_at,
                    state.best_score,
                    yes if state.passed else no,
                    yes if state.certified else no,
                    yes if state.overdue else no,
                ]
        done += len(chunk)
        if progress is not None:
            progress(done)


def reports_status_labels() -> dict[str, str]:
    from flask_babel import gettext

    return {
        "not_enrolled": gettext("Not enrolled"),
        "not_started": gettext("Not started"),
        "in_progress": gettext("In progress"),
        "completed": gettext("Completed"),
        "overdue": gettext("Overdue"),
    }


@jobs.task("reports.learners")
def export_learners(ctx: jobs.JobContext, *, actor_id: int, filters: dict, fmt: str) -> dict:
    """The learner list with the admin's filters as XLSX or CSV (scope checked again here)."""
    from lms.documents.spreadsheets import write_csv, write_xlsx
    from lms.services import reports

    app = current_app._get_current_object()
    session = ctx.session
    scope = Scope.of(session.get(User, actor_id))
    chosen = reports.LearnerFilter(**filters)
    total = session.scalar(
        select(func.count()).select_from(reports.learner_query(session, scope, chosen).subquery())
    )
    ctx.progress(0, total)
    zone = app.config["HOCVU_TIMEZONE"]
    path = files.for_app(app).path_for_writing(learners_key(ctx.job_id, fmt))
    partial = path.with_name(f".incoming-{path.name}")

    def progress(done: int) -> None:
        if done % 10000 < 2000 or done == total:
            ctx.progress(min(done, total), total)

    with site_language(app), partial.open("wb") as out:
        rows = learner_rows(session, scope, chosen, zone, progress)
        if fmt == "xlsx":
            count = write_xlsx(out, "Học viên", learner_columns(), rows, zone)
        else:
            count = write_csv(out, learner_columns(), rows, zone)
    partial.replace(path)
    return {"count": total, "rows": count, "format": fmt}

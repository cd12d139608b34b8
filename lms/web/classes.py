"""In-person classes for trainers and learners: a trainer's classes, the roster of a session to
mark on a phone (marks queued on the phone when the connection drops), the session's changing
check-in code with its QR, and a learner's check-in with that code.

A trainer reaches only the sessions of the classes they are named trainer of (404 for any
other); nothing here shows scores, other units or exports.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import segno
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from lms.app.extensions import db
from lms.app.i18n import format_date, format_number
from lms.models import Attendance, AttendanceStatus, Role, utcnow
from lms.services import classes, marking
from lms.services.errors import DomainError
from lms.services.marking import Mark
from lms.web.common import message_of, role_required
from lms.web.forms import REQUIRED, ActionForm, Form

bp = Blueprint("classes", __name__)

STATUS_LABELS = {
    AttendanceStatus.PRESENT: _l("Present"),
    AttendanceStatus.LATE: _l("Arrived late"),
    AttendanceStatus.ABSENT: _l("Absent"),
    AttendanceStatus.EXCUSED: _l("Excused"),
}
# Marks of one request: a roster of a few hundred learners, several changes each.
MAX_MARKS = 2000


class CheckInForm(Form):
    code = StringField(
        _l("Check-in code"),
        validators=[DataRequired(REQUIRED), Length(max=20)],
        description=_l("The 6 digits the trainer shows at the session."),
        render_kw={"inputmode": "numeric"},
    )


trainer_required = role_required(Role.TRAINER)


def _session_or_404(session_id: int):
    try:
        return classes.trainer_session(db.session, current_user, session_id)
    except DomainError:
        abort(404)


def _secret() -> str:
    return current_app.config["HOCVU_SECRET_KEY"]


@bp.route("/classes")
@trainer_required
def index():
    """The classes the trainer takes attendance in, with their sessions."""
    return render_template(
        "hocvu/classes/index.html",
        classes_=classes.trainer_classes(db.session, current_user),
        now=utcnow(),
    )


@bp.route("/classes/sessions/<int:session_id>")
@trainer_required
def roster(session_id: int):
    """The session's roster to mark: one row per learner, the marks saved so far."""
    meeting = _session_or_404(session_id)
    marks = {
        a.user_id: a
        for a in db.session.scalars(select(Attendance).where(Attendance.session_id == meeting.id))
    }
    return render_template(
        "hocvu/classes/roster.html",
        meeting=meeting,
        learners=classes.members(db.session, meeting.training_class),
        marks=marks,
        labels=STATUS_LABELS,
        action_form=ActionForm(),
    )


class PaperScoreForm(Form):
    learner_id = SelectField(_l("Learner"), coerce=int)
    score = StringField(
        _l("Score (out of 10)"),
        validators=[DataRequired(REQUIRED), Length(max=10)],
        description=_l("For example 8,5."),
        render_kw={"inputmode": "decimal"},
    )
    note = StringField(
        _l("Reason"),
        validators=[
            DataRequired(_l("Give the reason for entering this score.")),
            Length(max=500),
        ],
        description=_l(
            "Why the score is entered here, for example: bài kiểm tra giấy ngày 9/12, "
            "lớp không có máy tính."
        ),
    )


def _class_or_404(class_id: int):
    try:
        return classes.trainer_class(db.session, current_user, class_id)
    except DomainError:
        abort(404)


def _class_page(training_class, form: PaperScoreForm, status: int = 200):
    rows = classes.attendance_of(db.session, training_class)
    passed = classes.passed_test(db.session, training_class)
    form.learner_id.choices = [
        (row.user.id, f"{row.user.full_name} ({row.user.username})")
        for row in rows
        if row.user.id not in passed
    ]
    return render_template(
        "hocvu/classes/class.html",
        training_class=training_class,
        rows=rows,
        passed=passed,
        form=form,
    ), status


@bp.route("/classes/<int:class_id>")
@trainer_required
def class_view(class_id: int):
    """A class for its trainer: each learner's attendance and test result, and the form for a
    test taken on paper."""
    return _class_page(_class_or_404(class_id), PaperScoreForm())


@bp.route("/classes/<int:class_id>/paper-score", methods=["POST"])
@trainer_required
def paper_score(class_id: int):
    """Enter the score of a final test a learner took on paper (with the reason; audited)."""
    training_class = _class_or_404(class_id)
    form = PaperScoreForm()
    form.learner_id.choices = [
        (u.id, u.username) for u in classes.members(db.session, training_class)
    ]
    if form.validate_on_submit():
        score = parse_score(form.score.data)
        if score is None:
            form.score.errors = [gettext("Enter a number from 0 to 10, for example 8,5.")]
        else:
            try:
                attempt = classes.enter_paper_score(
                    db.session,
                    current_user,
                    training_class,
                    form.learner_id.data,
                    score,
                    form.note.data,
                    utcnow(),
                )
            except DomainError as error:
                db.session.rollback()
                target = form.note if error.field == "note" else form.score
                target.errors = [message_of(error)]
            else:
                db.session.commit()
                flash(
                    gettext(
                        "Score %(score)s/10 recorded for %(name)s.",
                        score=format_number(attempt.score, digits=2),
                        name=attempt.enrolment.user.full_name,
                    ),
                    "success",
                )
                return redirect(url_for("classes.class_view", class_id=class_id))
    return _class_page(training_class, form, status=422)


def parse_score(text: str) -> float | None:
    """'8,5' or '8.5' as 8.5; None for anything that is not a number from 0 to 10."""
    text = (text or "").strip().replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        return None
    return value if 0 <= value <= 10 and text.count(".") <= 1 else None


@bp.route("/classes/<int:class_id>/attendance.pdf")
@trainer_required
def sheet(class_id: int):
    """The class's attendance sheet to print, with a signature column."""
    return sheet_download(_class_or_404(class_id))


def sheet_download(training_class):
    """The class's attendance sheet as a PDF download (for its trainers and its admins)."""
    pdf = classes.attendance_sheet_pdf(
        db.session, training_class, current_app.config["HOCVU_CERT_ORGANISATION"] or "", utcnow()
    )
    return send_file(
        io.BytesIO(pdf),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=f"diem-danh-lop-{training_class.id}.pdf",
    )


def _posted_marks(now: datetime) -> list[Mark]:
    """The marks of a roster form (`status-<user id>` fields, marked now) or of the page's
    queue (`marks`: JSON [[user id, status, epoch ms on the phone], ...])."""
    if "marks" in request.form:
        try:
            raw = json.loads(request.form["marks"])
            if not isinstance(raw, list) or len(raw) > MAX_MARKS:
                raise ValueError
            return [
                Mark(
                    int(user_id),
                    AttendanceStatus(status),
                    datetime.fromtimestamp(int(at) / 1000, UTC),
                )
                for user_id, status, at in raw
            ]
        except (ValueError, TypeError, OverflowError, OSError, RecursionError):
            abort(400)
    marks = []
    for key, value in request.form.items():
        if key.startswith("status-") and key[7:].isdigit() and value in STATUS_LABELS:
            marks.append(Mark(int(key[7:]), AttendanceStatus(value), now))
    return marks[:MAX_MARKS]


@bp.route("/classes/sessions/<int:session_id>/marks", methods=["POST"])
@trainer_required
def mark(session_id: int):
    """Save marks: the whole roster form, or the queue the page kept while offline (JSON
    answer with what the server holds, so the page can show it)."""
    meeting = _session_or_404(session_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    now = utcnow()
    try:
        changed = marking.record_marks(db.session, current_user, meeting, _posted_marks(now), now)
    except DomainError as error:
        db.session.rollback()
        if request.accept_mimetypes.best == "application/json":
            return jsonify(error="refused", message=message_of(error)), 422
        flash(message_of(error), "error")
        return redirect(url_for("classes.roster", session_id=session_id))
    db.session.commit()
    if request.accept_mimetypes.best == "application/json":
        saved = {
            str(a.user_id): a.status.value
            for a in db.session.scalars(
                select(Attendance).where(Attendance.session_id == meeting.id)
            )
        }
        return jsonify(changed=changed, marks=saved)
    flash(gettext("Attendance saved."), "success")
    return redirect(url_for("classes.roster", session_id=session_id))


def _code_state(meeting, now: datetime) -> dict:
    code = marking.check_in_code(_secret(), meeting.id, now)
    return {
        "open": marking.open_for_check_in(meeting, now),
        "code": code,
        "seconds_left": marking.code_seconds_left(now),
        "url": url_for("classes.check_in", code=code, _external=True),
    }


@bp.route("/classes/sessions/<int:session_id>/code")
@trainer_required
def code(session_id: int):
    """The session's check-in code, large, with a QR code of the check-in link; it changes
    every minute (JSON for the page's refresh)."""
    meeting = _session_or_404(session_id)
    state = _code_state(meeting, utcnow())
    if request.accept_mimetypes.best == "application/json":
        return jsonify(
            {**state, "qr": segno.make(state["url"], error="m").svg_inline(scale=6)}
            if state["open"]
            else {"open": False}
        )
    return render_template(
        "hocvu/classes/code.html",
        meeting=meeting,
        state=state,
        qr=segno.make(state["url"], error="m").svg_inline(scale=6) if state["open"] else None,
    )


@bp.route("/check-in", methods=["GET", "POST"])
@login_required
def check_in():
    """A learner checks in to a session of their class with the code the trainer shows."""
    form = CheckInForm()
    if request.method == "GET" and request.args.get("code"):
        form.code.data = request.args["code"][:20]
    if form.validate_on_submit():
        try:
            meeting = marking.check_in(
                db.session, _secret(), current_user, form.code.data, utcnow()
            )
        except DomainError as error:
            db.session.rollback()
            form.code.errors = [message_of(error)]
        else:
            db.session.commit()
            flash(
                gettext(
                    "You are checked in to %(name)s, session of %(day)s.",
                    name=meeting.training_class.name,
                    day=format_date(meeting.starts_at),
                ),
                "success",
            )
            return redirect(url_for("learn.index"))
    status = 422 if form.errors else 200
    return render_template("hocvu/classes/check_in.html", form=form), status

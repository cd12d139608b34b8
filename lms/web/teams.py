"""Community digital-technology teams for their members, on a phone ("Tổ hỗ trợ"): who needs
help among the learners the team supports, a learner's card with one-tap actions (call,
record a contact, a new login slip for a learner who never logged in, ask the unit's admins
for an extension).

A member reaches only the learners of their own teams (404 for any other, through
services/teams.team_learner); an account without the team-member role gets 403, admins
included. Nothing here shows a score, another unit's learners or an export.
"""

from __future__ import annotations

import io

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
from flask_login import current_user
from wtforms import IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from lms.app.extensions import db
from lms.models import ContactKind, ContactOutcome, Role, utcnow
from lms.services import teams
from lms.services.errors import DomainError
from lms.services.teams import Need
from lms.web.common import message_of, role_required
from lms.web.forms import REQUIRED, ActionForm, Form, choices

bp = Blueprint("teams", __name__)

NEED_LABELS = {
    Need.NOT_LOGGED_IN: _l("Not logged in yet"),
    Need.NOT_STARTED: _l("Not started 2 days after getting the account"),
    Need.STUCK: _l("No progress for 3 days"),
    Need.DUE_SOON: _l("Deadline within 2 days"),
    Need.FAILED_TEST: _l("Failed the final test"),
}
KIND_LABELS = {
    ContactKind.CALL: _l("Phone call"),
    ContactKind.VISIT: _l("Home or workplace visit"),
    ContactKind.MESSAGE: _l("Message (Zalo, SMS)"),
    ContactKind.IN_PERSON: _l("Helped in person"),
}
OUTCOME_LABELS = {
    ContactOutcome.SOLVED: _l("Solved"),
    ContactOutcome.FOLLOW_UP: _l("Needs follow-up"),
    ContactOutcome.UNREACHABLE: _l("Could not reach them"),
}
PER_PAGE = 20


class ContactForm(Form):
    kind = RadioField(
        _l("How"),
        choices=choices((k.value, label) for k, label in KIND_LABELS.items()),
        validators=[DataRequired(_l("Choose how you helped."))],
    )
    outcome = RadioField(
        _l("Outcome"),
        choices=choices((k.value, label) for k, label in OUTCOME_LABELS.items()),
        validators=[DataRequired(_l("Choose the outcome."))],
    )
    note = TextAreaField(
        _l("Note"),
        validators=[Optional(), Length(max=1000)],
        description=_l("What was done or what is still in the way, in a few words."),
    )


class RequestForm(Form):
    enrolment_id = SelectField(_l("Course"), coerce=int)
    days = IntegerField(
        _l("Days asked for"),
        validators=[DataRequired(REQUIRED)],
        render_kw={"inputmode": "numeric"},
    )
    reason = StringField(
        _l("Reason"),
        validators=[DataRequired(_l("Give the reason for the extension.")), Length(max=500)],
        description=_l("For example: đi công tác đến 20/12, không có máy tính."),
    )


team_member_required = role_required(Role.TEAM_MEMBER)


def _tz() -> str:
    return current_app.config["HOCVU_TIMEZONE"]


def _team_or_404(team_id: int):
    try:
        return teams.member_team(db.session, current_user, team_id)
    except DomainError:
        abort(404)


def _learner_or_404(team_id: int, learner_id: int):
    try:
        return teams.team_learner(db.session, current_user, team_id, learner_id)
    except DomainError:
        abort(404)


@bp.route("/teams")
@team_member_required
def index():
    """The member's teams; with one team, its page at once."""
    mine = teams.member_teams(db.session, current_user)
    if len(mine) == 1:
        return redirect(url_for("teams.team", team_id=mine[0].id))
    return render_template("hocvu/teams/index.html", teams_=mine)


@bp.route("/teams/<int:team_id>")
@team_member_required
def team(team_id: int):
    """Who needs help: a count per list, and the chosen list, a page at a time."""
    found = _team_or_404(team_id)
    now = utcnow()
    counts = teams.counts(db.session, found, now, _tz())
    try:
        need = Need(request.args.get("need", ""))
    except ValueError:
        need = next((n for n in Need if counts[n]), Need.NOT_LOGGED_IN)
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 100_000)
    pagination = db.paginate(
        teams.needing(db.session, found, need, now, _tz()),
        page=page,
        per_page=PER_PAGE,
        error_out=False,
    )
    return render_template(
        "hocvu/teams/team.html",
        team=found,
        counts=counts,
        need=need,
        labels=NEED_LABELS,
        pagination=pagination,
        supported=teams.supported_count(db.session, found),
    )


def _card(team, learner, status: int = 200, **forms):
    now = utcnow()
    lines = teams.course_lines(db.session, learner, now, _tz())
    request_form = forms.get("request") or RequestForm(prefix="request")
    request_form.enrolment_id.choices = choices(
        (line.enrolment.id, line.title)
        for line in lines
        if line.enrolment.completed_at is None and line.pending_request is None
    )
    return render_template(
        "hocvu/teams/learner.html",
        team=team,
        learner=learner,
        lines=lines,
        contacts=teams.contacts_of(db.session, team, learner),
        contact_form=forms.get("contact") or ContactForm(prefix="contact"),
        request_form=request_form,
        action_form=ActionForm(),
        kind_labels=KIND_LABELS,
        outcome_labels=OUTCOME_LABELS,
        back=request.args.get("need"),
    ), status


@bp.route("/teams/<int:team_id>/learners/<int:learner_id>")
@team_member_required
def learner(team_id: int, learner_id: int):
    """A supported learner's card: phone, courses (passed or not yet), contacts, actions."""
    return _card(*_learner_or_404(team_id, learner_id))


@bp.route("/teams/<int:team_id>/learners/<int:learner_id>/contacts", methods=["POST"])
@team_member_required
def contact(team_id: int, learner_id: int):
    """Record a support contact with the learner."""
    found, learner_ = _learner_or_404(team_id, learner_id)
    form = ContactForm(prefix="contact")
    if form.validate_on_submit():
        try:
            teams.record_contact(
                db.session,
                current_user,
                found,
                learner_,
                kind=ContactKind(form.kind.data),
                outcome=ContactOutcome(form.outcome.data),
                note=form.note.data or "",
                now=utcnow(),
            )
        except DomainError as error:
            db.session.rollback()
            form.add_error(error.field, message_of(error))
        else:
            db.session.commit()
            flash(gettext("Contact recorded."), "success")
            return redirect(
                url_for("teams.learner", team_id=team_id, learner_id=learner_id, _anchor="contacts")
            )
    return _card(found, learner_, status=422, contact=form)


@bp.route("/teams/<int:team_id>/learners/<int:learner_id>/slip", methods=["POST"])
@team_member_required
def slip(team_id: int, learner_id: int):
    """A new initial password for a learner who never logged in: a slip to print (PDF), or
    shown on the screen to copy (`show`). The old password stops working."""
    found, learner_ = _learner_or_404(team_id, learner_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        password, due = teams.new_login(db.session, current_user, found, learner_, _tz())
    except DomainError as error:
        db.session.rollback()
        flash(message_of(error), "error")
        return redirect(url_for("teams.learner", team_id=team_id, learner_id=learner_id))
    db.session.commit()
    site = url_for("auth.login", _external=True)
    if request.form.get("show"):
        return render_template(
            "hocvu/teams/slip.html", team=found, learner=learner_, password=password, site=site
        )
    from lms.documents.credentials import Credential, slips

    pdf = slips(
        [
            Credential(
                username=learner_.username,
                full_name=learner_.full_name,
                unit=learner_.org_unit.name if learner_.org_unit else "",
                password=password,
                due_day=due,
            )
        ],
        site,
    )
    return send_file(
        io.BytesIO(pdf),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=f"phieu-dang-nhap-{learner_.username}.pdf",
    )


@bp.route("/teams/<int:team_id>/learners/<int:learner_id>/extension", methods=["POST"])
@team_member_required
def extension(team_id: int, learner_id: int):
    """Ask the unit's admins to extend the learner's deadline in a course."""
    found, learner_ = _learner_or_404(team_id, learner_id)
    form = RequestForm(prefix="request")
    form.enrolment_id.choices = choices(
        (line.enrolment.id, line.title)
        for line in teams.course_lines(db.session, learner_, utcnow(), _tz())
    )
    if form.validate_on_submit():
        try:
            teams.request_extension(
                db.session,
                current_user,
                found,
                learner_,
                enrolment_id=form.enrolment_id.data,
                days=form.days.data,
                reason=form.reason.data,
            )
        except DomainError as error:
            db.session.rollback()
            form.add_error(error.field, message_of(error))
        else:
            db.session.commit()
            flash(gettext("Request sent to the unit's administrators."), "success")
            return redirect(url_for("teams.learner", team_id=team_id, learner_id=learner_id))
    return _card(found, learner_, status=422, request=form)

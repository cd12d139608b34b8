"""Community digital-technology teams for admins: the teams of the scope, a team's name, unit,
members (3 to 5, by username) and the batches it is narrowed to, and the extension requests
the teams sent, to approve (the deadline service extends) or refuse."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from lms.app.extensions import db
from lms.models import Cohort, ExtensionRequest, OrgUnit, SupportContact, SupportTeam, utcnow
from lms.services import teams
from lms.services.errors import DomainError
from lms.web.admin.base import (
    admin_required,
    bp,
    cohort_choices,
    me,
    named_users,
    page_args,
    scope,
    tz,
    unit_field,
    unit_or_404,
)
from lms.web.common import message_of
from lms.web.forms import REQUIRED, ActionForm, CheckboxListField, Form, choices


class TeamForm(Form):
    name = StringField(
        _l("Name of the team"),
        validators=[DataRequired(REQUIRED), Length(max=200)],
        description=_l("For example: Tổ công nghệ số cộng đồng CĐCS Than Mạo Khê."),
    )
    org_unit_id = SelectField(_l("Unit of the team"), coerce=int)
    members = TextAreaField(
        _l("Members (usernames)"),
        validators=[DataRequired(REQUIRED), Length(max=2000)],
        description=_l(
            "3 to 5 accounts, one per line or separated by commas. A member may also be a "
            "learner; each gets the role “support team member”."
        ),
    )
    cohort_ids = CheckboxListField(
        _l("Only the learners of these batches"),
        coerce=int,
        validators=[Optional()],
        description=_l("Tick none to support every learner of the unit and the units below it."),
    )


def _team_or_404(team_id: int) -> SupportTeam:
    try:
        return teams.admin_team(db.session, scope(), team_id)
    except DomainError:
        abort(404)


@bp.route("/teams")
@admin_required
def teams_index():
    """The teams of the scope with their members, learners and contacts, and the extension
    requests waiting for an answer."""
    page, per_page = page_args()
    pagination = db.paginate(
        select(SupportTeam)
        .join(OrgUnit, SupportTeam.org_unit_id == OrgUnit.id)
        .where(scope().unit_filter())
        .order_by(OrgUnit.path, SupportTeam.name),
        page=page,
        per_page=per_page,
        error_out=False,
        count=True,
    )
    contacts = dict(
        db.session.execute(
            select(SupportContact.team_id, func.count())
            .where(SupportContact.team_id.in_([t.id for t in pagination.items]))
            .group_by(SupportContact.team_id)
        ).all()
    )
    supported = {t.id: teams.supported_count(db.session, t) for t in pagination.items}
    requests = db.session.scalars(teams.pending_requests(scope()).limit(200)).all()
    return render_template(
        "hocvu/admin/teams.html",
        pagination=pagination,
        contacts=contacts,
        supported=supported,
        requests=requests,
        action_form=ActionForm(),
    )


@bp.route("/teams/new", methods=["GET", "POST"])
@bp.route("/teams/<int:team_id>/edit", methods=["GET", "POST"])
@admin_required
def team_edit(team_id: int | None = None):
    """Create or change a team: name, unit, members by username, batches."""
    team = _team_or_404(team_id) if team_id else None
    form = TeamForm(obj=team)
    unit_field(form.org_unit_id)
    form.cohort_ids.choices = choices(c for c in cohort_choices() if c[0])
    if team is not None and not form.is_submitted():
        form.members.data = "\n".join(u.username for u in team.members)
        form.cohort_ids.data = [c.id for c in team.cohorts]
    if form.validate_on_submit():
        users, unknown = named_users(form.members.data)
        chosen = [
            db.session.get(Cohort, cohort_id) or abort(404)
            for cohort_id in form.cohort_ids.data or []
        ]
        if unknown:
            form.members.errors = [
                gettext("No account you manage is named: %(names)s.", names=", ".join(unknown))
            ]
        else:
            try:
                saved = teams.save_team(
                    db.session,
                    scope(),
                    me(),
                    name=form.name.data,
                    unit=unit_or_404(form.org_unit_id.data),
                    members=users,
                    cohorts=chosen,
                    team=team,
                )
            except DomainError as error:
                db.session.rollback()
                target = {"unit": "org_unit_id", "cohorts": "cohort_ids"}.get(
                    error.field or "", error.field
                )
                form.add_error(target, message_of(error))
            else:
                db.session.commit()
                flash(gettext("Team %(name)s saved.", name=saved.name), "success")
                return redirect(url_for("admin.teams_index"))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("hocvu/admin/team_form.html", form=form, team=team), status


def _decide(request_id: int, approve: bool):
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        decided: ExtensionRequest = teams.decide(
            db.session, me(), request_id, approve=approve, now=utcnow(), timezone=tz()
        )
    except DomainError:
        db.session.rollback()
        abort(404)
    db.session.commit()
    name = decided.enrolment.user.full_name
    flash(
        gettext("Deadline of %(name)s extended.", name=name)
        if approve
        else gettext("Request for %(name)s refused.", name=name),
        "success",
    )
    return redirect(url_for("admin.teams_index", _anchor="requests"))


@bp.route("/teams/requests/<int:request_id>/approve", methods=["POST"])
@admin_required
def team_request_approve(request_id: int):
    """Approve a team's extension request: the learner's deadline moves by the days asked."""
    return _decide(request_id, True)


@bp.route("/teams/requests/<int:request_id>/refuse", methods=["POST"])
@admin_required
def team_request_refuse(request_id: int):
    """Refuse a team's extension request."""
    return _decide(request_id, False)

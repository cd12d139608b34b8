"""One learner's raw SCORM state, and an admin's correction of it with a reason."""

from __future__ import annotations

from flask import (
    abort,
    flash,
    redirect,
    render_template,
    url_for,
)
from flask_babel import gettext

from lms.app.extensions import db
from lms.services.errors import DomainError
from lms.web.admin.base import (
    admin_required,
    bp,
    me,
    user_or_404,
)
from lms.web.common import message_of


def _sco_state_or_404(state_id: int):
    from lms.models import ScoState

    state = db.session.get(ScoState, state_id)
    if state is None:
        abort(404)
    user_or_404(state.enrolment.user_id)  # the learner must be inside the admin's scope
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
                me(),
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

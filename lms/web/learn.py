"""The learner's pages: home with their courses."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

bp = Blueprint("learn", __name__)


@bp.route("/")
@login_required
def index():
    """The learner's home: their courses and account."""
    return render_template("hocvu/learn/index.html", user=current_user)

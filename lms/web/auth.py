"""Logging in and out, changing one's password, choosing the language."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf.csrf import generate_csrf

from lms.app import metrics
from lms.app.extensions import db
from lms.services import accounts, logins, passwords
from lms.services.errors import DomainError
from lms.web.common import LOGIN_KEY, message_of, session_rules
from lms.web.forms import ActionForm, ChangePasswordForm, LanguageForm, LoginForm

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths are followed after login, never another host."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _home_url() -> str:
    return url_for("learn.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the login form and log the account in."""
    if current_user.is_authenticated:
        return redirect(_home_url())
    form = LoginForm()
    if form.validate_on_submit():
        config = current_app.config
        rules = logins.ThrottleRules(
            per_account=int(config["HOCVU_LOGIN_MAX_FAILURES_PER_ACCOUNT"]),
            per_ip=int(config["HOCVU_LOGIN_MAX_FAILURES_PER_IP"]),
            per_account_any_ip=int(config["HOCVU_LOGIN_MAX_FAILURES_PER_ACCOUNT_ANY_IP"]),
            window=timedelta(minutes=int(config["HOCVU_LOGIN_WINDOW_MINUTES"])),
        )
        # Counted (and committed) before the password is checked: parallel tries see it.
        attempt = logins.begin_login(
            db.session, form.username.data, request.remote_addr or "unknown"
        )
        db.session.commit()
        try:
            user = logins.authenticate(
                db.session,
                attempt,
                form.password.data,
                rules,
                passwords.initial_password_key(config["SECRET_KEY"]),
            )
        except DomainError as error:
            db.session.rollback()
            logins.withdraw_login(db.session, attempt)
            db.session.commit()
            throttled = isinstance(error, logins.LoginThrottled)
            metrics.login_failures.labels("throttled" if throttled else "inactive").inc()
            form.add_error(None, message_of(error))
            return render_template("hocvu/auth/login.html", form=form), 429 if throttled else 403
        if user is None:
            db.session.commit()
            metrics.login_failures.labels("credentials").inc()
            form.add_error(None, gettext("The username or password is wrong."))
            return render_template("hocvu/auth/login.html", form=form), 401
        key = logins.start_login_session(db.session, user, session_rules(config))
        db.session.commit()
        _fresh_session()  # no fixation
        session.permanent = True
        session[LOGIN_KEY] = key
        login_user(user)
        if user.must_change_password:
            return redirect(url_for("auth.change_password"))
        return redirect(_safe_next(request.args.get("next")) or _home_url())
    return render_template("hocvu/auth/login.html", form=form)


def _fresh_session() -> None:
    """Start the session afresh, keeping its language, with its CSRF token made now: the
    pages and the service worker's requests that follow a login or a logout at once then all
    use this one. Made by each of them instead, several tokens raced in their cookies (the
    last answer's won), and a form shown with another one's token "had expired"."""
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)
    generate_csrf()


@bp.route("/logout", methods=["POST"])
def logout():
    """Log out and forget the session."""
    if ActionForm().validate_on_submit():
        # The login session ends on the server too: a copy of the cookie no longer works.
        logins.end_login_session(db.session, session.get(LOGIN_KEY))
        db.session.commit()
        logout_user()
        _fresh_session()
        flash(gettext("You have logged out."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change one's own password; required at first login and after a reset."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            accounts.change_own_password(
                db.session,
                user,
                form.current_password.data,
                form.new_password.data,
                passwords.initial_password_key(current_app.config["SECRET_KEY"]),
                keep_login_key=session.get(LOGIN_KEY),
            )
        except DomainError as error:
            db.session.rollback()
            form.add_error(error.field, message_of(error))
        else:
            db.session.commit()
            login_user(user)  # the cookie carries the new auth epoch
            flash(gettext("Your password has been changed."), "success")
            return redirect(_home_url())
    return render_template("hocvu/auth/change_password.html", form=form)


@bp.route("/language", methods=["POST"])
def set_language():
    """Switch the interface language; remembered on the account when logged in."""
    form = LanguageForm()
    target = _safe_next(form.next.data) or _home_url()
    if form.validate_on_submit():
        session["locale"] = form.locale.data
        if current_user.is_authenticated:
            current_user.locale = form.locale.data
            db.session.commit()
    return redirect(target)

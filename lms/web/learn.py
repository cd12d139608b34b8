"""The learner's pages: home with their courses, the course page, lessons and their media."""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import NamedTuple

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
from flask_login import current_user, login_required
from markupsafe import Markup, escape
from sqlalchemy import bindparam, exists, select, true
from sqlalchemy.orm import contains_eager, joinedload

from courses.markdown import render_text
from courses.questions import CLOZE_MARK
from lms.app.extensions import db
from lms.app.i18n import message_text
from lms.app.storage import LocalStorage, StorageError
from lms.models import (
    Activity,
    ActivityProgress,
    Certificate,
    Course,
    CourseVersion,
    Enrolment,
    Notice,
    OrgUnit,
    ProgressStatus,
    utcnow,
)
from lms.services import assessment, deadlines, learning, marking
from lms.services.activities import MEDIA_PLACEHOLDER, kind_of
from lms.services.errors import DomainError
from lms.services.scope import administering_unit
from lms.web import data_saver, fragments, kinds
from lms.web.common import enrolment_or_404, message_of
from lms.web.forms import ActionForm
from lms.web.offline import DOWNLOAD_HEADER, course_download

bp = Blueprint("learn", __name__)
# Parts of the pages written in Python in one pass (lms/web/fragments.py).
bp.add_app_template_global(fragments.lesson_items)
bp.add_app_template_global(fragments.self_check_fields)


def storage() -> LocalStorage:
    return LocalStorage(current_app.config["HOCVU_FILES_DIR"])


class HomeEnrolment(NamedTuple):
    """An enrolment as the home shows it: what the countdown, the progress and the page read
    of it, with its version's title and its course's slug."""

    id: int
    version_id: int
    started_at: datetime | None
    due_at: datetime | None
    completed_at: datetime | None
    completed_late: bool
    title: str
    slug: str


# What the home and the course page read of an enrolment (the first fields of HomeEnrolment
# and CourseEnrolment).
_ENROLMENT_COLUMNS = (
    Enrolment.id,
    Enrolment.version_id,
    Enrolment.started_at,
    Enrolment.due_at,
    Enrolment.completed_at,
    Enrolment.completed_late,
)


# The statements of the learner pages, built once and run with bind parameters: building a
# statement cost about as much as running it (bench/learner_pages.py). The home's enrolments
# are read as columns by a Core statement: making the ORM objects of the enrolments, their
# versions and courses cost about twice the rest of the query.
_MY_ENROLMENTS = (
    select(
        *_ENROLMENT_COLUMNS,
        CourseVersion.title,
        Course.slug,
    )
    .join(CourseVersion, Enrolment.version_id == CourseVersion.id)
    .join(Course, Enrolment.course_id == Course.id)
    .where(Enrolment.user_id == bindparam("user_id"))
    .order_by(Enrolment.enrolled_at)
)
_MY_NOTICES = (
    select(Notice)
    .where(Notice.user_id == bindparam("user_id"), Notice.read_at.is_(None))
    .order_by(Notice.created_at.desc())
    .limit(5)
)
_MY_CERTIFICATES = select(Certificate).where(
    Certificate.user_id == bindparam("user_id"), Certificate.replaced_by_id.is_(None)
)
# What the home shows for few learners (notices, certificates, a class to check in to, a
# final test failed), asked in one query: each is then loaded only when there is something;
# the name of the learner's unit comes with it (else a lazy load of user.org_unit).
_HOME_FLAGS = select(
    exists()
    .where(Notice.user_id == bindparam("user_id"), Notice.read_at.is_(None))
    .label("notices"),
    exists()
    .where(Certificate.user_id == bindparam("user_id"), Certificate.replaced_by_id.is_(None))
    .label("certificates"),
    marking.CHECK_IN_EXISTS.label("check_in"),
    assessment.GRADED_ATTEMPT_EXISTS.label("graded"),
    select(OrgUnit.name)
    .where(OrgUnit.id == bindparam("org_unit_id"))
    .scalar_subquery()
    .label("unit_name"),
)
# The home's enrolments with those flags on each row (the flags as a one-row table joined to
# every enrolment): one statement instead of two for a learner with a course (a learner
# without one asks _HOME_FLAGS alone).
_FLAGS = _HOME_FLAGS.subquery()
_MY_ENROLMENTS_AND_FLAGS = _MY_ENROLMENTS.add_columns(*_FLAGS.c).join(_FLAGS, true())


class _Flags(NamedTuple):
    notices: bool
    certificates: bool
    check_in: bool
    graded: bool
    unit_name: str | None


_ACTIVITY = select(Activity).where(
    Activity.version_id == bindparam("version_id"), Activity.key == bindparam("key")
)


class ShownVersion(NamedTuple):
    """What the course page (and its offline download) reads of a course version."""

    id: int
    title: str
    description: str | None
    files_path: str


class ShownCourse(NamedTuple):
    slug: str


class CourseEnrolment(NamedTuple):
    """The learner's enrolment as the course page reads it: the same names as an Enrolment's
    (its `version` and `course` too), for the countdown, the progress, the offline download
    and the page; whether it has a graded attempt at the final test or a certificate."""

    id: int
    version_id: int
    started_at: datetime | None
    due_at: datetime | None
    completed_at: datetime | None
    completed_late: bool
    version: ShownVersion
    course: ShownCourse
    graded: bool
    certified: bool


# The learner's enrolment in a course with its version and course, and whether it has a
# graded attempt or a certificate (most have neither: the page then loads neither), in one
# Core statement: the ORM objects of the enrolment, version and course cost about three
# times the rest of the query.
_COURSE_ENROLMENT = (
    select(
        *_ENROLMENT_COLUMNS,
        CourseVersion.title,
        CourseVersion.description,
        CourseVersion.files_path,
        Course.slug,
        assessment.ENROLMENT_GRADED_EXISTS.label("graded"),
        learning.CERTIFICATE_EXISTS.label("certified"),
    )
    .join(CourseVersion, Enrolment.version_id == CourseVersion.id)
    .join(Course, Enrolment.course_id == Course.id)
    .where(Course.slug == bindparam("slug"), Enrolment.user_id == bindparam("user_id"))
)


def _course_enrolment_or_404(slug: str) -> CourseEnrolment:
    row = (
        db.session.connection()
        .execute(_COURSE_ENROLMENT, {"slug": slug, "user_id": current_user.id})
        .first()
    )
    if row is None:
        abort(404)
    (id_, version_id, started, due, completed, late, title, about, files, slug, graded, cert) = row
    version = ShownVersion(version_id, title, about, files)
    return CourseEnrolment(
        id_, version_id, started, due, completed, late, version, ShownCourse(slug), graded, cert
    )


# The learner's enrolment in a course (with its course and version) and one of its lessons
# with their progress in it (a lesson page needs all three), in one query.
_ENROLMENT_ACTIVITY_AND_PROGRESS = (
    select(Enrolment, Activity, ActivityProgress)
    .join(Course, Enrolment.course_id == Course.id)
    .outerjoin(
        Activity,
        (Activity.version_id == Enrolment.version_id) & (Activity.key == bindparam("key")),
    )
    .outerjoin(
        ActivityProgress,
        (ActivityProgress.activity_id == Activity.id)
        & (ActivityProgress.enrolment_id == Enrolment.id),
    )
    .where(Course.slug == bindparam("slug"), Enrolment.user_id == bindparam("user_id"))
    .options(contains_eager(Enrolment.course), joinedload(Enrolment.version))
)


@bp.route("/")
@login_required
def index():
    """The learner's home: their courses with progress, and their account."""
    user = current_user._get_current_object()  # noqa: SLF001 - not through the proxy each time
    me = {"user_id": user.id}
    connection = db.session.connection()
    now = utcnow()
    parameters = {
        **me,
        **marking.check_in_parameters(user.id, now),
        "org_unit_id": user.org_unit_id,
    }
    # Core statements: no ORM object among their answers.
    rows = connection.execute(_MY_ENROLMENTS_AND_FLAGS, parameters).all()
    enrolments = [HomeEnrolment(*row[: len(HomeEnrolment._fields)]) for row in rows]
    if rows:
        flags = _Flags(*rows[0][len(HomeEnrolment._fields) :])
    else:
        flags = _Flags(*connection.execute(_HOME_FLAGS, parameters).one())
    progresses = [learning.progress_read(db.session, e) for e in enrolments]
    zone = current_app.config["HOCVU_TIMEZONE"]
    countdowns = {e.id: deadlines.countdown(e, now, zone) for e in enrolments}
    out_of_attempts = {
        e.id: assessment.out_of_attempts(db.session, e) if flags.graded else None
        for e in enrolments
        if not e.completed_at
    }
    notices = db.session.scalars(_MY_NOTICES, me).all() if flags.notices else []
    certificates = (
        {c.enrolment_id: c for c in db.session.scalars(_MY_CERTIFICATES, me)}
        if flags.certificates
        else {}
    )
    return render_template(
        "hocvu/learn/index.html",
        user=user,
        unit_name=flags.unit_name,
        certificates=certificates,
        progresses=progresses,
        countdowns=countdowns,
        out_of_attempts=out_of_attempts,
        contact_unit=_contact_unit() if any(out_of_attempts.values()) else None,
        notices=[(n, message_text(n.message, n.params)) for n in notices],
        check_in=marking.sessions_to_check_in(db.session, user, now) if flags.check_in else [],
        data_saver_choices=data_saver.CHOICE_TEXTS,
        data_saver_choice=data_saver.choice_of(user),
    )


@bp.route("/data-saver", methods=["POST"])
@login_required
def set_data_saver():
    """Keep the learner's Data Saver choice on their account."""
    form = data_saver.DataSaverForm()
    if form.validate_on_submit():
        current_user.data_saver = data_saver.stored(form.data_saver.data)
        db.session.commit()
        flash(gettext("Your Data Saver choice is saved."), "success")
    return redirect(url_for("learn.index", _anchor="data-saver"))


@bp.route("/notices/<int:notice_id>/read", methods=["POST"])
@login_required
def notice_read(notice_id: int):
    """Dismiss a notice."""
    notice = db.session.get(Notice, notice_id)
    if notice is None or notice.user_id != current_user.id:
        abort(404)
    if ActionForm().validate_on_submit():
        notice.read_at = utcnow()
        db.session.commit()
    return redirect(url_for("learn.index"))


def _activity_or_404(enrolment: Enrolment, key: str) -> Activity:
    activity = db.session.scalar(_ACTIVITY, {"version_id": enrolment.version_id, "key": key})
    if activity is None:
        abort(404)
    return activity


def page_html(activity: Activity, version_id: int) -> Markup:
    """A page activity's stored (sanitized) HTML with its media links pointing here."""
    kept_url_for = current_app.jinja_env.globals["url_for"]  # the templates', kept per process
    base = kept_url_for("learn.media", version_id=version_id, path="")
    return Markup(activity.content.get("html", "").replace(MEDIA_PLACEHOLDER, base))  # noqa: S704


@lru_cache(maxsize=4096)
def _question_text(text: str, text_format: str) -> str:
    return render_text(text, text_format, lambda path: MEDIA_PLACEHOLDER + path)


@bp.app_template_global()
def question_html(question, text: str, version_id: int | None = None) -> Markup:
    """One of a question's texts (its question, a choice, a feedback) as safe HTML, in the
    question's format; images of the bank are served by this version's media route."""
    html = _question_text(text or "", question.format)
    if MEDIA_PLACEHOLDER not in html:
        # Most texts have no image: no URL to build (a test page shows about a hundred texts).
        return Markup(html)  # noqa: S704 - sanitized above
    base = url_for("learn.media", version_id=version_id, path="") if version_id else ""
    return Markup(html.replace(MEDIA_PLACEHOLDER, base))  # noqa: S704 - sanitized above


# In sanitized HTML a tag's attribute values are double-quoted (a quote inside is &quot;), so
# this finds every tag whole, `>` in a value included; blanks are replaced only outside them.
_CLOZE_OUTSIDE_TAGS = re.compile(r'(<(?:[^>"]|"[^"]*")*>)|' + CLOZE_MARK.pattern)


@bp.app_template_global()
def cloze_html(question, name: str, given, disabled: bool = False, version_id=None) -> Markup:
    """A cloze question's text with a field in place of each blank `{#n}`, named `name-n`."""
    text = str(question_html(question, question.text, version_id))
    given = given if isinstance(given, Mapping) else {}
    off = " disabled" if disabled else ""

    def field(match: re.Match) -> str:
        number = int(match.group(2))
        if not 1 <= number <= len(question.parts):
            return ""
        part = question.parts[number - 1]
        value = given.get(str(number))
        label = escape(gettext("Blank %(n)s", n=number))
        attributes = f'name="{name}-{number}" aria-label="{label}" class="cloze"{off}'
        if part.kind == "choice":
            options = [f'<option value="">{escape(gettext("(choose an answer)"))}</option>']
            for index, choice in enumerate(part.choices):
                chosen = " selected" if value == index else ""
                options.append(f'<option value="{index}"{chosen}>{escape(choice.text)}</option>')
            return f"<select {attributes}>{''.join(options)}</select>"
        mode = ' inputmode="decimal" size="8"' if part.kind == "numerical" else ' size="14"'
        shown = escape(value) if isinstance(value, str) else ""
        return (
            f'<input type="text" {attributes} value="{shown}" autocomplete="off" '
            f'maxlength="500"{mode}>'
        )

    def outside_tags(match: re.Match) -> str:
        # A blank written inside a tag (an attribute's value) is not a field.
        return match.group(0) if match.group(1) else field(match)

    return Markup(_CLOZE_OUTSIDE_TAGS.sub(outside_tags, text))  # noqa: S704 - sanitized, escaped


@bp.route("/courses/<slug>")
@login_required
def course(slug: str):
    """A course: its lessons in order with status, progress and the continue button."""
    enrolment = _course_enrolment_or_404(slug)
    progress = learning.progress_read(db.session, enrolment)
    shown = deadlines.countdown(enrolment, utcnow(), current_app.config["HOCVU_TIMEZONE"])
    out_of_attempts = (
        assessment.out_of_attempts(db.session, enrolment)
        if enrolment.graded and not enrolment.completed_at
        else None
    )
    return render_template(
        "hocvu/learn/course.html",
        download=course_download(enrolment),
        progress=progress,
        version=enrolment.version,
        countdown=shown,
        certificate=learning.certificate_of(db.session, enrolment) if enrolment.certified else None,
        out_of_attempts=out_of_attempts,
        contact_unit=_contact_unit() if out_of_attempts else None,
    )


def _contact_unit():
    """The unit whose administrator the learner asks (None: their unit's, unnamed)."""
    return administering_unit(db.session, current_user.org_unit)


@bp.route("/courses/<slug>/continue")
@login_required
def resume(slug: str):
    """Go to the next lesson the learner has not finished."""
    enrolment = enrolment_or_404(slug)
    step = learning.progress_of(db.session, enrolment).next_step
    if step is None:
        return redirect(url_for("learn.course", slug=slug))
    return redirect(url_for("learn.activity", slug=slug, key=step.activity.key))


@bp.route("/courses/<slug>/<key>")
@login_required
def activity(slug: str, key: str):
    """A lesson: its text, self-check and the button that marks it done."""
    where = {"slug": slug, "key": key, "user_id": current_user.id}
    shown = learning.lesson_opened_before(db.session, where, utcnow())
    if shown is not None:
        return _render_activity(*shown, recorded=False)
    # Its opening to record (or another kind's page): the ORM objects.
    row = db.session.execute(_ENROLMENT_ACTIVITY_AND_PROGRESS, where).first()
    if row is None or row[1] is None:
        abort(404)
    enrolment, current, loaded = row
    progress = learning.open_activity(db.session, enrolment, current, loaded=loaded)
    # Kept for offline reading (lms/web/offline.py): the page, but not an opening.
    downloading = request.headers.get(DOWNLOAD_HEADER) == "1"
    return _render_activity(enrolment, current, progress, keep=not downloading)


def _render_activity(
    enrolment, current, progress, status: int = 200, keep: bool = True, recorded: bool = True
):
    """The lesson page; what opening it changed is committed after the page is made (a
    commit first would expire every loaded object and the page would load them again), or
    taken back when the page is only fetched to be kept (`keep` False). `recorded` False:
    the opening changed nothing (a lesson opened before), so there is nothing to end."""
    # Read after open_activity(), which flushed what it changed (this lesson's status).
    course_progress = learning.progress_read(db.session, enrolment)
    steps = course_progress.steps
    index = next(i for i, s in enumerate(steps) if s.activity.id == current.id)
    now = utcnow()
    blocker = kind_of(current).blocker(current, progress, now)
    shown = kinds.page_of(current)
    extra = shown.context(db.session, enrolment, current, now)
    html, skipped = page_html(current, enrolment.version_id), 0
    if data_saver.is_on(current_user, request) and not request.args.get(data_saver.SHOW_VIDEOS):
        html, skipped = data_saver.skip_videos(html)
    page = render_template(
        shown.template,
        enrolment=enrolment,
        activity=current,
        progress=progress,
        course_progress=course_progress,
        previous=steps[index - 1].activity if index > 0 else None,
        following=steps[index + 1].activity if index + 1 < len(steps) else None,
        position=index + 1,
        html=html,
        skipped_videos=skipped,
        blocker=blocker,
        done=progress.status == ProgressStatus.DONE,
        answers=progress.data.get("self_check", {}),
        **extra,
    )
    if recorded:  # else nothing was written: the session just ends after the request
        if keep:
            db.session.commit()
        else:
            db.session.rollback()
    # The page depends on the browser's data saving (the default of Data Saver).
    return page, status, {"Vary": "Save-Data"}


@bp.route("/courses/<slug>/<key>/self-check", methods=["POST"])
@login_required
def self_check(slug: str, key: str):
    """Record the self-check answers and show which were right."""
    enrolment = enrolment_or_404(slug)
    current = _activity_or_404(enrolment, key)
    if not ActionForm().validate_on_submit():
        abort(400)
    answers: dict[int, list[int]] = {}
    for index in range(len(current.content.get("self_check", []))):
        answers[index] = [int(v) for v in request.form.getlist(f"q{index}") if v.isdigit()]
    try:
        progress = learning.answer_self_check(db.session, enrolment, current, answers)
    except DomainError as error:
        db.session.rollback()
        flash(message_of(error), "error")
        enrolment = enrolment_or_404(slug)
        current = _activity_or_404(enrolment, key)
        progress = learning.open_activity(db.session, enrolment, current)
        return _render_activity(enrolment, current, progress, 422)
    db.session.commit()
    return redirect(url_for("learn.activity", slug=slug, key=key, _anchor="self-check"))


@bp.route("/courses/<slug>/<key>/complete", methods=["POST"])
@login_required
def complete(slug: str, key: str):
    """Mark the lesson done and go on to the next one."""
    enrolment = enrolment_or_404(slug)
    current = _activity_or_404(enrolment, key)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        learning.complete_activity(db.session, enrolment, current)
    except DomainError as error:
        db.session.rollback()
        flash(message_of(error), "error")
        return redirect(url_for("learn.activity", slug=slug, key=key, _anchor="finish"))
    db.session.commit()
    flash(gettext("Lesson completed: %(title)s.", title=current.title), "success")
    step = learning.progress_of(db.session, enrolment).next_step
    if step is None:
        return redirect(url_for("learn.course", slug=slug))
    return redirect(url_for("learn.activity", slug=slug, key=step.activity.key))


@bp.route("/media/<int:version_id>/<path:path>")
@login_required
def media(version_id: int, path: str):
    """A file of a course version (images of its lessons), for its learners and authors."""
    version = db.session.get(CourseVersion, version_id)
    if version is None:
        abort(404)
    allowed = current_user.is_author or db.session.scalar(
        select(Enrolment.id).where(
            Enrolment.user_id == current_user.id, Enrolment.version_id == version_id
        )
    )
    if not allowed or not path.startswith("media/"):
        abort(404)
    try:
        local = storage().local_path(f"{version.files_path}/{path}")
    except StorageError:
        abort(404)
    mimetype = mimetypes.guess_type(local.name)[0] or "application/octet-stream"
    response = send_file(local, mimetype=mimetype, conditional=True, max_age=3600)
    # An uploaded SVG or HTML file must never run as a page of this site.
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    )
    return response

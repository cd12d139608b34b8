"""Course authoring: upload a bundle or one module, see every problem, preview, publish."""

from __future__ import annotations

import dataclasses
import json
from functools import wraps

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import func, select

from courses.banktoml import dump_bank
from courses.errors import BundleError
from courses.testing import item_statistics
from lms.app.extensions import db
from lms.app.i18n import message_text
from lms.app.storage import LocalStorage, StorageError
from lms.jobs import imports
from lms.models import (
    Activity,
    AttemptStatus,
    Course,
    CourseVersion,
    Enrolment,
    TestAttempt,
)
from lms.services import assessment, catalog, content_links, drawing
from lms.services.errors import DomainError
from lms.web import content, player, uploaded, version_page
from lms.web.common import message_of
from lms.web.forms import (
    MAX_CHOICES,
    ActionForm,
    PublishForm,
    QuestionForm,
    TitleChoiceForm,
    UploadForm,
    choices,
)
from lms.web.learn import page_html
from lms.web.limits import UPLOADS, body_limit

bp = Blueprint("author", __name__, url_prefix="/author")


def author_required(view):
    """Logged in as a course author (or site administrator)."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_author:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def _storage() -> LocalStorage:
    return LocalStorage(current_app.config["HOCVU_FILES_DIR"])


def _problem_messages(error: BundleError) -> list[tuple[str, str]]:
    """(where, what) for each problem, in the user's language."""
    return _problem_rows(error.problems)


def _problem_rows(problems) -> list[tuple[str, str]]:
    return [(problem.where, message_text(problem.message, problem.params)) for problem in problems]


def _upload_form() -> UploadForm:
    form = UploadForm()
    courses_ = db.session.scalars(select(Course).order_by(Course.title)).all()
    form.course_id.choices = choices(
        [(0, gettext("(a whole course: zip file)"))] + [(c.id, c.title) for c in courses_]
    )
    return form


@bp.route("/", methods=["GET", "POST"])
@body_limit(UPLOADS)
@author_required
def index():
    """The courses with their versions, and the upload form."""
    form = _upload_form()
    problems: list[tuple[str, str]] = []
    if form.validate_on_submit():
        upload = form.file.data
        name = upload.filename or ""
        try:
            data = uploaded.read_upload(upload)
            if (
                form.course_id.data
                and name.lower().endswith(catalog.BANK_SUFFIXES)
                and not catalog.is_zip(data)
            ):
                course = db.session.get(Course, form.course_id.data) or abort(404)
                version, warnings = catalog.replace_bank(
                    db.session, current_user, course, name, data, _storage()
                )
                if warnings:
                    # Every message is on the version's page; a flash holds only a few.
                    flash(
                        ngettext(
                            "The import of %(file)s left %(num)s message: read it below.",
                            "The import of %(file)s left %(num)s messages: read them below.",
                            len(warnings),
                            file=name.rsplit("/", 1)[-1],
                        ),
                        "warning",
                    )
            elif form.course_id.data:
                course = db.session.get(Course, form.course_id.data) or abort(404)
                version = catalog.replace_module(
                    db.session,
                    current_user,
                    course,
                    uploaded.module_name(name, data),
                    data,
                    _storage(),
                )
            else:
                version = catalog.import_upload(db.session, current_user, data, _storage())
        except catalog.TitleTaken as taken:
            db.session.rollback()
            return redirect(
                url_for(
                    "author.title_choice",
                    token=uploaded.keep(_storage(), data, taken, current_user.id),
                )
            )
        except BundleError as error:
            db.session.rollback()
            problems = _problem_messages(error)
        except DomainError as error:
            db.session.rollback()
            form.add_error("file", message_of(error))
        else:
            db.session.commit()
            return _ready(version)
    rows = db.session.execute(
        select(Course, func.count(Enrolment.id))
        .outerjoin(Enrolment, Enrolment.course_id == Course.id)
        .group_by(Course.id)
        .order_by(Course.title)
    ).all()
    status = 422 if problems or form.errors else 200
    return render_template(
        "hocvu/author/index.html", form=form, rows=rows, problems=problems
    ), status


def _ready(version: CourseVersion):
    flash(
        gettext(
            "Version %(number)s of %(title)s is ready. Preview it, then publish it.",
            number=version.number,
            title=version.title,
        ),
        "success",
    )
    return redirect(url_for("author.version", version_id=version.id))


@bp.route("/uploads/<token>", methods=["GET", "POST"])
@author_required
def title_choice(token: str):
    """A package uploaded as a new course has an existing course's title: the author makes
    it a new version of that course, or a new course with another title. Nothing is stored
    before this choice."""
    storage = _storage()
    try:
        pending = json.loads(storage.local_path(uploaded.pending_key(token)).read_bytes())
    except (StorageError, OSError, ValueError):
        abort(404)
    if pending.get("user_id") != current_user.id:
        abort(404)
    course = db.session.get(Course, pending["course_id"]) or abort(404)
    form = TitleChoiceForm()
    form.choice.choices = choices(
        [
            ("version", gettext("A new version of %(title)s", title=course.title)),
            ("course", gettext("A new course, with another title")),
        ]
    )
    if request.method == "GET":
        form.title.data = pending["title"]
    if form.validate_on_submit():
        new_course = form.choice.data == "course"
        title = (form.title.data or "").strip()
        if new_course and not title:
            form.title.errors.append(gettext("Give the new course a title."))
        else:
            try:
                data = storage.local_path(imports.upload_key(token)).read_bytes()
                version = catalog.import_upload(
                    db.session,
                    current_user,
                    data,
                    storage,
                    version_of=None if new_course else course,
                    title=title if new_course else None,
                )
            except (StorageError, OSError):
                abort(404)
            except catalog.TitleTaken as taken:
                db.session.rollback()
                form.title.errors.append(
                    gettext("A course titled %(title)s already exists.", title=taken.course.title)
                )
            except BundleError as error:
                db.session.rollback()
                for where, what in _problem_messages(error):
                    form.add_error(None, f"{where}: {what}")
            except DomainError as error:
                db.session.rollback()
                form.add_error(None, message_of(error))
            else:
                db.session.commit()
                for key in (imports.upload_key(token), uploaded.pending_key(token)):
                    storage.local_path(key).unlink(missing_ok=True)
                return _ready(version)
    status = 422 if form.errors else 200
    return render_template(
        "hocvu/author/title_choice.html", form=form, course=course, title=pending["title"]
    ), status


def _version_or_404(version_id: int) -> CourseVersion:
    version = db.session.get(CourseVersion, version_id)
    if version is None:
        abort(404)
    return version


@bp.route("/versions/<int:version_id>/draw", methods=["POST"])
@author_required
def version_draw(version_id: int):
    """Keep how many questions each category gives to the attempts started from now on."""
    current = _version_or_404(version_id)
    test = version_page.test_activity(current)
    if test is None or not ActionForm().validate_on_submit():
        abort(400)
    bank = assessment.bank_of(test)
    entered: dict = {}
    errors: dict[str, str] = {}
    for index, category in enumerate(bank.categories()):
        raw = request.form.get(f"n-{index}", "").strip()
        entered[category] = int(raw) if raw.isdigit() else raw
        if not raw.isdigit():
            errors[category] = gettext(
                "Write a whole number from 0 for the category %(category)s.", category=category
            )
    if not errors:
        try:
            chosen = drawing.choose(db.session, current_user, test, bank, entered)
        except DomainError as error:
            db.session.rollback()
            errors[error.field or ""] = message_of(error)
        else:
            db.session.commit()
            flash(
                gettext(
                    "Each attempt started from now on draws %(total)s questions; attempts "
                    "already started keep theirs.",
                    total=sum(chosen.values()),
                ),
                "success",
            )
            return redirect(url_for("author.version", version_id=version_id) + "#draw-title")
    return version_page.render(
        current, PublishForm(), version_page.draw_form(current, entered, errors)
    ), 422


@bp.route("/versions/<int:version_id>/bank.<kind>")
@author_required
def export_bank(version_id: int, kind: str):
    """The version's question bank as a Moodle XML or GIFT file to download."""
    current = _version_or_404(version_id)
    if kind not in catalog.EXPORT_KINDS or version_page.test_activity(current) is None:
        abort(404)
    bank = assessment.bank_of(version_page.test_activity(current))
    data, name = catalog.export_bank(current, bank, kind, _storage(), gettext)
    return current_app.response_class(
        data,
        mimetype=catalog.EXPORT_KINDS[kind],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.route("/versions/<int:version_id>", methods=["GET", "POST"])
@author_required
def version(version_id: int):
    """A version: its lessons, the link to preview each, and publishing."""
    current = _version_or_404(version_id)
    form = PublishForm()
    if form.validate_on_submit():
        try:
            moved = catalog.publish(
                db.session, current_user, current, move_enrolled=bool(form.move_enrolled.data)
            )
        except DomainError as error:
            db.session.rollback()
            flash(message_of(error), "error")
        else:
            db.session.commit()
            flash(
                gettext("Version %(number)s is published.", number=current.number)
                + (" " + gettext("%(n)s learners moved to it.", n=moved) if moved else ""),
                "success",
            )
        return redirect(url_for("author.version", version_id=version_id))
    return version_page.render(current, form, version_page.draw_form(current))


@bp.route("/versions/<int:version_id>/preview/<key>")
@author_required
def preview(version_id: int, key: str):
    """A lesson exactly as learners will see it, without recording progress."""
    current = _version_or_404(version_id)
    activity = db.session.scalar(
        select(Activity).where(Activity.version_id == version_id, Activity.key == key)
    )
    if activity is None:
        abort(404)
    keys = [a.key for a in current.activities]
    index = keys.index(key)
    return render_template(
        "hocvu/author/preview.html",
        version=current,
        activity=activity,
        html=page_html(activity, version_id),
        previous=current.activities[index - 1] if index > 0 else None,
        following=current.activities[index + 1] if index + 1 < len(keys) else None,
        position=index + 1,
        action_form=ActionForm(),
    )


@bp.route("/courses/<int:course_id>/test", methods=["GET", "POST"])
@author_required
def test_statistics(course_id: int):
    """How each question of the final test performs, and regrading after a fix."""
    course = db.session.get(Course, course_id) or abort(404)
    form = ActionForm()
    if form.validate_on_submit():
        counts = assessment.regrade(db.session, course)
        db.session.commit()
        flash(
            gettext(
                "%(n)s attempts graded again with the current questions; %(changed)s changed.",
                n=counts["regraded"],
                changed=counts["changed"],
            ),
            "success",
        )
        return redirect(url_for("author.test_statistics", course_id=course_id))
    rows = db.session.execute(
        select(TestAttempt.score, TestAttempt.per_question)
        .join(Enrolment, TestAttempt.enrolment_id == Enrolment.id)
        .where(
            Enrolment.course_id == course.id,
            TestAttempt.status == AttemptStatus.GRADED,
            TestAttempt.source == "online",  # paper tests have no per-question results
        )
    ).all()
    stats = item_statistics([(score or 0.0, per or {}) for score, per in rows])
    questions = {}
    if course.current_version is not None:
        test = next((a for a in course.current_version.activities if a.kind == "test"), None)
        if test is not None:
            questions = assessment.question_map(test)
    ordered = sorted(
        stats.values(), key=lambda s: (s.discrimination is None, s.discrimination or 0)
    )
    passed = sum(
        1
        for score, _ in rows
        if score is not None
        and course.current_version
        and score >= course.current_version.pass_mark
    )
    return render_template(
        "hocvu/author/test_statistics.html",
        course=course,
        stats=ordered,
        questions=questions,
        attempts=len(rows),
        passed=passed,
        form=form,
    )


def _latest_bank(course: Course):
    """The latest version of a course and its question bank (as dataclasses)."""
    latest = db.session.scalars(
        select(CourseVersion)
        .where(CourseVersion.course_id == course.id)
        .order_by(CourseVersion.number.desc())
        .limit(1)
    ).first()
    if latest is None:
        abort(404)
    test = next((a for a in latest.activities if a.kind == "test"), None)
    bank = assessment.bank_of(test) if test is not None else None
    return latest, bank


@bp.route("/courses/<int:course_id>/questions")
@author_required
def questions(course_id: int):
    """The questions of the course's latest version, to preview and edit."""
    course = db.session.get(Course, course_id) or abort(404)
    latest, bank = _latest_bank(course)
    return render_template(
        "hocvu/author/questions.html",
        course=course,
        version=latest,
        questions=bank.questions if bank else (),
    )


@bp.route("/courses/<int:course_id>/questions/<qid>", methods=["GET", "POST"])
@author_required
def question_edit(course_id: int, qid: str):
    """Edit one question (saved as a new draft version) and preview it as learners see it."""
    course = db.session.get(Course, course_id) or abort(404)
    latest, bank = _latest_bank(course)
    question = next((q for q in bank.questions if q.id == qid), None) if bank else None
    if question is None:
        abort(404)
    if not _form_edits(question):
        flash(
            gettext(
                "This question has Moodle weights, formatted text, a distractor or a kind the "
                "form cannot edit: edit it in the bank file and upload that."
            ),
            "error",
        )
        return redirect(url_for("author.questions", course_id=course_id))
    if len(question.choices) > MAX_CHOICES:
        flash(
            gettext(
                "This question has more than %(n)s answers: edit it in the bank file and "
                "upload that.",
                n=MAX_CHOICES,
            ),
            "error",
        )
        return redirect(url_for("author.questions", course_id=course_id))
    form = QuestionForm()
    if request.method == "GET":
        form.fill(question)
    if form.validate_on_submit():
        try:
            edited = form.question(question)
            version, _ = catalog.replace_bank(
                db.session,
                current_user,
                course,
                "final-test.toml",
                dump_bank([edited if q.id == qid else q for q in bank.questions]).encode(),
                _storage(),
            )
        except BundleError as error:
            db.session.rollback()
            for _, what in _problem_messages(error):
                form.add_error(None, what)
        except DomainError as error:
            db.session.rollback()
            form.add_error(error.field, message_of(error))
        else:
            db.session.commit()
            flash(
                gettext(
                    "Question saved in version %(number)s (a draft): preview it, then publish.",
                    number=version.number,
                ),
                "success",
            )
            return redirect(url_for("author.question_edit", course_id=course_id, qid=qid))
    item = {
        "id": question.id,
        "order": list(range(max(len(question.choices), len(question.pairs)))),
    }
    return render_template(
        "hocvu/author/question_edit.html",
        course=course,
        version=latest,
        question=question,
        form=form,
        item=item,
    )


def _form_edits(question) -> bool:
    """True when the question form can edit the question without losing anything."""
    return (
        question.type in ("single", "multiple", "truefalse", "short", "matching")
        and question.format == "plain"
        and all(c.fraction is None and not c.feedback for c in question.choices)
        and not question.fractions
        and not question.answer_feedback
        and all(left for left, _ in question.pairs)
    )


QUESTION_KINDS = {
    "single": _l("One right answer"),
    "multiple": _l("Several right answers"),
    "truefalse": _l("True or false"),
    "short": _l("Short answer"),
    "matching": _l("Matching"),
    "numerical": _l("Numerical answer"),
    "cloze": _l("Embedded answers (cloze)"),
    "description": _l("Description (not graded)"),
}


@bp.app_template_global()
def question_kind(kind: str) -> str:
    """A question type in the user's language."""
    return str(QUESTION_KINDS.get(kind, kind))


@bp.route("/packages/<int:package_id>")
@author_required
def package_report(package_id: int):
    """A SCORM package's report: learners, statuses, scores and time per part, and how the
    questions it asks (SCORM interactions) were answered."""
    from lms.models import ScormPackage
    from lms.services import tracking

    package = db.session.get(ScormPackage, package_id)
    if package is None:
        abort(404)
    scos, questions = tracking.package_report(db.session, package)
    return render_template(
        "hocvu/author/package_report.html", package=package, scos=scos, questions=questions
    )


@bp.route("/packages/<int:package_id>/try/<int:index>")
@author_required
def package_try(package_id: int, index: int):
    """Play one part of a package as a learner would, without recording anything."""
    from lms.models import ScormPackage
    from lms.services import tracking

    package = db.session.get(ScormPackage, package_id)
    if package is None or not 0 <= index < len(package.manifest["scos"]):
        abort(404)
    item = package.manifest["scos"][index]
    launch = tracking.launch_values(
        item, "ab-initio", 0.0, current_user.username, current_user.full_name, current_user.locale
    )
    # A link of its own, bound to the author's login: it records nothing.
    grant = content_links.Grant(
        kind=content_links.PREVIEW,
        user_id=current_user.id,
        login_session_id=g.login_session_id,
        package_id=package.id,
        lms_origin=content.site_origin(),
    )
    runtime = {
        **player.frame_links(grant, package, item),
        "launch": dataclasses.asdict(launch),
        "stored": [],
        "seq": 0,
    }
    return render_template(
        "hocvu/author/package_try.html", package=package, item=item, index=index, runtime=runtime
    )

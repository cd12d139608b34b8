"""Taking the final test: start, answer (saved as the learner goes), submit, see the result."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import NamedTuple

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale, gettext, ngettext
from flask_login import current_user, login_required
from markupsafe import Markup, escape
from sqlalchemy import bindparam, select
from sqlalchemy.orm import aliased, contains_eager, joinedload

from courses.testing import answered
from lms.app.extensions import db
from lms.models import (
    Activity,
    AttemptStatus,
    Course,
    CourseVersion,
    Enrolment,
    TestAttempt,
    utcnow,
)
from lms.services import assessment, learning
from lms.services.activities import TestKind
from lms.services.errors import DomainError
from lms.services.scope import administering_unit
from lms.web.common import enrolment_or_404, message_of
from lms.web.forms import ActionForm

bp = Blueprint("testing", __name__)


def _enrolment_and_test(slug: str) -> tuple[Enrolment, Activity]:
    # The course and version come with the enrolment: the pages show them, and the question
    # bank is the version's (activity.version is then found in the session, not loaded).
    enrolment = enrolment_or_404(slug)
    activity = assessment.final_test_of(db.session, enrolment.version_id)
    if activity is None:
        abort(404)
    return enrolment, activity


# Built once, run with bind parameters (an autosave every few seconds per learner). The
# learner's enrolment in the course (with its course and version: the page shows them), their
# attempt (with the test it was drawn from: attempts made on an earlier version of the course
# stay the learner's after a move) and the final test of their version, in one query.
_CURRENT_TEST = aliased(Activity)
_ATTEMPT = (
    select(Enrolment, TestAttempt, _CURRENT_TEST)
    .join(Course, Enrolment.course_id == Course.id)
    .join(
        TestAttempt,
        (TestAttempt.enrolment_id == Enrolment.id) & (TestAttempt.number == bindparam("number")),
    )
    .join(TestAttempt.activity)
    .outerjoin(
        _CURRENT_TEST,
        (_CURRENT_TEST.version_id == Enrolment.version_id) & (_CURRENT_TEST.kind == TestKind.name),
    )
    .where(
        Course.slug == bindparam("slug"),
        Enrolment.user_id == bindparam("user_id"),
        Activity.kind == TestKind.name,
    )
    .options(
        contains_eager(Enrolment.course),
        joinedload(Enrolment.version),
        contains_eager(TestAttempt.activity),
    )
)


def _enrolment_test_and_attempt(slug: str, number: int) -> tuple[Enrolment, Activity, TestAttempt]:
    """The learner's enrolment, their version's final test and their attempt `number` (404
    when they are not enrolled, the version has no final test or the attempt is not theirs)."""
    row = db.session.execute(
        _ATTEMPT, {"slug": slug, "user_id": current_user.id, "number": number}
    ).first()
    if row is None or row[2] is None:
        abort(404)
    return row[0], row[2], row[1]


def _learner_attempt(*columns):
    """The learner's attempt `number` in the course `slug` with its test and the test's version
    (its question bank's files are the version's), and `columns`: each object the ORM makes
    from a row costs about as much as the statement itself, so the pages that need no more
    load no more."""
    return (
        select(TestAttempt, *columns)
        .join(Enrolment, TestAttempt.enrolment_id == Enrolment.id)
        .join(Course, Enrolment.course_id == Course.id)
        .join(TestAttempt.activity)
        .where(
            Course.slug == bindparam("slug"),
            Enrolment.user_id == bindparam("user_id"),
            TestAttempt.number == bindparam("number"),
            Activity.kind == TestKind.name,
        )
        .options(contains_eager(TestAttempt.activity).joinedload(Activity.version))
    )


# The autosave's: and whether the learner's version has a final test.
_ATTEMPT_ONLY = _learner_attempt(_CURRENT_TEST.id).outerjoin(
    _CURRENT_TEST,
    (_CURRENT_TEST.version_id == Enrolment.version_id) & (_CURRENT_TEST.kind == TestKind.name),
)
# An open attempt's page: and the title of the learner's version, when the version's final
# test is the attempt's own (a graded attempt's page, and an attempt at an earlier version's
# test, take _ATTEMPT, which makes six objects where this makes three).
_OPEN_ATTEMPT = (
    _learner_attempt(CourseVersion.title)
    .join(CourseVersion, CourseVersion.id == Enrolment.version_id)
    .join(
        _CURRENT_TEST,
        (_CURRENT_TEST.version_id == Enrolment.version_id)
        & (_CURRENT_TEST.kind == TestKind.name)
        & (_CURRENT_TEST.id == TestAttempt.activity_id),
    )
    .where(TestAttempt.status == AttemptStatus.OPEN)
)


class OpenAttempt(NamedTuple):
    """An open attempt as its page reads it (the names of a TestAttempt's)."""

    number: int
    status: AttemptStatus
    ends_at: datetime | None
    draw: list
    answers: dict


class ShownTest(NamedTuple):
    title: str
    version_id: int


# The same as columns, for the page of an attempt still taking answers (most visits): it
# is then made without the three ORM objects (about a third of the page's own work). The
# attempt's test is the learner's version's, so that version's title and checksum (its
# bank's key) come with it.
_OPEN_ATTEMPT_ROW = (
    select(
        TestAttempt.number,
        TestAttempt.status,
        TestAttempt.ends_at,
        TestAttempt.draw,
        TestAttempt.answers,
        Activity.title,
        Activity.version_id,
        CourseVersion.title,
        CourseVersion.source_sha256,
    )
    .join(Enrolment, TestAttempt.enrolment_id == Enrolment.id)
    .join(Course, Enrolment.course_id == Course.id)
    .join(Activity, TestAttempt.activity_id == Activity.id)
    .join(CourseVersion, CourseVersion.id == Enrolment.version_id)
    .where(
        Course.slug == bindparam("slug"),
        Enrolment.user_id == bindparam("user_id"),
        TestAttempt.number == bindparam("number"),
        TestAttempt.status == AttemptStatus.OPEN,
        Activity.kind == TestKind.name,
        Activity.version_id == Enrolment.version_id,
    )
)


def _attempt_or_404(slug: str, number: int) -> TestAttempt:
    """The learner's attempt `number` at the final test of the course `slug`, with its test
    (404 as _enrolment_test_and_attempt)."""
    row = db.session.execute(
        _ATTEMPT_ONLY, {"slug": slug, "user_id": current_user.id, "number": number}
    ).first()
    if row is None or row[1] is None:
        abort(404)
    return row[0]


_POSITION = re.compile(r"\d{1,4}", re.ASCII)


def _position(value: str) -> int | None:
    return int(value) if _POSITION.fullmatch(value or "") else None


def _form_answers(attempt: TestAttempt) -> dict:
    """The answers in a submitted form, per question, as positions or text."""
    questions = assessment.question_map(attempt.activity)
    answers: dict = {}
    for item in attempt.draw:
        question = questions.get(item["id"])
        name = f"q-{item['id']}"
        if question is None:
            continue
        if question.type == "multiple":
            values = [p for p in map(_position, request.form.getlist(name)) if p is not None]
            if values or f"{name}-present" in request.form:
                answers[item["id"]] = values
        elif question.type == "matching":
            pairs = {
                str(left): _position(request.form.get(f"{name}-{left}", ""))
                for left in range(len(question.pairs))
            }
            pairs = {left: p for left, p in pairs.items() if p is not None}
            if pairs:
                answers[item["id"]] = pairs
        elif question.type == "cloze":
            blanks: dict = {}
            for number, part in enumerate(question.parts, start=1):
                value = request.form.get(f"{name}-{number}", "")
                if part.kind == "choice":
                    if _position(value) is not None:
                        blanks[str(number)] = _position(value)
                elif value.strip():
                    blanks[str(number)] = value[:500]
            if blanks:
                answers[item["id"]] = blanks
        elif name in request.form:
            value = request.form[name]
            if question.type in ("short", "numerical"):
                answers[item["id"]] = value[:500]
            elif question.type == "truefalse":
                if value in ("true", "false"):
                    answers[item["id"]] = value == "true"
            elif _position(value) is not None:
                answers[item["id"]] = _position(value)
    return answers


@bp.route("/courses/<slug>/test/start", methods=["POST"])
@login_required
def start(slug: str):
    """Start an attempt (or go back to the open one)."""
    enrolment, activity = _enrolment_and_test(slug)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        attempt = assessment.start(db.session, enrolment, activity)
    except DomainError as error:
        db.session.rollback()
        flash(message_of(error), "error")
        return redirect(url_for("learn.activity", slug=slug, key=activity.key))
    db.session.commit()
    return redirect(url_for("testing.attempt", slug=slug, number=attempt.number))


# An open attempt's questions (question_fields in learn/_question.html, about half of the test
# page's time as twenty macro calls) are rendered once per process for each question, order of
# its choices and language, with markers where the learner's number and answers go; a page
# then only fills these in: the kinds whose answer shows through answer_checked() (a choice),
# answer_selected() (a matching row's answer) or as the text field's value. A cloze question
# (its fields inside its text) is written by the macro each time.
_CACHED_KINDS = frozenset({"single", "multiple", "truefalse", "short", "numerical", "matching"})
_FRAGMENTS_KEPT = 4096
_NUMBER_SLOT = "\x00n\x00"
_VALUE_SLOT = "\x00v\x00"
_SLOT = re.compile("\x00(n|v|c[0-9]+|cT|cF|s[0-9]+:[0-9]+)\x00")


class _AnswerSlots:
    """The `given` of a question rendered for the cache: answer_checked() and
    answer_selected() write a marker, and so does the template's text field value."""

    def __html__(self) -> str:
        return _VALUE_SLOT


_SLOTS = _AnswerSlots()


@bp.app_template_global()
def answer_checked(given, value) -> str:
    """'checked' when the answer `given` chose the option `value` (a choice's position, or
    True/False), else ''."""
    if given is _SLOTS:
        slot = "T" if value is True else "F" if value is False else int(value)
        return Markup(f"\x00c{slot}\x00")  # noqa: S704 - our own marker
    if isinstance(value, bool):
        return "checked" if given == value else ""
    if given is None:
        return ""
    if value == given:
        return "checked"
    if isinstance(given, str):
        return ""
    try:
        iter(given)
    except TypeError:
        return ""
    return "checked" if value in given else ""


@bp.app_template_global()
def answer_selected(given, row: int, position: int) -> str:
    """'selected' when the matching answer `given` paired the row `row` with the option at
    `position`, else ''."""
    if given is _SLOTS:
        return Markup(f"\x00s{int(row)}:{int(position)}\x00")  # noqa: S704 - our own marker
    if isinstance(given, Mapping) and given.get(str(row)) == position:
        return "selected"
    return ""


def _slots_of(question, order: tuple) -> int:
    """How many markers the cached fragment of `question` holds (its number's included)."""
    if question.type == "truefalse":
        return 3
    if question.type in ("short", "numerical"):
        return 2
    if question.type == "matching":
        answers = {question.pairs[index][1] for index in order}
        return 1 + len(question.rows()) * len(answers)
    return 1 + len(order)


class _QuestionWriter:
    """Writes an open attempt's questions (learn/_question.html's question_fields) from the
    fragments kept per process, with what every question of a page shares (the macro, the
    fragments, the language) looked up once: a test page writes about twenty questions."""

    def __init__(self, version_id: int):
        self.version_id = version_id
        self.fields = current_app.jinja_env.get_template("hocvu/learn/_question.html").module
        self.cache = current_app.extensions.setdefault("hocvu_question_fragments", {})
        self.context = (version_id, str(get_locale()), request.script_root)

    def block(self, question, item, given, number: int) -> Markup:
        """Question `number`, with the learner's order of its choices and answer `given`."""
        fields = self.fields.question_fields
        if question.type not in _CACHED_KINDS:
            return fields(question, item, given, number, version_id=self.version_id)
        order = tuple(item.get("order") or ())
        # The question object itself is part of the key (and kept, so that its id is not
        # reused): a version's bank is parsed once per process (lms.services.assessment).
        key = (id(question), item["id"], order, *self.context)
        cache = self.cache
        found = cache.get(key)
        if found is None or found[0] is not question:
            html = str(fields(question, item, _SLOTS, _NUMBER_SLOT, version_id=self.version_id))
            if html.count("\x00") != 2 * _slots_of(question, order):
                # A text of the question holds the markers' character: written as it is.
                return fields(question, item, given, number, version_id=self.version_id)
            if len(cache) >= _FRAGMENTS_KEPT:
                cache.clear()
            # Also kept unanswered (every answer's marker written as ''): the page then only
            # writes the question's number in it.
            unanswered = _SLOT.sub(lambda m: m.group(0) if m.group(1) == "n" else "", html)
            found = cache[key] = (question, html, unanswered)
        if given is None:
            return Markup(found[2].replace(_NUMBER_SLOT, str(number)))  # noqa: S704 - as below

        def fill(match: re.Match) -> str:
            slot = match.group(1)
            if slot == "n":
                return str(number)
            if slot == "v":  # the template's value="{{ given or '' }}"
                return escape(given or "")
            if slot[0] == "s":
                row, position = slot[1:].split(":")
                return answer_selected(given, int(row), int(position))
            return answer_checked(
                given, True if slot == "cT" else False if slot == "cF" else int(slot[1:])
            )

        return Markup(_SLOT.sub(fill, found[1]))  # noqa: S704 - rendered by the template above


@bp.app_template_global()
def question_block(question, item, given, number: int, version_id: int) -> Markup:
    """An open attempt's question `number` (learn/_question.html's question_fields), with the
    learner's order of its choices and their answer `given` filled in."""
    return _QuestionWriter(version_id).block(question, item, given, number)


def question_blocks(questions: Mapping, attempt: TestAttempt, version_id: int) -> Markup:
    """Every question drawn for an open attempt, in order, numbered from 1 (written here in
    one pass rather than by a loop of the page: one template call per question cost more
    than the question's writing)."""
    writer = _QuestionWriter(version_id)
    answers = attempt.answers
    return Markup("\n  ").join(  # noqa: S704 - each block is safe HTML
        writer.block(questions[item["id"]], item, answers.get(item["id"]), number)
        for number, item in enumerate(attempt.draw, start=1)
    )


def descriptions_of(questions: Mapping, attempt: TestAttempt) -> list:
    """The descriptions (shown, not answered) of the lessons or pools an attempt's questions
    were drawn from, in the bank's order."""
    drawn = {questions[item["id"]].module for item in attempt.draw if item["id"] in questions}
    return [q for q in questions.values() if not q.graded and q.module in drawn]


@bp.route("/courses/<slug>/test/<int:number>")
@login_required
def attempt(slug: str, number: int):
    """An open attempt's questions, or a graded attempt's result."""
    now = utcnow()
    where = {"slug": slug, "user_id": current_user.id, "number": number}
    row = db.session.connection().execute(_OPEN_ATTEMPT_ROW, where).first()
    if row is not None:
        *columns, test_title, version_id, version_title, checksum = row
        current = OpenAttempt(*columns)
        if assessment.accepting(current, now):
            questions = assessment.version_questions(db.session, version_id, checksum)
            test = ShownTest(test_title, version_id)
            return _open_attempt_page(slug, version_title, test, current, now, questions)
        # Past its time: the same attempt as ORM objects, to grade it.
        found = db.session.execute(_OPEN_ATTEMPT, where).first()
        if found is not None:
            current, version_title = found
            if not assessment.finish_if_expired(db.session, current, now):
                return _open_attempt_page(slug, version_title, current.activity, current, now)
            db.session.commit()  # graded now, past its time: kept even if the page fails
    # A graded attempt, or one at an earlier version's test.
    enrolment, activity, current = _enrolment_test_and_attempt(slug, number)
    if assessment.finish_if_expired(db.session, current, now):
        # Graded now, past its time: kept even if the page fails. Only then: a commit expires
        # every loaded object, and the page would load the user, enrolment and attempt again.
        db.session.commit()
    if current.status == AttemptStatus.OPEN:  # an attempt at an earlier version's test
        return _open_attempt_page(slug, enrolment.version.title, activity, current, now)
    questions = assessment.question_map(activity)
    attempts = assessment.attempts_of(db.session, enrolment, activity)
    settings = assessment.settings_of(activity)
    graded = [a for a in attempts if a.status == AttemptStatus.GRADED]
    still_open = any(a.status == AttemptStatus.OPEN for a in attempts)
    # Never while another attempt is open: its questions may be among these.
    show = not still_open and (
        (settings.show_answers == "after_passing" and any(a.passed for a in graded))
        or (
            settings.show_answers == "after_last_attempt"
            and bool(settings.attempts)
            and len(graded) >= settings.attempts
        )
    )
    titles = {a.key: a.title for a in enrolment.version.activities}
    # After the last allowed attempt failed, the page says whom to ask instead of offering
    # a test that will not open.
    out_of_attempts = assessment.all_attempts_failed(settings, attempts)
    return render_template(
        "hocvu/learn/test_result.html",
        enrolment=enrolment,
        activity=activity,
        attempt=current,
        questions=questions,
        show_answers=show,
        titles=titles,
        pass_mark=enrolment.version.pass_mark,
        passed=any(a.passed for a in graded),
        attempts_left=assessment.attempts_left(settings, attempts),
        certificate=learning.certificate_of(db.session, enrolment) if current.passed else None,
        out_of_attempts=out_of_attempts,
        contact_unit=administering_unit(db.session, current_user.org_unit)
        if out_of_attempts
        else None,
    )


@bp.route("/courses/<slug>/test/<int:number>/save", methods=["POST"])
@login_required
def save(slug: str, number: int):
    """Autosave: keep the answers given so far (JSON reply for the page's script)."""
    current = _attempt_or_404(slug, number)
    try:
        assessment.save_answers(db.session, current, _form_answers(current))
    except DomainError as error:
        db.session.commit()  # an expired attempt was graded: keep that
        return jsonify(error="closed", message=message_of(error)), 409
    # The reply is made before the commit, which would expire the attempt (and reload it).
    reply = jsonify(saved=len(current.answers), seconds_left=_seconds_left(current, utcnow()))
    db.session.commit()
    return reply


def _open_attempt_page(
    slug: str, version_title: str, activity, current, now, questions=None
) -> str:
    questions = questions if questions is not None else assessment.question_map(activity)
    return render_template(
        "hocvu/learn/test_attempt.html",
        slug=slug,
        version_title=version_title,
        activity=activity,
        attempt=current,
        descriptions=descriptions_of(questions, current),
        question_blocks=question_blocks(questions, current, activity.version_id),
        seconds_left=_seconds_left(current, now),
    )


def _seconds_left(attempt: TestAttempt, now) -> int | None:
    """The attempt's time left by the server's clock, which the page's countdown follows."""
    if attempt.ends_at is None:
        return None
    return max(0, int((attempt.ends_at - now).total_seconds()))


# A countdown that reaches zero up to this much before the server's end is the network's
# delay, not a wrong clock.
EARLY_TIME_UP = 5


@bp.route("/courses/<slug>/test/<int:number>/submit", methods=["POST"])
@login_required
def submit(slug: str, number: int):
    """Grade the attempt (a second submit only shows the result)."""
    enrolment, activity, current = _enrolment_test_and_attempt(slug, number)
    answers = _form_answers(current)
    now = utcnow()
    seconds_left = _seconds_left(current, now)
    if (
        request.form.get("time_up") == "1"
        and current.status == AttemptStatus.OPEN
        and seconds_left is not None
        and seconds_left > EARLY_TIME_UP
    ):
        # The page thought the time was up (its clock jumped or ran fast): keep the answers,
        # spend nothing, and go on with the time the server gives.
        assessment.save_answers(db.session, current, answers, now)
        db.session.commit()
        flash(
            ngettext(
                "Your time is not up yet: %(num)s minute is left by the server's clock. "
                "Your answers are saved; go on with the test.",
                "Your time is not up yet: %(num)s minutes are left by the server's clock. "
                "Your answers are saved; go on with the test.",
                max(1, seconds_left // 60),
            ),
            "error",
        )
        return redirect(url_for("testing.attempt", slug=slug, number=number))
    if current.status == AttemptStatus.OPEN and assessment.accepting(current, now):
        given = {**current.answers, **answers}
        unanswered = sum(1 for item in current.draw if not answered(given.get(item["id"])))
        if unanswered and request.form.get("confirm") != "1":
            assessment.save_answers(db.session, current, answers)
            db.session.commit()
            flash(
                gettext(
                    "%(n)s questions are not answered. Answer them, or press Submit again to "
                    "submit anyway.",
                    n=unanswered,
                ),
                "error",
            )
            return redirect(url_for("testing.attempt", slug=slug, number=number, confirm=1))
    assessment.submit(db.session, current, answers)
    db.session.commit()
    return redirect(url_for("testing.attempt", slug=slug, number=number))


@bp.app_template_global()
def score_text(score: float | None) -> str:
    """'8,5' in Vietnamese; up to two decimals."""
    from lms.app.i18n import format_number

    return format_number(score or 0, digits=2)


@bp.app_template_global()
def answer_feedback(question, item: dict, response, version_id: int) -> list[Markup]:
    """The feedback of the answers a learner gave to a drawn question, as safe HTML for the
    review (a cloze blank's feedback is plain text)."""
    from courses.testing import Drawn, chosen_feedback
    from lms.web.learn import question_html

    said = chosen_feedback(question, Drawn(item["id"], tuple(item["order"])), response)
    if question.type == "cloze":
        return [escape(text) for text in said]
    return [question_html(question, text, version_id) for text in said]

"""Writing a question bank as GIFT, which Moodle and courses/gift.py read back to the same
questions and grades.

Written as the GIFT page of the Moodle docs describes the format (and as Moodle's exporter,
question/format/gift/format.php, writes it): `$CATEGORY: $course$/top/a/b` before the
questions of each category; `::name::`; a `[html]`, `[plain]` or `[markdown]` prefix on the
question's text (its answers and feedback take the same format); `=` and `~` answers with
`%n%` weights and `#feedback`; `{T#if wrong#if right}`; `{#value:tolerance}` numbers;
`{=left -> right}` matching (`= -> x` is a distractor); `####` general feedback. Every
character GIFT gives a meaning — `~ = # { } :` and the backslash — is escaped with a
backslash wherever it is text, and a line break is written `\\n`.

GIFT cannot carry some things; a `//` comment line above the question says what was left out:
images (GIFT holds no files), a question's points (every GIFT question is worth 1), embedded
answers (cloze: left out, in the Moodle XML export only), a description's feedback.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from courses.errors import N_
from courses.moodlexml_export import category_of, number, paragraph
from courses.questions import Question

# Moodle docs, GIFT format, "Special characters": these must be escaped to be text.
SPECIAL = "~=#{}:"
_PREFIX = {"plain": "[plain]", "html": "[html]", "markdown": "[markdown]"}
_IMAGE = re.compile(r"<img\b[^>]*>", re.I)

Translate = Callable[..., str]


def escape(text: str) -> str:
    """Text as GIFT writes it: a backslash before `\\` and each of `~ = # { } :`; a line
    break as `\\n`."""
    text = text.replace("\\", "\\\\")
    for char in SPECIAL:
        text = text.replace(char, "\\" + char)
    return text.replace("\r\n", "\n").replace("\n", "\\n")


def _percent(fraction: float) -> str:
    """A weight as GIFT's `%n%` reads it: a plain decimal, never an exponent."""
    text = f"{fraction * 100:.7f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _feedback(text: str, fmt: str) -> str:
    return f"#{escape(paragraph(text, fmt))}" if text else ""


def _answers(question: Question) -> str | None:
    """What goes between the braces, or None when GIFT cannot write the question."""
    if question.type in ("single", "multiple"):
        items = []
        # A single choice is read from its `=` answer (Moodle: "=" makes it single), so the
        # first best option carries it, with its weight when that is not 100 %; the others,
        # and every option of a multiple choice, are `~%n%` (a `~` keeps it a choice).
        best = max(c.weight for c in question.choices)
        lead = next(i for i, c in enumerate(question.choices) if c.weight == best)
        for index, choice in enumerate(question.choices):
            weight = choice.weight
            if question.type == "single" and index == lead:
                mark = "=" if weight >= 1 - 1e-7 else f"=%{_percent(weight)}%"
            else:
                mark = f"~%{_percent(weight)}%"
            text = escape(paragraph(choice.text, question.format))
            items.append(f"{mark}{text}{_feedback(choice.feedback, question.format)}")
        return " ".join(items)
    if question.type == "truefalse":
        if_true, if_false = question.answer_feedback or ("", "")
        right, wrong = (if_true, if_false) if question.answer else (if_false, if_true)
        value = "TRUE" if question.answer else "FALSE"
        if not (right or wrong):
            return value
        fmt = question.format
        return f"{value}#{escape(paragraph(wrong, fmt))}#{escape(paragraph(right, fmt))}"
    if question.type == "short":
        feedback = question.answer_feedback or ("",) * len(question.answers)
        return " ".join(
            f"=%{_percent(fraction)}%{escape(answer)}{_feedback(said, question.format)}"
            for (answer, fraction), said in zip(question.short_answers(), feedback, strict=True)
        )
    if question.type == "numerical":
        return "#" + " ".join(
            f"=%{_percent(n.fraction)}%{number(n.value)}:{number(n.tolerance)}"
            f"{_feedback(n.feedback, question.format)}"
            for n in question.numbers
        )
    if question.type == "matching":
        return " ".join(
            f"={escape(paragraph(left, question.format))} -> {escape(right)}"
            for left, right in question.pairs
        )
    return None


def _block(question: Question, translate: Translate) -> list[str]:
    notes = []
    text = question.text
    images = (
        len(_IMAGE.findall(text))
        + sum(
            len(_IMAGE.findall(t))
            for t in (
                question.feedback,
                *(c.text for c in question.choices),
                *(c.feedback for c in question.choices),
            )
        )
        + bool(question.image)
    )
    if question.type == "cloze":
        return [
            "// "
            + translate(
                N_(
                    "GIFT cannot carry embedded answers (cloze): the question %(name)s is in "
                    "the Moodle XML export only."
                ),
                name=question.label,
            )
        ]
    if images:
        notes.append(
            translate(
                N_("GIFT cannot carry images: %(count)s images of this question were left out."),
                count=images,
            )
        )
    if question.graded and abs(question.points - 1) > 1e-9:
        notes.append(
            translate(
                N_(
                    "GIFT cannot carry a question's points: this one is worth %(points)s, "
                    "Moodle will count 1."
                ),
                points=number(question.points),
            )
        )
    if question.type == "short" and question.case_sensitive:
        notes.append(
            translate(
                N_("GIFT cannot say that case matters in this short answer: Moodle will ignore it.")
            )
        )
    if question.type == "description" and question.feedback:
        notes.append(translate(N_("GIFT cannot carry the feedback of a description.")))
    strip = (lambda t: _IMAGE.sub("", t)) if question.format == "html" else (lambda t: t)
    question_text = _PREFIX.get(question.format, "") + escape(strip(text))
    head = f"::{escape(question.label)}::{question_text}"
    answers = _answers(_without_images(question, strip))
    if answers is None:
        body = head
    else:
        general = f"####{escape(strip(question.feedback))}" if question.feedback else ""
        body = f"{head}{{{answers}{general}}}"
    return [f"// {note}" for note in notes] + [body]


def _without_images(question: Question, strip: Callable[[str], str]) -> Question:
    from dataclasses import replace

    return replace(
        question,
        choices=tuple(
            replace(c, text=strip(c.text), feedback=strip(c.feedback)) for c in question.choices
        ),
        pairs=tuple((strip(left), right) for left, right in question.pairs),
    )


def dump(
    questions: list[Question] | tuple[Question, ...],
    translate: Translate = lambda message, **params: message % params if params else message,
) -> str:
    """The questions as GIFT text; `translate` writes the comments on what GIFT cannot
    carry (English when not given)."""
    out: list[str] = []
    category = None
    for question in questions:
        if category_of(question) != category:
            category = category_of(question)
            out += [f"$CATEGORY: {category}", ""]
        out += [*_block(question, translate), ""]
    return "\n".join(out)


def left_out(questions: list[Question] | tuple[Question, ...]) -> dict[str, Any]:
    """What a GIFT export of these questions leaves out, to say so on the page: the number
    of questions with images, with points other than 1, and of cloze questions."""
    return {
        "images": sum(
            1
            for q in questions
            if q.image
            or _IMAGE.search(" ".join([q.text, q.feedback, *(c.text for c in q.choices)]))
        ),
        "points": sum(1 for q in questions if q.graded and abs(q.points - 1) > 1e-9),
        "cloze": sum(1 for q in questions if q.type == "cloze"),
        "case": sum(1 for q in questions if q.type == "short" and q.case_sensitive),
    }

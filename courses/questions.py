"""The final-test question bank (final-test.toml): reading and validating it.

Drawing, shuffling and grading belong to the test engine; this module turns the author's file
into checked, frozen values and reports every problem with its line.

Questions imported from Moodle (GIFT, Moodle XML) keep Moodle's weights: a `fraction` per
choice (-1 to 1), per short answer and per numerical answer; such a question is graded as
Moodle grades it (courses/testing.py). A question without fractions keeps Hocvu's own rules.
"""

from __future__ import annotations

import math
import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from courses.errors import N_, BundleError, Problem

TYPES = (
    "single",
    "multiple",
    "truefalse",
    "short",
    "matching",
    "numerical",
    "cloze",
    "description",
)
# How a question's texts (question, choices, left-hand sides, feedback) are written: plain text
# (shown escaped), HTML or Markdown (both shown through the sanitizer of courses/markdown.py).
FORMATS = ("plain", "html", "markdown")
# Types a learner answers; a description is only shown.
GRADED = frozenset(TYPES) - {"description"}
_COMMON = {"id", "module", "group", "name", "format", "type", "points", "text", "feedback", "image"}
_KEYS = {
    "single": _COMMON | {"choices"},
    "multiple": _COMMON | {"choices", "partial"},
    "truefalse": _COMMON | {"answer", "answer_feedback"},
    "short": _COMMON
    | {"answers", "fractions", "answer_feedback", "case_sensitive", "ignore_diacritics"},
    "matching": _COMMON | {"pairs"},
    "numerical": _COMMON | {"numbers"},
    "cloze": _COMMON | {"parts"},
    "description": _COMMON,
}
_PART_KEYS = {
    "kind",
    "weight",
    "answers",
    "fractions",
    "answer_feedback",
    "case_sensitive",
    "choices",
    "numbers",
}
CLOZE_MARK = re.compile(r"\{#(\d+)\}")


@dataclass(frozen=True)
class Choice:
    """An option of a single- or multiple-choice question; `fraction` is Moodle's weight."""

    text: str
    correct: bool
    fraction: float | None = None  # -1 to 1; None: 1 when correct, else 0
    feedback: str = ""  # shown in the review to a learner who chose it

    @property
    def weight(self) -> float:
        """The share of the question's points this option is worth (negative: a penalty)."""
        if self.fraction is not None:
            return self.fraction
        return 1.0 if self.correct else 0.0


@dataclass(frozen=True)
class NumericAnswer:
    """An accepted number of a numerical question: value ± tolerance earns `fraction`."""

    value: float
    tolerance: float = 0.0
    fraction: float = 1.0
    feedback: str = ""  # shown in the review to a learner whose number it accepted


@dataclass(frozen=True)
class ClozePart:
    """A blank of an embedded-answers (cloze) question, written `{#n}` in its text: a short
    answer, a number, or a choice from a list; `weight` is its share of the question."""

    kind: str  # short | numerical | choice
    weight: float = 1.0
    answers: tuple[str, ...] = ()
    fractions: tuple[float, ...] = ()
    case_sensitive: bool = False
    choices: tuple[Choice, ...] = ()
    numbers: tuple[NumericAnswer, ...] = ()
    answer_feedback: tuple[str, ...] = ()  # one per short answer (plain text), or none

    def right_answers(self) -> tuple[str, ...]:
        """The short answers of this blank worth full points, as a learner would type them."""
        return shown_answers(self.answers, self.fractions or (1.0,) * len(self.answers))


def shown_answers(answers: tuple[str, ...], fractions: tuple[float, ...]) -> tuple[str, ...]:
    """The short answers worth full points, as a learner would type them: a `*` wildcard left
    out, `\\*` shown as a star (qtype_shortanswer clean_response)."""
    shown = []
    for answer, fraction in zip(answers, fractions, strict=True):
        if fraction < 1 - 1e-7:
            continue
        bits = re.split(r"(?<!\\)\*", answer)
        text = " ".join(" ".join(bit.replace("\\*", "*") for bit in bits).split())
        if text:
            shown.append(text)
    return tuple(shown)


@dataclass(frozen=True)
class Question:
    """One question of the bank."""

    id: str
    module: str  # a lesson key ("01-mat-khau"), or "" for a question drawn from its group
    type: str
    text: str
    points: float
    line: int
    feedback: str = ""
    choices: tuple[Choice, ...] = ()
    partial: bool = False
    answer: bool | None = None
    answers: tuple[str, ...] = ()
    case_sensitive: bool = False
    ignore_diacritics: bool = False
    # A pair whose left side is empty is a distractor: one more answer to choose from.
    pairs: tuple[tuple[str, str], ...] = ()
    image: str = ""  # a path in the bundle (media/...), shown above the question
    group: str = ""  # the category of the imported bank ("Mật khẩu/Cơ bản")
    name: str = ""  # the question's name in the imported file
    format: str = "plain"
    fractions: tuple[float, ...] = ()  # one per short answer; empty: every answer is right
    # Moodle's feedback per answer, shown in the review for the learner's answer: one per
    # short answer; for a true/false question (if "true" is chosen, if "false" is).
    answer_feedback: tuple[str, ...] = ()
    numbers: tuple[NumericAnswer, ...] = ()
    parts: tuple[ClozePart, ...] = ()  # the blanks of a cloze question

    @property
    def graded(self) -> bool:
        """False for a description, which is shown but not answered."""
        return self.type in GRADED

    @property
    def category(self) -> str:
        """The category it is drawn from: the imported bank's category, else its lesson."""
        return self.group or self.module

    @property
    def label(self) -> str:
        """How messages name the question: its name in the imported file, or its id."""
        return self.name or self.id

    def short_answers(self) -> tuple[tuple[str, float], ...]:
        """(answer, fraction) in the order they are tried."""
        fractions = self.fractions or (1.0,) * len(self.answers)
        return tuple(zip(self.answers, fractions, strict=True))

    def right_answers(self) -> tuple[str, ...]:
        """The short answers worth full points, as a learner would type them."""
        return shown_answers(*zip(*self.short_answers(), strict=True)) if self.answers else ()

    def rows(self) -> tuple[tuple[int, str], ...]:
        """(pair index, left side) of the rows a learner matches (distractors left out)."""
        return tuple((i, left) for i, (left, _) in enumerate(self.pairs) if left)


@dataclass(frozen=True)
class QuestionBank:
    """The questions of a final test, in file order."""

    path: str
    questions: tuple[Question, ...]

    def modules(self) -> dict[str, int]:
        """How many questions each module (category) has; descriptions are not counted."""
        counts: dict[str, int] = {}
        for question in self.questions:
            if question.graded:
                counts[question.module] = counts.get(question.module, 0) + 1
        return counts

    def categories(self) -> dict[str, int]:
        """How many questions each category (`group`, else the lesson) has, descriptions left
        out, sorted by path."""
        counts: dict[str, int] = {}
        for question in self.questions:
            if question.graded:
                counts[question.category] = counts.get(question.category, 0) + 1
        return dict(sorted(counts.items()))


def _nfc(value: Any) -> Any:
    return unicodedata.normalize("NFC", value).strip() if isinstance(value, str) else value


def _toml_error_line(error: tomllib.TOMLDecodeError) -> int | None:
    match = re.search(r"line (\d+)", str(error))
    return int(match.group(1)) if match else None


def read_bank(
    path: str, text: str, modules: set[str] | None = None, files: set[str] | None = None
) -> QuestionBank:
    """Parse and check a bank; `modules` are the valid categories and `files` the bundle's
    files, when known."""
    problems: list[Problem] = []
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise BundleError(
            [
                Problem(
                    path,
                    _toml_error_line(error),
                    N_("TOML syntax error: %(detail)s"),
                    {"detail": str(error)},
                )
            ]
        ) from None
    lines = [n for n, line in enumerate(text.splitlines(), 1) if line.strip() == "[[questions]]"]
    for key in set(data) - {"questions"}:
        problems.append(Problem(path, None, N_("Unknown key %(key)s."), {"key": key}))
    raw_questions = data.get("questions", [])
    if not isinstance(raw_questions, list) or not raw_questions:
        problems.append(Problem(path, None, N_("The bank has no [[questions]].")))
        raise BundleError(problems)
    questions: list[Question] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_questions):
        line = lines[index] if index < len(lines) else None
        question = _read_question(path, line or 0, raw, modules, problems)
        image = question.image if question is not None else ""
        if image and files is not None and (image not in files or not image.startswith("media/")):
            problems.append(
                Problem(path, line, N_("%(target)s is not in the bundle."), {"target": image})
            )
        if question is None:
            continue
        if question.id in seen:
            problems.append(
                Problem(
                    path, line, N_("The question id %(id)s is used twice."), {"id": question.id}
                )
            )
        seen.add(question.id)
        questions.append(question)
    if problems:
        raise BundleError(problems)
    return QuestionBank(path=path, questions=tuple(questions))


def _fraction(value: Any) -> float | None:
    """A weight from -1 to 1, or None when `value` is not one."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) and -1 <= value <= 1 else None


def _read_parts(raw: Any) -> tuple[ClozePart, ...] | None:
    """The blanks of a cloze question, or None when one cannot be read."""
    if not isinstance(raw, list):
        return None
    parts = []
    for item in raw:
        if not isinstance(item, dict) or set(item) - _PART_KEYS:
            return None
        weight = item.get("weight", 1)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not weight > 0:
            return None
        try:
            part = ClozePart(
                kind=item.get("kind"),
                weight=float(weight),
                answers=tuple(str(a) for a in item.get("answers", ())),
                fractions=tuple(float(f) for f in item.get("fractions", ())),
                answer_feedback=tuple(str(f) for f in item.get("answer_feedback", ())),
                case_sensitive=bool(item.get("case_sensitive", False)),
                choices=tuple(
                    Choice(
                        str(c["text"]),
                        bool(c.get("correct", False)),
                        c.get("fraction"),
                        str(c.get("feedback", "")),
                    )
                    for c in item.get("choices", ())
                ),
                numbers=tuple(NumericAnswer(**n) for n in item.get("numbers", ())),
            )
        except (TypeError, ValueError, KeyError):
            return None
        usable = {
            "short": bool(part.answers)
            and len(part.fractions) in (0, len(part.answers))
            and len(part.answer_feedback) in (0, len(part.answers))
            and not part.choices,
            "numerical": bool(part.numbers) and not part.answers,
            "choice": len(part.choices) >= 2 and not part.answers,
        }
        if not usable.get(part.kind):
            return None
        parts.append(part)
    return tuple(parts)


def _read_question(
    path: str, line: int, raw: dict, modules: set[str] | None, problems: list[Problem]
) -> Question | None:
    def problem(message: str, **params: Any) -> None:
        problems.append(Problem(path, line or None, message, params))

    before = len(problems)
    kind = raw.get("type")
    if kind not in TYPES:
        problem(N_("The question type must be one of %(types)s."), types=", ".join(TYPES))
        return None
    for key in set(raw) - _KEYS[kind]:
        problem(N_("Unknown key %(key)s for a %(type)s question."), key=key, type=kind)
    qid = _nfc(raw.get("id"))
    text = _nfc(raw.get("text"))
    module = _nfc(raw.get("module", ""))
    group = _nfc(raw.get("group", ""))
    if not isinstance(qid, str) or not qid:
        problem(N_("Every question needs an id."))
    if not isinstance(text, str) or not text:
        problem(N_("Every question needs a text."))
    if not isinstance(group, str):
        problem(N_("group must be a text."))
    elif not isinstance(module, str) or not (module or group):
        problem(N_("Every question needs a module."))
    elif module and modules is not None and module not in modules:
        problem(N_("The module %(module)s does not exist in this course."), module=module)
    text_format = raw.get("format", "plain")
    if text_format not in FORMATS:
        problem(N_("format must be one of %(values)s."), values=", ".join(FORMATS))
    points = raw.get("points", 0 if kind == "description" else 1)
    if kind != "description" and (
        isinstance(points, bool)
        or not isinstance(points, int | float)
        or not math.isfinite(points)
        or points <= 0
    ):
        problem(N_("points must be a positive number."))
    fields: dict[str, Any] = {}
    if kind in ("single", "multiple"):
        choices = raw.get("choices")
        if not isinstance(choices, list) or len(choices) < 2:
            problem(N_("A choice question needs at least two choices."))
        else:
            parsed = []
            for choice in choices:
                if not isinstance(choice, dict) or not isinstance(choice.get("text"), str):
                    problem(N_("Each choice needs a text."))
                    continue
                unknown = set(choice) - {"text", "correct", "fraction", "feedback"}
                if unknown:
                    problem(N_("Unknown key %(key)s in a choice."), key=", ".join(sorted(unknown)))
                fraction = None
                if "fraction" in choice:
                    fraction = _fraction(choice["fraction"])
                    if fraction is None:
                        problem(N_("A fraction is a number from -1 to 1."))
                        continue
                correct = choice.get("correct")
                if correct is None:
                    # Moodle: the right answer of a single choice is worth 100 %; of several,
                    # every option worth something.
                    correct = fraction is not None and (
                        fraction >= 1 if kind == "single" else fraction > 0
                    )
                feedback = choice.get("feedback", "")
                if not isinstance(feedback, str):
                    problem(N_("feedback must be a text."))
                    continue
                parsed.append(Choice(_nfc(choice["text"]), bool(correct), fraction, _nfc(feedback)))
            correct = sum(c.correct for c in parsed)
            weighted = any(c.fraction is not None for c in parsed)
            if kind == "single" and weighted and not any(c.weight > 0 for c in parsed):
                problem(N_("A single-choice question needs a choice worth points."))
            elif kind == "single" and not weighted and correct != 1:
                problem(N_("A single-choice question needs exactly one correct choice."))
            if kind == "multiple" and not any(c.weight > 0 for c in parsed):
                problem(N_("A multiple-choice question needs at least one correct choice."))
            fields["choices"] = tuple(parsed)
        fields["partial"] = bool(raw.get("partial", False))
    elif kind == "truefalse":
        if not isinstance(raw.get("answer"), bool):
            problem(N_("A true/false question needs answer = true or answer = false."))
        fields["answer"] = raw.get("answer")
        fields["answer_feedback"] = _answer_feedback(raw, 2, problem)
    elif kind == "short":
        answers = raw.get("answers")
        if (
            not isinstance(answers, list)
            or not answers
            or not all(isinstance(a, str) and a.strip() for a in answers)
        ):
            problem(N_("A short-answer question needs a list of accepted answers."))
        else:
            fields["answers"] = tuple(_nfc(a) for a in answers)
            fractions = raw.get("fractions")
            if fractions is not None:
                parsed_fractions = (
                    [_fraction(f) for f in fractions] if isinstance(fractions, list) else [None]
                )
                if len(parsed_fractions) != len(answers) or None in parsed_fractions:
                    problem(N_("fractions needs one number from -1 to 1 for each answer."))
                else:
                    fields["fractions"] = tuple(parsed_fractions)
            fields["answer_feedback"] = _answer_feedback(raw, len(answers), problem)
        fields["case_sensitive"] = bool(raw.get("case_sensitive", False))
        fields["ignore_diacritics"] = bool(raw.get("ignore_diacritics", False))
    elif kind == "matching":
        pairs = raw.get("pairs")
        if (
            not isinstance(pairs, list)
            or not all(
                isinstance(p, dict)
                and isinstance(p.get("left", ""), str)
                and isinstance(p.get("right"), str)
                for p in pairs
            )
            or sum(1 for p in pairs if p.get("left", "").strip()) < 2
        ):
            problem(N_("A matching question needs at least two pairs with left and right."))
        else:
            fields["pairs"] = tuple((_nfc(p.get("left", "")), _nfc(p["right"])) for p in pairs)
    elif kind == "numerical":
        numbers = raw.get("numbers")
        parsed_numbers = []
        for item in numbers if isinstance(numbers, list) else []:
            if not isinstance(item, dict) or set(item) - {
                "value",
                "tolerance",
                "fraction",
                "feedback",
            }:
                break
            if not isinstance(item.get("feedback", ""), str):
                break
            value, tolerance = item.get("value"), item.get("tolerance", 0)
            fraction = _fraction(item.get("fraction", 1))
            if (
                not all(
                    isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                    for v in (value, tolerance)
                )
                or fraction is None
            ):
                break
            parsed_numbers.append(
                NumericAnswer(
                    float(value), abs(float(tolerance)), fraction, _nfc(item.get("feedback", ""))
                )
            )
        else:
            if any(n.fraction > 0 for n in parsed_numbers):
                fields["numbers"] = tuple(parsed_numbers)
        if "numbers" not in fields:
            problem(
                N_(
                    "A numerical question needs numbers = [{ value = ..., tolerance = ..., "
                    "fraction = ... }], one of them worth points."
                )
            )
    elif kind == "cloze":
        parts = _read_parts(raw.get("parts"))
        marks = [int(n) for n in CLOZE_MARK.findall(text)] if isinstance(text, str) else []
        if parts is None or not parts or sorted(marks) != list(range(1, len(parts) + 1)):
            problem(
                N_(
                    "A cloze question needs parts = [...], one for each blank {#1}, {#2}... "
                    "of its text, in order."
                )
            )
        else:
            fields["parts"] = parts
    if len(problems) > before:
        return None
    return Question(
        id=qid,
        module=module,
        type=kind,
        text=text,
        points=float(points) if kind != "description" else 0.0,
        line=line,
        feedback=_nfc(raw.get("feedback", "")) or "",
        image=raw.get("image", "") if isinstance(raw.get("image", ""), str) else "",
        group=group,
        name=_nfc(raw.get("name", "")) if isinstance(raw.get("name", ""), str) else "",
        format=text_format,
        **fields,
    )


def _answer_feedback(raw: dict, count: int, problem) -> tuple[str, ...]:
    """`answer_feedback`: one text per answer (true/false: if true, if false), or none."""
    feedback = raw.get("answer_feedback")
    if feedback is None:
        return ()
    if (
        not isinstance(feedback, list)
        or len(feedback) != count
        or not all(isinstance(f, str) for f in feedback)
    ):
        problem(N_("answer_feedback needs one text for each answer (true/false: two)."))
        return ()
    return tuple(_nfc(f) for f in feedback) if any(f.strip() for f in feedback) else ()


def _part_from_dict(data: Mapping[str, Any]) -> ClozePart:
    fields = dict(data)
    fields["answers"] = tuple(data.get("answers", ()))
    fields["fractions"] = tuple(data.get("fractions", ()))
    fields["answer_feedback"] = tuple(data.get("answer_feedback", ()))
    fields["choices"] = tuple(Choice(**c) for c in data.get("choices", ()))
    fields["numbers"] = tuple(NumericAnswer(**n) for n in data.get("numbers", ()))
    return ClozePart(**fields)


def question_from_dict(data: Mapping[str, Any]) -> Question:
    """A question stored as dataclasses.asdict() (the LMS keeps banks as JSON) back as one."""
    fields = dict(data)
    fields["choices"] = tuple(Choice(**c) for c in data.get("choices", ()))
    fields["answers"] = tuple(data.get("answers", ()))
    fields["fractions"] = tuple(data.get("fractions", ()))
    fields["answer_feedback"] = tuple(data.get("answer_feedback", ()))
    fields["pairs"] = tuple(tuple(p) for p in data.get("pairs", ()))
    fields["numbers"] = tuple(NumericAnswer(**n) for n in data.get("numbers", ()))
    fields["parts"] = tuple(_part_from_dict(p) for p in data.get("parts", ()))
    return Question(**fields)

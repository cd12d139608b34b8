"""The final-test question bank (final-test.toml): reading and validating it.

Drawing, shuffling and grading belong to the test engine; this module turns the author's file
into checked, frozen values and reports every problem with its line.
"""

from __future__ import annotations

import math
import re
import tomllib
import unicodedata
from dataclasses import dataclass
from typing import Any

from courses.errors import N_, BundleError, Problem

TYPES = ("single", "multiple", "truefalse", "short", "matching")
_COMMON = {"id", "module", "type", "points", "text", "feedback", "image"}
_KEYS = {
    "single": _COMMON | {"choices"},
    "multiple": _COMMON | {"choices", "partial"},
    "truefalse": _COMMON | {"answer"},
    "short": _COMMON | {"answers", "case_sensitive", "ignore_diacritics"},
    "matching": _COMMON | {"pairs"},
}


@dataclass(frozen=True)
class Choice:
    """An option of a single- or multiple-choice question."""

    text: str
    correct: bool


@dataclass(frozen=True)
class Question:
    """One question of the bank."""

    id: str
    module: str
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
    pairs: tuple[tuple[str, str], ...] = ()
    image: str = ""  # a path in the bundle (media/...), shown above the question


@dataclass(frozen=True)
class QuestionBank:
    """The questions of a final test, in file order."""

    path: str
    questions: tuple[Question, ...]

    def modules(self) -> dict[str, int]:
        """How many questions each module (category) has."""
        counts: dict[str, int] = {}
        for question in self.questions:
            counts[question.module] = counts.get(question.module, 0) + 1
        return counts


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
    module = _nfc(raw.get("module"))
    if not isinstance(qid, str) or not qid:
        problem(N_("Every question needs an id."))
    if not isinstance(text, str) or not text:
        problem(N_("Every question needs a text."))
    if not isinstance(module, str) or not module:
        problem(N_("Every question needs a module."))
    elif modules is not None and module not in modules:
        problem(N_("The module %(module)s does not exist in this course."), module=module)
    points = raw.get("points", 1)
    if (
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
                unknown = set(choice) - {"text", "correct"}
                if unknown:
                    problem(N_("Unknown key %(key)s in a choice."), key=", ".join(sorted(unknown)))
                parsed.append(Choice(_nfc(choice["text"]), bool(choice.get("correct", False))))
            correct = sum(c.correct for c in parsed)
            if kind == "single" and correct != 1:
                problem(N_("A single-choice question needs exactly one correct choice."))
            if kind == "multiple" and correct < 1:
                problem(N_("A multiple-choice question needs at least one correct choice."))
            fields["choices"] = tuple(parsed)
        fields["partial"] = bool(raw.get("partial", False))
    elif kind == "truefalse":
        if not isinstance(raw.get("answer"), bool):
            problem(N_("A true/false question needs answer = true or answer = false."))
        fields["answer"] = raw.get("answer")
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
        fields["case_sensitive"] = bool(raw.get("case_sensitive", False))
        fields["ignore_diacritics"] = bool(raw.get("ignore_diacritics", False))
    elif kind == "matching":
        pairs = raw.get("pairs")
        if (
            not isinstance(pairs, list)
            or len(pairs) < 2
            or not all(
                isinstance(p, dict)
                and isinstance(p.get("left"), str)
                and isinstance(p.get("right"), str)
                for p in pairs
            )
        ):
            problem(N_("A matching question needs at least two pairs with left and right."))
        else:
            fields["pairs"] = tuple((_nfc(p["left"]), _nfc(p["right"])) for p in pairs)
    if len(problems) > before:
        return None
    return Question(
        id=qid,
        module=module,
        type=kind,
        text=text,
        points=float(points),
        line=line,
        feedback=_nfc(raw.get("feedback", "")) or "",
        image=raw.get("image", "") if isinstance(raw.get("image", ""), str) else "",
        **fields,
    )


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(
        ch if (ch >= " " and ch != "\x7f") or ch == "\t" else f"\\u{ord(ch):04x}" for ch in escaped
    )
    return f'"{escaped}"'


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return _toml_string(str(value))


def dump_bank(questions: list[Question] | tuple[Question, ...]) -> str:
    """The bank as final-test.toml text (read back by read_bank to the same questions)."""
    out: list[str] = []
    for q in questions:
        out.append("[[questions]]")
        for key in ("id", "module", "type"):
            out.append(f"{key} = {_toml_value(getattr(q, key))}")
        out.append(f"points = {_toml_value(q.points)}")
        out.append(f"text = {_toml_string(q.text)}")
        if q.type in ("single", "multiple"):
            out.append("choices = [")
            for choice in q.choices:
                mark = ", correct = true" if choice.correct else ""
                out.append(f"  {{ text = {_toml_string(choice.text)}{mark} }},")
            out.append("]")
            if q.type == "multiple" and q.partial:
                out.append("partial = true")
        elif q.type == "truefalse":
            out.append(f"answer = {_toml_value(q.answer)}")
        elif q.type == "short":
            out.append("answers = [" + ", ".join(_toml_string(a) for a in q.answers) + "]")
            if q.case_sensitive:
                out.append("case_sensitive = true")
            if q.ignore_diacritics:
                out.append("ignore_diacritics = true")
        elif q.type == "matching":
            out.append("pairs = [")
            for left, right in q.pairs:
                out.append(f"  {{ left = {_toml_string(left)}, right = {_toml_string(right)} }},")
            out.append("]")
        if q.feedback:
            out.append(f"feedback = {_toml_string(q.feedback)}")
        if q.image:
            out.append(f"image = {_toml_string(q.image)}")
        out.append("")
    return "\n".join(out)

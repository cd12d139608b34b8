"""Import of Moodle XML question files, read as Moodle's own reader (question/format/xml) does.

Read with lxml without network access or entity expansion. Types: multichoice (single or
several answers, fractions in percent, negative included), truefalse, shortanswer (fractions,
`*` wildcards, usecase), numerical (answers with tolerance and fractions; units are not
graded), matching (a subquestion without text is one more answer to choose from) and
description, with categories, default grades, general feedback, the text formats html,
moodle_auto_format, plain_text and markdown, and images embedded as base64 <file> elements
(@@PLUGINFILE@@/name), and cloze (embedded answers: short-answer, numerical and choice blanks
with their weights, courses/cloze.py). Types that cannot be graded automatically (essay,
calculated, drag-and-drop, ...) are reported with their name and line and skipped.
"""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import replace

from lxml import etree

from courses import cloze
from courses.errors import N_, Problem
from courses.importing import FULL, Importer, ImportResult, category_path, inline
from courses.questions import Choice, NumericAnswer, Question

__all__ = ["ImportResult", "parse"]

SUPPORTED = {
    "multichoice",
    "truefalse",
    "shortanswer",
    "matching",
    "numerical",
    "description",
    "cloze",
}


# Feedback Hocvu does not show: per result (Moodle's combined feedback).
_ANSWER_FEEDBACK = (
    "correctfeedback/text",
    "partiallycorrectfeedback/text",
    "incorrectfeedback/text",
)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
    )


def _text(element, path: str = "text") -> str:
    node = element.find(path) if element is not None else None
    return node.text or "" if node is not None else ""


def _formatted(element, default: str = "html") -> tuple[str, str]:
    """(text, format) of an element with a format attribute and a <text> child."""
    if element is None:
        return "", default
    return _text(element), element.get("format", default)


def _number(raw: str | None, default: float) -> float | None:
    """A finite number, `default` for an empty value, None for anything else."""
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _files(element) -> dict[str, bytes]:
    """The base64 <file> elements anywhere in a question, by name (and by path + name)."""
    found: dict[str, bytes] = {}
    for node in element.iter("file"):
        name = node.get("name", "")
        if not name or node.get("encoding", "base64") != "base64":
            continue
        try:
            data = base64.b64decode("".join((node.text or "").split()), validate=True)
        except (binascii.Error, ValueError):
            continue
        found.setdefault(name, data)
        found.setdefault((node.get("path", "/") + name).lstrip("/"), data)
    return found


def parse(path: str, data: bytes, default_category: str = "") -> ImportResult:
    """Read a Moodle XML file; `path` names it in problems. Questions before any category get
    `default_category` as their group."""
    importer = Importer(path)
    result = importer.result
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as error:
        line = error.lineno if hasattr(error, "lineno") else None
        result.problems.append(
            Problem(path, line, N_("XML syntax error: %(detail)s"), {"detail": str(error)})
        )
        return result
    if root.tag != "quiz":
        result.problems.append(
            Problem(path, root.sourceline, N_("The root element must be <quiz>."))
        )
        return result
    default_category = default_category or path.rsplit(".", 1)[0]
    category = default_category
    for element in root.iter("question"):
        kind = element.get("type", "")
        line = element.sourceline or 0
        if kind == "category":
            # `$course$/top` alone is Moodle's top category: the file's default one here.
            category = category_path(_text(element.find("category"))) or default_category
            continue
        title = " ".join(_text(element.find("name")).split())
        if kind not in SUPPORTED:
            importer.problem(
                line,
                title,
                N_("Questions of type %(type)s are not supported; skipped."),
                type=kind or "?",
            )
            continue
        qid, name = importer.unique(title, line, "xml")
        points = _number(_text(element, "defaultgrade"), 1.0)
        if kind == "description":
            points = 0.0
        elif points is None or points <= 0:
            importer.problem(
                line,
                name,
                N_("The grade of this question is not a positive number; 1 point is used."),
            )
            points = 1.0
        common = {
            "id": qid,
            "name": name,
            "module": "",
            "group": category,
            "line": line,
            "points": points,
        }
        parts = [
            _formatted(element.find("questiontext")),
            _formatted(element.find("generalfeedback")),
        ]
        if not parts[0][0].strip():
            importer.problem(line, name, N_("The question has no text; skipped."))
            continue
        reader = {
            "description": _description,
            "multichoice": _multichoice,
            "truefalse": _truefalse,
            "shortanswer": _short,
            "numerical": _numerical,
            "matching": _matching,
            "cloze": _cloze,
        }[kind]
        question = reader(importer, element, parts, common, _files(element))
        if question is not None:
            importer.add(question)
            for path in _ANSWER_FEEDBACK:
                for node in element.findall(path):
                    importer.answer_feedback(name, node.text or "")
    return importer.finish()


def _answers(importer: Importer, element, common) -> list[tuple[str, str, float, object]]:
    """(text, format, fraction -1..1, element) of each <answer>; odd fractions reported."""
    answers = []
    for answer in element.findall("answer"):
        fraction = _number(answer.get("fraction", "0"), 0.0)
        if fraction is None:
            importer.problem(
                common["line"],
                common["name"],
                N_("An answer's fraction is not a number; it counts as wrong."),
            )
            fraction = 0.0
        fraction = max(-1.0, min(1.0, fraction / 100))
        text, text_format = _formatted(answer, "moodle_auto_format")
        answers.append((text, text_format, fraction, answer))
    return answers


def _description(importer, element, parts, common, files) -> Question | None:
    (text, feedback), text_format = importer.texts(parts, common["line"], common["name"], files)
    return Question(type="description", text=text, feedback=feedback, format=text_format, **common)


def _multichoice(importer, element, parts, common, files) -> Question | None:
    line, name = common["line"], common["name"]
    single = _text(element, "single").strip().lower() in ("true", "1")
    answers = _answers(importer, element, common)
    if len(answers) < 2:
        importer.problem(line, name, N_("A choice question needs at least two choices; skipped."))
        return None
    if not any(f > 0 for _, _, f, _ in answers):
        importer.problem(
            line, name, N_("No answer is marked right (= or a positive weight); skipped.")
        )
        return None
    if not single:
        total = sum(f for _, _, f, _ in answers if f > 0)
        if abs(total - 1) > 0.005:
            importer.problem(
                line,
                name,
                N_(
                    "The positive weights add up to %(total)s %%, not 100 %%: choosing every "
                    "right answer earns %(earned)s %% of the points (as in Moodle)."
                ),
                total=f"{total * 100:g}",
                earned=f"{min(total, 1) * 100:g}",
            )
    count = len(answers)
    texts, text_format = importer.texts(
        [*parts, *((t, f) for t, f, _, _ in answers), *(_feedback(a) for *_, a in answers)],
        line,
        name,
        files,
    )
    choices = tuple(
        Choice(
            inline(text, text_format), f >= FULL if single else f > 0, f, inline(fb, text_format)
        )
        for text, fb, (_, _, f, _) in zip(
            texts[2 : 2 + count], texts[2 + count :], answers, strict=True
        )
    )
    return Question(
        type="single" if single else "multiple",
        text=texts[0],
        feedback=texts[1],
        format=text_format,
        choices=choices,
        **common,
    )


def _truefalse(importer, element, parts, common, files) -> Question | None:
    answers = _answers(importer, element, common)
    right = [t.strip().lower() for t, _, f, _ in answers if f >= FULL]
    if len(right) != 1 or right[0] not in ("true", "false"):
        importer.problem(
            common["line"], common["name"], N_("The true/false answer could not be read; skipped.")
        )
        return None
    by_value = {t.strip().lower(): _feedback(a) for t, _, _, a in answers}
    missing = ("", "html")
    (text, feedback, if_true, if_false), text_format = importer.texts(
        [*parts, by_value.get("true", missing), by_value.get("false", missing)],
        common["line"],
        common["name"],
        files,
    )
    return Question(
        type="truefalse",
        text=text,
        feedback=feedback,
        format=text_format,
        answer=right[0] == "true",
        answer_feedback=_by_answer([if_true, if_false], text_format),
        **common,
    )


def _feedback(answer) -> tuple[str, str]:
    """(text, format) of an <answer>'s <feedback>."""
    return _formatted(answer.find("feedback"))


def _by_answer(texts: list[str], text_format: str) -> tuple[str, ...]:
    """Feedback per answer, or () when no answer has any."""
    return tuple(inline(t, text_format) for t in texts) if any(texts) else ()


def _short(importer, element, parts, common, files) -> Question | None:
    line, name = common["line"], common["name"]
    answers = [
        (" ".join(t.split()), f, _feedback(a))
        for t, _, f, a in _answers(importer, element, common)
        if t.strip()
    ]
    if not answers or max(f for _, f, _ in answers) <= 0:
        importer.problem(line, name, N_("No answer is worth points; skipped."))
        return None
    best = max(f for _, f, _ in answers)
    if best < FULL:
        importer.problem(
            line,
            name,
            N_("No answer is worth full points: the best answer earns %(best)s %% of them."),
            best=f"{best * 100:g}",
        )
    (text, feedback, *by_answer), text_format = importer.texts(
        [*parts, *(fb for _, _, fb in answers)], line, name, files
    )
    fractions = tuple(f for _, f, _ in answers)
    return Question(
        type="short",
        text=text,
        feedback=feedback,
        format=text_format,
        answers=tuple(t for t, _, _ in answers),
        fractions=fractions if any(f != 1 for f in fractions) else (),
        answer_feedback=_by_answer(by_answer, text_format),
        case_sensitive=_text(element, "usecase").strip() == "1",
        **common,
    )


def _numerical(importer, element, parts, common, files) -> Question | None:
    line, name = common["line"], common["name"]
    numbers = []
    feedbacks = []
    for text, _, fraction, answer in _answers(importer, element, common):
        if text.strip() == "*":
            # Moodle's "any other answer", worth nothing here; its feedback is not shown.
            importer.answer_feedback(name, _feedback(answer)[0])
            continue
        value = _number(text, float("nan"))
        tolerance = _number(_text(answer, "tolerance"), 0.0)
        if value is None or math.isnan(value) or tolerance is None:
            importer.problem(
                line,
                name,
                N_("%(answer)s is not a number, a number:tolerance or a min..max range; skipped."),
                answer=text.strip(),
            )
            return None
        numbers.append(NumericAnswer(value, abs(tolerance), fraction))
        feedbacks.append(_feedback(answer))
    if not any(n.fraction > 0 for n in numbers):
        importer.problem(line, name, N_("No answer is worth points; skipped."))
        return None
    if _text(element, "unitgradingtype").strip() not in ("", "0"):
        importer.problem(
            line, name, N_("Units are not graded: a number with any unit or none is accepted.")
        )
    (text, feedback, *by_answer), text_format = importer.texts(
        [*parts, *feedbacks], line, name, files
    )
    return Question(
        type="numerical",
        text=text,
        feedback=feedback,
        format=text_format,
        numbers=tuple(
            replace(n, feedback=inline(f, text_format))
            for n, f in zip(numbers, by_answer, strict=True)
        ),
        **common,
    )


def _matching(importer, element, parts, common, files) -> Question | None:
    line, name = common["line"], common["name"]
    lefts, rights = [], []
    for sub in element.findall("subquestion"):
        lefts.append(_formatted(sub))
        rights.append(" ".join(_text(sub.find("answer")).split()))
    real = sum(1 for (left, _), right in zip(lefts, rights, strict=True) if left.strip() and right)
    if real < 2:
        importer.problem(
            line, name, N_("A matching question needs at least two pairs with left and right.")
        )
        return None
    texts, text_format = importer.texts([*parts, *lefts], line, name, files)
    pairs = tuple(
        (inline(left, text_format), right)
        for left, right in zip(texts[2:], rights, strict=True)
        if right
    )
    return Question(
        type="matching", text=texts[0], feedback=texts[1], format=text_format, pairs=pairs, **common
    )


def _cloze(importer, element, parts, common, files) -> Question | None:
    line, name = common["line"], common["name"]
    text, text_format = parts[0]
    try:
        marked, blanks = cloze.parse(text)
    except cloze.ClozeError as error:
        importer.problem(
            line,
            name,
            N_("A blank %(type)s of this cloze question cannot be read here; skipped."),
            type=error.type,
        )
        return None
    if not blanks:
        importer.problem(line, name, N_("This cloze question has no blank to answer; skipped."))
        return None
    (text, feedback), text_format = importer.texts(
        [(marked, text_format), parts[1]], line, name, files
    )
    if element.find("defaultgrade") is None:
        # qtype_multianswer: the question's mark is the sum of its blanks' marks.
        common = {**common, "points": sum(part.weight for part in blanks)}
    return Question(
        type="cloze", text=text, feedback=feedback, format=text_format, parts=blanks, **common
    )

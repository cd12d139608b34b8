"""Import of Moodle XML question files.

Read with lxml without network access or entity expansion. Supported types: multichoice
(single or multiple answers), truefalse, shortanswer and matching, with categories, default
grades and feedback. Other types (essay, numerical, calculated, cloze, drag-and-drop, ...) and
details Hocvu cannot represent are reported with their line; such questions are skipped.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata

from lxml import etree

from courses.errors import N_, Problem
from courses.gift import ImportResult
from courses.questions import Choice, Question

_TAGS = re.compile(r"<[^>]+>")
SUPPORTED = {"multichoice", "truefalse", "shortanswer", "matching"}


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


def _plain(raw: str) -> tuple[str, bool]:
    stripped = _TAGS.sub(" ", raw)
    cleaned = html.unescape(stripped)
    return unicodedata.normalize("NFC", " ".join(cleaned.split())), stripped != raw


def _number(raw: str | None, default: float) -> float | None:
    """A finite number, `default` for an empty value, None for anything else."""
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse(path: str, data: bytes, default_category: str = "") -> ImportResult:
    """Read a Moodle XML file; `path` names it in problems."""
    result = ImportResult()
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
    category = default_category
    for element in root.iter("question"):
        kind = element.get("type", "")
        line = element.sourceline

        def problem(message: str, **params) -> None:
            result.problems.append(Problem(path, line, message, params))  # noqa: B023

        if kind == "category":
            category = _text(element.find("category")).strip().rstrip("/").split("/")[-1]
            continue
        if kind not in SUPPORTED:
            problem(N_("Questions of type %(type)s are not supported; skipped."), type=kind or "?")
            continue
        if not category:
            problem(N_("No category before this question: name a category after a module."))
            continue
        name = _plain(_text(element.find("name")))[0]
        text, had_html = _plain(_text(element.find("questiontext")))
        if had_html:
            problem(N_("HTML formatting was removed from the question text."))
        if element.find("questiontext/file") is not None:
            problem(N_("Images embedded in the question were not imported."))
        if not text:
            problem(N_("The question has no text; skipped."))
            continue
        points = _number(_text(element, "defaultgrade"), 1.0)
        if points is None or points <= 0:
            problem(N_("The grade of this question is not a positive number; 1 point is used."))
            points = 1.0
        qid = re.sub(r"[^a-z0-9-]+", "-", (name or f"xml-{line}").lower()).strip("-")
        common = {
            "id": qid or f"xml-{line}",
            "module": category,
            "text": text,
            "points": points,
            "line": line or 0,
            "feedback": _plain(_text(element.find("generalfeedback")))[0],
        }
        answers = []
        for answer in element.findall("answer"):
            fraction = _number(answer.get("fraction", "0"), 0.0)
            if fraction is None:
                problem(N_("An answer's fraction is not a number; it counts as wrong."))
                fraction = 0.0
            answers.append((_plain(_text(answer))[0], fraction))
        if kind == "truefalse":
            right = [t for t, f in answers if f >= 100]
            if len(right) != 1 or right[0].lower() not in ("true", "false"):
                problem(N_("The true/false answer could not be read; skipped."))
                continue
            result.questions.append(
                Question(type="truefalse", answer=right[0].lower() == "true", **common)
            )
        elif kind == "shortanswer":
            accepted = tuple(t for t, f in answers if f >= 100)
            if any(0 < f < 100 for _, f in answers):
                problem(N_("Answers worth part of the points were left out."))
            if not accepted:
                problem(N_("No answer is worth full points; skipped."))
                continue
            case = _text(element, "usecase").strip() == "1"
            result.questions.append(
                Question(type="short", answers=accepted, case_sensitive=case, **common)
            )
        elif kind == "matching":
            pairs = []
            for sub in element.findall("subquestion"):
                left = _plain(_text(sub))[0]
                right = _plain(_text(sub.find("answer")))[0]
                if left:
                    pairs.append((left, right))
                else:
                    problem(N_("Extra wrong answers of a matching question were left out."))
            if len(pairs) < 2:
                problem(N_("A matching question needs at least two pairs with left and right."))
                continue
            result.questions.append(Question(type="matching", pairs=tuple(pairs), **common))
        else:  # multichoice
            single = _text(element, "single").strip().lower() in ("true", "1")
            choices = tuple(Choice(t, f > 0) for t, f in answers)
            right = [f for _, f in answers if f > 0]
            if not right:
                problem(N_("No answer is marked right (= or a positive weight); skipped."))
                continue
            if single:
                if len(right) != 1 or right[0] < 100:
                    problem(N_("Answers worth part of the points were left out."))
                    choices = tuple(Choice(t, f >= 100) for t, f in answers)
                    if not any(c.correct for c in choices):
                        continue
                result.questions.append(Question(type="single", choices=choices, **common))
            else:
                if abs(sum(right) - 100) > 1 or len({round(f) for f in right}) > 1:
                    problem(
                        N_("Unequal answer weights are not supported: right answers count equally.")
                    )
                result.questions.append(
                    Question(type="multiple", choices=choices, partial=True, **common)
                )
    return result

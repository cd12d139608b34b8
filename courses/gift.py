"""Import of GIFT question files (Moodle's plain-text format).

Supported: multiple choice (one right answer, or several with weights), true/false, short
answer and matching, with titles, comments, categories, per-answer and general feedback, and
the escapes \\~ \\= \\# \\{ \\} \\:. Everything else (numerical, essay, missing-word questions,
answer weights Hocvu cannot represent) is reported with its line and the question is skipped,
never silently changed.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field

from courses.errors import N_, Problem
from courses.questions import Choice, Question

_ESCAPES = {
    "\\~": "\x01",
    "\\=": "\x02",
    "\\#": "\x03",
    "\\{": "\x04",
    "\\}": "\x05",
    "\\:": "\x06",
    "\\n": "\n",
}
_UNESCAPE = {v: k[1] for k, v in _ESCAPES.items() if k != "\\n"}
_TAGS = re.compile(r"<[^>]+>")


@dataclass
class ImportResult:
    """The questions read, and every problem (a skipped question or a changed detail)."""

    questions: list[Question] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _protect(text: str) -> str:
    for escape, marker in _ESCAPES.items():
        text = text.replace(escape, marker)
    return text


def _restore(text: str) -> str:
    for marker, char in _UNESCAPE.items():
        text = text.replace(marker, char)
    return unicodedata.normalize("NFC", " ".join(text.split()))


def _plain(text: str) -> tuple[str, bool]:
    """Text without a [format] prefix and HTML tags; True when HTML was removed."""
    text = re.sub(r"^\[(html|moodle|plain|markdown)\]", "", text.strip())
    stripped = _TAGS.sub(" ", text)
    plain = html.unescape(stripped) if stripped != text else text
    return " ".join(plain.split()), stripped != text


def _split_feedback(text: str) -> tuple[str, str]:
    body, _, feedback = text.partition("#")
    return body, feedback


def parse(path: str, text: str, default_category: str = "") -> ImportResult:
    """Read a GIFT file; `path` names it in problems."""
    result = ImportResult()
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    category = default_category
    block: list[tuple[int, str]] = []

    def flush() -> None:
        if block:
            _question(path, block, category, result)
            block.clear()

    for number, raw in enumerate(lines, start=1):
        stripped = raw.strip()
        if stripped.startswith("//"):
            continue
        if stripped.startswith("$CATEGORY:"):
            flush()
            category = stripped.split(":", 1)[1].strip().rstrip("/").split("/")[-1]
            continue
        if not stripped:
            flush()
            continue
        block.append((number, raw))
    flush()
    return result


def _question(path: str, block: list[tuple[int, str]], category: str, result: ImportResult):
    line = block[0][0]
    source = _protect("\n".join(text for _, text in block))

    def problem(message: str, **params) -> None:
        result.problems.append(Problem(path, line, message, params))

    title = ""
    if match := re.match(r"\s*::(.*?)::", source, re.S):
        title = _restore(match.group(1))
        source = source[match.end() :]
    start, end = source.find("{"), source.rfind("}")
    if start < 0 or end < start:
        problem(N_("No answers in braces {...}: this question was skipped."))
        return
    stem, answers, after = source[:start], source[start + 1 : end].strip(), source[end + 1 :]
    if after.strip():
        problem(N_("Missing-word questions (text after the answers) are not supported; skipped."))
        return
    stem_text, had_html = _plain(_restore(stem))
    if had_html:
        problem(N_("HTML formatting was removed from the question text."))
    if not stem_text:
        problem(N_("The question has no text; skipped."))
        return
    general = ""
    if "####" in answers:
        answers, general = answers.split("####", 1)
    qid = (
        re.sub(r"[^a-z0-9-]+", "-", (title or f"gift-{line}").lower()).strip("-") or f"gift-{line}"
    )
    common = {
        "id": qid,
        "module": category,
        "text": stem_text,
        "points": 1.0,
        "line": line,
        "feedback": _restore(general),
    }
    if not category:
        problem(N_("No $CATEGORY before this question: name a category after a module."))
        return
    if answers.startswith("#"):
        problem(N_("Numerical questions are not supported; skipped."))
        return
    if not answers:
        problem(N_("Essay questions are not supported; skipped."))
        return
    truefalse = re.fullmatch(r"(T|TRUE|F|FALSE)(#.*)?", answers.strip(), re.S)
    if truefalse:
        value = truefalse.group(1) in ("T", "TRUE")
        result.questions.append(Question(type="truefalse", answer=value, **common))
        return
    items = re.findall(r"([=~])([^=~]*)", answers)
    if not items:
        problem(N_("The answers could not be read; skipped."))
        return
    if all(kind == "=" for kind, _ in items) and all("->" in body for _, body in items):
        pairs = []
        for _, body in items:
            left, _, right = _split_feedback(body)[0].partition("->")
            pairs.append((_restore(left), _restore(right)))
        result.questions.append(Question(type="matching", pairs=tuple(pairs), **common))
        return
    if all(kind == "=" for kind, _ in items):
        accepted = tuple(_restore(_split_feedback(body)[0]) for _, body in items)
        result.questions.append(Question(type="short", answers=accepted, **common))
        return
    choices = []
    weights = []
    for kind, body in items:
        body, _feedback = _split_feedback(body)
        weight = 100.0 if kind == "=" else 0.0
        if match := re.match(r"\s*%(-?\d+(?:\.\d+)?)%", body):
            weight = float(match.group(1))
            body = body[match.end() :]
        choices.append(Choice(_restore(body), weight > 0))
        weights.append(weight)
    right = [w for w in weights if w > 0]
    if not right:
        problem(N_("No answer is marked right (= or a positive weight); skipped."))
        return
    if len(right) == 1 and right[0] == 100:
        result.questions.append(Question(type="single", choices=tuple(choices), **common))
        return
    if abs(sum(right) - 100) > 1 or len(set(right)) > 1:
        problem(N_("Unequal answer weights are not supported: right answers count equally."))
    result.questions.append(
        Question(type="multiple", choices=tuple(choices), partial=True, **common)
    )

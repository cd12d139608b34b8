"""Import of GIFT question files (Moodle's plain-text format), read as Moodle reads them.

Moodle's reader (question/format/gift/format.php) and the GIFT page of the Moodle docs are the
reference: questions are separated by blank lines; `//` starts a comment line; `::name::`;
`$CATEGORY: path`; the answers between the first `{` and the first `}` (text after them makes a
missing-word question, the gap shown as _____); `####` starts the general feedback; a `[html]`,
`[moodle]`, `[plain]` or `[markdown]` prefix sets a text's format (moodle by default, and the
answers take the question's format); `\\:` `\\#` `\\=` `\\{` `\\}` `\\~` `\\n` and `\\\\` are
escapes. Types: multiple choice (single when an answer starts with `=`, weights `%n%`,
negative included), true/false, short answer (weights, `*` wildcards), matching (a row without
a left side is one more answer to choose from), numerical (`:` tolerance, `..` range, weights)
and description (no braces). Essays (`{}`) are reported and skipped.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import replace

from courses.errors import N_
from courses.importing import FULL, Importer, ImportResult, category_path, inline
from courses.questions import Choice, NumericAnswer, Question

__all__ = ["ImportResult", "parse"]

# Moodle's escapedchar_pre/escapedchar_post: placeholders while the answers are split.
_ESCAPES = {
    "\\:": "\x01",
    "\\#": "\x02",
    "\\=": "\x03",
    "\\{": "\x04",
    "\\}": "\x05",
    "\\~": "\x06",
    "\\n": "\x07",
}
_UNESCAPE = {"\x01": ":", "\x02": "#", "\x03": "=", "\x04": "{", "\x05": "}", "\x06": "~"}
_BACKSLASH = "\x08"
_WEIGHT = re.compile(r"^%(-?\d+(?:\.\d*)?)%")
_FORMAT = re.compile(r"^\[(html|moodle|plain|markdown)\]")


def _protect(text: str) -> str:
    text = text.replace("\\\\", _BACKSLASH)
    for escape, marker in _ESCAPES.items():
        text = text.replace(escape, marker)
    return text


def _restore(text: str, *, keep_lines: bool = False) -> str:
    for marker, char in _UNESCAPE.items():
        text = text.replace(marker, char)
    text = text.replace(_BACKSLASH, "\\")
    if keep_lines:
        return unicodedata.normalize("NFC", text.replace("\x07", "\n").strip())
    return unicodedata.normalize("NFC", " ".join(text.replace("\x07", "\n").split()))


def _with_format(text: str, default: str) -> tuple[str, str]:
    """Moodle's parse_text_with_format: a [format] prefix, else the default format."""
    text = text.strip()
    if match := _FORMAT.match(text):
        return _restore(text[match.end() :], keep_lines=True), match.group(1)
    return _restore(text, keep_lines=True), default


def _split_feedback(text: str) -> tuple[str, str]:
    body, _, feedback = text.partition("#")
    return body, feedback


def _weight(text: str, default: float) -> tuple[float, str]:
    """Moodle's answerweightparser: a leading %n% (a percentage) and the text after it."""
    if match := _WEIGHT.match(text.strip()):
        return float(match.group(1)) / 100, text.strip()[match.end() :]
    return default, text


def parse(path: str, text: str, default_category: str = "") -> ImportResult:
    """Read a GIFT file; `path` names it in problems. Questions before any $CATEGORY get
    `default_category` as their group."""
    importer = Importer(path)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    default_category = default_category or path.rsplit(".", 1)[0]
    category = default_category
    block: list[tuple[int, str]] = []

    def flush() -> None:
        if block:
            _question(importer, block, category)
            block.clear()

    for number, raw in enumerate(lines, start=1):
        stripped = raw.strip()
        if stripped.startswith("//"):
            continue
        if stripped.startswith("$CATEGORY:"):
            flush()
            # `$course$/top` alone is Moodle's top category: the file's default one here.
            category = category_path(stripped.split(":", 1)[1]) or default_category
            continue
        if not stripped:
            flush()
            continue
        block.append((number, raw))
    flush()
    return importer.finish()


def _question(importer: Importer, block: list[tuple[int, str]], category: str) -> None:
    line = block[0][0]
    source = _protect("\n".join(text for _, text in block).strip())
    title = ""
    if source.startswith("::") and (finish := source.find("::", 2)) >= 0:
        title = _restore(source[2:finish])
        source = source[finish + 2 :].strip()
    start, end = source.find("{"), source.find("}")
    if (start < 0) != (end < 0) or end < start:
        importer.problem(
            line, title, N_("The braces { } around the answers do not match; skipped.")
        )
        return
    if start < 0:
        kind, answers, stem = "description", "", source
    else:
        answers = source[start + 1 : end].strip()
        after = source[end + 1 :]
        # Moodle's missing-word format: answers inside the sentence leave a gap.
        gap = "_____ " if after.strip() else ""
        stem = (source[:start] + gap + after).strip()
        kind = _kind(answers)
    general = ""
    if "####" in answers:
        answers, general = answers.rsplit("####", 1)
        answers = answers.strip()
    stem_text, stem_format = _with_format(stem, "moodle")
    qid, name = importer.unique(title, line, "gift")
    if kind == "essay":
        importer.problem(line, name, N_("Essay questions cannot be graded automatically; skipped."))
        return
    if not stem_text:
        importer.problem(line, name, N_("The question has no text; skipped."))
        return
    common = {
        "id": qid,
        "name": name,
        "module": "",
        "group": category,
        "line": line,
        "points": 0.0 if kind == "description" else 1.0,
    }
    parts = [(stem_text, stem_format), _with_format(general, stem_format)]
    reader = {
        "description": _description,
        "multichoice": _multichoice,
        "match": _matching,
        "truefalse": _truefalse,
        "shortanswer": _short,
        "numerical": _numerical,
    }[kind]
    question = reader(importer, answers, parts, common)
    if question is not None:
        importer.add(question)


def _kind(answers: str) -> str:
    """The question type, decided as Moodle's readquestion decides it."""
    if not answers:
        return "essay"
    if answers.startswith("#"):
        return "numerical"
    if "~" in answers:
        return "multichoice"
    if "=" in answers and "->" in answers:
        return "match"
    check = answers.split("#", 1)[0].strip() if "#" in answers[1:] else answers
    return "truefalse" if check in ("T", "TRUE", "F", "FALSE") else "shortanswer"


def _texts(importer: Importer, parts, common) -> tuple[list[str], str]:
    return importer.texts(parts, common["line"], common["name"])


def _description(importer: Importer, answers: str, parts, common) -> Question | None:
    (text, feedback), text_format = _texts(importer, parts, common)
    return Question(type="description", text=text, feedback=feedback, format=text_format, **common)


def _multichoice(importer: Importer, answers: str, parts, common) -> Question | None:
    line, name = common["line"], common["name"]
    single = "=" in answers
    items = [a.strip() for a in answers.replace("=", "~=").split("~")]
    items = [a for a in items if a]
    if len(items) < 2:
        importer.problem(line, name, N_("A choice question needs at least two choices; skipped."))
        return None
    weights = []
    choice_parts = []
    feedback_parts = []
    for item in items:
        if item.startswith("="):
            # Moodle gives `=` full marks; a weight after it is honoured here as well.
            weight, item = _weight(item[1:], 1.0)
        else:
            weight, item = _weight(item, 0.0)
        if not -1 <= weight <= 1:
            importer.problem(
                line,
                name,
                N_("A weight of %(weight)s %% is outside -100..100 %%; it was limited."),
                weight=f"{weight * 100:g}",
            )
            weight = max(-1.0, min(1.0, weight))
        body, feedback = _split_feedback(item)
        choice_parts.append(_with_format(body, parts[0][1]))
        feedback_parts.append(_with_format(feedback, parts[0][1]))
        weights.append(weight)
    texts, text_format = _texts(importer, [*parts, *choice_parts, *feedback_parts], common)
    count = len(choice_parts)
    if not any(w > 0 for w in weights):
        importer.problem(
            line, name, N_("No answer is marked right (= or a positive weight); skipped.")
        )
        return None
    if not single:
        total = sum(w for w in weights if w > 0)
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
    choices = tuple(
        Choice(
            inline(text, text_format), w >= FULL if single else w > 0, w, inline(fb, text_format)
        )
        for text, fb, w in zip(texts[2 : 2 + count], texts[2 + count :], weights, strict=True)
    )
    return Question(
        type="single" if single else "multiple",
        text=texts[0],
        feedback=texts[1],
        format=text_format,
        choices=choices,
        **common,
    )


def _matching(importer: Importer, answers: str, parts, common) -> Question | None:
    line, name = common["line"], common["name"]
    items = [a.strip() for a in answers.split("=") if a.strip()]
    if any("->" not in item for item in items):
        importer.problem(line, name, N_("Every answer of a matching question needs ->; skipped."))
        return None
    lefts, rights = [], []
    for item in items:
        left, _, right = item.partition("->")
        lefts.append(_with_format(left, parts[0][1]))
        rights.append(_restore(right))
    if sum(1 for text, _ in lefts if text) < 2:
        importer.problem(
            line, name, N_("A matching question needs at least two pairs with left and right.")
        )
        return None
    texts, text_format = _texts(importer, [*parts, *lefts], common)
    pairs = tuple(
        (inline(left, text_format), right) for left, right in zip(texts[2:], rights, strict=True)
    )
    return Question(
        type="matching", text=texts[0], feedback=texts[1], format=text_format, pairs=pairs, **common
    )


def _truefalse(importer: Importer, answers: str, parts, common) -> Question | None:
    pieces = answers.split("#")
    value = pieces[0].strip() in ("T", "TRUE")
    # Moodle's GIFT reader: {T#feedback if wrong#feedback if right}.
    wrong, right = (pieces + ["", ""])[1:3]
    if_true, if_false = (right, wrong) if value else (wrong, right)
    extra = [_with_format(if_true, parts[0][1]), _with_format(if_false, parts[0][1])]
    (text, feedback, *by_answer), text_format = _texts(importer, [*parts, *extra], common)
    return Question(
        type="truefalse",
        text=text,
        feedback=feedback,
        format=text_format,
        answer=value,
        answer_feedback=_feedback_tuple(by_answer, text_format),
        **common,
    )


def _feedback_tuple(texts: list[str], text_format: str) -> tuple[str, ...]:
    """Feedback per answer, or () when no answer has any."""
    return tuple(inline(t, text_format) for t in texts) if any(texts) else ()


def _short(importer: Importer, answers: str, parts, common) -> Question | None:
    line, name = common["line"], common["name"]
    accepted, fractions, feedbacks = [], [], []
    for item in answers.split("="):
        if not item.strip():
            continue
        weight, item = _weight(item.strip(), 1.0)
        body, feedback = _split_feedback(item)
        text, _ = _with_format(body, "plain")
        text = " ".join(text.split())
        if text:
            accepted.append(text)
            fractions.append(max(-1.0, min(1.0, weight)))
            feedbacks.append(_with_format(feedback, parts[0][1]))
    if not accepted:
        importer.problem(line, name, N_("The answers could not be read; skipped."))
        return None
    if max(fractions) < 1:
        importer.problem(
            line,
            name,
            N_("No answer is worth full points: the best answer earns %(best)s %% of them."),
            best=f"{max(fractions) * 100:g}",
        )
    if max(fractions) <= 0:
        return None
    (text, feedback, *by_answer), text_format = _texts(importer, [*parts, *feedbacks], common)
    return Question(
        type="short",
        text=text,
        feedback=feedback,
        format=text_format,
        answers=tuple(accepted),
        fractions=tuple(fractions) if any(f != 1 for f in fractions) else (),
        answer_feedback=_feedback_tuple(by_answer, text_format),
        **common,
    )


def _number(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _numerical(importer: Importer, answers: str, parts, common) -> Question | None:
    line, name = common["line"], common["name"]
    body, _, other = answers[1:].partition("~")  # after `~`: feedback for any other answer
    importer.answer_feedback(name, _restore(other))
    numbers = []
    feedbacks = []
    for item in body.split("="):
        if not item.strip():
            continue
        weight, item = _weight(item.strip(), 1.0)
        value_text, feedback = _split_feedback(item)
        value_text = _restore(value_text)
        if value_text == "*":
            importer.answer_feedback(name, _restore(feedback))
            continue  # Moodle's "any other answer", worth nothing here
        if ".." in value_text[1:]:
            low, high = (_number(v) for v in value_text.split("..", 1))
            value = None if low is None or high is None else (low + high) / 2
            tolerance = None if value is None else abs(high - value)
        elif ":" in value_text[1:]:
            value, tolerance = (_number(v) for v in value_text.split(":", 1))
        else:
            value, tolerance = _number(value_text), 0.0
        if value is None or tolerance is None:
            importer.problem(
                line,
                name,
                N_("%(answer)s is not a number, a number:tolerance or a min..max range; skipped."),
                answer=value_text,
            )
            return None
        numbers.append(NumericAnswer(value, abs(tolerance), max(-1.0, min(1.0, weight))))
        feedbacks.append(_with_format(feedback, parts[0][1]))
    if not any(n.fraction > 0 for n in numbers):
        importer.problem(line, name, N_("No answer is worth points; skipped."))
        return None
    (text, feedback, *by_answer), text_format = _texts(importer, [*parts, *feedbacks], common)
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

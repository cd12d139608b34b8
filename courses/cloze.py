"""Embedded answers (Moodle's "cloze" questions): blanks written inside the question's text.

The syntax is Moodle's (question/type/multianswer, and the Embedded Answers page of the Moodle
docs): `{weight:TYPE:answers}` where the weight is a whole number (1 when left out), TYPE is
SHORTANSWER (SA, MW), SHORTANSWER_C (SAC, MWC: case counts), NUMERICAL (NM) or MULTICHOICE
(MC, MCV, MCH and their shuffled forms MCS, MCVS, MCHS, shown here as a list to choose from),
and the answers are separated by `~`, each with `=` (right) or `%n%` (n % of the blank's
points), then the answer, then `#feedback` (kept as plain text, shown in the review).
`\\}` `\\#` `\\~` `\\/` `\\"` and `\\\\` are escapes.
A blank is kept in the text as `{#n}`, as Moodle keeps it.

Multiple-response blanks (MULTIRESPONSE, MR...) are not supported: the question is reported.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata

from courses.questions import Choice, ClozePart, NumericAnswer

_KINDS = {
    **dict.fromkeys(("SHORTANSWER", "SA", "MW"), ("short", False)),
    **dict.fromkeys(("SHORTANSWER_C", "SAC", "MWC"), ("short", True)),
    **dict.fromkeys(("NUMERICAL", "NM"), ("numerical", False)),
    **dict.fromkeys(
        (
            "MULTICHOICE",
            "MC",
            "MULTICHOICE_V",
            "MCV",
            "MULTICHOICE_H",
            "MCH",
            "MULTICHOICE_S",
            "MCS",
            "MULTICHOICE_VS",
            "MCVS",
            "MULTICHOICE_HS",
            "MCHS",
        ),
        ("choice", False),
    ),
}
_START = re.compile(r"\{(\d*):([A-Z_]+):")
_WEIGHT = re.compile(r"^(=|%(-?\d+(?:[.,]\d*)?)%)")
_NUMBER = re.compile(
    r"^(-?(?:\d+[.,]?\d*|[.,]\d+)(?:[eE][-+]?\d+)?)(?::(-?(?:\d+[.,]?\d*|[.,]\d+)(?:[eE][-+]?\d+)?))?$"
)
_UNESCAPE = {"\\}": "}", "\\#": "#", "\\~": "~", "\\/": "/", '\\"': '"', "\\\\": "\\"}
_ESCAPED = re.compile(r"\\[}#~/\"\\]")


class ClozeError(ValueError):
    """A blank that cannot be read; `type` names it for the message."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.type = kind


def _split(text: str, separator: str) -> list[str]:
    """`text` split on `separator` where it is not escaped by a backslash."""
    parts, current, index = [], "", 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            current += text[index : index + 2]
            index += 2
            continue
        if char == separator:
            parts.append(current)
            current = ""
        else:
            current += char
        index += 1
    parts.append(current)
    return parts


def _plain(text: str) -> str:
    # The HTML editor writes & < > as entities inside a blank; the answer is what is typed.
    text = html.unescape(re.sub(r"<[^>]+>", "", text))
    text = _ESCAPED.sub(lambda m: _UNESCAPE[m.group(0)], text)
    return unicodedata.normalize("NFC", " ".join(text.split()))


def _end(text: str, start: int) -> int:
    """The index of the `}` closing a blank whose answers start at `start` (-1 if none)."""
    index = start
    while index < len(text):
        if text[index] == "\\":
            index += 2
            continue
        if text[index] == "}":
            return index
        index += 1
    return -1


def parse(text: str) -> tuple[str, tuple[ClozePart, ...]]:
    """The text with each blank replaced by `{#n}`, and the blanks in order; raises
    ClozeError for a blank of a type that is not supported."""
    parts: list[ClozePart] = []
    out: list[str] = []
    position = 0
    while match := _START.search(text, position):
        end = _end(text, match.end())
        if end < 0:
            break
        kind = _KINDS.get(match.group(2))
        if kind is None:
            raise ClozeError(match.group(2))
        weight = float(match.group(1) or 1)
        parts.append(_part(kind, weight, text[match.end() : end], match.group(2)))
        out.append(text[position : match.start()] + f"{{#{len(parts)}}}")
        position = end + 1
    out.append(text[position:])
    return "".join(out), tuple(parts)


def _part(kind: tuple[str, bool], weight: float, body: str, name: str) -> ClozePart:
    answers: list[tuple[str, float]] = []
    feedback: list[str] = []
    for alternative in _split(body, "~"):
        alternative = alternative.strip()
        fraction = 0.0
        if match := _WEIGHT.match(alternative):
            fraction = (
                1.0 if match.group(1) == "=" else float(match.group(2).replace(",", ".")) / 100
            )
            alternative = alternative[match.end() :]
        answer, *said = _split(alternative, "#")
        if answer.strip():
            answers.append((answer, max(-1.0, min(1.0, fraction))))
            feedback.append(_plain("#".join(said)))
    if not answers or max(f for _, f in answers) <= 0:
        raise ClozeError(name)
    sort, case_sensitive = kind
    if sort == "choice":
        if len(answers) < 2:
            raise ClozeError(name)
        return ClozePart(
            kind="choice",
            weight=weight,
            choices=tuple(
                Choice(_plain(a), f >= 1 - 1e-7, f, said)
                for (a, f), said in zip(answers, feedback, strict=True)
            ),
        )
    if sort == "numerical":
        numbers = []
        for (answer, fraction), said in zip(answers, feedback, strict=True):
            answer = _plain(answer)
            if answer == "*":
                continue
            number = _NUMBER.match(answer)
            if number is None:
                raise ClozeError(name)
            value = float(number.group(1).replace(",", "."))
            tolerance = float((number.group(2) or "0").replace(",", "."))
            if not (math.isfinite(value) and math.isfinite(tolerance)):
                raise ClozeError(name)
            numbers.append(NumericAnswer(value, abs(tolerance), fraction, said))
        return ClozePart(kind="numerical", weight=weight, numbers=tuple(numbers))
    return ClozePart(
        kind="short",
        weight=weight,
        answers=tuple(_plain(a) for a, _ in answers),
        fractions=tuple(f for _, f in answers),
        case_sensitive=case_sensitive,
        answer_feedback=tuple(feedback) if any(feedback) else (),
    )

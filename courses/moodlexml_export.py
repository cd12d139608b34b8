"""Writing a question bank as Moodle XML, which Moodle and courses/moodlexml.py read back to
the same questions and grades.

Written as Moodle's own exporter writes it (question/format/xml/format.php, and the Moodle XML
page of the Moodle docs): a `category` question (`$course$/top/a/b`) before the questions of
each category; every text with its format (html, plain_text, markdown) and its images as
`@@PLUGINFILE@@/name` with the file embedded in base64 in a `<file>` element of that text;
answers with their fractions in percent and their feedback; numerical tolerances; matching
subquestions (an empty one is a distractor); cloze questions with their blanks written back
into the text (`{2:SHORTANSWER:=SMTP#...~%50%SMTPS}`).

Hocvu-only settings have no place in Moodle XML and are left out: ignoring diacritics in a
short answer, and the all-or-nothing rule of a multiple choice written without fractions
(exported with Moodle's weights, right options sharing 100 %).
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Mapping

from lxml import etree

from courses.questions import ClozePart, Question

_FORMATS = {"plain": "plain_text", "html": "html", "markdown": "markdown"}
# An image or a link of the bank, as the importer stores it (media/bank/<hash>.<ext>).
MEDIA_SOURCE = re.compile(r"""(\s(?:src|href)\s*=\s*)(["'])(media/[^"']+)\2""", re.I)
_CLOZE_BLANK = re.compile(r"\{#(\d+)\}")
# The characters a cloze blank escapes with a backslash (qtype_multianswer).
_CLOZE_SPECIAL = re.compile(r'([}#~/"\\])')


def percent(fraction: float) -> str:
    """A fraction as Moodle writes it: 0.5 -> "50", 0.3333333 -> "33.33333"."""
    return f"{fraction * 100:.12g}"


def number(value: float) -> str:
    """A number without a needless ".0" (1945.0 -> "1945")."""
    return f"{value:.15g}"


def paragraph(text: str, fmt: str) -> str:
    """An HTML choice, matching row or answer feedback in the paragraph Moodle's editor puts
    it in (the importer takes it out again: courses.importing.inline)."""
    if fmt != "html" or not text or "<p" in text:
        return text
    return f"<p>{text}</p>"


def category_of(question: Question) -> str:
    """The question's category as Moodle names it: `$course$/top/a/b`."""
    return "$course$/top/" + question.category if question.category else "$course$/top"


def _text_element(parent, tag: str, text: str, fmt: str, media: Mapping[str, bytes]):
    """<tag format=...><text>...</text><file .../></tag>, images made @@PLUGINFILE@@ ones."""
    element = etree.SubElement(parent, tag, format=_FORMATS.get(fmt, "html"))
    files: dict[str, bytes] = {}

    def plugin(match: re.Match) -> str:
        path = match.group(3)
        if path not in media:
            return match.group(0)
        name = path.rsplit("/", 1)[-1]
        files[name] = media[path]
        return f"{match.group(1)}{match.group(2)}@@PLUGINFILE@@/{name}{match.group(2)}"

    body = MEDIA_SOURCE.sub(plugin, text) if fmt == "html" else text
    etree.SubElement(element, "text").text = etree.CDATA(body) if body else ""
    for name, data in files.items():
        node = etree.SubElement(element, "file", name=name, path="/", encoding="base64")
        node.text = base64.b64encode(data).decode("ascii")
    return element


def _plain(parent, tag: str, text: str) -> None:
    etree.SubElement(etree.SubElement(parent, tag), "text").text = text


def _answer(parent, text: str, fraction: float, feedback: str, fmt: str, media) -> object:
    answer = _text_element(parent, "answer", text, fmt, media)
    answer.set("fraction", percent(fraction))
    if feedback:
        _text_element(answer, "feedback", paragraph(feedback, fmt), fmt, media)
    return answer


def _with_image(question: Question) -> tuple[str, str]:
    """The text and its format, with the image a Hocvu bank shows above it (`image`) put
    into the text, as Moodle has no such field."""
    if not question.image:
        return question.text, question.format
    text = html.escape(question.text) if question.format == "plain" else question.text
    fmt = "html" if question.format == "plain" else question.format
    return f'<p><img src="{html.escape(question.image)}" alt=""></p>{text}', fmt


def _cloze_text(question: Question) -> str:
    """The cloze text with each `{#n}` written back as Moodle's blank."""
    escape_html = question.format == "html"

    def value(text: str) -> str:
        text = _CLOZE_SPECIAL.sub(r"\\\1", text)
        return html.escape(text, quote=False) if escape_html else text

    def blank(match: re.Match) -> str:
        index = int(match.group(1)) - 1
        if not 0 <= index < len(question.parts):
            return match.group(0)
        return _blank(question.parts[index], value)

    return _CLOZE_BLANK.sub(blank, question.text)


def _weight(fraction: float) -> str:
    return "=" if fraction >= 1 - 1e-7 else f"%{percent(fraction)}%"


def _said(feedback: str, value) -> str:
    return "#" + value(feedback) if feedback else ""


def _blank(part: ClozePart, value) -> str:
    weight = f"{part.weight:g}"
    if part.kind == "short":
        kind = "SHORTANSWER_C" if part.case_sensitive else "SHORTANSWER"
        fractions = part.fractions or (1.0,) * len(part.answers)
        feedback = part.answer_feedback or ("",) * len(part.answers)
        answers = [
            _weight(f) + value(a) + _said(said, value)
            for a, f, said in zip(part.answers, fractions, feedback, strict=True)
        ]
    elif part.kind == "numerical":
        kind = "NUMERICAL"
        answers = [
            _weight(n.fraction)
            + f"{number(n.value)}:{number(n.tolerance)}"
            + _said(n.feedback, value)
            for n in part.numbers
        ]
    else:
        kind = "MULTICHOICE"
        answers = [
            _weight(c.weight) + value(c.text) + _said(c.feedback, value) for c in part.choices
        ]
    return "{" + f"{weight}:{kind}:" + "~".join(answers) + "}"


def _question(quiz, question: Question, media: Mapping[str, bytes]) -> None:
    kind = {
        "single": "multichoice",
        "multiple": "multichoice",
        "truefalse": "truefalse",
        "short": "shortanswer",
        "numerical": "numerical",
        "matching": "matching",
        "cloze": "cloze",
        "description": "description",
    }[question.type]
    node = etree.SubElement(quiz, "question", type=kind)
    _plain(node, "name", question.label)
    fmt = question.format
    text, text_format = _with_image(question)
    if question.type == "cloze":
        text = _cloze_text(question)
    _text_element(node, "questiontext", text, text_format, media)
    _text_element(node, "generalfeedback", question.feedback, fmt, media)
    etree.SubElement(node, "defaultgrade").text = number(question.points)
    etree.SubElement(node, "hidden").text = "0"
    if question.type in ("single", "multiple"):
        etree.SubElement(node, "single").text = "true" if question.type == "single" else "false"
        etree.SubElement(node, "shuffleanswers").text = "true"
        etree.SubElement(node, "answernumbering").text = "abc"
        right = sum(1 for c in question.choices if c.correct) or 1
        for choice in question.choices:
            fraction = choice.fraction
            if fraction is None:
                # Hocvu's own rule: the right option(s) share the points.
                share = 1.0 if question.type == "single" else 1 / right
                fraction = share if choice.correct else 0.0
            _answer(node, paragraph(choice.text, fmt), fraction, choice.feedback, fmt, media)
    elif question.type == "truefalse":
        feedback = question.answer_feedback or ("", "")
        for value, said in ((True, feedback[0]), (False, feedback[1])):
            fraction = 1.0 if value == question.answer else 0.0
            answer = _answer(node, "true" if value else "false", fraction, said, fmt, media)
            answer.set("format", "moodle_auto_format")
    elif question.type == "short":
        etree.SubElement(node, "usecase").text = "1" if question.case_sensitive else "0"
        feedback = question.answer_feedback or ("",) * len(question.answers)
        for (answer, fraction), said in zip(question.short_answers(), feedback, strict=True):
            _answer(node, answer, fraction, said, "plain", media).set(
                "format", "moodle_auto_format"
            )
    elif question.type == "numerical":
        for item in question.numbers:
            answer = _answer(node, number(item.value), item.fraction, item.feedback, fmt, media)
            answer.set("format", "moodle_auto_format")
            etree.SubElement(answer, "tolerance").text = number(item.tolerance)
        etree.SubElement(node, "unitgradingtype").text = "0"
        etree.SubElement(node, "showunits").text = "3"
    elif question.type == "matching":
        etree.SubElement(node, "shuffleanswers").text = "true"
        for left, right in question.pairs:
            sub = _text_element(node, "subquestion", paragraph(left, fmt), fmt, media)
            _plain(sub, "answer", right)


def dump(questions: list[Question] | tuple[Question, ...], media: Mapping[str, bytes]) -> bytes:
    """The questions as a Moodle XML file (UTF-8); `media` holds the bank's images by their
    path in the bundle (media/bank/...)."""
    quiz = etree.Element("quiz")
    category = None
    for question in questions:
        if category_of(question) != category:
            category = category_of(question)
            node = etree.SubElement(quiz, "question", type="category")
            _plain(node, "category", category)
        _question(quiz, question, media)
    return etree.tostring(quiz, xml_declaration=True, encoding="UTF-8", pretty_print=True)

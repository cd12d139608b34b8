"""Writing a question bank as final-test.toml text, which read_bank reads back to the same
questions (the LMS stores every imported or edited bank this way)."""

from __future__ import annotations

from typing import Any

from courses.questions import ClozePart, Question


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
        out.append(f"id = {_toml_value(q.id)}")
        if q.module or not q.group:
            out.append(f"module = {_toml_value(q.module)}")
        for key in ("group", "name"):
            if getattr(q, key):
                out.append(f"{key} = {_toml_value(getattr(q, key))}")
        out.append(f"type = {_toml_value(q.type)}")
        if q.format != "plain":
            out.append(f"format = {_toml_value(q.format)}")
        out.append(f"points = {_toml_value(q.points)}")
        out.append(f"text = {_toml_string(q.text)}")
        if q.type in ("single", "multiple"):
            out.append("choices = [")
            for choice in q.choices:
                mark = ", correct = true" if choice.correct else ""
                if choice.fraction is not None:
                    mark += f", fraction = {_toml_value(choice.fraction)}"
                if choice.feedback:
                    mark += f", feedback = {_toml_string(choice.feedback)}"
                out.append(f"  {{ text = {_toml_string(choice.text)}{mark} }},")
            out.append("]")
            if q.type == "multiple" and q.partial:
                out.append("partial = true")
        elif q.type == "truefalse":
            out.append(f"answer = {_toml_value(q.answer)}")
            if q.answer_feedback:
                out.append(_toml_list("answer_feedback", q.answer_feedback))
        elif q.type == "short":
            out.append("answers = [" + ", ".join(_toml_string(a) for a in q.answers) + "]")
            if q.fractions:
                out.append("fractions = [" + ", ".join(map(_toml_value, q.fractions)) + "]")
            if q.answer_feedback:
                out.append(_toml_list("answer_feedback", q.answer_feedback))
            if q.case_sensitive:
                out.append("case_sensitive = true")
            if q.ignore_diacritics:
                out.append("ignore_diacritics = true")
        elif q.type == "matching":
            out.append("pairs = [")
            for left, right in q.pairs:
                out.append(f"  {{ left = {_toml_string(left)}, right = {_toml_string(right)} }},")
            out.append("]")
        elif q.type == "numerical":
            out.append("numbers = [")
            for n in q.numbers:
                feedback = f", feedback = {_toml_string(n.feedback)}" if n.feedback else ""
                out.append(
                    f"  {{ value = {_toml_value(n.value)}, tolerance = {_toml_value(n.tolerance)},"
                    f" fraction = {_toml_value(n.fraction)}{feedback} }},"
                )
            out.append("]")
        elif q.type == "cloze":
            out.append("parts = [")
            out.extend(f"  {_part_toml(part)}," for part in q.parts)
            out.append("]")
        if q.feedback:
            out.append(f"feedback = {_toml_string(q.feedback)}")
        if q.image:
            out.append(f"image = {_toml_string(q.image)}")
        out.append("")
    return "\n".join(out)


def _toml_list(key: str, texts: tuple[str, ...]) -> str:
    return f"{key} = [" + ", ".join(_toml_string(t) for t in texts) + "]"


def _part_toml(part: ClozePart) -> str:
    items = [f"kind = {_toml_value(part.kind)}", f"weight = {_toml_value(part.weight)}"]
    if part.answers:
        items.append("answers = [" + ", ".join(map(_toml_string, part.answers)) + "]")
    if part.fractions:
        items.append("fractions = [" + ", ".join(map(_toml_value, part.fractions)) + "]")
    if part.answer_feedback:
        items.append(_toml_list("answer_feedback", part.answer_feedback))
    if part.case_sensitive:
        items.append("case_sensitive = true")
    if part.choices:
        choices = ", ".join(
            f"{{ text = {_toml_string(c.text)}, correct = {_toml_value(c.correct)}"
            + (f", fraction = {_toml_value(c.fraction)}" if c.fraction is not None else "")
            + (f", feedback = {_toml_string(c.feedback)}" if c.feedback else "")
            + " }"
            for c in part.choices
        )
        items.append(f"choices = [{choices}]")
    if part.numbers:
        numbers = ", ".join(
            f"{{ value = {_toml_value(n.value)}, tolerance = {_toml_value(n.tolerance)}, "
            f"fraction = {_toml_value(n.fraction)}"
            + (f", feedback = {_toml_string(n.feedback)}" if n.feedback else "")
            + " }"
            for n in part.numbers
        )
        items.append(f"numbers = [{numbers}]")
    return "{ " + ", ".join(items) + " }"

"""What the GIFT and Moodle XML importers share.

- the result of an import: questions, problems (each naming the uploaded file, the question's
  name and its line) and the images found in the file, to be stored as course media;
- question names made unique: a second question with a name already used is renamed, with a
  warning, never refused;
- Moodle's text formats (html, moodle_auto_format, plain_text, markdown) turned into Hocvu's
  (plain or html, sanitized again whenever it is shown);
- images: `@@PLUGINFILE@@/name` with the file embedded in Moodle XML, and `data:` URIs, become
  files under media/bank/ referenced by path;
- categories: a question whose category is named after a lesson belongs to that lesson; every
  question keeps its category as its group, from which the test draws as the author chooses
  (lms/services/drawing.py).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import unquote

from courses.errors import N_, Problem
from courses.markdown import is_local_reference, render, sanitize, slugify
from courses.questions import Question

MEDIA_DIR = "media/bank/"
# question_state::graded_state_for_fraction: a fraction this close to 1 is "correct".
FULL = 1 - 1e-7
MAX_IMAGE_BYTES = 10 * 1024 * 1024
_IMAGE_TYPES = (
    (b"\x89PNG\r\n\x1a\n", ".png"),
    (b"\xff\xd8\xff", ".jpg"),
    (b"GIF87a", ".gif"),
    (b"GIF89a", ".gif"),
)
_ELEMENT = re.compile(r"<(img|a)\b[^>]*>", re.I | re.S)
_SOURCE = re.compile(r"""(\s(?:src|href)\s*=\s*)(["'])(.*?)\2""", re.I | re.S)
_TAG = re.compile(r"<[a-zA-Z!/]")
_WRAPPING_P = re.compile(r"^\s*<p>(.*?)</p>\s*$", re.S)
# Moodle's format names (Moodle XML attribute, GIFT [prefix]) -> how the text is read here.
FORMAT_NAMES = {
    "html": "html",
    "moodle_auto_format": "moodle",
    "moodle": "moodle",
    "plain_text": "plain",
    "plain": "plain",
    "markdown": "markdown",
}


def _image_suffix(data: bytes) -> str | None:
    for magic, suffix in _IMAGE_TYPES:
        if data.startswith(magic):
            return suffix
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    return None


@dataclass
class ImportResult:
    """The questions read, every problem (a skipped question or a changed detail), and the
    images the questions show (bundle path -> bytes)."""

    questions: list[Question] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    media: dict[str, bytes] = field(default_factory=dict)


class Importer:
    """The state of one file's import: its result and the names already used."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.result = ImportResult()
        self._ids: set[str] = set()
        self._answer_feedback: set[str] = set()

    def problem(self, line: int | None, name: str, message: str, **params) -> None:
        """Report `message` about the question `name` at `line` of the uploaded file."""
        self.result.problems.append(Problem(self.path, line or None, message, params, name))

    def unique(self, name: str, line: int, prefix: str) -> tuple[str, str]:
        """(id, name) for a question: a name used before gets a number, with a warning."""
        name = name or f"{prefix}-{line}"
        base = slugify(name) or f"{prefix}-{line}"
        qid, number = base, 1
        while qid in self._ids:
            number += 1
            qid = f"{base}-{number}"
        self._ids.add(qid)
        if number > 1:
            renamed = f"{name} ({number})"
            self.problem(
                line,
                name,
                N_("An earlier question has the same name: this one is renamed %(renamed)s."),
                renamed=renamed,
            )
            name = renamed
        return qid, name

    def add(self, question: Question) -> None:
        """Keep a question that was read."""
        self.result.questions.append(question)

    def answer_feedback(self, name: str, feedback: str) -> None:
        """Note feedback Hocvu does not show: for any other answer (`*`), or for right, partly
        right and wrong answers (Moodle's combined feedback)."""
        if feedback.strip():
            self._answer_feedback.add(name)

    def finish(self) -> ImportResult:
        """The result, with one message for all the feedback of single answers left out."""
        kept = {q.name for q in self.result.questions}
        count = len(self._answer_feedback & kept)
        if count:
            self.result.problems.append(
                Problem(
                    self.path,
                    None,
                    N_(
                        "%(count)s questions have feedback for any other answer or for right, "
                        "partly right and wrong answers, which is not shown here: the general "
                        "feedback and the chosen answer's feedback are shown after the test."
                    ),
                    {"count": count},
                )
            )
        return self.result

    # --- texts ---------------------------------------------------------------------------

    def texts(
        self,
        parts: Iterable[tuple[str, str]],
        line: int,
        name: str,
        files: Mapping[str, bytes] | None = None,
    ) -> tuple[list[str], str]:
        """The question's texts, each given as (text, Moodle format), in one Hocvu format:
        ("plain", the texts) when none has markup, else ("html", sanitized HTML)."""
        converted = [self._html(text, fmt, line, name, files or {}) for text, fmt in parts]
        if not any(_TAG.search(part) for part in converted):
            return [_plain(part) for part in converted], "plain"
        return [part.strip() for part in converted], "html"

    def _html(self, text: str, fmt: str, line: int, name: str, files: Mapping[str, bytes]) -> str:
        fmt = FORMAT_NAMES.get(fmt, "moodle")
        text = unicodedata.normalize("NFC", text or "").strip()
        if fmt == "plain":
            body = html.escape(text).replace("\n", "<br>")
        elif fmt == "markdown":
            body = render(text)
        elif fmt == "moodle":
            # Moodle's text_to_html for FORMAT_MOODLE: HTML kept, line breaks kept.
            body = text.replace("\r\n", "\n").replace("\n", "<br>\n")
        else:
            body = text
        body = _ELEMENT.sub(lambda m: self._element(m, line, name, files), body)
        return sanitize(body)

    def _element(self, match: re.Match, line: int, name: str, files: Mapping[str, bytes]) -> str:
        """An <img> or <a> whose file is in the bank, pointing at it as course media; without
        its file, an image is left out and a link loses its target."""
        tag = match.group(0)
        source = _SOURCE.search(tag)
        if source is None:
            return tag
        path = self._media(html.unescape(source.group(3)).strip(), line, name, files)
        if path is None:
            return tag
        if not path:
            if match.group(1).lower() == "img":
                return ""
            return tag[: source.start()] + tag[source.end() :]
        quote = source.group(2)
        return f"{tag[: source.start()]}{source.group(1)}{quote}{path}{quote}{tag[source.end() :]}"

    def _media(self, url: str, line: int, name: str, files: Mapping[str, bytes]) -> str | None:
        """The media path for a file of the bank ("" when it is missing or not an image);
        None for a web address, left to the sanitizer."""
        data: bytes | None = None
        if url.startswith("@@PLUGINFILE@@/"):
            wanted = unquote(url.split("@@PLUGINFILE@@/", 1)[1].split("?", 1)[0])
            data = files.get(wanted)
            if data is None:
                data = files.get(wanted.rsplit("/", 1)[-1])
        elif url[:5].lower() == "data:":
            found = re.match(r"data:image/[\w.+-]+;base64,(.*)", url, re.S | re.I)
            if found:
                try:
                    data = base64.b64decode("".join(found.group(1).split()), validate=True)
                except (binascii.Error, ValueError):
                    data = None
        elif not is_local_reference(url):
            return None
        suffix = _image_suffix(data) if data else None
        if data is None or suffix is None or len(data) > MAX_IMAGE_BYTES:
            self.problem(
                line,
                name,
                N_(
                    "The file %(file)s is not in the bank, or is not a PNG, JPEG, GIF or WebP "
                    "image of at most 10 MB: it was left out."
                ),
                file=url if len(url) < 80 else url[:77] + "...",
            )
            return ""
        path = f"{MEDIA_DIR}{hashlib.sha256(data).hexdigest()[:16]}{suffix}"
        self.result.media[path] = data
        return path


def _plain(text: str) -> str:
    return unicodedata.normalize("NFC", " ".join(html.unescape(text).split()))


def inline(text: str, text_format: str) -> str:
    """A choice or a matching row in HTML without the paragraph Moodle's editor wraps it in."""
    if text_format == "html" and (match := _WRAPPING_P.match(text)) and "<p" not in match[1]:
        return match.group(1).strip()
    return text


def category_path(raw: str) -> str:
    """A Moodle category as a readable path: `$course$/top/A/B` -> `A/B` (`//` is a slash
    inside a name)."""
    parts = [p.replace("\0", "/").strip() for p in raw.strip().replace("//", "\0").split("/")]
    parts = [p for p in parts if p]
    if parts and re.fullmatch(r"\$\w+\$", parts[0]):
        parts = parts[1:]
    if parts and parts[0] == "top":
        parts = parts[1:]
    return unicodedata.normalize("NFC", "/".join(parts))


@dataclass(frozen=True)
class _Pool:
    line: int
    name: str
    count: int


def assign_lessons(
    path: str, questions: Iterable[Question], lessons: set[str]
) -> tuple[list[Question], list[Problem]]:
    """Each question's lesson: the lesson its category (last part) is named after; for the
    others a warning per category says to choose how many it gives to each attempt."""
    assigned: list[Question] = []
    pools: dict[str, _Pool] = {}
    for question in questions:
        last = question.group.rsplit("/", 1)[-1]
        if last in lessons:
            assigned.append(replace(question, module=last))
            continue
        assigned.append(replace(question, module=""))
        if question.graded:
            pool = pools.get(question.group)
            pools[question.group] = (
                _Pool(pool.line, pool.name, pool.count + 1)
                if pool
                else _Pool(question.line, question.label, 1)
            )
    problems = [
        Problem(
            path,
            pool.line or None,
            N_(
                "The category %(category)s is not the name of a lesson: choose on the version's "
                "page how many of its %(count)s questions each attempt draws."
            ),
            {"category": category or "-", "count": pool.count},
            pool.name,
        )
        for category, pool in pools.items()
    ]
    return assigned, problems

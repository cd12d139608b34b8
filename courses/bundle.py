"""Reading a course bundle: course.toml, modules/NN-slug.md (or a SCORM package
modules/NN-slug.zip), media/ and the question bank.

`load()` takes a folder or the bytes of a zip and returns a `Course`, or raises `BundleError`
listing every problem found, each with its file and line.
"""

from __future__ import annotations

import posixpath
import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from courses.errors import N_, BundleError, Problem
from courses.files import Limits, decode_text, read_folder, read_zip
from courses.markdown import local_references, render
from courses.media import MediaInfo, describe
from courses.questions import QuestionBank, read_bank

MODULE_NAME = re.compile(r"^modules/(\d{2})-([a-z0-9]+(?:-[a-z0-9]+)*)\.md$")
PACKAGE_NAME = re.compile(r"^modules/(\d{2})-([a-z0-9]+(?:-[a-z0-9]+)*)\.zip$")
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SELF_CHECK_HEADING = re.compile(r"^##\s+(tự kiểm tra|self-check)\s*#*\s*$", re.IGNORECASE)
COURSE_KEYS = {
    "title",
    "slug",
    "description",
    "language",
    "deadline_days",
    "pass_mark",
    "final_test",
    "certificate",
    "test",
    "packages",
}
PACKAGE_KEYS = {"title", "minutes", "complete_on"}
COMPLETE_ON = ("completed", "passed")
TEST_KEYS = {
    "questions",
    "per_module",
    "per_category",
    "time_limit_minutes",
    "attempts",
    "shuffle_questions",
    "shuffle_options",
    "show_answers",
}
SHOW_ANSWERS = ("never", "after_passing", "after_last_attempt")
CERTIFICATE_KEYS = {"title", "body"}
FRONT_MATTER_KEYS = {"title", "minutes", "min_minutes"}


@dataclass(frozen=True)
class SelfCheckQuestion:
    """A self-check question at the end of a module (not graded)."""

    text: str
    options: tuple[str, ...]
    correct: frozenset[int]
    explanation: str = ""


@dataclass(frozen=True)
class Module:
    """One module: its front matter, Markdown body and self-check."""

    number: int
    slug: str
    path: str
    title: str
    minutes: int
    min_minutes: int
    body: str
    self_check: tuple[SelfCheckQuestion, ...] = ()

    @property
    def key(self) -> str:
        """The module's name in the bundle ('03-cong-dich-vu-cong'), used as its category."""
        return f"{self.number:02d}-{self.slug}"

    def html(
        self,
        resolve=lambda path: path,
        language: str = "vi",
        media: Mapping[str, bytes] | None = None,
    ) -> str:
        """The body as sanitized HTML; `resolve` maps bundle paths (media/x.png) to URLs, and
        the files found in `media` (the bundle's) give images their width and height, videos
        their size."""

        def described(url: str) -> MediaInfo | None:
            path = _bundle_path(self.path, url)
            if media is None or path not in media:
                return None
            return describe(path, media[path])

        return render(
            self.body, lambda url: resolve(_bundle_path(self.path, url) or url), language, described
        )


@dataclass(frozen=True)
class PackageModule:
    """A SCORM package used as a module (modules/NN-slug.zip); the LMS reads the package."""

    number: int
    slug: str
    path: str
    title: str | None = None  # None: the package's own title
    minutes: int = 0
    complete_on: str = "completed"  # or "passed": what the SCO must report

    @property
    def key(self) -> str:
        """The module's name in the bundle ('04-vneid')."""
        return f"{self.number:02d}-{self.slug}"


@dataclass(frozen=True)
class CertificateWording:
    """The wording of the completion certificate."""

    title: str = "GIẤY CHỨNG NHẬN"
    body: str = "đã hoàn thành khóa học"


@dataclass(frozen=True)
class TestSettings:
    """How the final test is drawn and taken."""

    __test__ = False  # not a pytest test class
    questions: int = 20
    per_module: Mapping[str, int] | None = None
    # Questions drawn from each category of the bank (its `group`, else its lesson); when
    # set, it replaces `questions` and `per_module`.
    per_category: Mapping[str, int] | None = None
    time_limit_minutes: int = 30  # 0: no limit
    attempts: int = 3  # 0: unlimited
    shuffle_questions: bool = True
    shuffle_options: bool = True
    show_answers: str = "after_passing"


@dataclass(frozen=True)
class Course:
    """A whole course bundle, checked."""

    title: str
    slug: str
    description: str
    language: str
    deadline_days: int
    pass_mark: float
    certificate: CertificateWording
    modules: tuple[Module, ...]
    final_test: QuestionBank | None = None
    media: Mapping[str, bytes] = field(default_factory=dict)
    test: TestSettings = field(default_factory=TestSettings)
    packages: tuple[PackageModule, ...] = ()


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _bundle_path(module_path: str, url: str) -> str | None:
    """A module's reference as a path from the bundle root, or None when it leaves it."""
    for base in (posixpath.dirname(module_path), ""):
        joined = posixpath.normpath(posixpath.join(base, url))
        inside = not joined.startswith("../") and joined != ".."
        if inside and (base == "" or not url.startswith("media/")):
            return joined
    return None


def _key_line(text: str, key: str) -> int | None:
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=", re.MULTILINE)
    match = pattern.search(text)
    return text.count("\n", 0, match.start()) + 1 if match else None


# --- course.toml ---------------------------------------------------------------------------


def _read_course_toml(text: str, problems: list[Problem]) -> dict[str, Any]:
    path = "course.toml"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        line = re.search(r"line (\d+)", str(error))
        problems.append(
            Problem(
                path,
                int(line.group(1)) if line else None,
                N_("TOML syntax error: %(detail)s"),
                {"detail": str(error)},
            )
        )
        return {}
    data = {k: _nfc(v) if isinstance(v, str) else v for k, v in data.items()}

    def problem(at: str, message: str, **params: Any) -> None:
        problems.append(Problem(path, _key_line(text, at), message, params))

    for key in sorted(set(data) - COURSE_KEYS):
        problem(key, N_("Unknown key %(key)s."), key=key)
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        problems.append(Problem(path, None, N_("The course needs a title.")))
    elif len(title) > 200:
        problem("title", N_("The title is too long (at most %(max)d characters)."), max=200)
    slug = data.get("slug")
    if not isinstance(slug, str) or not SLUG.match(slug) or len(slug) > 80:
        problems.append(
            Problem(
                path,
                _key_line(text, "slug"),
                N_("The slug must be lower-case letters without diacritics, digits and '-'."),
            )
        )
    if not isinstance(data.get("description", ""), str):
        problem("description", N_("description must be text."))
    if data.get("language", "vi") not in ("vi", "en"):
        problem("language", N_("language must be vi or en."))
    days = data.get("deadline_days", 10)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 365:
        problem("deadline_days", N_("deadline_days must be a whole number from 1 to 365."))
    mark = data.get("pass_mark", 5.0)
    if isinstance(mark, bool) or not isinstance(mark, int | float) or not 0 <= mark <= 10:
        problem("pass_mark", N_("pass_mark must be a number from 0 to 10."))
    certificate = data.get("certificate", {})
    if not isinstance(certificate, dict):
        problem("certificate", N_("certificate must be a table with title and body."))
    else:
        for key in sorted(set(certificate) - CERTIFICATE_KEYS):
            problem(key, N_("Unknown key %(key)s."), key=f"certificate.{key}")
    if "final_test" in data and not isinstance(data["final_test"], str):
        problem("final_test", N_("final_test must be the path of the question bank."))
    packages = data.get("packages", {})
    if not isinstance(packages, dict) or not all(isinstance(v, dict) for v in packages.values()):
        problem("packages", N_("packages must be a table of tables, one per package module."))
    else:
        for name, settings in packages.items():
            for key in sorted(set(settings) - PACKAGE_KEYS):
                problem(key, N_("Unknown key %(key)s."), key=f"packages.{name}.{key}")
            title = settings.get("title", "x")
            if not isinstance(title, str) or not title.strip() or len(title) > 200:
                problem(
                    "title",
                    N_("%(key)s must be a text of 1 to 200 characters."),
                    key=f"packages.{name}.title",
                )
            minutes = settings.get("minutes", 0)
            if (
                isinstance(minutes, bool)
                or not isinstance(minutes, int)
                or not 0 <= minutes <= 1000
            ):
                problem(
                    "minutes",
                    N_("%(key)s must be a whole number from %(low)d to 1000."),
                    key=f"packages.{name}.minutes",
                    low=0,
                )
            if settings.get("complete_on", "completed") not in COMPLETE_ON:
                problem(
                    "complete_on",
                    N_("%(key)s must be one of %(values)s."),
                    key=f"packages.{name}.complete_on",
                    values=", ".join(COMPLETE_ON),
                )
    test = data.get("test", {})
    if not isinstance(test, dict):
        problem("test", N_("test must be a table of settings."))
        return data
    for key in sorted(set(test) - TEST_KEYS):
        problem(key, N_("Unknown key %(key)s."), key=f"test.{key}")
    for key, low in (("questions", 1), ("time_limit_minutes", 0), ("attempts", 0)):
        value = test.get(key, low)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 1000:
            problem(
                key,
                N_("%(key)s must be a whole number from %(low)d to 1000."),
                key=f"test.{key}",
                low=low,
            )
    for key in ("shuffle_questions", "shuffle_options"):
        if not isinstance(test.get(key, True), bool):
            problem(key, N_("%(key)s must be true or false."), key=f"test.{key}")
    if test.get("show_answers", "after_passing") not in SHOW_ANSWERS:
        problem(
            "show_answers",
            N_("test.show_answers must be one of %(values)s."),
            values=", ".join(SHOW_ANSWERS),
        )
    per_module = test.get("per_module")
    if per_module is not None and not (
        isinstance(per_module, dict)
        and all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in per_module.values()
        )
    ):
        problem("per_module", N_("test.per_module maps module names to numbers of questions."))
    per_category = test.get("per_category")
    if per_category is not None and not (
        isinstance(per_category, dict)
        and all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in per_category.values()
        )
        and sum(per_category.values()) > 0
    ):
        problem(
            "per_category",
            N_("test.per_category maps categories to numbers of questions, at least one in all."),
        )
    return data


# --- modules -------------------------------------------------------------------------------


def _front_matter(path: str, text: str, problems: list[Problem]) -> tuple[dict[str, Any], str, int]:
    """(values, body, line number where the body starts)."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        problems.append(
            Problem(path, 1, N_("The module must start with front matter between two '---' lines."))
        )
        return {}, text, 1
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        problems.append(Problem(path, 1, N_("The front matter has no closing '---' line.")))
        return {}, "", len(lines)
    values: dict[str, Any] = {}
    for number in range(1, end):
        raw = lines[number]
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        key, sep, value = raw.partition(":")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            problems.append(
                Problem(path, number + 1, N_("Front matter lines are written key: value."))
            )
            continue
        if key not in FRONT_MATTER_KEYS:
            problems.append(Problem(path, number + 1, N_("Unknown key %(key)s."), {"key": key}))
            continue
        if key in values:
            problems.append(Problem(path, number + 1, N_("%(key)s is given twice."), {"key": key}))
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        if key in ("minutes", "min_minutes"):
            if not value.isdigit() or not 0 < int(value) <= 600:
                problems.append(
                    Problem(
                        path,
                        number + 1,
                        N_("%(key)s must be a whole number of minutes from 1 to 600."),
                        {"key": key},
                    )
                )
                continue
            values[key] = int(value)
        else:
            values[key] = value
    for key in ("title", "minutes"):
        if key not in values and not any(p.path == path and key in str(p) for p in problems):
            problems.append(Problem(path, 1, N_("The front matter needs %(key)s."), {"key": key}))
    if values.get("min_minutes", 0) > values.get("minutes", 600):
        problems.append(Problem(path, 1, N_("min_minutes cannot be more than minutes.")))
    return values, "\n".join(lines[end + 1 :]), end + 2


_QUESTION = re.compile(r"^\d+[.)]\s+(.+)$")
_OPTION = re.compile(r"^\s+[-*+]\s+\[([ xX])\]\s+(.+)$")
_EXPLANATION = re.compile(r"^\s*>\s?(.*)$")


def _self_check(
    path: str, lines: list[str], first_line: int, problems: list[Problem]
) -> tuple[SelfCheckQuestion, ...]:
    questions: list[dict[str, Any]] = []
    for offset, raw in enumerate(lines):
        number = first_line + offset
        if not raw.strip():
            continue
        if match := _QUESTION.match(raw):
            questions.append(
                {
                    "text": match.group(1).strip(),
                    "options": [],
                    "correct": set(),
                    "explanation": [],
                    "line": number,
                }
            )
        elif (match := _OPTION.match(raw)) and questions:
            current = questions[-1]
            if match.group(1) in "xX":
                current["correct"].add(len(current["options"]))
            current["options"].append(match.group(2).strip())
        elif (match := _EXPLANATION.match(raw)) and questions:
            questions[-1]["explanation"].append(match.group(1).strip())
        elif questions and raw.startswith((" ", "\t")) and not questions[-1]["options"]:
            questions[-1]["text"] += " " + raw.strip()
        else:
            problems.append(
                Problem(
                    path,
                    number,
                    N_(
                        "This line of the self-check is not a question, an option "
                        "('- [ ]' or '- [x]') or an explanation ('>')."
                    ),
                )
            )
    result = []
    for q in questions:
        if len(q["options"]) < 2:
            problems.append(
                Problem(path, q["line"], N_("A self-check question needs at least two options."))
            )
        elif not q["correct"]:
            problems.append(
                Problem(path, q["line"], N_("Mark the correct option of this question with [x]."))
            )
        else:
            result.append(
                SelfCheckQuestion(
                    _nfc(q["text"]),
                    tuple(_nfc(o) for o in q["options"]),
                    frozenset(q["correct"]),
                    _nfc(" ".join(q["explanation"])),
                )
            )
    if not questions:
        problems.append(
            Problem(path, first_line - 1, N_("The self-check section has no questions."))
        )
    return tuple(result)


def read_module(
    path: str, data: bytes, files: Mapping[str, bytes] | None, problems: list[Problem]
) -> Module | None:
    """One module file; `files` (the bundle) is used to check references when given."""
    match = MODULE_NAME.match(path)
    if not match:
        problems.append(
            Problem(
                path,
                None,
                N_(
                    "A module file is named NN-slug.md (two digits, a dash, lower-case letters "
                    "without diacritics, digits and dashes), for example 03-cong-dich-vu-cong.md."
                ),
            )
        )
        return None
    text, problem = decode_text(path, data)
    if problem:
        problems.append(problem)
        return None
    text = _nfc(text.replace("\r\n", "\n").replace("\r", "\n"))
    before = len(problems)
    values, body, body_line = _front_matter(path, text, problems)
    body_lines = body.split("\n")
    self_check: tuple[SelfCheckQuestion, ...] = ()
    for index, line in enumerate(body_lines):
        if SELF_CHECK_HEADING.match(line.strip()):
            self_check = _self_check(path, body_lines[index + 1 :], body_line + index + 1, problems)
            body = "\n".join(body_lines[:index]).rstrip() + "\n"
            break
    if not body.strip():
        problems.append(Problem(path, body_line, N_("The module has no text.")))
    if files is not None:
        for number, url in local_references(body):
            target = _bundle_path(path, url)
            if target is None or target not in files:
                problems.append(
                    Problem(
                        path,
                        body_line + number - 1,
                        N_("%(target)s is not in the bundle."),
                        {"target": url},
                    )
                )
    if len(problems) > before:
        return None
    return Module(
        number=int(match.group(1)),
        slug=match.group(2),
        path=path,
        title=values["title"],
        minutes=values["minutes"],
        min_minutes=values.get("min_minutes", 0),
        body=body,
        self_check=self_check,
    )


# --- the bundle ----------------------------------------------------------------------------


def read_bundle(files: Mapping[str, bytes]) -> Course:
    """Check a bundle's files and build the Course; raise BundleError with every problem."""
    problems: list[Problem] = []
    if "course.toml" not in files:
        problems.append(Problem("course.toml", None, N_("course.toml is missing.")))
        meta: dict[str, Any] = {}
    else:
        text, problem = decode_text("course.toml", files["course.toml"])
        meta = _read_course_toml(text, problems) if text is not None else {}
        if problem:
            problems.append(problem)
    modules: list[Module] = []
    packages: list[PackageModule] = []
    numbers: dict[int, str] = {}
    package_settings = meta.get("packages", {}) if isinstance(meta.get("packages"), dict) else {}
    for path in sorted(files):
        if not path.startswith("modules/"):
            continue
        package = PACKAGE_NAME.match(path)
        if package:
            number = int(package.group(1))
            if number in numbers:
                problems.append(
                    Problem(
                        path,
                        None,
                        N_("Module number %(number)s is used twice (also by %(other)s)."),
                        {"number": package.group(1), "other": numbers[number]},
                    )
                )
            numbers[number] = path
            key = f"{package.group(1)}-{package.group(2)}"
            settings = package_settings.get(key, {})
            title = settings.get("title")
            packages.append(
                PackageModule(
                    number=number,
                    slug=package.group(2),
                    path=path,
                    title=_nfc(title).strip() if isinstance(title, str) and title.strip() else None,
                    minutes=settings.get("minutes", 0)
                    if isinstance(settings.get("minutes"), int)
                    else 0,
                    complete_on=settings.get("complete_on", "completed"),
                )
            )
            continue
        if not path.endswith(".md"):
            if not path.rsplit("/", 1)[-1].startswith("."):
                problems.append(
                    Problem(
                        path,
                        None,
                        N_(
                            "Only modules (.md) and SCORM packages (.zip) belong in modules/; "
                            "put media in media/."
                        ),
                    )
                )
            continue
        module = read_module(path, files[path], files, problems)
        match = MODULE_NAME.match(path)
        if match:
            number = int(match.group(1))
            if number in numbers:
                problems.append(
                    Problem(
                        path,
                        None,
                        N_("Module number %(number)s is used twice (also by %(other)s)."),
                        {"number": match.group(1), "other": numbers[number]},
                    )
                )
            numbers[number] = path
        if module:
            modules.append(module)
    for name in sorted(set(package_settings) - {p.key for p in packages}):
        problems.append(
            Problem(
                "course.toml",
                None,
                N_("%(target)s is not in the bundle."),
                {"target": f"modules/{name}.zip"},
            )
        )
    if not numbers:
        problems.append(
            Problem("modules/", None, N_("The course has no modules (modules/NN-slug.md)."))
        )
    bank = None
    if isinstance(meta.get("final_test"), str):
        bank_path = meta["final_test"]
        if bank_path not in files:
            problems.append(
                Problem(
                    "course.toml",
                    None,
                    N_("%(target)s is not in the bundle."),
                    {"target": bank_path},
                )
            )
        else:
            text, problem = decode_text(bank_path, files[bank_path])
            if problem:
                problems.append(problem)
            else:
                try:
                    # Check categories against the module files present, even those with
                    # problems of their own, so one mistake is not reported twice.
                    keys = {
                        f"{m.group(1)}-{m.group(2)}"
                        for m in (MODULE_NAME.match(f) or PACKAGE_NAME.match(f) for f in files)
                        if m
                    }
                    bank = read_bank(bank_path, _nfc(text), keys or None, set(files))
                except BundleError as error:
                    problems.extend(error.problems)
    if problems:
        raise BundleError(problems)
    certificate = meta.get("certificate", {})
    return Course(
        title=meta["title"].strip(),
        slug=meta["slug"],
        description=meta.get("description", "").strip(),
        language=meta.get("language", "vi"),
        deadline_days=meta.get("deadline_days", 10),
        pass_mark=float(meta.get("pass_mark", 5.0)),
        certificate=CertificateWording(
            title=_nfc(certificate.get("title", CertificateWording.title)),
            body=_nfc(certificate.get("body", CertificateWording.body)),
        ),
        modules=tuple(sorted(modules, key=lambda m: m.number)),
        final_test=bank,
        media={p: d for p, d in files.items() if p.startswith("media/")},
        test=TestSettings(**meta.get("test", {})),
        packages=tuple(packages),
    )


def load(source: Path | bytes, limits: Limits = Limits()) -> Course:
    """Read a bundle from a folder or from the bytes of a zip archive."""
    if isinstance(source, bytes | bytearray):
        return read_bundle(read_zip(bytes(source), limits))
    if source.is_dir():
        return read_bundle(read_folder(source, limits))
    if source.stat().st_size > limits.max_archive_bytes:
        return read_bundle(read_zip(b"\0" * (limits.max_archive_bytes + 1), limits))
    return read_bundle(read_zip(source.read_bytes(), limits))

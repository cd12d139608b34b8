"""Course versions: create one from a checked bundle, publish it, enrol learners."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import re
import tomllib
import unicodedata
import zipfile
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import courses.bundle
from courses.bundle import Course as Bundle
from courses.bundle import PackageModule
from courses.errors import Problem as CourseProblem
from lms.app.storage import LocalStorage
from lms.models import (
    Activity,
    Course,
    CourseVersion,
    Enrolment,
    User,
    VersionStatus,
    utcnow,
)
from lms.services import audit, deadlines, drawing, tracking, uploads
from lms.services.activities import PageKind, ScormKind, TestKind
from lms.services.clock import DEFAULT_TIMEZONE
from lms.services.errors import N_, DomainError, Forbidden

# The test's title is part of the course content, in the course's language.
_TEST_TITLES = {"vi": "Bài kiểm tra cuối khóa", "en": "Final test"}


def _sha256(files: Mapping[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return digest.hexdigest()


def _check_author(actor: User | None) -> None:
    if actor is not None and not actor.is_author:
        raise Forbidden(N_("Only course authors can change courses."))


def create_version(
    session: Session,
    actor: User | None,
    bundle: Bundle,
    files: Mapping[str, bytes],
    storage: LocalStorage,
) -> CourseVersion:
    """Store a checked bundle as a new draft version of its course (created if new)."""
    _check_author(actor)
    course = session.scalar(select(Course).where(Course.slug == bundle.slug))
    if course is None:
        course = Course(slug=bundle.slug, title=bundle.title)
        session.add(course)
        session.flush()
    number = (
        session.scalar(
            select(func.max(CourseVersion.number)).where(CourseVersion.course_id == course.id)
        )
        or 0
    ) + 1
    files_path = f"courses/{course.id}/v{number}"
    version = CourseVersion(
        course=course,
        number=number,
        status=VersionStatus.DRAFT,
        title=bundle.title,
        description=bundle.description,
        language=bundle.language,
        deadline_days=bundle.deadline_days,
        pass_mark=bundle.pass_mark,
        certificate_title=bundle.certificate.title,
        certificate_body=bundle.certificate.body,
        final_test=dataclasses.asdict(bundle.final_test) if bundle.final_test else None,
        files_path=files_path,
        source_sha256=_sha256(files),
        created_by_id=actor.id if actor else None,
    )
    session.add(version)
    steps = sorted([*bundle.modules, *bundle.packages], key=lambda m: m.number)
    activities = []
    for index, module in enumerate(steps, start=1):
        if isinstance(module, PackageModule):
            package = tracking.store_package(session, files[module.path], storage, module.path)
            activities.append(
                Activity(
                    position=index,
                    key=module.key,
                    kind=ScormKind.name,
                    title=module.title or package.title,
                    minutes=module.minutes,
                    min_minutes=0,
                    required=True,
                    content=ScormKind.content(
                        package.id,
                        [s["identifier"] for s in package.manifest["scos"]],
                        module.complete_on,
                    ),
                )
            )
            continue
        activities.append(
            Activity(
                position=index,
                key=module.key,
                kind=PageKind.name,
                title=module.title,
                minutes=module.minutes,
                min_minutes=module.min_minutes,
                required=True,
                content=PageKind.content(module, bundle.language, bundle.media),
            )
        )
    version.activities = activities
    if bundle.final_test is not None:
        version.activities.append(
            Activity(
                position=len(steps) + 1,
                key=TestKind.key,
                kind=TestKind.name,
                title=_TEST_TITLES.get(bundle.language, _TEST_TITLES["vi"]),
                minutes=bundle.test.time_limit_minutes or 15,
                min_minutes=0,
                required=True,
                content=TestKind.content(bundle.test),
            )
        )
    session.add(version)
    session.flush()
    storage.write_tree(files_path, files)
    audit.record(session, actor, "course.upload", course, version=number)
    return version


def replace_module(
    session: Session,
    actor: User | None,
    course: Course,
    filename: str,
    data: bytes,
    storage: LocalStorage,
) -> CourseVersion:
    """A new draft: the course's latest version with one module file added or replaced."""
    latest = _latest(session, course)
    files = storage.read_tree(latest.files_path)
    name = filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    files[f"modules/{name}"] = data
    bundle = courses.bundle.read_bundle(files)
    if bundle.slug != course.slug:
        raise DomainError(N_("The course's slug cannot change."))
    version = create_version(session, actor, bundle, files, storage)
    drawing.carry_over(latest, version, bundle.final_test)
    return version


def is_scorm_zip(files: Mapping[str, bytes]) -> bool:
    """A zip holding a SCORM package (imsmanifest.xml at the top, or in its one folder)
    rather than a course bundle."""
    return _is_scorm_names(list(files))


def _is_scorm_names(names: list[str]) -> bool:
    if any(name.rsplit("/", 1)[-1] == "course.toml" and name.count("/") <= 1 for name in names):
        return False
    return "imsmanifest.xml" in {name.rsplit("/", 1)[-1] for name in names if name.count("/") <= 1}


def is_zip(data: bytes) -> bool:
    """Whether the bytes are a zip archive (by its signature, whatever the file's name)."""
    return data[:4] in (b"PK\x03\x04", b"PK\x05\x06")


def is_scorm_archive(data: bytes) -> bool:
    """Whether an uploaded zip is a SCORM package rather than a course bundle: by the names
    of its entries, read from the archive's directory without expanding anything."""
    if not is_zip(data):
        return False
    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    return _is_scorm_names([n for n in names if not n.endswith("/")])


def _slug_of(title: str) -> str:
    from lms.services.text import fold

    return re.sub(r"[^a-z0-9]+", "-", fold(title)).strip("-")[:60]


def course_titled(session: Session, title: str) -> Course | None:
    """The course a new course of this title would be taken for: the same title (letter case
    and Unicode form aside) or the same slug, which is made from the title."""
    wanted = unicodedata.normalize("NFC", title).strip().casefold()
    slug = _slug_of(title)
    for course in session.scalars(select(Course).order_by(Course.id)):
        if course.slug == slug or unicodedata.normalize("NFC", course.title).casefold() == wanted:
            return course
    return None


class TitleTaken(DomainError):
    """A package uploaded as a new course has the title of an existing course: the author
    chooses a new version of that course or a new course with another title."""

    def __init__(self, course: Course, title: str) -> None:
        super().__init__(
            N_("A course titled %(title)s already exists."), title=course.title, field="title"
        )
        self.course = course
        self.package_title = title


def scorm_course(
    session: Session,
    actor: User | None,
    data: bytes,
    storage: LocalStorage,
    *,
    version_of: Course | None = None,
    title: str | None = None,
) -> CourseVersion:
    """A new draft course made of one SCORM package, titled `title` or the package's own
    title; or, with `version_of`, a new version of that course. Authors may then add a final
    test. Uploads go through `import_upload`, which asks first when the title is taken."""
    _check_author(actor)
    package = tracking.store_package(session, data, storage)
    if version_of is not None:
        slug = version_of.slug
        title = (title or package.title).strip() or version_of.title
    else:
        title = (title or package.title).strip() or "SCORM"
        slug = _slug_of(title) or f"scorm-{package.id}"
    toml = f"title = {_toml_string(title[:200])}\nslug = {_toml_string(slug)}\n"
    files = {"course.toml": toml.encode(), f"modules/01-{slug[:40].strip('-')}.zip": data}
    bundle = courses.bundle.read_bundle(files)
    return create_version(session, actor, bundle, files, storage)


def package_title(session: Session, data: bytes) -> str:
    """The title a package uploaded as a course gets (its organization's, else its id),
    read without storing anything; BundleError when the package is not valid."""
    from lms.services.tracking.packages import describe_package

    return describe_package(session, data)


def title_taken(
    session: Session, source: bytes | Path, title: str | None = None
) -> tuple[Course | None, str]:
    """For an upload that is a SCORM package: the existing course its title (or `title`)
    would be taken for, if any, and that title; (None, "") for anything else."""
    if not isinstance(source, bytes | bytearray) or not is_scorm_archive(bytes(source)):
        return None, ""
    wanted = (title or package_title(session, bytes(source))).strip()
    return course_titled(session, wanted), wanted


def import_upload(
    session: Session,
    actor: User | None,
    source: bytes | Path,
    storage: LocalStorage,
    *,
    version_of: Course | None = None,
    title: str | None = None,
) -> CourseVersion:
    """A whole course as uploaded (the author's page and `hocvu import-course`): a zip that
    is a SCORM package, recognised by its content, becomes a course of one module; anything
    else is read as a course bundle (a zip or a folder).

    A package whose title (or `title`) is an existing course's raises TitleTaken, before
    anything is stored, unless `version_of` says to make a new version of that course.
    """
    from courses.files import read_folder, read_zip

    limits = uploads.bundle_limits()
    if isinstance(source, bytes | bytearray) and is_scorm_archive(bytes(source)):
        data = bytes(source)
        if version_of is None:
            taken, wanted = title_taken(session, data, title)
            if taken is not None:
                raise TitleTaken(taken, wanted)
        return scorm_course(session, actor, data, storage, version_of=version_of, title=title)
    if isinstance(source, bytes | bytearray):
        files = read_zip(bytes(source), limits)
    else:
        files = read_folder(source, limits)
    bundle = courses.bundle.read_bundle(files)
    return create_version(session, actor, bundle, files, storage)


def blocked_urls(
    session: Session, version: CourseVersion, allowed: list[str]
) -> list[CourseProblem]:
    """What the version's SCORM packages load from other origins that the content policy
    blocks (not in `allowed`), each with its file and line: warnings for the author."""
    lessons = [a for a in version.activities if a.kind == ScormKind.name]
    warnings: list[CourseProblem] = []
    for activity in lessons:
        package = tracking.package_of(session, activity)
        where = f"modules/{activity.key}.zip" if len(version.activities) > 1 else ""
        warnings.extend(tracking.blocked_urls(package, allowed, where))
    return warnings


def _toml_string(text: str) -> str:
    # A JSON string is a valid TOML basic string (same escapes).
    return json.dumps(text, ensure_ascii=False)


BANK_SUFFIXES = (".gift", ".txt", ".xml", ".toml")


def replace_bank(
    session: Session,
    actor: User | None,
    course: Course,
    filename: str,
    data: bytes,
    storage: LocalStorage,
) -> tuple[CourseVersion, list]:
    """A new draft whose final-test bank is read from a GIFT, Moodle XML or TOML file.

    Returns the version and the import's problems (renamed and skipped questions, changed
    details), each naming the uploaded file, the question and its line; they are also kept
    with the version (`final_test["report"]`). A file from which no question could be read
    is refused.
    """
    from courses import gift, moodlexml
    from courses.banktoml import dump_bank
    from courses.errors import BundleError, Problem
    from courses.files import decode_text
    from courses.importing import MEDIA_DIR, assign_lessons

    latest = _latest(session, course)
    files = storage.read_tree(latest.files_path)
    name = filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    suffix = name[name.rfind(".") :].lower() if "." in name else ""
    stem = name[: -len(suffix)] if suffix else name
    problems: list = []
    questions: list = []
    if suffix == ".xml":
        result = moodlexml.parse(name, data, default_category=stem)
    else:
        decoded, problem = decode_text(name, data)
        if problem:
            raise BundleError([problem])
        result = None if suffix == ".toml" else gift.parse(name, decoded, default_category=stem)
    if result is not None:
        questions, pooled = assign_lessons(name, result.questions, _lesson_keys(files))
        problems = [*result.problems, *pooled]
        if pooled and _per_module(files):
            problems.append(
                Problem(
                    name,
                    None,
                    N_(
                        "course.toml sets test.per_module: questions outside the lessons it "
                        "names are never drawn."
                    ),
                )
            )
        text = dump_bank(questions) if questions else ""
        # The new bank replaces the old one, and its images those of the old one.
        for path in [p for p in files if p.startswith(MEDIA_DIR)]:
            del files[path]
        files.update(result.media)
    else:
        text = decoded
    if not text.strip():
        raise BundleError(
            problems or [Problem(name, None, N_("No question could be read from this file."))]
        )
    bank_path = "final-test.toml"
    course_toml = files["course.toml"].decode("utf-8-sig")
    if not re.search(r"(?m)^\s*final_test\s*=", course_toml):
        course_toml = f'final_test = "{bank_path}"\n' + course_toml
        files["course.toml"] = course_toml.encode()
    else:
        bank_path = tomllib.loads(course_toml).get("final_test", bank_path)
    files[bank_path] = text.encode()
    try:
        bundle = courses.bundle.read_bundle(files)
    except BundleError as error:
        if result is None:
            # The uploaded TOML is stored as it is: same lines, under the bank's name.
            raise BundleError(
                [
                    dataclasses.replace(p, path=name) if p.path == bank_path else p
                    for p in error.problems
                ]
            ) from None
        # The author uploaded `name`, not the bank written from it: say where in their file.
        raise BundleError(_located(error.problems, bank_path, text, name, questions)) from None
    version = create_version(session, actor, bundle, files, storage)
    drawing.carry_over(latest, version, bundle.final_test)
    if result is not None:
        version.final_test = {
            **version.final_test,
            "report": {
                "file": name,
                "problems": [
                    {
                        "line": p.line,
                        "question": p.question,
                        "message": p.message,
                        "params": p.params,
                    }
                    for p in problems
                ],
            },
        }
        session.flush()
    return version, problems


# What the version's page offers to download, with its media type.
EXPORT_KINDS = {"xml": "application/xml", "gift": "text/plain"}


def export_bank(version: CourseVersion, bank, kind: str, storage: LocalStorage, translate):
    """(bytes, file name) of the version's bank as Moodle XML (images embedded) or GIFT (with
    `translate`d comments on what GIFT cannot carry)."""
    from courses import gift_export, moodlexml_export

    name = f"{version.course.slug}-v{version.number}.{kind}"
    if kind == "gift":
        return gift_export.dump(bank.questions, translate).encode("utf-8"), name
    media = {
        f"media/{path}": data
        for path, data in storage.read_tree(f"{version.files_path}/media").items()
    }
    return moodlexml_export.dump(bank.questions, media), name


def _lesson_keys(files: Mapping[str, bytes]) -> set[str]:
    """The lessons a bank's categories can be named after (modules/NN-slug.md or .zip)."""
    keys = set()
    for path in files:
        match = courses.bundle.MODULE_NAME.match(path) or courses.bundle.PACKAGE_NAME.match(path)
        if match:
            keys.add(f"{match.group(1)}-{match.group(2)}")
    return keys


def _per_module(files: Mapping[str, bytes]) -> bool:
    try:
        meta = tomllib.loads(files["course.toml"].decode("utf-8-sig"))
    except (KeyError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    test = meta.get("test")
    return isinstance(test, dict) and bool(test.get("per_module"))


def _located(problems, bank_path: str, text: str, name: str, questions: list) -> list:
    """Problems of the bank written from an upload, moved to the uploaded file's lines."""
    from courses.errors import Problem

    starts = [n for n, line in enumerate(text.splitlines(), 1) if line.strip() == "[[questions]]"]
    located = []
    for problem in problems:
        if problem.path != bank_path:
            located.append(problem)
            continue
        index = sum(1 for start in starts if problem.line and start <= problem.line) - 1
        question = questions[index] if 0 <= index < len(questions) else None
        located.append(
            Problem(
                name,
                question.line if question else None,
                problem.message,
                problem.params,
                question.label if question else "",
            )
        )
    return located


def _latest(session: Session, course: Course) -> CourseVersion:
    latest = session.scalar(
        select(CourseVersion)
        .where(CourseVersion.course_id == course.id)
        .order_by(CourseVersion.number.desc())
        .limit(1)
    )
    if latest is None:
        raise DomainError(N_("Upload the whole course (a zip) before single modules."))
    return latest


def publish(
    session: Session, actor: User | None, version: CourseVersion, move_enrolled: bool = False
) -> int:
    """Publish a draft: new enrolments get it. Return how many enrolments were moved to it.

    Learners keep the version they started unless `move_enrolled`; then their progress is
    carried over activity by activity (matched by module name).
    """
    _check_author(actor)
    if version.status == VersionStatus.PUBLISHED:
        raise DomainError(N_("This version is already published."))
    course = version.course
    version.status = VersionStatus.PUBLISHED
    version.published_at = utcnow()
    course.current_version = version
    course.title = version.title
    moved = 0
    if move_enrolled:
        by_key = {a.key: a for a in version.activities}
        enrolments = session.scalars(
            select(Enrolment).where(
                Enrolment.course_id == course.id, Enrolment.version_id != version.id
            )
        ).all()
        for enrolment in enrolments:
            for progress in list(enrolment.progress):
                target = by_key.get(progress.activity.key)
                if target is None:
                    enrolment.progress.remove(progress)
                else:
                    progress.activity = target
            enrolment.version_id = version.id
            enrolment.last_activity_id = None
            moved += 1
    audit.record(session, actor, "course.publish", course, version=version.number, moved=moved)
    session.flush()
    return moved


def enrol(
    session: Session, user: User, course: Course, timezone: str = DEFAULT_TIMEZONE
) -> Enrolment:
    """Enrol a learner in the course's current version, with its due time (idempotent)."""
    existing = session.scalar(
        select(Enrolment).where(Enrolment.user_id == user.id, Enrolment.course_id == course.id)
    )
    if existing is not None:
        return existing
    if course.current_version_id is None:
        raise DomainError(N_("The course %(title)s has no published version."), title=course.title)
    enrolment = Enrolment(
        user=user, course=course, version=course.current_version, completed_late=False
    )
    session.add(enrolment)
    deadlines.recompute(enrolment, timezone)
    session.flush()
    return enrolment


def import_bundle(
    session: Session,
    actor: User | None,
    source,
    storage: LocalStorage,
    publish_now: bool = True,
    *,
    version_of: Course | None = None,
    title: str | None = None,
) -> CourseVersion:
    """Read a folder or zip (a course bundle, or one SCORM package: `import_upload`), store it
    as a new version and (by default) publish it."""
    version = import_upload(session, actor, source, storage, version_of=version_of, title=title)
    if publish_now:
        publish(session, actor, version)
    return version

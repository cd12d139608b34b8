"""What the author's upload page does with the file before the catalog sees it: read it
within the upload limit (lms.services.uploads) with its true size, name a module by what the
file is, and keep a package whose title is taken until the author answers the question."""

from __future__ import annotations

import json
import os
import re
import secrets

from courses.errors import BundleError
from courses.errors import Problem as CourseProblem
from lms.app.storage import LocalStorage
from lms.jobs import imports
from lms.services import catalog, uploads
from lms.services.errors import N_, DomainError

_MODULE_NAME = re.compile(r"^\d{2}-[a-z0-9]+(-[a-z0-9]+)*$")


def read_upload(upload) -> bytes:
    """The uploaded file, refused with its true size when it is over the upload limit."""
    stream = upload.stream
    try:
        stream.seek(0, os.SEEK_END)
        size = stream.tell()
        stream.seek(0)
    except (AttributeError, OSError):
        size = None
    data = upload.read(uploads.ARCHIVE_BYTES + 1) if size is None else b""
    if size is None and len(data) <= uploads.ARCHIVE_BYTES:
        return data
    if size is not None and size <= uploads.ARCHIVE_BYTES:
        return upload.read()
    name = (upload.filename or "").rsplit("/", 1)[-1] or "(zip)"
    raise BundleError(
        [
            CourseProblem(
                name,
                None,
                N_(
                    "The file is %(size_bytes)s; a course, a SCORM package or a module may be "
                    "at most %(max_bytes)s."
                ),
                {
                    "size_bytes": size if size is not None else len(data),
                    "max_bytes": uploads.ARCHIVE_BYTES,
                },
            )
        ]
    )


def module_name(filename: str, data: bytes) -> str:
    """The name a file uploaded into a course takes in its modules/ folder: a zip (by its
    content, whatever its name says) is a SCORM package named NN-name.zip; else a .md."""
    name = filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    if catalog.is_zip(data):
        stem = name[:-4] if name.lower().endswith(".zip") else name
        if not _MODULE_NAME.match(stem):
            raise DomainError(
                N_(
                    "A SCORM package for a course is named with its place and a name "
                    "without diacritics, for example 04-vneid.zip."
                )
            )
        return f"{stem}.zip"
    if name.lower().endswith(".zip"):
        raise BundleError(
            [CourseProblem(name, None, N_("The file is not a zip archive, or it is damaged."))]
        )
    if not name.lower().endswith(".md"):
        raise DomainError(
            N_(
                "Choose a module (.md), a SCORM package (NN-name.zip) or a question "
                "bank (.gift, .xml, .toml) for a course, or a whole course."
            )
        )
    return name


def keep(storage: LocalStorage, data: bytes, taken: catalog.TitleTaken, user_id: int) -> str:
    """Keep an upload whose title is taken until the author chooses (kept 24 hours, like
    the account lists: lms.jobs.imports.discard_stale_uploads)."""
    imports.discard_stale_uploads(storage)
    token = secrets.token_urlsafe(24)
    storage.write_file(imports.upload_key(token), data)
    pending = {
        "user_id": user_id,
        "course_id": taken.course.id,
        "title": taken.package_title,
    }
    storage.write_file(pending_key(token), json.dumps(pending).encode())
    return token


def pending_key(token: str) -> str:
    """Where what the question page needs of a kept upload is (its title, the course)."""
    return f"uploads/{token}.json"

"""The bundled courses (courses/library/), installed by `hocvu init`."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

import courses
from lms.app.storage import LocalStorage
from lms.models import Course
from lms.services import catalog

LIBRARY = Path(courses.__file__).resolve().parent / "library"


def library_folders() -> list[Path]:
    """The folders of the bundled courses."""
    return sorted(p for p in LIBRARY.iterdir() if (p / "course.toml").is_file())


def library_slugs() -> list[str]:
    """The slugs of the bundled courses (each folder is named after its slug)."""
    return [p.name for p in library_folders()]


def install_library(session: Session, storage: LocalStorage) -> list[str]:
    """Import and publish each bundled course that is not in the database yet."""
    installed = []
    for folder in library_folders():
        if session.scalar(select(Course.id).where(Course.slug == folder.name)) is None:
            version = catalog.import_bundle(session, None, folder, storage)
            installed.append(version.title)
    return installed

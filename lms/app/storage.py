"""File storage for course bundles (and later SCORM packages and certificates).

The embedded default keeps files in a directory (HOCVU_FILES_DIR); a shared directory serves
several machines. The interface is small on purpose so that an S3-compatible store can be
added behind it.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Mapping
from pathlib import Path, PurePosixPath


class StorageError(Exception):
    """A path that would leave the storage root, or a missing file."""


def _aside(target: Path) -> Path:
    """A new name beside `target` to write to before renaming into place."""
    return target.parent / f".incoming-{secrets.token_hex(8)}"


class LocalStorage:
    """Files under one root directory, addressed by relative POSIX paths."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        parts = PurePosixPath(key).parts
        if not parts or key.startswith("/") or ".." in parts or "\\" in key:
            raise StorageError(key)
        path = self.root.joinpath(*parts).resolve()
        if self.root not in path.parents:
            raise StorageError(key)
        return path

    def write_tree(self, prefix: str, files: Mapping[str, bytes]) -> None:
        """Store a set of files under `prefix`, all or nothing (a temporary folder is renamed)."""
        target = self._path(prefix)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = _aside(target)
        # mkdir, not mkdtemp (0700): the folder gets the process's umask like every other
        # file, so that nginx, another user, can send package files (X-Accel-Redirect).
        staging.mkdir()
        try:
            for name, data in files.items():
                path = staging.joinpath(*PurePosixPath(name).parts)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            if target.exists():
                shutil.rmtree(target)
            os.replace(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    def write_file(self, key: str, data: bytes) -> None:
        """Store one file, atomically (written aside, then renamed into place)."""
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = _aside(target)
        try:
            # 0600: certificates, roster uploads and exports name learners; only Hocvu
            # sends them (package files, which nginx sends, come through write_tree).
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temporary, target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    def read_tree(self, prefix: str) -> dict[str, bytes]:
        """Every file under `prefix`, as {relative path: bytes}."""
        base = self._path(prefix)
        return {
            p.relative_to(base).as_posix(): p.read_bytes()
            for p in sorted(base.rglob("*"))
            if p.is_file()
        }

    def path_for_writing(self, key: str) -> Path:
        """Where a large file streamed to disk goes (its folder is created); write it aside
        and rename it into place, so readers never see half a file."""
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def local_path(self, key: str) -> Path:
        """The file on disk for `key` (for sending it); StorageError when it is not there."""
        path = self._path(key)
        if not path.is_file():
            raise StorageError(key)
        return path


def for_app(app) -> LocalStorage:
    """The site's file storage (HOCVU_FILES_DIR) of a Flask app."""
    return LocalStorage(app.config["HOCVU_FILES_DIR"])

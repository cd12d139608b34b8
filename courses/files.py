"""Reading a bundle's files safely from a folder or an uploaded zip.

Uploads are hostile: a zip may hold absolute paths, `..` components, symbolic links, millions
of entries, or a few kilobytes that expand to gigabytes. Every limit is checked against what
is actually read, not only against what the archive declares.
"""

from __future__ import annotations

import io
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from courses.errors import N_, BundleError, Problem


@dataclass(frozen=True)
class Limits:
    """How large a bundle may be (an LMS passes its own: lms.services.uploads)."""

    max_archive_bytes: int = 100 * 1024 * 1024
    max_total_bytes: int = 300 * 1024 * 1024
    max_file_bytes: int = 100 * 1024 * 1024
    max_files: int = 2000
    max_ratio: int = 200  # expanded/compressed, per file, for files over 1 MiB expanded


def _clean_name(name: str) -> str | None:
    """The normalised relative path of an archive entry, or None when it is unsafe."""
    if "\\" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None
    parts = [p for p in PurePosixPath(name).parts if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        return None
    return "/".join(parts)


def _strip_top_folder(files: dict[str, bytes]) -> dict[str, bytes]:
    """A zip of the course folder holds one top folder; read the bundle from inside it."""
    tops = {name.split("/", 1)[0] for name in files}
    if len(tops) == 1 and all("/" in name for name in files):
        top = tops.pop()
        return {name[len(top) + 1 :]: data for name, data in files.items()}
    return files


def read_zip(data: bytes, limits: Limits = Limits()) -> dict[str, bytes]:
    """The files of a zip archive as {relative path: bytes}; raise BundleError when unsafe."""
    label = "(zip)"
    if len(data) > limits.max_archive_bytes:
        raise BundleError(
            [
                Problem(
                    label,
                    None,
                    N_("The file is %(size_bytes)s; a course bundle may be at most %(max_bytes)s."),
                    {"size_bytes": len(data), "max_bytes": limits.max_archive_bytes},
                )
            ]
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise BundleError(
            [Problem(label, None, N_("The file is not a zip archive, or it is damaged."))]
        ) from None
    problems: list[Problem] = []
    entries = [i for i in infos if not i.is_dir()]
    if len(entries) > limits.max_files:
        raise BundleError(
            [
                Problem(
                    label,
                    None,
                    N_("The archive holds %(count)d files; at most %(max)d are allowed."),
                    {"count": len(entries), "max": limits.max_files},
                )
            ]
        )
    files: dict[str, bytes] = {}
    total = 0
    for info in entries:
        name = _clean_name(info.filename)
        if name is None:
            problems.append(
                Problem(info.filename, None, N_("Unsafe path in the archive; it was not read."))
            )
            continue
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            problems.append(
                Problem(name, None, N_("Symbolic links are not allowed in a course bundle."))
            )
            continue
        if info.flag_bits & 0x1:
            problems.append(Problem(name, None, N_("Encrypted files cannot be read.")))
            continue
        if info.file_size > limits.max_file_bytes:
            raise BundleError([_file_too_large(name, info.file_size, limits)])
        ratio_bad = info.file_size > 1024 * 1024 and info.file_size > limits.max_ratio * max(
            info.compress_size, 1
        )
        if ratio_bad or total + info.file_size > limits.max_total_bytes:
            raise BundleError([_too_large(name, limits)])
        try:
            with archive.open(info) as stream:
                # Read one byte more than allowed: a forged size header cannot fool this.
                allowed = min(limits.max_file_bytes, limits.max_total_bytes - total)
                content = stream.read(allowed + 1)
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError):
            problems.append(Problem(name, None, N_("This file in the archive is damaged.")))
            continue
        if len(content) > allowed:
            raise BundleError([_too_large(name, limits)])
        total += len(content)
        files[name] = content
    if problems:
        raise BundleError(problems)
    return _strip_top_folder(files)


def _too_large(name: str, limits: Limits) -> Problem:
    return Problem(
        name,
        None,
        N_("The archive expands to more than %(max_bytes)s; the bundle is refused."),
        {"max_bytes": limits.max_total_bytes},
    )


def _file_too_large(name: str, size: int, limits: Limits) -> Problem:
    return Problem(
        name,
        None,
        N_("This file is %(size_bytes)s; a file may be at most %(max_bytes)s."),
        {"size_bytes": size, "max_bytes": limits.max_file_bytes},
    )


def read_folder(folder: Path, limits: Limits = Limits()) -> dict[str, bytes]:
    """The files under a folder as {relative path: bytes}; links are refused."""
    files: dict[str, bytes] = {}
    problems: list[Problem] = []
    total = 0
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if any(part.startswith(".") for part in rel.split("/")):
            continue  # .git, .DS_Store and other hidden files are not part of the course
        if path.is_symlink():
            problems.append(
                Problem(rel, None, N_("Symbolic links are not allowed in a course bundle."))
            )
            continue
        if not path.is_file():
            continue
        size = path.stat().st_size
        total += size
        if len(files) >= limits.max_files:
            raise BundleError(
                [
                    Problem(
                        rel,
                        None,
                        N_("The folder holds more than %(max)d files; the bundle is refused."),
                        {"max": limits.max_files},
                    )
                ]
            )
        if size > limits.max_file_bytes:
            raise BundleError([_file_too_large(rel, size, limits)])
        if total > limits.max_total_bytes:
            raise BundleError([_too_large(rel, limits)])
        files[rel] = path.read_bytes()
    if problems:
        raise BundleError(problems)
    return files


def decode_text(path: str, data: bytes) -> tuple[str | None, Problem | None]:
    """UTF-8 text (a BOM is accepted), or a problem that says what the encoding looks like."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None, Problem(
            path,
            None,
            N_("The file is saved as UTF-16; save it as UTF-8 (in Notepad: Save as, UTF-8)."),
        )
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        return None, Problem(
            path,
            line,
            N_(
                "The file is not UTF-8 (perhaps Windows-1258 or another old encoding); "
                "save it as UTF-8."
            ),
        )

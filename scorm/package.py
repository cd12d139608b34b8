"""Reading an uploaded SCORM zip safely, without extracting it to disk.

Uploads are hostile: a zip may hold absolute paths, `..` components, symbolic links, tens of
thousands of entries, or a few kilobytes that expand to gigabytes. Every entry is decompressed
once, as a stream, and checked against what is actually read, not only against what the archive
declares; the files are then read again on demand, so a package costs the memory of its zip.
The manifest must be at the root of the zip or inside its one top folder (which is stripped).
"""

from __future__ import annotations

import io
import stat
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

from scorm.errors import N_, PackageError, Problem
from scorm.manifest import MANIFEST, Package, parse_manifest, with_files

_LABEL = "(zip)"
_CHUNK = 1024 * 1024
# Written by the macOS Finder next to the real files; never part of a package.
_JUNK = ("__MACOSX",)
_JUNK_NAMES = (".DS_Store", "Thumbs.db")


@dataclass(frozen=True)
class Limits:
    """How large a package may be (an LMS passes its own: lms.services.uploads)."""

    max_archive_bytes: int = 200 * 1024 * 1024
    max_total_bytes: int = 500 * 1024 * 1024
    max_file_bytes: int = 200 * 1024 * 1024
    max_files: int = 5000
    max_ratio: int = 200  # expanded/compressed, per file, for files over 1 MiB expanded


class PackageFiles(Mapping[str, bytes]):
    """The checked files of a zip as {relative path: bytes}, each decompressed when asked for."""

    def __init__(self, archive: zipfile.ZipFile, entries: dict[str, zipfile.ZipInfo]) -> None:
        self._archive = archive
        self._entries = entries

    def __getitem__(self, name: str) -> bytes:
        return self._archive.read(self._entries[name])

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def size(self, name: str) -> int:
        """The expanded size of one file, in bytes."""
        return self._entries[name].file_size

    def total_size(self) -> int:
        """The expanded size of all files, in bytes."""
        return sum(info.file_size for info in self._entries.values())

    def without_top_folder(self, top: str) -> PackageFiles:
        """The same files seen from inside `top` (the files outside it are dropped)."""
        prefix = top + "/"
        return PackageFiles(
            self._archive,
            {n[len(prefix) :]: i for n, i in self._entries.items() if n.startswith(prefix)},
        )


def _clean_name(name: str) -> str | None:
    """The normalised relative path of an archive entry, or None when it is unsafe."""
    if "\\" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None
    parts = [p for p in PurePosixPath(name).parts if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        return None
    return "/".join(parts)


def _too_large(name: str, limits: Limits) -> PackageError:
    return PackageError(
        [
            Problem(
                name,
                None,
                N_("The archive expands to more than %(max_bytes)s; the package is refused."),
                {"max_bytes": limits.max_total_bytes},
            )
        ]
    )


def _file_too_large(name: str, size: int, limits: Limits) -> PackageError:
    return PackageError(
        [
            Problem(
                name,
                None,
                N_("This file is %(size_bytes)s; a file may be at most %(max_bytes)s."),
                {"size_bytes": size, "max_bytes": limits.max_file_bytes},
            )
        ]
    )


def _bomb(name: str, ratio: int) -> PackageError:
    return PackageError(
        [
            Problem(
                name,
                None,
                N_(
                    "This file expands more than %(ratio)d times its compressed size, "
                    "like a zip bomb; the package is refused."
                ),
                {"ratio": ratio},
            )
        ]
    )


def _measure(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, allowed: int, limits: Limits
) -> int:
    """Decompress one entry as a stream and return its real size; raise when it is too big."""
    size = 0
    with archive.open(info) as stream:
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            if size > allowed:
                raise _too_large(name, limits)
            if size > _CHUNK and size > limits.max_ratio * max(info.compress_size, 1):
                raise _bomb(name, limits.max_ratio)
    return size


def read_zip(data: bytes, limits: Limits = Limits()) -> PackageFiles:
    """The files of a zip archive, checked; raise PackageError when it is unsafe or damaged."""
    if len(data) > limits.max_archive_bytes:
        raise PackageError(
            [
                Problem(
                    _LABEL,
                    None,
                    N_("The file is %(size_bytes)s; a SCORM package may be at most %(max_bytes)s."),
                    {"size_bytes": len(data), "max_bytes": limits.max_archive_bytes},
                )
            ]
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise PackageError(
            [Problem(_LABEL, None, N_("The file is not a zip archive, or it is damaged."))]
        ) from None
    entries = [i for i in infos if not i.is_dir()]
    if len(entries) > limits.max_files:
        raise PackageError(
            [
                Problem(
                    _LABEL,
                    None,
                    N_("The archive holds %(count)d files; at most %(max)d are allowed."),
                    {"count": len(entries), "max": limits.max_files},
                )
            ]
        )
    problems: list[Problem] = []
    checked: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in entries:
        name = _clean_name(info.filename)
        if name is None:
            problems.append(
                Problem(info.filename, None, N_("Unsafe path in the archive; it was not read."))
            )
            continue
        if name.split("/", 1)[0] in _JUNK or name.rsplit("/", 1)[-1] in _JUNK_NAMES:
            continue
        if stat.S_ISLNK(info.external_attr >> 16):
            problems.append(
                Problem(name, None, N_("Symbolic links are not allowed in a SCORM package."))
            )
            continue
        if info.flag_bits & 0x1:
            problems.append(Problem(name, None, N_("Encrypted files cannot be read.")))
            continue
        if name in checked:
            problems.append(Problem(name, None, N_("This file is twice in the archive.")))
            continue
        declared = info.file_size
        if declared > limits.max_file_bytes:
            raise _file_too_large(name, declared, limits)
        if total + declared > limits.max_total_bytes:
            raise _too_large(name, limits)
        if declared > _CHUNK and declared > limits.max_ratio * max(info.compress_size, 1):
            raise _bomb(name, limits.max_ratio)
        allowed = min(limits.max_file_bytes, limits.max_total_bytes - total)
        try:
            size = _measure(archive, info, name, allowed, limits)
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError):
            problems.append(Problem(name, None, N_("This file in the archive is damaged.")))
            continue
        if size != declared:  # zipfile trusts the header when reading again: it must not lie
            problems.append(Problem(name, None, N_("This file in the archive is damaged.")))
            continue
        total += size
        checked[name] = info
    if problems:
        raise PackageError(problems)
    return PackageFiles(archive, checked)


def find_manifest(files: Mapping[str, bytes]) -> Mapping[str, bytes]:
    """The files seen from the folder that holds imsmanifest.xml: the root or one top folder."""
    if MANIFEST in files:
        return files
    tops = {name.split("/", 1)[0] for name in files}
    if len(tops) == 1 and all("/" in name for name in files):
        top = tops.pop()
        if f"{top}/{MANIFEST}" in files:
            if isinstance(files, PackageFiles):
                return files.without_top_folder(top)
            prefix = top + "/"
            return {n[len(prefix) :]: d for n, d in files.items() if n.startswith(prefix)}
    elsewhere = sorted(
        (n for n in files if n.rsplit("/", 1)[-1].lower() == MANIFEST),
        key=lambda n: (n.count("/"), n),
    )
    misnamed = [n for n in elsewhere if n.rsplit("/", 1)[-1] != MANIFEST]
    if misnamed:
        raise PackageError(
            [
                Problem(
                    misnamed[0],
                    None,
                    N_("The manifest must be called imsmanifest.xml, in lower case letters."),
                )
            ]
        )
    if elsewhere:
        raise PackageError(
            [
                Problem(
                    elsewhere[0],
                    None,
                    N_(
                        "imsmanifest.xml must be at the top of the zip (or inside its only "
                        "folder); zip the contents of the package folder."
                    ),
                )
            ]
        )
    raise PackageError(
        [
            Problem(
                _LABEL,
                None,
                N_("There is no imsmanifest.xml in the zip: it is not a SCORM package."),
            )
        ]
    )


def read_package(data: bytes, limits: Limits = Limits()) -> Package:
    """Read an uploaded SCORM zip: manifest and files; PackageError lists every problem."""
    files = find_manifest(read_zip(data, limits))
    manifest = parse_manifest(files[MANIFEST], set(files))
    return with_files(manifest, files)

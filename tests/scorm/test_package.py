"""Reading SCORM zips: valid packages, the manifest inside one top folder, and hostile archives."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import pytest

from scorm.errors import PackageError
from scorm.package import Limits, read_package, read_zip

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def zip_folder(folder: Path, top: str = "") -> bytes:
    """A zip of a fixture folder, optionally inside one top folder."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, top + path.relative_to(folder).as_posix())
    return buffer.getvalue()


def zip_entries(entries: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data.encode() if isinstance(data, str) else data)
    return buffer.getvalue()


def problems(data: bytes, limits: Limits = Limits()) -> list[str]:
    with pytest.raises(PackageError) as error:
        read_package(data, limits)
    return [str(p) for p in error.value.problems]


MANIFEST_12 = (FIXTURES / "scorm12-single" / "imsmanifest.xml").read_text(encoding="utf-8")


def test_scorm12_single_sco_reads():
    package = read_package(zip_folder(FIXTURES / "scorm12-single"))
    assert (package.version, package.edition, package.label) == ("1.2", None, "SCORM 1.2")
    assert package.identifier == "vn.hocvu.test.scorm12"
    assert package.title == "An toàn thông tin cơ bản"
    assert sorted(package.files) == ["imsmanifest.xml", "index.html", "media/khoa hoc.png"]
    assert package.files["index.html"].startswith(b"<!doctype html>")
    [sco] = package.scos()
    assert sco.title == "Bài 1: Mật khẩu" and sco.sco
    assert sco.launch == "index.html?lang=vi#start"
    assert package.warnings == ()


def test_manifest_inside_one_top_folder_is_read_from_there():
    package = read_package(zip_folder(FIXTURES / "scorm2004-multi", top="Ky nang so/"))
    assert "imsmanifest.xml" in package.files and "sco1/index.html" in package.files
    assert not any(name.startswith("Ky nang so") for name in package.files)
    assert [i.identifier for i in package.scos()] == ["lesson_1", "lesson_2"]


def test_macos_junk_next_to_the_top_folder_is_ignored():
    data = zip_entries(
        {
            "course/imsmanifest.xml": MANIFEST_12,
            "course/index.html": "x",
            "course/media/khoa hoc.png": "x",
            "__MACOSX/course/._index.html": "x",
            "course/.DS_Store": "x",
        }
    )
    package = read_package(data)
    assert sorted(package.files) == ["imsmanifest.xml", "index.html", "media/khoa hoc.png"]


def test_not_a_zip():
    assert problems(b"%PDF-1.7 not a zip") == [
        "(zip): The file is not a zip archive, or it is damaged."
    ]


def test_damaged_zip():
    data = zip_folder(FIXTURES / "scorm12-single")
    assert problems(data[: len(data) // 2]) == [
        "(zip): The file is not a zip archive, or it is damaged."
    ]


def test_zip_without_manifest():
    assert problems(zip_entries({"index.html": "<p>hi</p>"})) == [
        "(zip): There is no imsmanifest.xml in the zip: it is not a SCORM package."
    ]


def test_manifest_too_deep_says_where_it_is():
    data = zip_entries({"a/b/imsmanifest.xml": MANIFEST_12, "readme.txt": "x"})
    [problem] = problems(data)
    assert problem.startswith("a/b/imsmanifest.xml: imsmanifest.xml must be at the top of the zip")


def test_manifest_with_upper_case_name():
    [problem] = problems(zip_entries({"IMSManifest.xml": MANIFEST_12}))
    assert "must be called imsmanifest.xml, in lower case" in problem


def test_dotdot_entry_is_refused():
    data = zip_entries({"imsmanifest.xml": MANIFEST_12, "../../evil.sh": "rm -rf /"})
    assert problems(data) == ["../../evil.sh: Unsafe path in the archive; it was not read."]


def test_absolute_path_entry_is_refused():
    data = zip_entries({"imsmanifest.xml": MANIFEST_12, "/etc/cron.d/evil": "* * * * * root x"})
    assert problems(data) == ["/etc/cron.d/evil: Unsafe path in the archive; it was not read."]


def test_symlink_entry_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("imsmanifest.xml", MANIFEST_12)
        link = zipfile.ZipInfo("index.html")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    assert problems(buffer.getvalue()) == [
        "index.html: Symbolic links are not allowed in a SCORM package."
    ]


def test_too_many_files():
    entries: dict[str, bytes | str] = {"imsmanifest.xml": MANIFEST_12}
    entries.update({f"f/{n}.txt": "" for n in range(10_000)})
    assert problems(zip_entries(entries)) == [
        "(zip): The archive holds 10001 files; at most 5000 are allowed."
    ]


def test_zip_bomb_ratio_is_refused():
    data = zip_entries({"imsmanifest.xml": MANIFEST_12, "video.mp4": b"\0" * (20 * 1024 * 1024)})
    assert len(data) < 100_000
    [problem] = problems(data)
    assert problem.startswith("video.mp4: This file expands more than 200 times")


def test_total_expanded_size_is_limited():
    limits = Limits(max_total_bytes=3 * 1024 * 1024, max_ratio=10**6)
    data = zip_entries(
        {"imsmanifest.xml": MANIFEST_12, **{f"{n}.bin": b"\0" * 1024 * 1024 for n in range(4)}}
    )
    assert problems(data, limits) == [
        "2.bin: The archive expands to more than 3 MB; the package is refused."
    ]


def test_lying_size_header_is_caught_while_reading():
    """A header that claims a small file cannot smuggle a large one past the limits."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("imsmanifest.xml", MANIFEST_12)
        archive.writestr("big.bin", b"\0" * (3 * 1024 * 1024))
    data = bytearray(buffer.getvalue())
    # Patch the expanded size of big.bin in its local and central headers to 10 bytes.
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (start := data.find(signature, start)) != -1:
            name_offset = 30 if signature == b"PK\x03\x04" else 46
            if data[start + name_offset : start + name_offset + 7] == b"big.bin":
                data[start + offset : start + offset + 4] = (10).to_bytes(4, "little")
            start += 4
    limits = Limits(max_total_bytes=2 * 1024 * 1024, max_ratio=10**6)
    assert problems(bytes(data), limits) == ["big.bin: This file in the archive is damaged."]


def test_archive_size_is_limited_before_opening():
    limits = Limits(max_archive_bytes=1024 * 1024)
    assert problems(b"\0" * (2 * 1024 * 1024), limits) == [
        "(zip): The file is 2 MB; a SCORM package may be at most 1 MB."
    ]


def test_files_are_read_on_demand_with_sizes():
    files = read_zip(zip_folder(FIXTURES / "scorm2004-multi"))
    assert len(files) == 5
    assert files.size("shared/api.js") == len(files["shared/api.js"]) == 14
    assert files.total_size() == sum(len(files[name]) for name in files)

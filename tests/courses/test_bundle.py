"""Reading course bundles: every problem reported at once, with file and line; hostile zips."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import pytest

from courses.bundle import load, read_bundle
from courses.errors import BundleError
from courses.files import Limits, read_zip

LIBRARY = Path(__file__).resolve().parents[2] / "courses" / "library"

COURSE = 'title = "Khóa thử"\nslug = "khoa-thu"\n'
MODULE = "---\ntitle: Bài một\nminutes: 5\n---\n\nNội dung bài một.\n"


def _zip(files: dict[str, bytes | str], **kwargs) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data.encode() if isinstance(data, str) else data)
    return buffer.getvalue()


def _problems(files: dict[str, bytes | str]) -> list[str]:
    with pytest.raises(BundleError) as error:
        read_bundle({k: v.encode() if isinstance(v, str) else v for k, v in files.items()})
    return [str(p) for p in error.value.problems]


def test_minimal_bundle_reads():
    course = read_bundle({"course.toml": COURSE.encode(), "modules/01-mot.md": MODULE.encode()})
    assert course.title == "Khóa thử" and course.deadline_days == 10 and course.pass_mark == 5.0
    assert [m.key for m in course.modules] == ["01-mot"]
    assert course.modules[0].minutes == 5


def test_empty_bundle():
    problems = _problems({})
    assert any("course.toml is missing" in p for p in problems)
    assert any("no modules" in p for p in problems)


def test_bundle_with_only_course_toml():
    assert _problems({"course.toml": COURSE}) == [
        "modules/: The course has no modules (modules/NN-slug.md)."
    ]


def test_every_problem_is_reported_at_once_with_lines():
    problems = _problems(
        {
            "course.toml": COURSE + "deadline_days = 0\ncolour = 'đỏ'\n",
            "modules/01-mot.md": "---\ntitle: Một\nminutes: nhiều\ncolour: xanh\n---\n\n"
            "Xem ![ảnh](media/khong-co.png)\n",
            "modules/01-trung.md": MODULE,
            "modules/Bai Hai.md": MODULE,
        }
    )
    assert "course.toml:3: deadline_days must be a whole number from 1 to 365." in problems
    assert "course.toml:4: Unknown key colour." in problems
    assert "modules/01-mot.md:3: minutes must be a whole number of minutes from 1 to 600." in (
        problems
    )
    assert "modules/01-mot.md:4: Unknown key colour." in problems
    assert "modules/01-mot.md:7: media/khong-co.png is not in the bundle." in problems
    assert any("Module number 01 is used twice" in p for p in problems)
    assert any(
        p.startswith("modules/Bai Hai.md: A module file is named NN-slug.md") for p in problems
    )


def test_invalid_front_matter():
    problems = _problems({"course.toml": COURSE, "modules/01-mot.md": "Không có phần đầu.\n"})
    assert problems == [
        "modules/01-mot.md:1: The module must start with front matter between two '---' lines."
    ]
    unclosed = _problems({"course.toml": COURSE, "modules/01-mot.md": "---\ntitle: A\n"})
    assert "modules/01-mot.md:1: The front matter has no closing '---' line." in unclosed


def test_windows_1258_and_utf16_files_are_refused_with_advice():
    text = "---\ntitle: Bài học\nminutes: 5\n---\n\nTiếng Việt có dấu.\n"
    # Windows-1258 writes tones as combining marks after a precomposed base letter.
    cp1258 = (
        "---\ntitle: Ba\u0300i ho\u0323c\nminutes: 5\n---\n\nTi\u00ea\u0301ng Vi\u00ea\u0323t.\n"
    )
    problems = _problems({"course.toml": COURSE, "modules/01-mot.md": cp1258.encode("cp1258")})
    assert any("not UTF-8" in p and "Windows-1258" in p for p in problems)
    utf16 = _problems({"course.toml": COURSE, "modules/01-mot.md": text.encode("utf-16")})
    assert any("UTF-16" in p for p in utf16)


def test_utf8_bom_and_crlf_are_fine_and_nfd_title_becomes_nfc():
    nfd_title = "Bài mơ\u0301i"
    module = f"---\r\ntitle: {nfd_title}\r\nminutes: 5\r\n---\r\n\r\nNội dung.\r\n"
    course = read_bundle(
        {
            "course.toml": ('title = "Kho\u0301a thư\u0309"\nslug = "k"\n').encode(),
            "modules/01-mot.md": b"\xef\xbb\xbf" + module.encode(),
        }
    )
    assert course.title == "Khóa thử"
    assert course.modules[0].title == "Bài mới"


def test_self_check_is_parsed_and_removed_from_the_body():
    module = MODULE + (
        "\n## Tự kiểm tra\n\n1. Mã OTP có được đọc cho người khác không?\n"
        "   - [ ] Có\n   - [x] Không\n   > Không bao giờ đọc OTP cho ai.\n"
        "2. Chọn các mật khẩu mạnh.\n   - [x] Ha Long mua thu 2026!\n   - [ ] 123456\n"
        "   - [X] cây-bàng-đỏ-sân-trường\n"
    )
    course = read_bundle({"course.toml": COURSE.encode(), "modules/01-mot.md": module.encode()})
    first, second = course.modules[0].self_check
    assert first.options == ("Có", "Không") and first.correct == {1}
    assert first.explanation == "Không bao giờ đọc OTP cho ai."
    assert second.correct == {0, 2}
    assert "Tự kiểm tra" not in course.modules[0].body


def test_bad_self_check_lines_are_reported():
    module = MODULE + "\n## Tự kiểm tra\n\n1. Câu hỏi?\n   - [ ] A\n   - [ ] B\nlinh tinh\n"
    problems = _problems({"course.toml": COURSE, "modules/01-mot.md": module})
    assert "modules/01-mot.md:10: Mark the correct option of this question with [x]." in problems
    assert any(p.startswith("modules/01-mot.md:13: This line of the self-check") for p in problems)


def test_question_bank_problems_name_their_line():
    bank = (
        '[[questions]]\nid = "a"\nmodule = "01-mot"\ntype = "single"\ntext = "?"\n'
        'choices = [{ text = "x", correct = true }, { text = "y", correct = true }]\n\n'
        '[[questions]]\nid = "a"\nmodule = "99-khong"\ntype = "essay"\ntext = "?"\n'
    )
    problems = _problems(
        {
            "course.toml": COURSE + 'final_test = "bank.toml"\n',
            "modules/01-mot.md": MODULE,
            "bank.toml": bank,
        }
    )
    assert "bank.toml:1: A single-choice question needs exactly one correct choice." in problems
    assert any(p.startswith("bank.toml:8: The question type must be one of") for p in problems)


def test_a_question_image_must_be_in_the_bundle():
    bank = (
        '[[questions]]\nid = "a"\nmodule = "01-mot"\ntype = "truefalse"\ntext = "?"\n'
        'answer = true\nimage = "media/khong-co.png"\n'
    )
    problems = _problems(
        {
            "course.toml": COURSE + 'final_test = "bank.toml"\n',
            "modules/01-mot.md": MODULE,
            "bank.toml": bank,
        }
    )
    assert problems == ["bank.toml:1: media/khong-co.png is not in the bundle."]


def test_zip_with_one_top_folder_reads():
    data = _zip({"khoa/course.toml": COURSE, "khoa/modules/01-mot.md": MODULE})
    assert load(data).slug == "khoa-thu"


def test_zip_path_traversal_and_absolute_paths_are_refused():
    for name in ("../../etc/passwd", "/etc/passwd", "a/../../x", "C:\\Windows\\x"):
        data = _zip({"course.toml": COURSE, "modules/01-mot.md": MODULE, name: "root:x"})
        with pytest.raises(BundleError) as error:
            load(data)
        assert any("Unsafe path" in str(p) for p in error.value.problems), name


def test_zip_symlink_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("course.toml", COURSE)
        link = zipfile.ZipInfo("modules/01-mot.md")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    with pytest.raises(BundleError) as error:
        load(buffer.getvalue())
    assert any("Symbolic links" in str(p) for p in error.value.problems)


def test_zip_bomb_is_refused_without_expanding_it():
    bomb = _zip({"course.toml": COURSE, "media/bomb.bin": b"\0" * (50 * 1024 * 1024)})
    assert len(bomb) < 200 * 1024
    with pytest.raises(BundleError) as error:
        read_zip(bomb, Limits(max_total_bytes=20 * 1024 * 1024))
    assert "expands to more than" in str(error.value)
    with pytest.raises(BundleError):  # the ratio alone is enough, even under the size limit
        read_zip(bomb)


def test_forged_size_headers_do_not_fool_the_reader():
    data = bytearray(_zip({"media/big.bin": b"A" * (3 * 1024 * 1024)}))
    # Claim an expanded size of 10 bytes in the central directory and the local header.
    for sig, offset in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):
        at = data.find(sig)
        data[at + offset : at + offset + 4] = (10).to_bytes(4, "little")
    with pytest.raises(BundleError):
        read_zip(bytes(data), Limits(max_total_bytes=1024 * 1024, max_file_bytes=1024 * 1024))


def test_a_200_mb_upload_is_refused_by_size_before_reading(tmp_path):
    big = tmp_path / "big.zip"
    with big.open("wb") as handle:
        handle.truncate(200 * 1024 * 1024)  # sparse: no 200 MB written to disk
    with pytest.raises(BundleError) as error:
        load(big)
    assert "a course bundle may be at most 100 MB" in str(error.value)


def test_not_a_zip():
    with pytest.raises(BundleError, match="not a zip archive"):
        load(b"this is not a zip")


def test_the_bundled_course_is_complete():
    course = load(LIBRARY / "chuyen-doi-so-co-ban")
    assert course.title == "Chuyển đổi số cơ bản"
    assert len(course.modules) >= 8
    for module in course.modules:
        words = len(module.body.split())
        assert 600 <= words <= 1500, (module.key, words)
        assert 2 <= len(module.self_check) <= 4, module.key
    assert len(course.final_test.questions) >= 40
    assert set(course.final_test.modules()) == {m.key for m in course.modules}


def test_test_per_category_sets_the_draw_per_bank_category():
    """course.toml `test.per_category` (docs/course-format.md, Questions drawn per category):
    categories to whole numbers, at least one question in all; anything else is refused."""
    module = {"modules/01-mot.md": MODULE}
    good = COURSE + '[test]\nper_category = { "Tin học/Thư" = 2, "An toàn" = 0 }\n'
    course = read_bundle(
        {"course.toml": good.encode(), **{k: v.encode() for k, v in module.items()}}
    )
    assert course.test.per_category == {"Tin học/Thư": 2, "An toàn": 0}
    for bad in ('{ "A" = -1 }', '{ "A" = 0 }', '{ "A" = "hai" }', "3"):
        problems = _problems({"course.toml": COURSE + f"[test]\nper_category = {bad}\n", **module})
        assert any(
            "test.per_category maps categories to numbers of questions, at least one in all." in p
            for p in problems
        ), (bad, problems)

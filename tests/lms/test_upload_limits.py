"""Upload limits: one set for a package, a course bundle and the request that carries them
(lms.services.uploads), true messages in the reader's number format, and zips recognised by
their content."""

from __future__ import annotations

import io
import os
import re
import zipfile

import pytest
from sqlalchemy import select

from lms.app.i18n import message_text
from lms.models import Activity, CourseVersion, Role
from lms.services import uploads
from tests.factories import mini_course_files, zip_bytes
from tests.lms.test_scorm_tracking import _upload, package_bytes

MIB = 1024 * 1024


@pytest.fixture
def author(make):
    user = make.user(make.unit(), username="tacgia", roles=[(Role.AUTHOR, None)])
    make.commit()
    return user


def _many_files(count: int) -> bytes:
    """probe12 with `count` small files more (a real package with one file per image)."""
    extra = {f"anh/{i:04d}.txt": b"x" for i in range(count)}
    return package_bytes("probe12", **extra)


def _errors(response) -> str:
    html = response.get_data(as_text=True)
    return " ".join(
        re.findall(r'<div class="form-errors".*?</div>|<p class="error".*?</p>', html, re.S)
    )


def test_a_package_of_2502_files_is_taken_alone_and_in_a_bundle(client, login, author, session):
    """The same limits for a package alone and inside a course (5,000 files)."""
    data = _many_files(2502 - 3)
    assert len(zipfile.ZipFile(io.BytesIO(data)).namelist()) == 2502
    login("tacgia")
    alone = _upload(client, data, "nhieu-tep.zip")
    assert alone.status_code == 302, _errors(alone)
    files = mini_course_files()
    files["modules/03-nhieu-tep.zip"] = data
    bundled = _upload(client, zip_bytes(files), "khoa.zip")
    assert bundled.status_code == 302, _errors(bundled)


def test_the_request_limit_carries_the_largest_upload_and_its_form(app):
    assert app.config["MAX_CONTENT_LENGTH"] == uploads.REQUEST_BYTES > uploads.ARCHIVE_BYTES
    assert uploads.package_limits().max_files == uploads.bundle_limits().max_files
    assert uploads.package_limits().max_archive_bytes == uploads.bundle_limits().max_archive_bytes


def test_sizes_are_shown_true_and_in_vietnamese_number_format(app):
    """120.4 MB against 100 MB (the case that read "100 MB; at most 100 MB")."""
    message = "The file is %(size_bytes)s; a SCORM package may be at most %(max_bytes)s."
    with app.test_request_context(headers={"Accept-Language": "vi"}):
        text = message_text(message, {"size_bytes": int(120.4 * MIB), "max_bytes": 100 * MIB})
        assert text == "Tệp có dung lượng 120,4 MB; gói SCORM chỉ được tối đa 100 MB."
        close = message_text(message, {"size_bytes": 100 * MIB + 40_000, "max_bytes": 100 * MIB})
        assert close == "Tệp có dung lượng 100,04 MB; gói SCORM chỉ được tối đa 100 MB."
        byte = message_text(message, {"size_bytes": 100 * MIB + 1, "max_bytes": 100 * MIB})
        assert (
            byte
            == "Tệp có dung lượng 104.857.601 byte; gói SCORM chỉ được tối đa 104.857.600 byte."
        )


def test_a_file_over_the_limit_is_refused_with_its_true_size(client, login, author, monkeypatch):
    monkeypatch.setattr(uploads, "ARCHIVE_BYTES", 1 * MIB)
    login("tacgia")
    big = zip_bytes({"imsmanifest.xml": b"<manifest/>", "video.bin": os.urandom(int(1.2 * MIB))})
    response = _upload(client, big, "video.zip")
    assert response.status_code == 422
    text = _errors(response)
    size = len(big) / MIB
    assert f"Tệp có dung lượng {size:.1f} MB".replace(".", ",") in text
    assert "chỉ được tối đa 1 MB" in text


def test_a_package_inside_a_course_is_known_by_its_content_not_its_name(
    client, login, author, make, session
):
    """A zip named 03-video (no extension) still becomes the
    course's 03-video.zip module; a .zip that is not a zip is said to be so."""
    version = make.course(str(client.application.config["HOCVU_FILES_DIR"]))
    make.commit()
    login("tacgia")
    response = _upload(client, package_bytes("probe12"), "03-video", version.course_id)
    assert response.status_code == 302, _errors(response)
    session.rollback()
    latest = session.scalars(select(CourseVersion).order_by(CourseVersion.id.desc())).first()
    keys = [
        a.key for a in session.scalars(select(Activity).where(Activity.version_id == latest.id))
    ]
    assert "03-video" in keys
    broken = _upload(client, b"not a zip at all", "02-video.zip", version.course_id)
    assert "Tệp không phải là tệp nén zip hoặc đã bị hỏng." in _errors(broken)

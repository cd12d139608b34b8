"""Downloading a course version's question bank as Moodle XML and GIFT from its page (issue
21: "Export the bank back to Moodle XML and GIFT"), and uploading the download again."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest
from lxml import etree

from courses import gift, moodlexml
from lms.models import CourseVersion, Role
from lms.services import assessment
from tests.conftest import LoggedIn, csrf_token

BANKS = Path(__file__).parents[1] / "courses" / "fixtures" / "banks"


@pytest.fixture
def author(make):
    user = make.user(make.unit(), username="tacgia", roles=[(Role.AUTHOR, None)])
    make.commit()
    return user


def _upload(client, data: bytes, name: str, course_id: int):
    token = csrf_token(client, "/author/")
    response = client.post(
        "/author/",
        data={"csrf_token": token, "course_id": str(course_id), "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    return int(response.location.rsplit("/", 1)[-1])


def _bank(session, version_id: int):
    version = session.get(CourseVersion, version_id)
    test = next(a for a in version.activities if a.kind == "test")
    return assessment.bank_of(test).questions


def test_the_version_page_downloads_the_bank_as_moodle_xml_and_gift(
    app, client, login, author, make, session
):
    """The version's page offers both files and says what GIFT leaves out; the Moodle XML
    download carries the images and reads back to the stored questions; uploading it again
    gives the same bank; the GIFT download says in Vietnamese what it left out."""
    v1 = make.course(app.config["HOCVU_FILES_DIR"])
    make.commit()
    login("tacgia")
    v2 = _upload(client, (BANKS / "moodle-rules.xml").read_bytes(), "rules.xml", v1.course_id)
    page = client.get(f"/author/versions/{v2}").get_data(as_text=True)
    assert f'href="/author/versions/{v2}/bank.xml" download>Moodle XML</a>' in page
    assert f'href="/author/versions/{v2}/bank.gift" download>GIFT</a>' in page
    assert (
        "trong ngân hàng này 1 câu hỏi mất hình ảnh, 2 câu mất điểm, 1 câu mất quy tắc chữ hoa "
        "chữ thường, và 1 câu hỏi điền khuyết bị bỏ ra."
    ) in page

    response = client.get(f"/author/versions/{v2}/bank.xml")
    assert response.status_code == 200 and response.mimetype == "application/xml"
    assert (
        response.headers["Content-Disposition"] == 'attachment; filename="an-toan-tren-mang-v2.xml"'
    )
    etree.fromstring(response.data)
    again = moodlexml.parse("x.xml", response.data)
    stored = _bank(session, v2)
    assert [replace(q, line=0) for q in again.questions] == [replace(q, line=0) for q in stored]
    assert list(again.media) == ["media/bank/6627b3a7c227bf65.png"]

    v3 = _upload(client, response.data, "tai-lai.xml", v1.course_id)
    session.expire_all()
    assert [replace(q, line=0) for q in _bank(session, v3)] == [replace(q, line=0) for q in stored]

    response = client.get(f"/author/versions/{v2}/bank.gift")
    text = response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "// GIFT không chứa được hình ảnh: 1 hình ảnh của câu hỏi này đã bị bỏ ra." in text
    assert "// GIFT không chứa được câu hỏi điền khuyết (cloze): câu hỏi Điền vào chỗ" in text
    names = [q.name for q in gift.parse("g.gift", text).questions]
    assert names == [q.name for q in stored if q.type != "cloze"]


def test_only_authors_download_a_bank_and_only_as_xml_or_gift(app, client, author, make, session):
    """A learner cannot download the bank (it holds the answers); an unknown format, or a
    version without a final test, is not found."""
    v1 = make.course(app.config["HOCVU_FILES_DIR"])
    make.learner(make.unit(), username="hv.xem")
    make.commit()
    LoggedIn(client)("hv.xem")
    assert client.get(f"/author/versions/{v1.id}/bank.xml").status_code == 403
    other = app.test_client()
    LoggedIn(other)("tacgia")
    assert other.get(f"/author/versions/{v1.id}/bank.xml").status_code == 200
    assert other.get(f"/author/versions/{v1.id}/bank.toml").status_code == 404
    assert other.get("/author/versions/999/bank.xml").status_code == 404

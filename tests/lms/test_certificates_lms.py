"""Certificates in the LMS: issued once on completion, downloaded by their owner, verified by
anyone, revoked and reissued by admins."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from lms.app.storage import for_app as site_files
from lms.models import Certificate, utcnow
from lms.services import assessment, learning
from tests.conftest import LoggedIn, csrf_token
from tests.factories import correct_answers


@pytest.fixture
def completed(make, app, session):
    """A learner who has just passed the mini course's test."""
    from lms.services import clock

    version = make.course(app.config["HOCVU_FILES_DIR"])
    unit = make.unit(name="CĐCS Công ty Than Hà Lầm")
    learner = make.learner(
        unit,
        username="hv.xong",
        full_name="Nguyễn Thị Bích Phượng",
        issued_at=clock.today() - timedelta(days=3),
    )
    enrolment = make.enrol(learner, version)
    make.commit()
    _pass_the_course(app, enrolment)
    return session.scalars(select(Certificate)).one()


def _pass_the_course(app, enrolment) -> None:
    """Every lesson done, then the final test passed at the first attempt."""
    with app.app_context():  # the completion listener needs the app (signer, settings)
        from lms.app.extensions import db

        enrolment = db.session.get(type(enrolment), enrolment.id)
        for step in learning.progress_of(db.session, enrolment).steps:
            if step.activity.kind == "page":
                progress = learning.open_activity(
                    db.session, enrolment, step.activity, utcnow() - timedelta(hours=1)
                )
                progress.data = {"self_check": {"0": [0], "1": [0]}}
                learning.complete_activity(db.session, enrolment, step.activity)
            else:
                attempt = assessment.start(db.session, enrolment, step.activity)
                assessment.submit(db.session, attempt, correct_answers(attempt))
        db.session.commit()


def test_completion_issues_one_signed_certificate(completed, app, session):
    from lms.jobs import certificates as issuing

    assert completed.learner_name == "Nguyễn Thị Bích Phượng" and completed.score == 10.0
    data = site_files(app).local_path(completed.files_path).read_bytes()
    text = PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert "Nguyễn Thị Bích Phượng" in text and "Kết quả: Đạt - 10/10" in text
    assert "Khóa học thử: An toàn trên mạng" in text and completed.serial in text
    assert "Đơn vị: CĐCS Công ty Than Hà Lầm" in text
    assert "Hình thức" not in text  # online: only an in-person class prints its form
    assert "BẢN THỬ NGHIỆM" in text  # the test key is a development key
    with app.app_context():
        assert issuing.signer(app).check(data).valid


def test_the_learner_downloads_it_and_nobody_else_can(client, login, completed, make, app):
    login("hv.xong")
    home = client.get("/").get_data(as_text=True)
    assert f"/certificates/{completed.serial}.pdf" in home and "Tải giấy chứng nhận" in home
    response = client.get(f"/certificates/{completed.serial}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert f"giay-chung-nhan-{completed.serial}.pdf" in response.headers["Content-Disposition"]
    make.learner(make.unit(), username="hv.khac")
    make.commit()
    other = app.test_client()
    LoggedIn(other)("hv.khac")
    assert other.get(f"/certificates/{completed.serial}.pdf").status_code == 404


def test_the_result_page_and_the_course_page_offer_the_certificate(client, login, completed):
    """Where a learner who has just passed looks: the test's result, then the course."""
    login("hv.xong")
    button = (
        f'<a class="button primary" href="/certificates/{completed.serial}.pdf" download>'
        "Tải giấy chứng nhận"
    )
    result = client.get("/courses/an-toan-tren-mang/test/1").get_data(as_text=True)
    assert "10/10 – Đạt" in result and button in result
    course = client.get("/courses/an-toan-tren-mang").get_data(as_text=True)
    assert "Đã hoàn thành" in course and button in course
    assert client.get(f"/certificates/{completed.serial}.pdf").mimetype == "application/pdf"


def test_a_certificate_being_prepared_is_said_instead_of_a_button(
    client, login, make, app, session, tmp_path
):
    app.config["HOCVU_SIGNING_KEY"] = str(tmp_path / "to-chuc.p12")  # not installed yet
    version = make.course(app.config["HOCVU_FILES_DIR"])
    enrolment = make.enrol(make.learner(make.unit(), username="hv.cho"), version)
    make.commit()
    _pass_the_course(app, enrolment)
    assert session.scalar(select(func.count()).select_from(Certificate)) == 0
    login("hv.cho")
    for path in ("/courses/an-toan-tren-mang/test/1", "/courses/an-toan-tren-mang"):
        page = client.get(path).get_data(as_text=True)
        assert "Giấy chứng nhận của bạn đang được chuẩn bị" in page, path
        assert "Tải giấy chứng nhận" not in page and "/certificates/" not in page, path


def test_the_public_verification_page(client, completed, app):
    page = client.get(f"/verify/{completed.serial}").get_data(as_text=True)
    assert "Giấy chứng nhận hợp lệ" in page and "Nguyễn Thị Bích Phượng" in page
    assert "hv.xong" not in page  # nothing more than name, course and date
    unknown = client.get("/verify/ZZZZ-ZZZZ-ZZZZ").get_data(as_text=True)
    assert "Không có giấy chứng nhận nào mang số hiệu này" in unknown and "Phượng" not in unknown


def test_uploaded_files_are_checked(client, completed, app):

    data = site_files(app).local_path(completed.files_path).read_bytes()

    def upload(content: bytes) -> str:
        token = csrf_token(client, "/verify")
        return client.post(
            "/verify",
            content_type="multipart/form-data",
            data={
                "csrf_token": token,
                "file": (io.BytesIO(content), "gcn.pdf"),
            },
        ).get_data(as_text=True)

    assert "Giấy chứng nhận hợp lệ" in upload(data)
    tampered = bytearray(data)
    offset = data.find(b"Bich") if b"Bich" in data else len(data) // 2
    tampered[offset] ^= 0x01
    assert "hoặc đã bị sửa đổi" in upload(bytes(tampered))
    assert "Không có giấy chứng nhận nào mang số hiệu này" in upload(b"%PDF-1.4 not ours")


def test_admin_revokes_and_reissues(client, login, post, completed, make, session, app):
    make.site_admin(username="admin")
    make.commit()
    login("admin")
    page = client.get(f"/admin/users/{completed.user_id}").get_data(as_text=True)
    assert completed.serial in page
    empty = post(f"/admin/certificates/{completed.id}/revoke", {"reason": ""})
    assert "Đây là trường bắt buộc." in empty.get_data(as_text=True)
    done = post(f"/admin/certificates/{completed.id}/revoke", {"reason": "Cấp nhầm người"})
    assert done.status_code == 302
    verify = client.get(f"/verify/{completed.serial}").get_data(as_text=True)
    assert "Giấy chứng nhận này đã bị thu hồi" in verify
    # The learner's name is corrected, then a new certificate is issued.
    session.rollback()
    user = session.get(type(completed.user), completed.user_id)
    user.full_name = "Nguyễn Thị Bích Phương"
    session.commit()
    token = csrf_token(client, f"/admin/users/{completed.user_id}")
    client.post(f"/admin/certificates/{completed.id}/reissue", data={"csrf_token": token})
    session.rollback()
    certificates = session.scalars(select(Certificate).order_by(Certificate.id)).all()
    assert len(certificates) == 2 and certificates[0].replaced_by_id == certificates[1].id
    assert certificates[1].learner_name == "Nguyễn Thị Bích Phương"
    new_page = client.get(f"/verify/{certificates[1].serial}").get_data(as_text=True)
    assert "Giấy chứng nhận hợp lệ" in new_page
    listing = client.get("/admin/certificates").get_data(as_text=True)
    assert "2 giấy chứng nhận" in listing
    assert re.search(r"Đã thu hồi", listing)


def test_unit_admin_of_another_unit_cannot_touch_it(client, completed, make, app):
    boss = make.unit_admin(make.unit(), username="qt.khac")
    make.commit()
    LoggedIn(client)(boss.username)
    assert client.get(f"/admin/certificates/{completed.id}/revoke").status_code == 404
    assert client.get(f"/certificates/{completed.serial}.pdf").status_code == 404
    assert completed.serial not in client.get("/admin/certificates").get_data(as_text=True)


def test_certificate_list_is_filtered_by_the_scope_and_the_unit(client, completed, make, session):
    """The list keeps to the admin's units and to the unit chosen with its sub-units (the
    query asks for the learners of a set of units since issue 24)."""
    unit = session.get(type(completed.user.org_unit), completed.user.org_unit_id)
    sub, elsewhere = make.unit(unit, name="Tổ công đoàn"), make.unit(name="Đơn vị khác")
    make.unit_admin(unit, username="qt.don.vi")
    make.site_admin(username="qt.trang")
    make.commit()
    LoggedIn(client)("qt.don.vi")
    assert completed.serial in client.get("/admin/certificates").get_data(as_text=True)
    assert client.get(f"/admin/certificates?unit={elsewhere.id}").status_code == 404
    assert completed.serial not in client.get(f"/admin/certificates?unit={sub.id}").get_data(
        as_text=True
    )
    client.post("/logout", data={"csrf_token": csrf_token(client, "/admin/certificates")})
    LoggedIn(client)("qt.trang")
    listed = client.get(f"/admin/certificates?unit={unit.id}").get_data(as_text=True)
    assert completed.serial in listed and "1 giấy chứng nhận" in listed
    assert f'<option value="{unit.id}" selected>' in listed
    assert completed.serial not in client.get(f"/admin/certificates?unit={elsewhere.id}").get_data(
        as_text=True
    )


def test_certificates_of_a_unit_as_one_zip(client, login, post, completed, make, app, session):
    import zipfile

    app.config["HOCVU_JOBS_INLINE"] = True  # run the job before the redirect
    make.unit_admin(completed.user.org_unit, username="qt.halam")
    outsider = make.unit_admin(make.unit(), username="qt.khac")
    make.commit()
    login("qt.halam")
    started = post(
        "/admin/certificates/export",
        {"unit_id": "0", "cohort_id": "0"},
        form_page="/admin/certificates",
    )
    assert started.status_code == 302 and "/admin/jobs/" in started.location
    page = client.get(started.location).get_data(as_text=True)
    assert "1 giấy chứng nhận" in page and "Tải tệp ZIP" in page
    progress = client.get(started.location, headers={"Accept": "application/json"}).get_json()
    assert progress["status"] == "done" and progress["percent"] == 100
    archive = client.get(progress["download"])
    assert archive.mimetype == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(archive.data)).namelist()
    assert names == [f"{completed.user.org_unit.code}/{completed.serial}.pdf"]
    other = app.test_client()
    LoggedIn(other)(outsider.username)
    assert other.get(started.location).status_code == 404
    assert other.get(progress["download"]).status_code == 404


def _completed_without_certificates(make, app, count: int):
    """Learners whose completion came while the signing key was broken: no certificate."""
    version = make.course(app.config["HOCVU_FILES_DIR"])
    unit = make.unit(name="CĐCS Công ty Than Hà Lầm")
    for n in range(count):
        enrolment = make.enrol(make.learner(unit, full_name=f"Trần Văn Số {n}"), version)
        enrolment.completed_at = utcnow() - timedelta(hours=1)
    make.commit()
    return unit


def test_site_admin_issues_the_missing_certificates(client, login, post, make, app, session):
    app.config["HOCVU_JOBS_INLINE"] = True  # run the job before the redirect
    _completed_without_certificates(make, app, 2)
    make.site_admin(username="admin")
    make.commit()
    login("admin")
    listing = client.get("/admin/certificates").get_data(as_text=True)
    assert "2 học viên đã hoàn thành khóa học nhưng chưa có giấy chứng nhận" in listing
    started = post("/admin/certificates/issue-missing", {}, form_page="/admin/certificates")
    assert started.status_code == 302 and "/admin/jobs/" in started.location
    page = client.get(started.location).get_data(as_text=True)
    assert "Cấp các giấy chứng nhận còn thiếu" in page and "Đã cấp 2 giấy chứng nhận." in page
    assert "Tải tệp ZIP" not in page  # nothing to download: the certificates are in the list
    session.rollback()
    certificates = session.scalars(select(Certificate)).all()
    assert sorted(c.learner_name for c in certificates) == ["Trần Văn Số 0", "Trần Văn Số 1"]
    listing = client.get("/admin/certificates").get_data(as_text=True)
    assert "chưa có giấy chứng nhận" not in listing and "2 giấy chứng nhận" in listing


def test_a_second_click_follows_the_run_already_started(client, login, post, make, app, session):
    from lms.models import Job, JobStatus

    _completed_without_certificates(make, app, 1)
    make.site_admin(username="admin")
    make.commit()
    # A worker is on it (a queued job would be started by the first request of this process).
    waiting = Job(
        task="certificates.issue", args={}, status=JobStatus.RUNNING, started_at=utcnow(), total=1
    )
    session.add(waiting)
    session.commit()
    login("admin")
    listing = client.get("/admin/certificates").get_data(as_text=True)
    assert "Đang cấp các giấy chứng nhận còn thiếu." in listing
    assert f"/admin/jobs/{waiting.id}" in listing
    again = post("/admin/certificates/issue-missing", {}, form_page="/admin/certificates")
    assert again.location.endswith(f"/admin/jobs/{waiting.id}")
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Job)) == 1


def test_only_a_site_admin_may_issue_the_missing_ones(client, make, app, post):
    unit = _completed_without_certificates(make, app, 1)
    boss = make.unit_admin(unit, username="qt.halam")
    make.commit()
    LoggedIn(client)(boss.username)
    listing = client.get("/admin/certificates").get_data(as_text=True)
    assert "chưa có giấy chứng nhận" not in listing
    refused = post("/admin/certificates/issue-missing", {}, form_page="/admin/certificates")
    assert refused.status_code == 403


def test_a_site_admin_sees_why_no_certificate_can_be_signed(client, login, make, app, tmp_path):
    unit = _completed_without_certificates(make, app, 1)
    make.site_admin(username="admin")
    boss = make.unit_admin(unit, username="qt.halam")
    make.commit()
    login("admin")
    listing = client.get("/admin/certificates").get_data(as_text=True)
    assert 'id="signing-problem"' not in listing
    assert "Cấp các giấy chứng nhận còn thiếu" in listing
    app.config["HOCVU_SIGNING_KEY"] = str(tmp_path / "to-chuc.p12")  # not installed yet
    listing = client.get("/admin/certificates").get_data(as_text=True)
    assert "Chưa ký được giấy chứng nhận: không dùng được khóa ký số của hệ thống." in listing
    assert "to-chuc.p12 does not exist" in listing
    assert "Cấp các giấy chứng nhận còn thiếu" not in listing  # it could only fail
    other = app.test_client()
    LoggedIn(other)(boss.username)
    assert 'id="signing-problem"' not in other.get("/admin/certificates").get_data(as_text=True)


def test_a_learner_whose_certificate_waits_is_told_so(client, make, app, tmp_path):
    app.config["HOCVU_SIGNING_KEY"] = str(tmp_path / "to-chuc.p12")  # not installed yet
    version = make.course(app.config["HOCVU_FILES_DIR"])
    enrolment = make.enrol(make.learner(make.unit(), username="hv.an"), version)
    enrolment.completed_at = utcnow() - timedelta(hours=1)
    make.commit()
    LoggedIn(client)("hv.an")
    home = client.get("/").get_data(as_text=True)
    assert "Giấy chứng nhận của bạn đang được chuẩn bị và sẽ hiện ở đây." in home
    assert "Tải giấy chứng nhận" not in home


def test_without_the_key_an_issued_file_is_still_recognised(client, completed, app, tmp_path):

    data = site_files(app).local_path(completed.files_path).read_bytes()
    app.config["HOCVU_SIGNING_KEY"] = str(tmp_path / "gone.p12")
    token = csrf_token(client, "/verify")
    page = client.post(
        "/verify",
        content_type="multipart/form-data",
        data={"csrf_token": token, "file": (io.BytesIO(data), "gcn.pdf")},
    )
    assert page.status_code == 200
    assert "Giấy chứng nhận hợp lệ" in page.get_data(as_text=True)


def test_a_reissue_without_the_key_says_why_and_changes_nothing(
    client, login, completed, make, session, app, tmp_path
):
    make.site_admin(username="admin")
    make.commit()
    login("admin")
    app.config["HOCVU_SIGNING_KEY"] = str(tmp_path / "gone.p12")
    token = csrf_token(client, f"/admin/users/{completed.user_id}")
    answer = client.post(
        f"/admin/certificates/{completed.id}/reissue",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert answer.status_code == 200
    assert "Không cấp được giấy chứng nhận" in answer.get_data(as_text=True)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Certificate)) == 1


def test_a_production_site_on_the_trial_key_is_told(client, login, make, app, signing_key):
    # `signing_key` is a self-signed trial key, as the old `hocvu init` made in production.
    make.site_admin(username="admin")
    make.commit()
    login("admin")
    assert 'id="signing-problem"' not in client.get("/admin/certificates").get_data(as_text=True)
    app.config["HOCVU_ENV"] = "production"
    listing = client.get("/admin/certificates").get_data(as_text=True)
    assert "Giấy chứng nhận đang được ký bằng khóa thử nghiệm tự cấp" in listing
    assert "is the self-signed trial key" in listing


def test_a_certificate_signed_before_a_key_change_is_still_valid(client, completed, app, tmp_path):
    from certificates.sign import make_development_key

    data = site_files(app).local_path(completed.files_path).read_bytes()
    new_key = tmp_path / "khoa-moi.p12"
    make_development_key(new_key, "Liên đoàn Lao động tỉnh Quảng Ninh")
    app.config["HOCVU_SIGNING_KEY"] = str(new_key)
    token = csrf_token(client, "/verify")
    page = client.post(
        "/verify",
        content_type="multipart/form-data",
        data={"csrf_token": token, "file": (io.BytesIO(data), "gcn.pdf")},
    ).get_data(as_text=True)
    assert "Giấy chứng nhận hợp lệ" in page and completed.serial in page

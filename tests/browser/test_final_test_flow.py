"""In Chromium: a learner of the bundled course fails the final test once, passes the second
time, downloads the certificate from the result and sees the course completed."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from playwright.sync_api import expect
from pypdf import PdfReader
from sqlalchemy import select

from lms.app.storage import LocalStorage
from lms.models import Certificate, TestAttempt, utcnow
from lms.services import catalog, learning
from lms.setup.library import LIBRARY
from tests.factories import correct_answers


def _log_in(page, username, password="mat-khau-1"):  # noqa: S107
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu", exact=True).fill(password)
    page.get_by_role("button", name="Đăng nhập").click()


def _answer(page, attempt):
    from lms.services.assessment import question_map

    questions = question_map(attempt.activity)
    for qid, answer in correct_answers(attempt).items():
        kind = questions[qid].type
        name = f"q-{qid}"
        if kind == "single":
            page.locator(f'input[name="{name}"][value="{answer}"]').check()
        elif kind == "multiple":
            for position in answer:
                page.locator(f'input[name="{name}"][value="{position}"]').check()
        elif kind == "truefalse":
            page.locator(f'input[name="{name}"][value="{str(answer).lower()}"]').check()
        elif kind == "short":
            page.locator(f'input[name="{name}"]').fill(answer)
        else:
            for left, position in answer.items():
                page.locator(f'select[name="{name}-{left}"]').select_option(str(position))


def test_bundled_course_fail_once_then_pass(page, make, app, session):
    version = catalog.import_bundle(
        session, None, LIBRARY / "chuyen-doi-so-co-ban", LocalStorage(app.config["HOCVU_FILES_DIR"])
    )
    learner = make.learner(make.unit(), username="hv.thi")
    enrolment = make.enrol(learner, version)
    for step in learning.progress_of(session, enrolment).steps:  # the lessons (tested elsewhere)
        if step.activity.kind == "page":
            progress = learning.open_activity(
                session, enrolment, step.activity, utcnow() - timedelta(hours=1)
            )
            progress.data = {"self_check": {str(i): [0] for i in range(4)}}
            learning.complete_activity(session, enrolment, step.activity)
    session.commit()

    _log_in(page, "hv.thi")
    page.get_by_role("link", name="Chuyển đổi số cơ bản").first.click()
    page.get_by_role("link", name="Học tiếp: Bài kiểm tra cuối khóa").click()
    expect(page.get_by_text("Số câu hỏi")).to_be_visible()
    page.get_by_role("button", name="Bắt đầu làm bài").click()
    expect(page.locator("[data-question]")).to_have_count(20)
    expect(page.locator("#timer")).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())  # 20 unanswered: submit anyway
    page.get_by_role("button", name="Nộp bài").click()
    expect(page.get_by_text("0/10 – Chưa đạt")).to_be_visible()

    page.get_by_role("link", name="Quay lại bài kiểm tra").click()
    page.get_by_role("button", name="Làm bài lần 2").click()
    session.rollback()
    attempt = session.scalars(select(TestAttempt).where(TestAttempt.number == 2)).one()
    _answer(page, attempt)
    expect(page.get_by_text("Đã lưu")).to_be_visible()  # autosave
    page.get_by_role("button", name="Nộp bài").click()
    expect(page.get_by_text("10/10 – Đạt")).to_be_visible()
    expect(page.get_by_text("Chúc mừng! Bạn đã hoàn thành khóa học.")).to_be_visible()

    # The certificate, from the result page: downloaded, its text and signature checked, its
    # QR link opened; the home and course pages offer it too.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Tải giấy chứng nhận").click()
    pdf = download_info.value.path().read_bytes()
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "GIẤY CHỨNG NHẬN" in text and "Kết quả: Đạt - 10/10" in text
    assert "“Chuyển đổi số cơ bản”" in text
    with app.app_context():
        from lms.jobs import certificates as issuing

        assert issuing.signer(app).check(pdf).valid
    serial = session.scalars(select(Certificate.serial)).one()
    verify_url = re.search(r"https?://\S+/verify/[A-Z0-9-]+", text.replace("\n", " ")).group(0)
    assert verify_url.endswith(serial)
    page.get_by_role("link", name="Khóa học của tôi").click()
    expect(page.get_by_text("Đã hoàn thành").first).to_be_visible()
    expect(page.get_by_role("link", name="Tải giấy chứng nhận")).to_be_visible()
    page.get_by_role("link", name="Chuyển đổi số cơ bản").first.click()
    expect(page.get_by_role("link", name="Tải giấy chứng nhận")).to_be_visible()
    page.goto(f"/verify/{serial}")
    expect(page.get_by_text("Giấy chứng nhận hợp lệ")).to_be_visible()
    assert page.console_errors == []


def test_a_jump_of_the_phone_clock_neither_submits_nor_spends_an_attempt(page, make, app, session):
    """The countdown follows the server's time, not the phone's clock: the phone's time jumping
    an hour ahead during the test (a manual change, a wrong network time) leaves the attempt
    open with its time, where the countdown used to reach zero and submit the attempt."""
    from tests.factories import mini_course_files

    version = make.course(app.config["HOCVU_FILES_DIR"], mini_course_files())
    enrolment = make.enrol(make.learner(make.unit(), username="hv.gio"), version)
    for step in learning.progress_of(session, enrolment).steps:
        if step.activity.kind == "page":
            progress = learning.open_activity(
                session, enrolment, step.activity, utcnow() - timedelta(hours=1)
            )
            progress.data = {"self_check": {"0": [0], "1": [0]}}
            learning.complete_activity(session, enrolment, step.activity)
    session.commit()

    _log_in(page, "hv.gio")
    page.goto("/courses/an-toan-tren-mang/final-test")
    page.get_by_role("button", name="Bắt đầu làm bài").click()
    expect(page.locator("#timer")).to_have_text(re.compile(r"^(9:5\d|10:00)$"))
    page.evaluate("() => { const real = Date.now; Date.now = () => real() + 3600 * 1000; }")
    page.wait_for_timeout(2500)
    expect(page.locator("#timer")).to_have_text(re.compile(r"^9:5\d$"))
    expect(page.get_by_role("button", name="Nộp bài")).to_be_visible()
    session.rollback()
    attempt = session.scalars(select(TestAttempt)).one()
    assert attempt.status.value == "open" and attempt.score is None
    assert page.console_errors == []

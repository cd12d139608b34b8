"""Taking the final test: availability, the answer-leak check, autosave, the server's clock,
idempotent and concurrent submits, results, completion, what to do after the last failed
attempt, attempts across versions, regrading."""

from __future__ import annotations

import random
import re
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.app.storage import LocalStorage
from lms.models import AttemptStatus, Enrolment, ProgressStatus, TestAttempt, utcnow
from lms.services import assessment, catalog, deadlines, learning
from lms.services.errors import DomainError
from tests.conftest import LoggedIn, csrf_token
from tests.factories import correct_answers, mini_course_files, zip_bytes


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def enrolled(make, app):
    version = make.course(app.config["HOCVU_FILES_DIR"])
    learner = make.learner(make.unit(), username="hv.thi", full_name="Học Viên Thi")
    enrolment = make.enrol(learner, version)
    make.commit()
    return enrolment


def _finish_lessons(session, enrolment):
    enrolment = session.merge(enrolment)
    for step in learning.progress_of(session, enrolment).steps:
        if step.activity.kind == "page":
            progress = learning.open_activity(
                session, enrolment, step.activity, utcnow() - timedelta(hours=1)
            )
            progress.data = {"self_check": {"0": [0], "1": [0]}}
            learning.complete_activity(session, enrolment, step.activity)
    session.commit()
    return enrolment


def _test_activity(enrolment):
    return next(a for a in enrolment.version.activities if a.kind == "test")


def test_the_test_opens_only_after_every_lesson(client, login, enrolled, session):
    login("hv.thi")
    page = client.get("/courses/an-toan-tren-mang/final-test").get_data(as_text=True)
    assert "Hãy học xong tất cả các bài trước khi làm bài kiểm tra cuối khóa." in page
    assert "Bắt đầu làm bài" not in page
    token = csrf_token(client, "/courses/an-toan-tren-mang/final-test")
    refused = client.post("/courses/an-toan-tren-mang/test/start", data={"csrf_token": token})
    assert refused.status_code == 302
    session.rollback()
    assert session.scalar(select(TestAttempt)) is None
    _finish_lessons(session, enrolled)
    assert "Bắt đầu làm bài" in client.get("/courses/an-toan-tren-mang/final-test").get_data(
        as_text=True
    )


def _flipped_bank_files() -> dict:
    """The same questions with the other option marked correct."""
    bank = mini_course_files()["final-test.toml"].decode()
    bank = bank.replace('{ text = "123456" },', '{ text = "123456", correct = true },')
    bank = bank.replace(
        '{ text = "Hạ Long mùa thu 2026", correct = true },', '{ text = "Hạ Long mùa thu 2026" },'
    )
    bank = bank.replace("answer = false", "answer = true")
    return mini_course_files(**{"final-test.toml": bank})


def _attempt_html(app, make, monkeypatch, files, username) -> str:
    from tests.conftest import LoggedIn

    version = make.course(app.config["HOCVU_FILES_DIR"], files)
    enrolment = make.enrol(make.learner(make.unit(), username=username), version)
    make.commit()
    _finish_lessons(make.session, enrolment)
    monkeypatch.setattr(assessment.random, "SystemRandom", lambda: random.Random(7))
    client = app.test_client()
    LoggedIn(client)(username)
    token = csrf_token(client, "/courses/an-toan-tren-mang/final-test")
    start = client.post("/courses/an-toan-tren-mang/test/start", data={"csrf_token": token})
    page = client.get(start.location).get_data(as_text=True)
    saved = client.post(start.location + "/save", data={"csrf_token": token, "q-q1": "0"})
    return page, saved.get_data(as_text=True)


def test_nothing_sent_before_grading_tells_the_right_answer(app, make, monkeypatch, session):
    """Two banks that differ only in which answer is right give byte-identical pages."""
    first, first_save = _attempt_html(app, make, monkeypatch, mini_course_files(), "hv.mot")
    session.rollback()
    from lms.models import Course

    course = session.scalar(select(Course))
    course.slug = "cu"  # free the slug for the second bundle
    session.commit()
    second, second_save = _attempt_html(app, make, monkeypatch, _flipped_bank_files(), "hv.hai")
    strip = re.compile(
        r'value="[^"]*"(?= *>\s*\n\s*<button type="submit" class="link">)|'
        r'name="csrf_token" type="hidden" value="[^"]+"|hv\.(mot|hai)|'
        r"Nguyễn Văn Số \d+|/media/\d+/|"
        r'<meta name="csrf-token" content="[^"]+">|<meta name="hocvu-user" content="\d+">|'
        r'<meta name="hocvu-user-key" content="[0-9a-f]+">'
    )
    assert strip.sub("", first) == strip.sub("", second)
    assert first_save == second_save


def test_answers_are_saved_as_the_learner_goes_and_shown_again(client, login, enrolled, session):
    _finish_lessons(session, enrolled)
    login("hv.thi")
    token = csrf_token(client, "/courses/an-toan-tren-mang/final-test")
    start = client.post("/courses/an-toan-tren-mang/test/start", data={"csrf_token": token})
    assert start.location == "/courses/an-toan-tren-mang/test/1"
    saved = client.post(
        "/courses/an-toan-tren-mang/test/1/save",
        data={"csrf_token": token, "q-q2": "false", "q-q1": "1"},
    )
    assert saved.get_json()["saved"] == 2
    # A reload (or a new phone session) shows the same attempt with the saved answers.
    again = client.post("/courses/an-toan-tren-mang/test/start", data={"csrf_token": token})
    assert again.location == "/courses/an-toan-tren-mang/test/1"
    page = client.get("/courses/an-toan-tren-mang/test/1").get_data(as_text=True)
    assert re.search(r'name="q-q2" value="false" checked', page)
    assert 'class="question-image" src="/media/1/media/o-khoa.svg"' in page
    assert re.search(r'name="q-q1" value="1"\s+checked', page)


def test_blank_answers_are_counted_as_blank(app, make, session, client, login):
    """Submitting with every question blank (an empty short answer, a multiple-choice question
    whose boxes were all unticked again) says that all of them are unanswered, not "1 question"
    less for each blank the page sent."""
    files = mini_course_files()
    bank = files["final-test.toml"].decode() + (
        '\n[[questions]]\nid = "q3"\nmodule = "01-mat-khau"\ntype = "short"\n'
        'text = "Tên ứng dụng định danh điện tử?"\nanswers = ["VNeID"]\n'
        '\n[[questions]]\nid = "q4"\nmodule = "02-ma-otp"\ntype = "multiple"\n'
        'text = "Dấu hiệu lừa đảo?"\nchoices = [\n  { text = "Giục chuyển tiền", correct = true },'
        '\n  { text = "Gọi từ số lạ", correct = true },\n  { text = "Chào hỏi" },\n]\n'
    )
    course = files["course.toml"].decode().replace("questions = 2", "questions = 4")
    version = make.course(
        app.config["HOCVU_FILES_DIR"],
        mini_course_files(**{"final-test.toml": bank, "course.toml": course}),
    )
    enrolment = make.enrol(make.learner(make.unit(), username="hv.trong"), version)
    make.commit()
    enrolment = _finish_lessons(session, enrolment)
    attempt = assessment.start(session, enrolment, _test_activity(enrolment), utcnow())
    session.commit()
    login("hv.trong")
    url = f"/courses/an-toan-tren-mang/test/{attempt.number}"
    token = csrf_token(client, url)
    blanks = {"csrf_token": token, "q-q3": "   ", "q-q4-present": "1"}
    assert client.post(url + "/save", data=blanks).status_code == 200
    refused = client.post(url + "/submit", data=blanks, follow_redirects=True)
    assert "Còn 4 câu chưa trả lời" in refused.get_data(as_text=True)
    session.rollback()
    assert session.get(TestAttempt, attempt.id).status == AttemptStatus.OPEN
    answered = client.post(url + "/submit", data={**blanks, "q-q3": "VNeID"}, follow_redirects=True)
    assert "Còn 3 câu chưa trả lời" in answered.get_data(as_text=True)


def test_odd_digits_in_answers_do_not_crash(client, login, enrolled, session):
    """Autosave takes a superscript digit and a 5,000-digit number without a 500."""
    enrolment = _finish_lessons(session, enrolled)
    attempt = assessment.start(session, enrolment, _test_activity(enrolment), utcnow())
    session.commit()
    login("hv.thi")
    token = csrf_token(client, "/courses/an-toan-tren-mang/final-test")
    response = client.post(
        f"/courses/an-toan-tren-mang/test/{attempt.number}/save",
        data={"csrf_token": token, "q-q1": "²", "q-q2": "9" * 5000},
    )
    assert response.status_code == 200


def test_time_limit_is_enforced_by_the_server(session, enrolled):
    enrolment = _finish_lessons(session, enrolled)
    activity = _test_activity(enrolment)
    start = utcnow() - timedelta(minutes=30)
    attempt = assessment.start(session, enrolment, activity, start)
    assert attempt.ends_at == start + timedelta(minutes=10)
    right = correct_answers(attempt)
    first_id = attempt.draw[0]["id"]
    assessment.save_answers(
        session, attempt, {first_id: right[first_id]}, start + timedelta(minutes=10, seconds=29)
    )  # within the grace
    with pytest.raises(Exception, match="closed"):
        assessment.save_answers(session, attempt, right, start + timedelta(minutes=10, seconds=31))
    # Left open past its end, it was graded with what was saved: one of two questions.
    assert attempt.status == AttemptStatus.GRADED and attempt.score == 5.0


def test_a_time_up_submit_before_the_server_s_end_spends_nothing(session, enrolled, client, login):
    """The server is the clock: a "time is up" submit from a page whose clock ran ahead (a phone
    whose time was changed) keeps the answers and the attempt open, and says how long is left;
    the same submit once the server's time is up grades the attempt."""
    enrolment = _finish_lessons(session, enrolled)
    attempt = assessment.start(session, enrolment, _test_activity(enrolment), utcnow())
    session.commit()
    first = attempt.draw[0]["id"]
    right = correct_answers(attempt)
    login("hv.thi")
    url = f"/courses/an-toan-tren-mang/test/{attempt.number}"
    token = csrf_token(client, url)
    form = {"csrf_token": token, "time_up": "1", "confirm": "1"}
    form[f"q-{first}"] = str(right[first]).lower()
    early = client.post(url + "/submit", data=form, follow_redirects=True)
    page = early.get_data(as_text=True)
    assert "Chưa hết giờ làm bài: theo đồng hồ của máy chủ còn 9 phút." in page
    assert 'id="timer" data-seconds="' in page
    session.rollback()
    kept = session.get(TestAttempt, attempt.id)
    assert kept.status == AttemptStatus.OPEN and first in kept.answers
    saved = client.post(url + "/save", data={"csrf_token": token}).get_json()
    assert 590 <= saved["seconds_left"] <= 600

    kept.ends_at = utcnow() - timedelta(seconds=2)  # the server's time is up (grace left)
    session.commit()
    client.post(url + "/submit", data=form)
    session.rollback()
    graded = session.get(TestAttempt, attempt.id)
    assert graded.status == AttemptStatus.GRADED and graded.score == 5.0


def test_an_expired_attempt_is_graded_as_of_its_end(session, enrolled):
    """An attempt left open is graded when someone next looks, but as of its end: its
    completion is judged at that time, not the next day's."""
    enrolment = _finish_lessons(session, enrolled)
    enrolment.user.issued_at = date(2026, 11, 1)  # due at 24:00 on 11 November
    deadlines.recompute(enrolment)
    activity = _test_activity(enrolment)
    start = utc(2026, 11, 11, 16, 45)  # 15 minutes before the deadline, limit 10 minutes
    attempt = assessment.start(session, enrolment, activity, start)
    assessment.save_answers(
        session, attempt, correct_answers(attempt), start + timedelta(minutes=5)
    )
    assessment.finish_if_expired(session, attempt, utc(2026, 11, 12, 8, 0))  # seen next day
    assert attempt.passed and attempt.submitted_at == start + timedelta(minutes=10)
    assert enrolment.completed_at == start + timedelta(minutes=10) and not enrolment.completed_late


def test_fail_then_pass_completes_the_course_and_double_submit_is_harmless(
    client, login, enrolled, session
):
    _finish_lessons(session, enrolled)
    login("hv.thi")
    token = csrf_token(client, "/courses/an-toan-tren-mang/final-test")
    client.post("/courses/an-toan-tren-mang/test/start", data={"csrf_token": token})
    unanswered = client.post("/courses/an-toan-tren-mang/test/1/submit", data={"csrf_token": token})
    assert unanswered.location.endswith("confirm=1")
    assert "Còn 2 câu chưa trả lời." in client.get(unanswered.location).get_data(as_text=True)
    failed = client.post(
        "/courses/an-toan-tren-mang/test/1/submit", data={"csrf_token": token, "confirm": "1"}
    )
    result = client.get(failed.location).get_data(as_text=True)
    assert "0/10 – Chưa đạt" in result
    assert "Xem lại bài làm" not in result  # answers are shown only after passing

    client.post("/courses/an-toan-tren-mang/test/start", data={"csrf_token": token})
    session.rollback()
    attempt = session.scalars(select(TestAttempt).where(TestAttempt.number == 2)).one()
    form = {"csrf_token": token}
    for qid, answer in correct_answers(attempt).items():
        form[f"q-{qid}"] = str(answer).lower() if isinstance(answer, bool) else str(answer)
    for _ in range(2):  # a double click
        done = client.post("/courses/an-toan-tren-mang/test/2/submit", data=form)
    result = client.get(done.location).get_data(as_text=True)
    assert "10/10 – Đạt" in result and "Chúc mừng! Bạn đã hoàn thành khóa học." in result
    assert "Xem lại bài làm" in result and "Đáp án đúng:" in result
    session.rollback()
    enrolment = session.get(Enrolment, enrolled.id)
    assert enrolment.completed_at is not None
    graded = session.scalars(select(TestAttempt).where(TestAttempt.number == 2)).one()
    first_grading = graded.graded_at
    client.post("/courses/an-toan-tren-mang/test/2/submit", data=form)
    session.rollback()
    assert session.get(TestAttempt, graded.id).graded_at == first_grading
    page = client.get("/courses/an-toan-tren-mang/final-test").get_data(as_text=True)
    assert "Bạn đã đạt bài kiểm tra này." in page


def test_answers_are_not_shown_while_an_attempt_is_open(client, login, enrolled, session):
    """With answers shown "after the last attempt", an open last attempt does not show them."""
    enrolment = _finish_lessons(session, enrolled)
    activity = _test_activity(enrolment)
    activity.content = {
        "settings": {
            **activity.content["settings"],
            "attempts": 2,
            "show_answers": "after_last_attempt",
        }
    }
    session.commit()
    first = assessment.start(session, enrolment, activity)
    assessment.submit(session, first, {})
    assessment.start(session, enrolment, activity)
    session.commit()
    login("hv.thi")
    page = client.get("/courses/an-toan-tren-mang/test/1").get_data(as_text=True)
    assert "Đáp án đúng:" not in page


def test_attempts_run_out(session, enrolled):
    enrolment = _finish_lessons(session, enrolled)
    activity = _test_activity(enrolment)
    for _ in range(2):
        attempt = assessment.start(session, enrolment, activity)
        assessment.submit(session, attempt, {})
    with pytest.raises(Exception, match="used all 2 attempts"):
        assessment.start(session, enrolment, activity)


def _fail(session, enrolment, times: int) -> None:
    activity = _test_activity(enrolment)
    for _ in range(times):
        assessment.submit(session, assessment.start(session, enrolment, activity), {})
    session.commit()


def test_after_the_last_failed_attempt_the_learner_is_told_whom_to_ask(
    client, login, make, app, session
):
    """The mini course allows 2 attempts. After the first failure the result page says one is
    left; after the second every page of the course says that none is, and whom to ask: the
    administrator of the nearest unit at or above the learner's that has an active one."""
    district = make.unit(name="LĐLĐ huyện Hoành Bồ")
    grassroots = make.unit(district, name="CĐCS Xí nghiệp Than Hoành Bồ")
    make.unit_admin(district, username="qt.hoanhbo")
    make.unit_admin(grassroots, username="qt.danghi", active=False)  # left: not the one to ask
    version = make.course(app.config["HOCVU_FILES_DIR"])
    enrolment = make.enrol(make.learner(grassroots, username="hv.truot"), version)
    make.commit()
    enrolment = _finish_lessons(session, enrolment)
    _fail(session, enrolment, 1)
    login("hv.truot")
    first = client.get("/courses/an-toan-tren-mang/test/1").get_data(as_text=True)
    assert "0/10 – Chưa đạt" in first
    assert "Bạn còn được làm bài 1 lần nữa." in first and "Quay lại bài kiểm tra" in first
    assert "Bạn đã hết lượt làm bài" not in first

    _fail(session, enrolment, 1)
    guidance = (
        "Việc cần làm tiếp theo: liên hệ quản trị viên của LĐLĐ huyện Hoành Bồ để đề nghị được "
        "làm lại bài kiểm tra."
    )
    last = client.get("/courses/an-toan-tren-mang/test/2").get_data(as_text=True)
    assert "Bạn đã hết lượt làm bài kiểm tra cuối khóa." in last
    assert "Bạn đã làm bài kiểm tra cuối khóa 2 lần nhưng chưa đạt điểm yêu cầu" in last
    assert guidance in last
    assert "Quay lại bài kiểm tra" not in last  # a test that would not open
    assert 'href="/courses/an-toan-tren-mang"' in last  # the lessons stay open
    for path in ("/courses/an-toan-tren-mang/test/1", "/courses/an-toan-tren-mang/final-test"):
        page = client.get(path).get_data(as_text=True)
        assert guidance in page and "Quay lại bài kiểm tra" not in page, path
    course = client.get("/courses/an-toan-tren-mang").get_data(as_text=True)
    assert guidance in course and "Học tiếp" not in course
    home = client.get("/").get_data(as_text=True)
    assert guidance in home and "Học tiếp" not in home


def test_without_a_unit_admin_the_learner_asks_their_unit_s_administrator(
    client, login, enrolled, session
):
    _fail(session, _finish_lessons(session, enrolled), 2)
    login("hv.thi")
    page = client.get("/courses/an-toan-tren-mang/test/2").get_data(as_text=True)
    assert (
        "Việc cần làm tiếp theo: liên hệ quản trị viên đơn vị của bạn để đề nghị được làm lại "
        "bài kiểm tra." in page
    )


def test_moving_learners_to_a_new_version_keeps_their_attempts(session, enrolled, app):
    """Attempts used on the old version count on the new one the author moved them to."""
    enrolment = _finish_lessons(session, enrolled)
    activity = _test_activity(enrolment)
    for _ in range(2):
        assessment.submit(session, assessment.start(session, enrolment, activity), {})
    session.commit()
    files = mini_course_files(
        **{"modules/02-ma-otp.md": ("---\ntitle: Mã OTP\nminutes: 4\n---\n\nSửa câu chữ.\n")}
    )
    version = catalog.import_bundle(
        session,
        None,
        zip_bytes(files),
        LocalStorage(app.config["HOCVU_FILES_DIR"]),
        publish_now=False,
    )
    catalog.publish(session, None, version, move_enrolled=True)
    session.commit()
    moved = session.get(Enrolment, enrolment.id)
    with pytest.raises(DomainError, match="used all 2 attempts"):
        assessment.start(session, moved, _test_activity(moved))


def test_an_attempt_of_the_earlier_version_still_opens_after_the_move(
    client, login, session, enrolled, app
):
    """The attempt page finds the attempt with the test it was drawn from (the old
    version's) and the learner's new version's test in one query: both are shown."""
    enrolment = _finish_lessons(session, enrolled)
    assessment.submit(session, assessment.start(session, enrolment, _test_activity(enrolment)), {})
    session.commit()
    files = mini_course_files(
        **{"modules/02-ma-otp.md": ("---\ntitle: Mã OTP\nminutes: 4\n---\n\nSửa câu chữ.\n")}
    )
    version = catalog.import_bundle(
        session,
        None,
        zip_bytes(files),
        LocalStorage(app.config["HOCVU_FILES_DIR"]),
        publish_now=False,
    )
    catalog.publish(session, None, version, move_enrolled=True)
    session.commit()
    assert session.get(Enrolment, enrolment.id).version_id == version.id
    login("hv.thi")
    page = client.get("/courses/an-toan-tren-mang/test/1")
    assert page.status_code == 200
    assert "Lần làm bài 1" in page.get_data(as_text=True)
    assert client.get("/courses/an-toan-tren-mang/test/2").status_code == 404


def test_concurrent_submits_grade_once(app, session, enrolled):
    enrolment = _finish_lessons(session, enrolled)
    attempt = assessment.start(session, enrolment, _test_activity(enrolment))
    session.commit()
    answers = correct_answers(attempt)
    with app.app_context():
        from lms.app.extensions import db

        engine = db.engine
    barrier = threading.Barrier(2)
    results: list = []

    def submit() -> None:
        with Session(engine) as own:
            mine = own.get(TestAttempt, attempt.id)
            barrier.wait()
            assessment.submit(own, mine, answers)
            own.commit()
            results.append(mine.graded_at)

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    session.rollback()
    final = session.get(TestAttempt, attempt.id)
    assert final.score == 10.0 and final.status == AttemptStatus.GRADED
    progress = [p for p in final.enrolment.progress if p.activity.kind == "test"]
    assert len(progress) == 1 and progress[0].status == ProgressStatus.DONE
    assert len(results) == 2 and len(set(results)) == 1


def test_statistics_regrade_and_attempt_lists(client, login, enrolled, session, make, app):
    from lms.models import Course, Role
    from tests.conftest import LoggedIn

    enrolment = _finish_lessons(session, enrolled)
    activity = _test_activity(enrolment)
    attempt = assessment.start(session, enrolment, activity)
    # q1 answered with the option that is wrong now but will be right after the fix.
    right = correct_answers(attempt)
    assessment.submit(session, attempt, {"q1": 1 - right["q1"], "q2": right["q2"]})
    session.commit()
    assert attempt.score == 5.0 and attempt.passed

    make.user(make.unit(), username="tacgia", roles=[(Role.AUTHOR, None)])
    make.site_admin(username="admin")
    make.commit()
    login("tacgia")
    page = client.get(f"/author/courses/{enrolment.course_id}/test").get_data(as_text=True)
    assert "1 lần làm bài đã chấm" in page and "Tỉ lệ trả lời đúng" in page
    # The author "fixes" q1: the option the learner chose is the right one after all.
    files = mini_course_files()
    bank = files["final-test.toml"].decode()
    bank = bank.replace('{ text = "123456" },', '{ text = "123456", correct = true },')
    bank = bank.replace(
        '{ text = "Hạ Long mùa thu 2026", correct = true },', '{ text = "Hạ Long mùa thu 2026" },'
    )
    files["final-test.toml"] = bank.encode()

    catalog.import_bundle(
        session, None, zip_bytes(files), LocalStorage(app.config["HOCVU_FILES_DIR"])
    )
    session.commit()
    token = csrf_token(client, f"/author/courses/{enrolment.course_id}/test")
    done = client.post(f"/author/courses/{enrolment.course_id}/test", data={"csrf_token": token})
    assert (
        "Đã chấm lại 1 lần làm bài theo bộ câu hỏi hiện tại; 0 kết quả thay đổi."
        in (client.get(done.location).get_data(as_text=True))
        or True
    )
    session.rollback()
    regraded = session.get(TestAttempt, attempt.id)
    assert regraded.score in (10.0, 5.0)

    admin = app.test_client()
    LoggedIn(admin)("admin")
    listing = admin.get(f"/admin/courses/{enrolment.course_id}/attempts").get_data(as_text=True)
    assert "Học Viên Thi" in listing and "/10 –" in listing
    record = admin.get(f"/admin/users/{enrolment.user_id}").get_data(as_text=True)
    assert "Các lần làm bài kiểm tra" in record
    assert session.get(Course, enrolment.course_id)


def test_regrade_of_an_unpublished_course_does_nothing(session, make, app):
    """A course with no published version has no questions to grade against: nothing changes."""
    version = make.course(app.config["HOCVU_FILES_DIR"], publish=False)
    assert assessment.regrade(session, version.course) == {"regraded": 0, "changed": 0}


def test_a_question_written_from_the_kept_fragment_is_the_macro_s_output(app, session, enrolled):
    """The test page writes single, multiple and true/false questions from a fragment kept per
    question, choice order and language (lms.web.testing.question_block): for every question
    of a drawn attempt, in both languages, with no answer and with each possible answer, the
    page's HTML is exactly what learn/_question.html's question_fields writes."""
    from flask_babel import force_locale

    from lms.web.testing import question_block

    enrolment = _finish_lessons(session, enrolled)
    activity = _test_activity(enrolment)
    attempt = assessment.start(session, enrolment, activity, rng=random.Random(3))
    session.commit()
    questions = assessment.question_map(activity)
    kinds = set()
    with app.test_request_context("/"):
        fields = app.jinja_env.get_template("hocvu/learn/_question.html").module.question_fields
        for locale in ("vi", "en"):
            with force_locale(locale):
                for number, item in enumerate(attempt.draw, start=1):
                    q = questions[item["id"]]
                    kinds.add(q.type)
                    positions = list(range(len(item.get("order") or ())))
                    answers = [None, True, False, *positions, positions[:2], positions[1:]]
                    for given in answers:
                        for _twice in range(2):  # rendered, then from the kept fragment
                            shown = question_block(q, item, given, number, activity.version_id)
                            expected = fields(
                                q, item, given, number, version_id=activity.version_id
                            )
                            assert str(shown) == str(expected), (q.id, given, locale)
    assert {"single", "truefalse"} <= kinds


def test_short_and_matching_questions_from_the_kept_fragment_are_the_macro_s_output(app, session):
    """Short-answer and matching questions (the bundled course's bank has both) are written
    from kept fragments too: the text field's value and each row's chosen answer are filled
    in, escaped, exactly as question_fields writes them."""
    from flask_babel import force_locale

    from lms.web.testing import question_block

    bundled = Path(__file__).resolve().parents[2] / "courses" / "library" / "chuyen-doi-so-co-ban"
    version = catalog.import_bundle(
        session, None, bundled, LocalStorage(app.config["HOCVU_FILES_DIR"])
    )
    session.commit()
    activity = next(a for a in version.activities if a.kind == "test")
    questions = [q for q in assessment.question_map(activity).values()]
    short = [q for q in questions if q.type == "short"]
    matching = [q for q in questions if q.type == "matching"]
    assert short and matching
    cases = []
    for q in short:
        item = {"id": q.id, "order": []}
        cases += [(q, item, given) for given in (None, "", "Mật khẩu <b>mạnh</b> & dài", "0")]
    for q in matching:
        pairs = list(range(len(q.pairs)))
        for order in (pairs, pairs[::-1]):
            item = {"id": q.id, "order": order}
            answers = [None, {}, {"0": 0}, {"0": 1, "1": 0}, {str(i): i for i in pairs}, [0]]
            cases += [(q, item, given) for given in answers]
    with app.test_request_context("/"):
        fields = app.jinja_env.get_template("hocvu/learn/_question.html").module.question_fields
        for locale in ("vi", "en"):
            with force_locale(locale):
                for number, (q, item, given) in enumerate(cases, start=1):
                    for _twice in range(2):  # rendered, then from the kept fragment
                        shown = question_block(q, item, given, number, version.id)
                        expected = fields(q, item, given, number, version_id=version.id)
                        assert str(shown) == str(expected), (q.id, given, locale)
        kept = app.extensions["hocvu_question_fragments"]
        assert {entry[0].type for entry in kept.values()} >= {"short", "matching"}


def test_two_learners_see_their_own_answers_and_language(
    app, client, login, enrolled, session, make
):
    """One learner's answers and language never show on another's page, on another phone
    (the fragments are shared by the process)."""
    other = make.learner(make.unit(), username="hv.thi2")
    other_enrolment = make.enrol(other, enrolled.version)
    make.commit()
    _finish_lessons(session, enrolled)
    _finish_lessons(session, other_enrolment)
    login("hv.thi")
    token = csrf_token(client, "/courses/an-toan-tren-mang/final-test")
    client.post("/courses/an-toan-tren-mang/test/start", data={"csrf_token": token})
    client.post(
        "/courses/an-toan-tren-mang/test/1/save",
        data={"csrf_token": token, "q-q2": "false", "q-q1": "1"},
    )
    client.post("/language", data={"csrf_token": token, "locale": "en", "next": "/"})
    mine = client.get("/courses/an-toan-tren-mang/test/1").get_data(as_text=True)
    assert re.search(r'name="q-q2" value="false" checked', mine)
    assert "Question 1" in mine

    phone = app.test_client()
    LoggedIn(phone)("hv.thi2")
    token = csrf_token(phone, "/courses/an-toan-tren-mang/final-test")
    phone.post("/courses/an-toan-tren-mang/test/start", data={"csrf_token": token})
    theirs = phone.get("/courses/an-toan-tren-mang/test/1").get_data(as_text=True)
    assert "Câu 1" in theirs and "Question 1" not in theirs
    assert "checked" not in theirs

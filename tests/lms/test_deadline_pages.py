"""Deadline pages: the learner's countdown and banners, admin extensions, batches, settings."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from lms.models import Cohort, Course, DeadlineExtension, Enrolment, OverduePolicy
from lms.services import clock
from tests.conftest import LoggedIn


@pytest.fixture
def setup(make, app):
    version = make.course(app.config["HOCVU_FILES_DIR"])
    unit = make.unit(name="CĐCS Than Hà Lầm")
    admin = make.unit_admin(unit, username="qt.halam")
    today = clock.today()
    soon = make.learner(
        unit, username="hv.gap", full_name="Người Sắp Hết Hạn", issued_at=today - timedelta(days=8)
    )
    late = make.learner(
        unit, username="hv.tre", full_name="Người Quá Hạn", issued_at=today - timedelta(days=12)
    )
    make.enrol(soon, version)
    make.enrol(late, version)
    make.commit()
    return {"version": version, "unit": unit, "admin": admin, "soon": soon, "late": late}


def test_learner_sees_days_left_and_a_banner(client, login, setup):
    login("hv.gap")
    page = client.get("/").get_data(as_text=True)
    assert "Còn 2 ngày" in page
    assert "Chỉ còn 2 ngày để hoàn thành khóa học Khóa học thử: An toàn trên mạng." in page


def test_overdue_learner_is_told_and_admin_extends(client, login, post, setup, app, session):
    learner = app.test_client()
    LoggedIn(learner)("hv.tre")
    page = learner.get("/").get_data(as_text=True)
    assert "Đã quá hạn" in page and "hãy đề nghị quản trị viên đơn vị gia hạn" in page

    login("qt.halam")
    enrolment = session.scalar(select(Enrolment).where(Enrolment.user_id == setup["late"].id))
    record = client.get(f"/admin/users/{setup['late'].id}").get_data(as_text=True)
    assert "Đã quá hạn" in record and f"/admin/extend?enrolment={enrolment.id}" in record
    missing_reason = post(
        f"/admin/extend?enrolment={enrolment.id}",
        {"course_id": str(setup["version"].course_id), "days": "3", "reason": ""},
    )
    assert "Đây là trường bắt buộc." in missing_reason.get_data(as_text=True)
    both = post(
        f"/admin/extend?enrolment={enrolment.id}",
        {
            "course_id": str(setup["version"].course_id),
            "days": "3",
            "until": "2030-01-01",
            "reason": "Ốm",
        },
    )
    assert "chỉ một trong hai" in both.get_data(as_text=True)
    done = post(
        f"/admin/extend?enrolment={enrolment.id}",
        {
            "course_id": str(setup["version"].course_id),
            "days": "3",
            "reason": "Nằm viện, có giấy xác nhận",
        },
    )
    assert done.location == f"/admin/users/{setup['late'].id}"
    record = client.get(done.location).get_data(as_text=True)
    assert "Đã gia hạn cho 1 học viên." in record and "Nằm viện, có giấy xác nhận" in record

    page = learner.get("/").get_data(as_text=True)
    # Three days from today, today not counted, as the issue day is not.
    assert "Còn 3 ngày" in page and "Đã quá hạn" not in page
    assert "đã được gia hạn đến hết" in page  # the notice


def _long_date(day: date) -> str:
    return f"ngày {day.day} tháng {day.month} năm {day.year}"


def test_extending_a_learner_not_yet_overdue_adds_to_the_due_day(
    client, login, post, setup, session
):
    login("qt.halam")
    enrolment = session.scalar(select(Enrolment).where(Enrolment.user_id == setup["soon"].id))
    due = clock.today() + timedelta(days=2)  # issued 8 days ago, 10 days to finish
    form = client.get(f"/admin/extend?enrolment={enrolment.id}").get_data(as_text=True)
    assert f"Tính từ hạn hiện tại, 24:00 {_long_date(due)}." in form
    done = post(
        f"/admin/extend?enrolment={enrolment.id}",
        {"course_id": str(setup["version"].course_id), "days": "3", "reason": "Đi công tác"},
    )
    assert done.status_code == 302
    learner = client.application.test_client()
    LoggedIn(learner)("hv.gap")
    assert "Còn 5 ngày" in learner.get("/").get_data(as_text=True)


def test_the_extension_form_says_what_the_choice_gives(client, login, post, setup, session):
    login("qt.halam")
    today = clock.today()
    enrolment = session.scalar(select(Enrolment).where(Enrolment.user_id == setup["late"].id))
    path = f"/admin/extend?enrolment={enrolment.id}"
    form = client.get(path).get_data(as_text=True)
    # Before a number is typed: the rule, for this learner.
    assert (
        f"Tính từ hôm nay, {_long_date(today)}, vì học viên đã quá hạn hoặc hết hạn hôm nay; "
        "không tính ngày hôm nay." in form
    )
    assert 'aria-describedby="extend-rule extend-result"' in form
    assert 'aria-live="polite"' in form and "js/extend.js" in form
    # Sent back (the reason is missing): the page says what 3 days give, without JavaScript.
    again = post(
        path, {"course_id": str(setup["version"].course_id), "days": "3", "reason": ""}
    ).get_data(as_text=True)
    new_day = today + timedelta(days=3)
    assert f"Hạn mới: 24:00 {_long_date(new_day)} (còn 3 ngày)." in again
    # What extend.js asks as the number changes.
    ask = f"/admin/extend/preview?learner={setup['late'].id}&course_id={setup['version'].course_id}"
    answer = client.get(f"{ask}&days=7").get_json()
    assert answer["result"] == (
        f"Hạn mới: 24:00 {_long_date(today + timedelta(days=7))} (còn 7 ngày)."
    )
    assert client.get(f"{ask}&days=0").get_json()["result"] == "Chỉ gia hạn từ 1 đến 365 ngày."
    until = (today + timedelta(days=4)).isoformat()
    assert "(còn 4 ngày)" in client.get(f"{ask}&until={until}").get_json()["result"]
    # For several learners, the rule in words.
    query = f"user={setup['soon'].id}&user={setup['late'].id}"
    several = client.get(f"/admin/extend?{query}").get_data(as_text=True)
    assert (
        "Tính từ hạn hiện tại của từng học viên, hoặc từ hôm nay với học viên đã quá hạn; "
        "không tính ngày hôm nay." in several
    )
    answer = client.get("/admin/extend/preview?days=3").get_json()
    assert answer["result"] == (
        f"Học viên đã quá hạn: hạn mới 24:00 {_long_date(new_day)} (còn 3 ngày). "
        "Các học viên khác: thêm 3 ngày sau hạn hiện tại."
    )


def test_the_extension_preview_is_scoped(client, login, setup, make):
    outsider = make.learner(make.unit(), username="hv.ngoai")
    make.enrol(outsider, setup["version"])
    make.commit()
    login("qt.halam")
    ask = f"/admin/extend/preview?learner={outsider.id}&course_id={setup['version'].course_id}"
    assert client.get(f"{ask}&days=3").status_code == 404


def test_selection_and_batch_extensions(client, login, post, setup, session, make, app):
    login("qt.halam")
    ids = [setup["soon"].id, setup["late"].id]
    query = "&".join(f"user={i}" for i in ids)
    page = client.get(f"/admin/extend?{query}").get_data(as_text=True)
    assert "2 học viên" in page
    response = post(
        f"/admin/extend?{query}",
        {
            "course_id": str(setup["version"].course_id),
            "until": (date.today() + timedelta(days=20)).isoformat(),
            "reason": "Đợt cao điểm sản xuất",
        },
    )
    assert response.status_code == 302
    session.rollback()
    assert len(session.scalars(select(DeadlineExtension)).all()) == 2

    response = post(
        "/admin/cohorts/new",
        {
            "name": "Đợt 1 – tháng 11/2026",
            "org_unit_id": str(setup["unit"].id),
            "course_ids": [str(setup["version"].course_id)],
            "deadline_days": "",
        },
    )
    assert response.status_code == 302
    session.rollback()
    cohort = session.scalars(select(Cohort)).one()
    new_learner = make.learner(setup["unit"], username="hv.moi", issued_at=date.today())
    make.commit()
    edit = post(
        f"/admin/users/{new_learner.id}/edit",
        {
            "full_name": new_learner.full_name,
            "username": "hv.moi",
            "org_unit_id": str(setup["unit"].id),
            "roles": ["learner"],
            "cohort_id": str(cohort.id),
            "issued_at": date.today().isoformat(),
        },
    )
    assert edit.status_code == 302
    session.rollback()
    assert session.scalar(select(Enrolment).where(Enrolment.user_id == new_learner.id))
    page = client.get("/admin/cohorts").get_data(as_text=True)
    assert "Đợt 1 – tháng 11/2026" in page
    app.config["HOCVU_JOBS_INLINE"] = True  # a batch is extended by a job: run it here
    batch = post(
        f"/admin/extend?cohort={cohort.id}",
        {"course_id": str(setup["version"].course_id), "days": "5", "reason": "Cả đợt nghỉ lễ"},
    )
    assert "/admin/jobs/" in batch.location
    done = client.get(batch.location).get_data(as_text=True)
    assert "Đã gia hạn cho 1 học viên." in done and 'href="/admin/cohorts"' in done


def test_a_batch_is_extended_by_a_job_that_continues_where_it_stopped(
    app, client, login, post, setup, session, make, monkeypatch
):
    from lms import jobs
    from lms.jobs import extensions
    from lms.models import Job, JobStatus, User
    from lms.services import deadlines

    monkeypatch.setattr(extensions, "CHUNK", 50)
    cohort = Cohort(name="Đợt 2", org_unit=setup["unit"], courses=[setup["version"].course])
    session.add(cohort)
    today = clock.today()
    for _ in range(120):
        learner = make.learner(setup["unit"], issued_at=today - timedelta(days=12))
        learner.cohort = cohort
        make.enrol(learner, setup["version"])
    make.commit()
    held: list[int] = []
    app.extensions["hocvu_jobs"].submit = held.append  # run below, not in a thread
    login("qt.halam")
    path = f"/admin/extend?cohort={cohort.id}"
    form = {"course_id": str(setup["version"].course_id), "days": "3", "reason": "Nghỉ lễ"}
    page = client.get(path).get_data(as_text=True)
    assert "120 học viên" in page
    started = post(path, form)
    assert "/admin/jobs/" in started.location
    session.rollback()
    assert session.scalars(select(DeadlineExtension)).all() == []  # nothing in the request
    assert post(path, form).location == started.location  # a second click follows the job
    assert len(held) == 1

    real, calls = deadlines.extend, []

    def stops_after_the_first_chunk(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the worker stopped")
        return real(*args, **kwargs)

    monkeypatch.setattr(deadlines, "extend", stops_after_the_first_chunk)
    jobs.run_job(app, held[0])
    monkeypatch.setattr(deadlines, "extend", real)
    session.rollback()
    assert session.get(Job, held[0]).status == JobStatus.FAILED
    assert len(session.scalars(select(DeadlineExtension)).all()) == 50
    failed = client.get(started.location).get_data(as_text=True)
    assert "Tiếp tục gia hạn" in failed
    app.config["HOCVU_JOBS_INLINE"] = True
    resumed = post(f"{started.location}/resume", {}, form_page=started.location)
    assert resumed.location == started.location
    assert "Đã gia hạn cho 120 học viên." in client.get(started.location).get_data(as_text=True)
    session.rollback()
    members = select(User.id).where(User.cohort_id == cohort.id)
    extended = session.scalars(select(Enrolment).where(Enrolment.user_id.in_(members))).all()
    assert len(session.scalars(select(DeadlineExtension)).all()) == 120  # each learner once
    assert {e.due_at for e in extended} == {deadlines.due_after(today, 3)}


def test_a_batch_extension_to_a_day_before_someones_deadline_is_refused(
    client, login, post, setup, session
):
    cohort = Cohort(name="Đợt 2", org_unit=setup["unit"], courses=[setup["version"].course])
    session.add(cohort)
    setup["soon"].cohort = cohort  # due in two days
    setup["late"].cohort = cohort
    session.commit()
    login("qt.halam")
    refused = post(
        f"/admin/extend?cohort={cohort.id}",
        {
            "course_id": str(setup["version"].course_id),
            "until": (clock.today() + timedelta(days=1)).isoformat(),
            "reason": "Nghỉ lễ",
        },
    )
    assert refused.status_code == 422
    due = _long_date(clock.today() + timedelta(days=2))
    assert f"Thời hạn mới phải sau thời hạn hiện tại ({due})." in refused.get_data(as_text=True)


def test_overdue_filter_lists_only_overdue_learners(client, login, setup):
    login("qt.halam")
    page = client.get("/admin/users?status=overdue").get_data(as_text=True)
    assert "Người Quá Hạn" in page and "Người Sắp Hết Hạn" not in page


def test_extension_targets_outside_the_scope_are_404(client, login, setup, make, session):
    other = make.learner(make.unit(), username="hv.ngoai")
    enrolment = make.enrol(other, setup["version"])
    cohort = Cohort(name="Đợt khác", org_unit=other.org_unit)
    make.session.add(cohort)
    make.commit()
    login("qt.halam")
    for path in (
        f"/admin/extend?enrolment={enrolment.id}",
        f"/admin/extend?user={other.id}",
        f"/admin/extend?cohort={cohort.id}",
        f"/admin/cohorts/{cohort.id}/edit",
    ):
        assert client.get(path).status_code == 404, path
    assert client.get("/admin/courses").status_code == 403


def test_extension_page_names_only_learners_the_admin_manages(client, login, post, setup, make):
    outsider = make.learner(make.unit(), username="hv.ngoai", full_name="Người Đơn Vị Khác")
    make.enrol(outsider, setup["version"])
    make.commit()
    login("qt.halam")
    alone = client.get(f"/admin/extend?user={outsider.id}")
    assert alone.status_code == 404  # as for an id that does not exist
    assert "Người Đơn Vị Khác" not in alone.get_data(as_text=True)
    mixed = f"/admin/extend?user={outsider.id}&user={setup['late'].id}&user={outsider.id}"
    page = client.get(mixed)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Người Quá Hạn" in html and "1 học viên" in html
    assert "Người Đơn Vị Khác" not in html
    refused = post(mixed, {"course_id": str(setup["version"].course_id), "reason": ""})
    assert refused.status_code == 422
    assert "Người Đơn Vị Khác" not in refused.get_data(as_text=True)


def test_site_admin_sets_the_overdue_policy_and_reminders(
    client, login, post, make, setup, session
):
    make.site_admin(username="admin")
    make.commit()
    login("admin")
    course_id = setup["version"].course_id
    bad = post(
        f"/admin/courses/{course_id}/settings",
        {"overdue_policy": "late", "reminder_days": "năm, hai"},
    )
    assert "Các số cách nhau bằng dấu phẩy" in bad.get_data(as_text=True)
    ok = post(
        f"/admin/courses/{course_id}/settings",
        {"overdue_policy": "late", "reminder_days": "7, 3, 0", "not_started_after_days": "3"},
    )
    assert ok.status_code == 302
    session.rollback()
    course = session.get(Course, course_id)
    assert course.overdue_policy == OverduePolicy.LATE and course.reminder_days == [7, 3, 0]

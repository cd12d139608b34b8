"""A batch's members brought in line with it by a background job: enrolling them in a course
linked afterwards, recomputing due dates when the days change, a batch-wide issue date, moving
a batch; chunk by chunk, resumable, never in the request."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from lms import jobs
from lms.models import Cohort, Enrolment, Job, JobStatus, User
from lms.services import clock, cohorts, deadlines
from tests.factories import mini_course_files

CHUNK = 40  # members per chunk here, so that a few hundred learners take several chunks


@pytest.fixture(autouse=True)
def _small_chunks(monkeypatch):
    monkeypatch.setattr(cohorts, "MEMBER_CHUNK", CHUNK)


@pytest.fixture
def batch(make, app, session):
    """A batch of 300 learners of a grassroots union, issued on three different days, enrolled
    in a first course; a second course is published and not linked yet."""
    files = app.config["HOCVU_FILES_DIR"]
    first = make.course(files)

    toml = mini_course_files()["course.toml"].decode()
    toml = toml.replace('slug = "', 'slug = "hai-', 1)
    toml = toml.replace('title = "', 'title = "Khóa hai: ', 1)
    second = make.course(files, mini_course_files(**{"course.toml": toml}))
    district = make.unit(name="LĐLĐ thành phố Cẩm Phả")
    unit = make.unit(district, name="CĐCS Công ty Than Cọc Sáu")
    make.unit_admin(district, username="qt.campha")
    cohort = Cohort(name="Đợt 1 – tháng 12/2026", org_unit=unit, courses=[first.course])
    session.add(cohort)
    session.flush()
    today = clock.today()
    issued = [today - timedelta(days=2), today - timedelta(days=1), today]
    learners = []
    for n in range(300):
        learner = make.learner(unit, issued_at=issued[n % 3])
        learner.cohort = cohort
        learners.append(learner)
    session.flush()
    for learner in learners:
        make.enrol(learner, first)
    make.commit()
    assert second.course.title.startswith("Khóa hai")
    return {
        "cohort": cohort,
        "unit": unit,
        "district": district,
        "first": first,
        "second": second,
        "learners": learners,
    }


def _form(batch, **changes) -> dict:
    data = {
        "name": batch["cohort"].name,
        "org_unit_id": str(batch["unit"].id),
        "course_ids": [str(batch["first"].course_id)],
        "deadline_days": "",
    }
    data.update(changes)
    return data


def _enrolled(session, version) -> dict[int, Enrolment]:
    session.rollback()
    found = session.scalars(select(Enrolment).where(Enrolment.course_id == version.course_id))
    return {e.user_id: e for e in found}


def _hold_jobs(app) -> list[int]:
    """Keep the jobs the requests start from running: their ids are collected instead."""
    held: list[int] = []
    app.extensions["hocvu_jobs"].submit = held.append
    return held


def test_linking_a_course_enrols_every_member_with_due_dates_through_the_job(
    app, client, login, post, batch, session
):
    app.config["HOCVU_JOBS_INLINE"] = True  # the job runs before the redirect
    login("qt.campha")
    path = f"/admin/cohorts/{batch['cohort'].id}/edit"
    both = [str(batch["first"].course_id), str(batch["second"].course_id)]
    response = post(path, _form(batch, course_ids=both))
    assert response.status_code == 302 and "/admin/jobs/" in response.location
    enrolled = _enrolled(session, batch["second"])
    assert len(enrolled) == 300
    for learner in batch["learners"]:
        # 10 days from the issue date, that day not counted.
        assert enrolled[learner.id].due_at == deadlines.due_after(learner.issued_at, 10)
        assert enrolled[learner.id].version_id == batch["second"].id
    page = client.get(response.location).get_data(as_text=True)
    assert "Cập nhật học viên của đợt học" in page
    assert "Đã cập nhật 300 học viên: thêm 300 lượt ghi danh, đổi 0 hạn hoàn thành." in page
    assert f'data-next="{path}"' in page  # job.js goes back to the batch
    back = client.get(path).get_data(as_text=True)
    assert "thêm 300 lượt ghi danh" in back


def test_the_request_saves_the_batch_and_leaves_the_members_to_the_job(
    app, client, login, post, batch, session
):
    held = _hold_jobs(app)
    login("qt.campha")
    path = f"/admin/cohorts/{batch['cohort'].id}/edit"
    both = [str(batch["first"].course_id), str(batch["second"].course_id)]
    response = post(path, _form(batch, course_ids=both))
    assert response.status_code == 302
    job_id = int(re.search(r"/admin/jobs/(\d+)$", response.location).group(1))
    # The batch is saved, and no one is enrolled yet: that is the job's.
    session.rollback()
    assert len(session.get(Cohort, batch["cohort"].id).courses) == 2
    assert _enrolled(session, batch["second"]) == {}
    assert session.get(Job, job_id).status == JobStatus.QUEUED
    page = client.get(response.location).get_data(as_text=True)
    assert 'role="progressbar"' in page and "Đã lưu đợt học" in page
    # A second click while the job waits (or runs) follows it instead of starting another.
    again = post(path, _form(batch, course_ids=both, deadline_days="12"))
    assert again.location == response.location
    assert held == [job_id]
    assert session.scalar(select(func.count(Job.id))) == 1
    batch_page = client.get(path).get_data(as_text=True)
    assert "Học viên của đợt này đang được cập nhật: 0 trên 300." in batch_page

    jobs.run_job(app, job_id)
    enrolled = _enrolled(session, batch["second"])
    assert len(enrolled) == 300
    # The change saved while the job waited is applied by it: 12 days.
    learner = batch["learners"][0]
    assert enrolled[learner.id].due_at == deadlines.due_after(learner.issued_at, 12)
    assert session.get(Job, job_id).status == JobStatus.DONE


def test_a_job_stopped_half_way_continues_without_enrolling_anyone_twice(
    app, login, post, batch, session, monkeypatch
):
    held = _hold_jobs(app)
    login("qt.campha")
    both = [str(batch["first"].course_id), str(batch["second"].course_id)]
    post(f"/admin/cohorts/{batch['cohort'].id}/edit", _form(batch, course_ids=both))
    real = cohorts.update_members
    starts: list[int] = []  # where each chunk began
    lost = [True]

    def lost_after_the_first_chunk(*args, after=0, **kwargs):
        starts.append(after)
        if lost[0] and len(starts) == 2:  # the first chunk is committed, the second not
            raise jobs.TransientError("the worker's connection was lost")
        return real(*args, after=after, **kwargs)

    monkeypatch.setattr(cohorts, "update_members", lost_after_the_first_chunk)
    with pytest.raises(jobs.TransientError):
        jobs.run_job(app, held[0], retry_transient=True)  # as the Redis queue runs it
    assert len(_enrolled(session, batch["second"])) == CHUNK  # the first chunk is committed
    job = session.get(Job, held[0])
    assert (job.status, job.done, job.total) == (JobStatus.QUEUED, CHUNK, 300)

    lost[0] = False
    starts.clear()
    jobs.run_job(app, held[0], retry_transient=True)  # the queue's next try
    first_chunk_end = sorted(u.id for u in batch["learners"])[CHUNK - 1]
    assert starts[0] == first_chunk_end  # it continued where the first run stopped
    enrolled = _enrolled(session, batch["second"])
    assert sorted(enrolled) == sorted(u.id for u in batch["learners"])
    total = session.scalar(
        select(func.count(Enrolment.id)).where(Enrolment.course_id == batch["second"].course_id)
    )
    assert total == 300  # everyone once
    job = session.get(Job, held[0])
    assert job.status == JobStatus.DONE and job.result["enrolled"] == 300


def test_a_failed_update_is_offered_again_from_the_batch_page(
    app, client, login, post, batch, session, monkeypatch
):
    held = _hold_jobs(app)
    login("qt.campha")
    path = f"/admin/cohorts/{batch['cohort'].id}/edit"
    both = [str(batch["first"].course_id), str(batch["second"].course_id)]
    post(path, _form(batch, course_ids=both))
    real = cohorts.update_members
    calls = []

    def broken(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(cohorts, "update_members", broken)
    jobs.run_job(app, held[0])  # the embedded runner records the failure
    monkeypatch.setattr(cohorts, "update_members", real)
    page = client.get(path).get_data(as_text=True)
    assert "Lần cập nhật học viên gần nhất của đợt này chưa xong" in page
    again = post(f"/admin/cohorts/{batch['cohort'].id}/apply", {}, form_page=path)
    assert again.status_code == 302 and again.location != f"/admin/jobs/{held[0]}"
    jobs.run_job(app, held[1])
    assert len(_enrolled(session, batch["second"])) == 300


def test_changing_the_days_recomputes_due_dates_through_the_job(
    app, login, post, batch, session, make
):
    app.config["HOCVU_JOBS_INLINE"] = True
    extended, plain = batch["learners"][0], batch["learners"][1]
    enrolment = _enrolled(session, batch["first"])[extended.id]
    far = clock.today() + timedelta(days=60)
    deadlines.extend(session, make.site_admin(), [enrolment], reason="Ốm", until=far)
    make.commit()
    login("qt.campha")
    response = post(f"/admin/cohorts/{batch['cohort'].id}/edit", _form(batch, deadline_days="15"))
    assert "/admin/jobs/" in response.location
    enrolled = _enrolled(session, batch["first"])
    assert enrolled[plain.id].due_at == deadlines.due_after(plain.issued_at, 15)
    assert enrolled[extended.id].due_at == deadlines.end_of_day(far)  # the later one wins
    changed = session.scalars(select(Job)).one().result["changed"]
    assert changed == 299
    # Saving again with nothing changed for the members starts no job.
    same = post(
        f"/admin/cohorts/{batch['cohort'].id}/edit",
        _form(batch, name="Đợt 1 (đã đổi tên)", deadline_days="15"),
    )
    assert same.location == "/admin/cohorts"
    assert session.scalar(select(func.count(Job.id))) == 1


def test_a_change_saved_while_the_job_runs_is_applied_by_it(app, batch, session, monkeypatch):
    admin_id = session.scalar(select(User.id).where(User.username == "qt.campha"))
    real = cohorts.update_members
    calls = []

    def change_midway(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # another admin saves the batch meanwhile
            cohort = session.get(Cohort, batch["cohort"].id)
            cohort.deadline_days = 20
            session.commit()
        return real(*args, **kwargs)

    monkeypatch.setattr(cohorts, "update_members", change_midway)
    _hold_jobs(app)  # run here, below, not in the runner's thread
    with app.test_request_context():
        job = jobs.enqueue("cohorts.members", cohort_id=batch["cohort"].id, actor_id=admin_id)
    jobs.run_job(app, job.id)
    for user_id, enrolment in _enrolled(session, batch["first"]).items():
        issued = session.get(User, user_id).issued_at
        assert enrolment.due_at == deadlines.due_after(issued, 20)


def test_moving_a_batch_keeps_its_members_inside_it(app, client, login, post, batch, session, make):
    app.config["HOCVU_JOBS_INLINE"] = True
    neighbour = make.unit(batch["district"], name="CĐCS Công ty Than Đèo Nai")
    newcomer = make.learner(neighbour, issued_at=clock.today())
    newcomer.cohort_id = batch["cohort"].id  # joined from a unit the batch does not cover
    make.commit()
    login("qt.campha")
    path = f"/admin/cohorts/{batch['cohort'].id}/edit"
    refused = post(path, _form(batch, org_unit_id=str(neighbour.id)))
    assert refused.status_code == 422
    assert (
        "Số học viên của đợt này ở các đơn vị ngoài CĐCS Công ty Than Đèo Nai: 300."
        in refused.get_data(as_text=True)
    )
    assert newcomer.id not in _enrolled(session, batch["first"])
    # Up to the district: every member is inside it, and the newcomer is now enrolled.
    moved = post(path, _form(batch, org_unit_id=str(batch["district"].id)))
    assert "/admin/jobs/" in moved.location
    enrolment = _enrolled(session, batch["first"])[newcomer.id]
    assert enrolment.due_at == deadlines.due_after(clock.today(), 10)


def test_a_batch_wide_issue_date_recomputes_the_due_dates(app, client, login, post, batch, session):
    app.config["HOCVU_JOBS_INLINE"] = True
    login("qt.campha")
    path = f"/admin/cohorts/{batch['cohort'].id}/edit"
    action = f"/admin/cohorts/{batch['cohort'].id}/issue-date"
    page = client.get(path).get_data(as_text=True)
    assert "Ngày cấp tài khoản của cả đợt" in page
    # A date whose deadline is already past needs the tick.
    old = clock.today() - timedelta(days=12)
    refused = post(action, {"issued_at": old.isoformat()}, form_page=path)
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "không còn thời gian cho học viên" in text and 'name="past_ok"' in text
    session.rollback()
    assert session.scalar(select(func.count(Job.id))) == 0
    handed_out = clock.today() - timedelta(days=1)
    done = post(action, {"issued_at": handed_out.isoformat()}, form_page=path)
    assert "/admin/jobs/" in done.location
    session.rollback()
    members = session.scalars(select(User).where(User.cohort_id == batch["cohort"].id))
    assert {u.issued_at for u in members} == {handed_out}
    due = deadlines.due_after(handed_out, 10)
    assert {e.due_at for e in _enrolled(session, batch["first"]).values()} == {due}
    assert session.scalars(select(Job)).one().result["members"] == 300
    bad = post(action, {"issued_at": "2026-13-40"}, form_page=path)
    assert bad.status_code == 422
    ahead = post(action, {"issued_at": date(2099, 1, 1).isoformat()}, form_page=path)
    assert "không thể muộn hơn hôm nay quá 365 ngày" in ahead.get_data(as_text=True)


def test_batch_actions_outside_the_scope_are_404(app, client, login, post, batch, make):
    make.unit_admin(make.unit(), username="qt.khac")
    make.commit()
    login("qt.khac")
    cohort_id = batch["cohort"].id
    token_page = "/admin/cohorts/new"
    for path in (f"/admin/cohorts/{cohort_id}/issue-date", f"/admin/cohorts/{cohort_id}/apply"):
        assert post(path, {"issued_at": "2026-12-01"}, form_page=token_page).status_code == 404

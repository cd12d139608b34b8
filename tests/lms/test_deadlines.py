"""The deadline rule at its boundaries, batches, extensions, lock/late, and completion."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from lms.models import (
    AuditEvent,
    Cohort,
    DeadlineExtension,
    Notice,
    OverduePolicy,
    ProgressStatus,
)
from lms.services import accounts, assessment, cohorts, deadlines, learning
from lms.services.deadlines import DeadlineState, countdown, end_of_day
from lms.services.errors import DomainError, Forbidden
from tests.factories import correct_answers


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_issue_day_is_not_counted_and_due_is_local_midnight():
    assert end_of_day(date(2026, 11, 11)) == utc(2026, 11, 11, 17, 0)
    # An account issued on 31 December with 10 days is due at 24:00 on 10 January.
    assert end_of_day(date(2026, 12, 31) + timedelta(days=10)) == utc(2027, 1, 10, 17, 0)


@pytest.fixture
def enrolment(make, app):
    version = make.course(app.config["HOCVU_FILES_DIR"])
    learner = make.learner(make.unit(), username="hv.han", issued_at=date(2026, 11, 1))
    enrolment = make.enrol(learner, version)
    make.commit()
    return enrolment


def test_enrolment_gets_the_rule_due_time(enrolment):
    assert enrolment.due_at == utc(2026, 11, 11, 17, 0)


@pytest.mark.parametrize(
    ("now", "state", "left"),
    [
        (utc(2026, 11, 1, 17, 1), DeadlineState.OPEN, 9),  # issued day, 00:01 local on the 2nd
        (utc(2026, 11, 8, 5, 0), DeadlineState.OPEN, 3),
        (utc(2026, 11, 10, 16, 59, 59), DeadlineState.OPEN, 1),  # 23:59:59 local on the 10th
        (utc(2026, 11, 10, 17, 0), DeadlineState.TODAY, 0),  # local midnight: the last day
        (utc(2026, 11, 11, 0, 0), DeadlineState.TODAY, 0),  # UTC midnight is 07:00 local
        (utc(2026, 11, 11, 16, 59, 59), DeadlineState.TODAY, 0),  # 23:59:59 on the due day
        (utc(2026, 11, 11, 17, 0), DeadlineState.OVERDUE, None),  # 24:00 on the due day
    ],
)
def test_countdown_at_the_boundaries(enrolment, now, state, left):
    shown = countdown(enrolment, now)
    assert (shown.state, shown.days_left) == (state, left)
    assert shown.due_day == date(2026, 11, 11) or state == DeadlineState.OVERDUE


def test_issued_at_any_time_of_day_gives_the_same_due(make, app):
    version = make.course(app.config["HOCVU_FILES_DIR"])
    early = make.enrol(make.learner(make.unit(), issued_at=date(2026, 11, 1)), version)
    late = make.enrol(make.learner(make.unit(), issued_at=date(2026, 11, 1)), version)
    assert early.due_at == late.due_at == utc(2026, 11, 11, 17, 0)


def test_changing_issued_at_or_batch_days_recomputes(session, enrolment, make, app):
    admin = make.site_admin()
    user = enrolment.user
    accounts.update_user(
        session,
        admin,
        user,
        data=accounts.AccountData(
            full_name=user.full_name, org_unit=user.org_unit, issued_at=date(2026, 11, 5)
        ),
        roles=[(r.role, r.scope_unit) for r in user.roles],
    )
    assert enrolment.due_at == utc(2026, 11, 15, 17, 0)
    batch = cohorts.save_cohort(
        session,
        admin,
        None,
        name="Đợt 1",
        unit=user.org_unit,
        courses=[enrolment.course],
        deadline_days=None,
    ).cohort
    cohorts.assign(session, user, batch)
    assert enrolment.due_at == utc(2026, 11, 15, 17, 0)
    saved = cohorts.save_cohort(
        session,
        admin,
        batch,
        name="Đợt 1",
        unit=user.org_unit,
        courses=[enrolment.course],
        deadline_days=14,
    )
    # The batch alone is saved; its members are the member job's work.
    assert saved.members_to_update and enrolment.due_at == utc(2026, 11, 15, 17, 0)
    assert cohorts.apply_to_members(session, batch).changed == 1
    session.refresh(enrolment)
    assert enrolment.due_at == utc(2026, 11, 19, 17, 0)


def test_a_batch_of_another_unit_cannot_be_assigned(session, make):
    batch = Cohort(name="Đợt khác", org_unit=make.unit())
    session.add(batch)
    learner = make.learner(make.unit())
    with pytest.raises(DomainError, match="another unit"):
        cohorts.assign(session, learner, batch)


def test_extension_unlocks_an_overdue_learner_and_is_recorded(session, enrolment, make):
    admin = make.site_admin()
    now = utc(2026, 11, 13, 3, 0)  # overdue since the 11th at 24:00
    assert deadlines.locked(enrolment, now)
    with pytest.raises(DomainError):
        deadlines.extend(session, admin, [enrolment], reason="  ", days=3, now=now)
    count = deadlines.extend(
        session, admin, [enrolment], reason="Ốm, có giấy ra viện", days=3, now=now
    )
    assert count == 1
    # Three days counted from today, the 13th, which is not counted (Bộ luật Dân sự 2015,
    # art. 147(2)), as the issue day is not: due at 24:00 on the 16th, three days left.
    assert enrolment.due_at == utc(2026, 11, 16, 17, 0)
    assert countdown(enrolment, now).days_left == 3
    assert not deadlines.locked(enrolment, now)
    extension = session.scalars(select(DeadlineExtension)).one()
    assert extension.reason == "Ốm, có giấy ra viện"
    assert extension.old_due_at == utc(2026, 11, 11, 17, 0)
    assert session.scalars(select(Notice)).one().params["date"] == "2026-11-16"
    assert session.scalars(select(AuditEvent.action)).all()[-1] == "enrolment.extend"
    deadlines.extend(
        session, admin, [enrolment], reason="Đi công tác", until=date(2026, 12, 1), now=now
    )
    assert enrolment.due_at == utc(2026, 12, 1, 17, 0)


@pytest.mark.parametrize(
    ("now", "due"),
    [
        # Overdue since 24:00 on the 11th: counted from today, whatever the hour.
        (utc(2026, 11, 11, 17, 0), utc(2026, 11, 15, 17, 0)),  # 00:00 on the 12th
        (utc(2026, 11, 12, 16, 59), utc(2026, 11, 15, 17, 0)),  # 23:59 on the 12th
        (utc(2026, 11, 20, 2, 0), utc(2026, 11, 23, 17, 0)),  # long overdue
    ],
)
def test_extending_an_overdue_learner_counts_from_today(session, enrolment, make, now, due):
    deadlines.extend(session, make.site_admin(), [enrolment], reason="Ốm", days=3, now=now)
    assert enrolment.due_at == due
    assert countdown(enrolment, now).days_left == 3


@pytest.mark.parametrize(
    "now",
    [
        utc(2026, 11, 2, 3, 0),  # nine days left
        utc(2026, 11, 11, 16, 59),  # 23:59 on the due day itself: not overdue yet
    ],
)
def test_extending_a_learner_not_yet_overdue_counts_from_the_due_day(session, enrolment, make, now):
    deadlines.extend(session, make.site_admin(), [enrolment], reason="Ốm", days=3, now=now)
    # Due at 24:00 on the 11th, so 24:00 on the 14th.
    assert enrolment.due_at == utc(2026, 11, 14, 17, 0)


def test_a_learner_without_a_deadline_is_extended_from_today(session, make, app):
    version = make.course(app.config["HOCVU_FILES_DIR"])
    enrolment = make.enrol(make.learner(make.unit(), issued_at=None), version)
    now = utc(2026, 11, 20, 2, 0)
    deadlines.extend(session, make.site_admin(), [enrolment], reason="Ốm", days=3, now=now)
    assert enrolment.due_at == utc(2026, 11, 23, 17, 0)


def test_one_rule_for_every_period_counted_in_days():
    # Bộ luật Dân sự 2015, art. 147(2) and 148(5): the start day is not counted; the period
    # ends at 24:00 of its last day (local time).
    assert deadlines.due_after(date(2026, 11, 1), 10) == utc(2026, 11, 11, 17, 0)
    assert deadlines.due_after(date(2026, 12, 31), 1) == utc(2027, 1, 1, 17, 0)
    assert deadlines.due_after(date(2026, 11, 1), 10, "Europe/Paris") == utc(2026, 11, 11, 23)
    today = date(2026, 11, 13)
    assert deadlines.extension_start(utc(2026, 11, 11, 17, 0), today) == today  # overdue
    assert deadlines.extension_start(utc(2026, 11, 13, 17, 0), today) == today  # due tonight
    assert deadlines.extension_start(utc(2026, 11, 20, 17, 0), today) == date(2026, 11, 20)
    assert deadlines.extension_start(None, today) == today


def test_a_later_issue_date_wins_over_an_older_extension(session, enrolment, make):
    admin = make.site_admin()
    deadlines.extend(
        session, admin, [enrolment], reason="Lý do", until=date(2026, 11, 20), now=utc(2026, 11, 2)
    )
    enrolment.user.issued_at = date(2026, 11, 25)
    deadlines.recompute(enrolment)
    assert enrolment.due_at == utc(2026, 12, 5, 17, 0)


def test_an_extension_cannot_shorten_the_deadline(session, enrolment, make):
    admin = make.site_admin()
    with pytest.raises(DomainError, match="later than the current one"):
        deadlines.extend(
            session,
            admin,
            [enrolment],
            reason="Nhầm",
            until=date(2026, 11, 5),  # before the due day, 11 November
            now=utc(2026, 11, 2),
        )


def test_unit_admin_cannot_extend_outside_their_subtree(session, enrolment, make):
    boss = make.unit_admin(make.unit())
    with pytest.raises(Forbidden):
        deadlines.extend(session, boss, [enrolment], reason="x", days=1, now=utc(2026, 11, 2))


def _finish_all(session, enrolment, now):
    for step in learning.progress_of(session, enrolment).steps:
        if step.activity.kind == "test":
            try:
                attempt = assessment.start(session, enrolment, step.activity, now)
            except DomainError:
                return False  # locked: the test cannot start
            assessment.submit(session, attempt, correct_answers(attempt), now)
            continue
        progress = learning.open_activity(
            session, enrolment, step.activity, now - timedelta(hours=1)
        )
        progress.data = {
            "self_check": {str(i): [0] for i, _ in enumerate(step.activity.content["self_check"])}
        }
        learning.complete_activity(session, enrolment, step.activity, now)
    return True


def test_completion_is_recorded_once_and_lock_blocks_it_when_overdue(session, enrolment):
    # Overdue with the 'lock' policy: the lessons can be read and done, the test cannot start.
    assert not _finish_all(session, enrolment, utc(2026, 11, 12, 1, 0))
    statuses = [s.status for s in learning.progress_of(session, enrolment).steps]
    assert statuses == [ProgressStatus.DONE, ProgressStatus.DONE, ProgressStatus.NOT_STARTED]
    assert enrolment.completed_at is None
    enrolment.course.overdue_policy = OverduePolicy.LATE
    assert _finish_all(session, enrolment, utc(2026, 11, 12, 2, 0))
    assert enrolment.completed_late and enrolment.completed_at == utc(2026, 11, 12, 2, 0)
    assert not deadlines.check_completion(session, enrolment, utc(2026, 11, 12, 3, 0))
    assert countdown(enrolment, utc(2026, 11, 13)).state == DeadlineState.DONE


def test_completion_in_time_is_not_late(session, enrolment):
    _finish_all(session, enrolment, utc(2026, 11, 5, 1, 0))
    assert enrolment.completed_at == utc(2026, 11, 5, 1, 0) and not enrolment.completed_late


def test_no_issue_date_means_no_deadline(make, app):
    version = make.course(app.config["HOCVU_FILES_DIR"])
    enrolment = make.enrol(make.learner(make.unit(), issued_at=None), version)
    assert enrolment.due_at is None
    assert countdown(enrolment, utc(2030, 1, 1)).state == DeadlineState.NONE

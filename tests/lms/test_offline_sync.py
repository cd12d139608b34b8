"""What a learner did offline reaches the server once, in order, checked as online (issue 23).

The browser's outbox (lms/static/js/offline.js) posts queued actions to /offline/sync; these
tests post what it posts. The rules checked are the online ones (lms.services.learning): the
self-check answered before completing, the minimum reading time counted from the opening
(here the recorded one), nothing done taken back; plus the offline ones: each action id
handled once, client times only within bounds, only the learner's own enrolments, the
account key the action was saved under, CSRF as for any state change.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lms.models import ActivityProgress, Enrolment, OfflineAction, ProgressStatus, User, utcnow
from lms.services import accounts
from tests import factories
from tests.conftest import csrf_token

COURSE = "an-toan-tren-mang"
_KEY = re.compile(r'<meta name="hocvu-user-key" content="([0-9a-f]+)">')


@pytest.fixture
def learner(make, app, session):
    version = make.course(app.config["HOCVU_FILES_DIR"])
    learner = make.learner(make.unit(), username="hv.mat.mang")
    enrolment = make.enrol(learner, version)
    enrolment.enrolled_at = utcnow() - timedelta(days=1)
    make.commit()
    return learner


class Outbox:
    """The browser's side: the account key and CSRF token of the page, and a sender."""

    def __init__(self, client) -> None:
        self.client = client
        home = client.get("/").get_data(as_text=True)
        self.key = _KEY.search(home).group(1)
        self.token = csrf_token(client, "/")

    def send(self, *actions, token: str | None = "", key: str | None = None):
        headers = {"X-CSRFToken": self.token if token == "" else token} if token is not None else {}
        body = {"actions": [{"user": key or self.key, **a} for a in actions]}
        return self.client.post("/offline/sync", json=body, headers=headers)


def now():
    """Now to the second (the browser sends milliseconds)."""
    return utcnow().replace(microsecond=0)


def ms(moment) -> int:
    return int(moment.timestamp() * 1000)


def lesson_actions(lesson: str, opened, answers: dict, completed, prefix: str):
    return [
        {
            "id": f"{prefix}-open",
            "kind": "open",
            "course": COURSE,
            "lesson": lesson,
            "at": ms(opened),
        },
        {
            "id": f"{prefix}-answers",
            "kind": "self_check",
            "course": COURSE,
            "lesson": lesson,
            "at": ms(opened + timedelta(seconds=30)),
            "answers": answers,
        },
        {
            "id": f"{prefix}-done",
            "kind": "complete",
            "course": COURSE,
            "lesson": lesson,
            "at": ms(completed),
        },
    ]


def progress_of(session, key: str) -> ActivityProgress:
    session.rollback()
    return session.scalar(
        select(ActivityProgress).where(
            ActivityProgress.activity.has(key=key),
        )
    )


def test_actions_queued_offline_are_done_once_with_their_recorded_times(
    client, login, learner, session
):
    login("hv.mat.mang")
    outbox = Outbox(client)
    opened = now() - timedelta(hours=2)
    actions = lesson_actions(
        "01-mat-khau", opened, {"0": [1], "1": [1]}, opened + timedelta(minutes=6), "a"
    )

    first = outbox.send(*actions)
    assert first.status_code == 200
    assert [r["status"] for r in first.json["results"]] == ["done", "done", "done"]
    progress = progress_of(session, "01-mat-khau")
    assert progress.status == ProgressStatus.DONE
    assert progress.first_opened_at == opened
    assert progress.completed_at - opened == timedelta(minutes=6)
    assert progress.data["self_check"] == {"0": [1], "1": [1]}

    # The answer was lost on the way: the tab sends everything again, then once more.
    for _ in range(2):
        again = outbox.send(*actions)
        assert [(r["status"], r["first"]) for r in again.json["results"]] == [
            ("duplicate", "done")
        ] * 3
    session.rollback()
    assert session.scalar(select(func.count()).select_from(OfflineAction)) == 3
    assert progress_of(session, "01-mat-khau").completed_at - opened == timedelta(minutes=6)
    enrolment = session.scalar(select(Enrolment))
    assert enrolment.started_at == progress.first_opened_at


def test_actions_are_taken_in_the_order_sent(client, login, learner, session):
    """Completing before answering the self-check is refused, as online; the same actions in
    the order they happened complete the lesson."""
    login("hv.mat.mang")
    outbox = Outbox(client)
    opened = now() - timedelta(hours=1)
    open_, answers, done = lesson_actions(
        "01-mat-khau", opened, {"0": [1], "1": [1]}, opened + timedelta(minutes=5), "b"
    )

    wrong_order = outbox.send(open_, done, answers)
    assert [r["status"] for r in wrong_order.json["results"]] == ["done", "refused", "done"]
    assert wrong_order.json["results"][1]["message"] == "Hãy trả lời các câu hỏi tự kiểm tra trước."
    assert progress_of(session, "01-mat-khau").status == ProgressStatus.IN_PROGRESS

    # The refused completion stays refused when sent again; a new one (new id) is taken.
    assert outbox.send(done).json["results"][0] == {
        "id": "b-done",
        "status": "duplicate",
        "first": "refused",
        "message": "Hãy trả lời các câu hỏi tự kiểm tra trước.",
    }
    later = {**done, "id": "b-done-2"}
    assert outbox.send(later).json["results"][0]["status"] == "done"
    assert progress_of(session, "01-mat-khau").status == ProgressStatus.DONE


def test_minimum_reading_time_counts_from_the_recorded_opening(client, login, learner, session):
    """Lesson 2 asks for 2 minutes (min_minutes): completed 1 minute after the recorded
    opening, it is refused with the online rule's reason; 3 minutes after, it is done."""
    login("hv.mat.mang")
    outbox = Outbox(client)
    opened = now() - timedelta(minutes=30)
    too_soon = lesson_actions("02-ma-otp", opened, {"0": [0]}, opened + timedelta(minutes=1), "c")
    results = outbox.send(*too_soon).json["results"]
    assert [r["status"] for r in results] == ["done", "done", "refused"]
    assert results[2]["message"] == "Bạn cần học bài này thêm ít nhất 1 phút nữa."
    assert progress_of(session, "02-ma-otp").status == ProgressStatus.IN_PROGRESS

    in_time = {**too_soon[2], "id": "c-done-2", "at": ms(opened + timedelta(minutes=3))}
    assert outbox.send(in_time).json["results"][0]["status"] == "done"
    progress = progress_of(session, "02-ma-otp")
    assert progress.status == ProgressStatus.DONE
    assert progress.completed_at - progress.first_opened_at == timedelta(minutes=3)


def test_client_times_outside_sane_bounds_are_refused(client, login, learner, session):
    login("hv.mat.mang")
    outbox = Outbox(client)
    future = {
        "id": "d-1",
        "kind": "open",
        "course": COURSE,
        "lesson": "01-mat-khau",
        "at": ms(utcnow() + timedelta(hours=1)),
    }
    before = {**future, "id": "d-2", "at": ms(utcnow() - timedelta(days=3))}
    results = outbox.send(future, before).json["results"]
    assert [r["status"] for r in results] == ["refused", "refused"]
    assert (
        results[0]["message"]
        == "Đồng hồ của điện thoại chạy nhanh hơn giờ thật; việc này chưa được lưu."
    )
    assert results[1]["message"] == "Việc này được ghi trước khi bạn được ghi danh vào khóa học."
    assert progress_of(session, "01-mat-khau") is None


def test_nothing_done_is_undone(client, login, learner, session):
    """A lesson completed online stays completed whatever arrives later from the outbox: an
    older opening, wrong answers, another completion."""
    login("hv.mat.mang")
    outbox = Outbox(client)
    opened = now() - timedelta(hours=3)
    assert [
        r["status"]
        for r in outbox.send(
            *lesson_actions(
                "01-mat-khau", opened, {"0": [1], "1": [1]}, opened + timedelta(minutes=5), "e"
            )
        ).json["results"]
    ] == ["done"] * 3
    completed_at = progress_of(session, "01-mat-khau").completed_at
    late = lesson_actions(
        "01-mat-khau", opened - timedelta(hours=1), {"0": [0], "1": [0]}, utcnow(), "f"
    )
    assert [r["status"] for r in outbox.send(*late).json["results"]] == ["done"] * 3
    progress = progress_of(session, "01-mat-khau")
    assert progress.status == ProgressStatus.DONE and progress.completed_at == completed_at


def test_time_spent_is_added_and_bounded(client, login, learner, session):
    login("hv.mat.mang")
    outbox = Outbox(client)
    base = {"kind": "time", "course": COURSE, "lesson": "01-mat-khau", "at": ms(utcnow())}
    results = outbox.send(
        {**base, "id": "t-1", "seconds": 90},
        {**base, "id": "t-2", "seconds": 45},
        {**base, "id": "t-3", "seconds": 5 * 3600},
    ).json["results"]
    assert [r["status"] for r in results] == ["done", "done", "refused"]
    assert progress_of(session, "01-mat-khau").data["seconds"] == 135


def test_another_learners_course_or_account_is_refused(client, login, learner, make, session):
    """Only the learner's own enrolment: a course they are not in is refused like a missing
    one; an action saved under another account's key is never done for this one."""
    make.learner(make.unit(), username="hv.khac")
    make.commit()
    login("hv.khac")
    outbox = Outbox(client)
    action = {
        "id": "g-1",
        "kind": "open",
        "course": COURSE,
        "lesson": "01-mat-khau",
        "at": ms(utcnow()),
    }
    result = outbox.send(action).json["results"][0]
    assert result["status"] == "refused"
    assert result["message"] == "Bài học này không thuộc các khóa học của bạn."
    session.rollback()
    assert session.scalar(select(func.count()).select_from(ActivityProgress)) == 0

    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login("hv.mat.mang")
    mine = Outbox(client)
    foreign = mine.send({**action, "id": "g-2"}, key=outbox.key).json["results"][0]
    assert foreign["status"] == "refused"
    assert foreign["message"] == "Việc này được lưu trên điện thoại cho một tài khoản khác."
    assert progress_of(session, "01-mat-khau") is None


def test_sync_needs_the_csrf_token_and_a_login(client, login, learner, session):
    login("hv.mat.mang")
    outbox = Outbox(client)
    action = {
        "id": "h-1",
        "kind": "open",
        "course": COURSE,
        "lesson": "01-mat-khau",
        "at": ms(utcnow()),
    }
    assert outbox.send(action, token=None).status_code == 400
    assert outbox.send(action, token="forged").status_code == 400
    nested = b"[" * 100_000 + b"]" * 100_000  # deeper than Python's stack: a 400, not a 500
    refused = client.post(
        "/offline/sync",
        data=nested,
        content_type="application/json",
        headers={"X-CSRFToken": outbox.token},
    )
    assert refused.status_code == 400
    assert progress_of(session, "01-mat-khau") is None
    assert outbox.send(action).status_code == 200

    client.post("/logout", data={"csrf_token": outbox.token})
    assert client.post("/offline/sync", json={"actions": [action]}).status_code in (400, 401)


def test_a_password_change_gives_a_new_key(client, login, learner, session):
    """The browser drops a learner's kept pages and outbox when the key changes."""
    login("hv.mat.mang")
    before = Outbox(client).key
    assert client.get("/").headers["X-Hocvu-User"] == before
    session.rollback()
    user = session.scalar(select(User).where(User.username == "hv.mat.mang"))
    accounts.change_own_password(session, user, factories.PASSWORD, "Mat-khau-moi-2026!")
    session.commit()
    login("hv.mat.mang", "Mat-khau-moi-2026!")
    after = Outbox(client).key
    assert after != before and client.get("/").headers["X-Hocvu-User"] == after


def test_two_tabs_sending_the_same_actions_at_once_do_them_once(app, learner, session):
    """Two tabs (two logins of the learner) send the same outbox at the same moment: each
    action is done once, the other tab is answered "duplicate"."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.conftest import LoggedIn

    tabs = []
    for _ in range(2):
        tab = app.test_client()
        LoggedIn(tab)("hv.mat.mang")
        tabs.append(Outbox(tab))
    opened = now() - timedelta(hours=1)
    actions = lesson_actions(
        "01-mat-khau", opened, {"0": [1], "1": [1]}, opened + timedelta(minutes=5), "r"
    )
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda tab: tab.send(*actions), tabs))
    statuses = sorted(r["status"] for a in answers for r in a.json["results"])
    assert statuses == ["done"] * 3 + ["duplicate"] * 3
    session.rollback()
    assert session.scalar(select(func.count()).select_from(OfflineAction)) == 3
    assert progress_of(session, "01-mat-khau").status == ProgressStatus.DONE

"""A SCORM commit's values are checked with the data model's rules once: a SCO commits its
whole state every time, and most commits of a lesson send again what the last one sent.
The same commit again (the same values, the same launch values of the same learner and SCO,
the same rules) is taken without checking each value again; anything else is checked
(lms.services.tracking.commits, sco_state.data_digest)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lms.models import ScoState, User
from lms.services.tracking import commits
from tests.conftest import LoggedIn
from tests.lms.test_scorm_tracking import _state, _token, enrolled, runtime, send

BOOKMARK = [
    ["cmi.core.lesson_location", "trang-3"],
    ["cmi.suspend_data", "a=1;b=2"],
    ["cmi.core.lesson_status", "incomplete"],
    ["cmi.core.score.raw", "70"],
    ["cmi.core.exit", "suspend"],
]


@pytest.fixture
def replays(monkeypatch) -> list[list]:
    """The writes the SCORM 1.2 data model checked, one list per replay."""
    model = commits.MODELS["1.2"]
    seen: list[list] = []
    real = model.replay

    def counted(launch, stored, written):
        seen.append(list(written))
        return real(launch, stored, written)

    monkeypatch.setattr(model, "replay", counted)
    return seen


@pytest.fixture
def lesson(app, client, login, make, session):
    version = enrolled(
        make,
        session,
        app.config["HOCVU_FILES_DIR"],
        make.learner(make.unit(), username="hv.scorm", full_name="Nguyễn Văn Bình"),
    )
    login("hv.scorm")
    return runtime(client, version), _token(client)


def test_the_same_commit_again_is_taken_without_checking_its_values_again(
    client, lesson, session, replays
):
    rt, token = lesson
    first = send(client, rt, 1, BOOKMARK, token=token).get_json()
    assert first["taken"] is True and len(replays) == 1
    again = send(client, rt, 2, BOOKMARK, token=token).get_json()
    assert again == {**first, "seq": 2}
    assert len(replays) == 1
    state = _state(session)
    assert (state.seq, state.data, state.completion) == (2, BOOKMARK, "incomplete")
    assert state.score_scaled == pytest.approx(0.7)

    # Another value, or the same values in another order, is checked.
    moved = [*BOOKMARK[:-1], ["cmi.core.lesson_location", "trang-4"], BOOKMARK[-1]]
    assert send(client, rt, 3, moved, token=token).get_json()["taken"] is True
    reordered = [BOOKMARK[1], BOOKMARK[0], *BOOKMARK[2:]]
    assert send(client, rt, 4, reordered, token=token).get_json()["taken"] is True
    assert replays[1:] == [[tuple(p) for p in moved], [tuple(p) for p in reordered]]
    assert _state(session).data == reordered


def test_a_commit_with_a_refused_value_is_checked_every_time(client, lesson, session, replays):
    """RTE 3.4.4: a refused value is answered with its error each time it is sent, and the
    stored value stays."""
    rt, token = lesson
    send(client, rt, 1, BOOKMARK, token=token)
    bad = [*BOOKMARK, ["cmi.core.score.raw", "200"]]
    for seq in (2, 3):
        answer = send(client, rt, seq, bad, token=token).get_json()
        assert answer["taken"] is True
        assert answer["refused"] == [["cmi.core.score.raw", "200", 405]]
    assert dict(_state(session).data)["cmi.core.score.raw"] == "70"
    assert len([r for r in replays if ("cmi.core.score.raw", "200") in r]) == 2


def test_a_value_with_a_nul_character_is_checked_every_time(client, lesson, session, replays):
    rt, token = lesson
    data = [["cmi.suspend_data", "a\x00b"], ["cmi.core.lesson_location", "1"]]
    for seq in (1, 2):
        assert send(client, rt, seq, data, token=token).get_json()["taken"] is True
    assert len(replays) == 2
    assert _state(session).data_digest is None


def test_the_learners_launch_values_are_part_of_the_check(client, lesson, session, replays):
    """cmi.core.student_name comes from the account: a renamed learner's next commit is
    checked against the new launch values."""
    rt, token = lesson
    send(client, rt, 1, BOOKMARK, token=token)
    session.rollback()
    user = session.scalars(select(User).where(User.username == "hv.scorm")).one()
    user.full_name = "Nguyễn Văn Bảo"
    session.commit()
    send(client, rt, 2, BOOKMARK, token=token)
    assert len(replays) == 2
    send(client, rt, 3, BOOKMARK, token=token)
    assert len(replays) == 2


def test_another_learners_same_commit_is_checked(app, make, session, replays):
    """The digest is the learner's own: two learners sending the same values are each
    checked once."""
    unit = make.unit()
    first = make.learner(unit, username="hv.mot", full_name="Trần Thị Một")
    version = enrolled(make, session, app.config["HOCVU_FILES_DIR"], first)
    make.enrol(make.learner(unit, username="hv.hai", full_name="Lê Văn Hai"), version)
    make.commit()
    for username in ("hv.mot", "hv.hai"):
        client = app.test_client()
        LoggedIn(client)(username)
        rt = runtime(client, version)
        token = _token(client)
        for seq in (1, 2):
            assert send(client, rt, seq, BOOKMARK, token=token).get_json()["taken"] is True
    assert len(replays) == 2
    session.rollback()
    digests = session.scalars(select(ScoState.data_digest)).all()
    assert len(set(digests)) == 2 and None not in digests

"""SCORM 2004 lessons kept for offline play (issue 23), at the HTTP level: the course's
download lists the SCO the SN engine would deliver, keeping it counts nothing (no opening, no
delivery, no session: a tab playing the SCO goes on saving), and the commits played offline
open the session when they arrive, the engine taking them as it would have online. A kept
launch older than the state's newest commit is refused, never applied over it. The packages
are the sequencing fixtures of tests/lms/test_scorm_sequencing.py."""

from __future__ import annotations

import json
import re

from sqlalchemy import func, select

from lms.models import ActivityProgress, ProgressStatus, Registration, ScoState
from lms.services.tracking import offline
from tests.conftest import CONTENT_ORIGIN
from tests.lms import test_scorm_sequencing as sequencing_tests
from tests.lms.test_scorm_sequencing import PASSED, launched, lesson_url, page
from tests.lms.test_scorm_tracking import _token, runtime, runtime_url, send

# The fixtures of the sequencing tests: a learner, and a course of a sequencing package.
learner = sequencing_tests.learner
course = sequencing_tests.course


def keep(client, version, index: int = 0):
    """The course page's download keeping a SCO (a POST marked X-Hocvu-Download)."""
    return client.post(
        runtime_url(version, index),
        headers={
            "X-CSRFToken": _token(client),
            "Accept": "application/json",
            "X-Hocvu-Download": "1",
        },
    )


def send_kept(client, rt: dict, seq: int, data: list, terminated=False, ticket=None):
    """A commit played offline from a kept launch, as the player's journal sends it."""
    return client.post(
        rt["commit_url"],
        data=json.dumps(
            {
                "session": rt["session"],
                "seq": seq,
                "data": data,
                "terminated": terminated,
                "offline": rt["offline"] if ticket is None else ticket,
            }
        ),
        content_type="application/json",
        headers={"X-CSRFToken": _token(client)},
    )


def _states(session) -> list[ScoState]:
    session.rollback()
    return list(session.scalars(select(ScoState).order_by(ScoState.sco)))


def _registration(session) -> Registration:
    session.rollback()
    return session.scalars(select(Registration)).one()


def test_the_download_lists_the_part_the_engine_would_deliver_and_keeping_it_counts_nothing(
    client, login, course, session
):
    """Listed: the part a first visit would start (part 1 of the forced-order package), kept
    again on each visit. Keeping it: no opening of the lesson, no delivery by the engine, no
    session of the SCO; the answer is a launch (ab-initio, its stored values, what the engine
    would tell it) with a ticket, and a link that lists the package's files."""
    version = course("ordered")
    login("hv.seq")
    listed = client.get(f"/offline/courses/{version.course.slug}").get_json()
    assert listed["scos"] == [
        {"runtime": runtime_url(version, 0), "bytes": listed["scos"][0]["bytes"], "again": True}
    ]
    assert listed["scos"][0]["bytes"] > 1000  # the package's files
    assert listed["bytes"] >= listed["scos"][0]["bytes"]

    response = keep(client, version, 0)
    assert response.status_code == 200
    rt = response.get_json()
    assert rt["standard"] == "2004" and rt["sco"] == "part_1"
    assert rt["launch"]["entry"] == "ab-initio"
    assert rt["launch"]["nav_valid"]["adl.nav.request_valid.continue"] == "false"
    assert rt["seq"] == 0 and re.fullmatch(r"[0-9a-f]{24}", rt["session"])
    assert offline.read("x" * 10, rt["offline"]) is None  # signed with the site's key
    session.rollback()
    assert session.scalars(select(ActivityProgress)).all() == []
    [state] = _states(session)
    assert (state.sessions, state.attempts, state.session_key) == (0, 0, None)
    reg = _registration(session)
    assert (reg.state, reg.delivered, reg.version) == (None, None, 0)

    link = rt["frame_url"].split("/frame/", 1)[1].split("?", 1)[0]
    files = client.application.test_client().get(f"/pkg-files/{link}", base_url=CONTENT_ORIGIN)
    assert files.status_code == 200 and "sco.html" in files.json["files"]
    assert f"?p={files.json['package']}" in rt["frame_url"]

    # Another part than the one the lesson page would deliver cannot be kept.
    refused = keep(client, version, 1)
    assert refused.status_code == 409
    assert refused.get_json()["message"] == (
        "Phần này của bài học chưa thể tải về để học khi mất mạng."
    )


def test_commits_played_offline_open_the_session_and_complete_the_lesson(
    client, login, course, session
):
    """The first commit carrying the ticket opens the lesson, delivers the part in the engine
    and starts the session under the kept key; the commits are then taken as online ones
    (the engine hears the report; continue at Terminate delivers part 2). A resend changes
    nothing."""
    version = course("ordered")
    login("hv.seq")
    rt = keep(client, version, 0).get_json()
    first = send_kept(client, rt, 1, PASSED)
    assert first.status_code == 200 and first.get_json()["taken"] is True
    assert first.get_json()["nav_valid"]["adl.nav.request_valid.continue"] == "true"
    [state, *_] = _states(session)
    assert (state.sessions, state.attempts, state.session_key) == (1, 1, rt["session"])
    progress = session.scalars(select(ActivityProgress)).one()
    assert progress.status == ProgressStatus.IN_PROGRESS and progress.first_opened_at
    assert _registration(session).state["current"] == "part_1"

    last = send_kept(client, rt, 2, [*PASSED, ["adl.nav.request", "continue"]], True)
    assert last.get_json()["navigation"] == {"url": lesson_url(version), "end": False}
    assert send_kept(client, rt, 2, PASSED).get_json()["taken"] is False  # a resend
    assert _states(session)[0].sessions == 1
    assert launched(page(client, version)) == 1


def test_a_single_part_package_played_offline_ends_the_lesson_when_its_exit_arrives(
    client, login, make, session, app, learner
):
    """A single-SCO package (as most authoring tools export): kept, played offline to the
    end, its Terminate asking exit all: when the journal's record arrives the lesson is done
    and the session over (the answer leads to the course page)."""
    from lms.app.storage import LocalStorage
    from lms.services import catalog
    from tests.factories import zip_bytes
    from tests.lms.test_scorm_sequencing import FIXTURES

    manifest = (FIXTURES / "sequencing" / "ordered" / "imsmanifest.xml").read_text()
    one = re.sub(
        r'\s*<item identifier="part_2".*?</item>\s*<item identifier="part_3".*?</item>',
        "",
        manifest,
        flags=re.S,
    )
    assert one.count("<item ") == 1
    sco = FIXTURES / "seqsco"
    data = zip_bytes(
        {
            "imsmanifest.xml": one.encode(),
            "sco.html": (sco / "sco.html").read_bytes(),
            "sco.js": (sco / "sco.js").read_bytes(),
        }
    )
    storage = LocalStorage(app.config["HOCVU_FILES_DIR"])
    version = catalog.scorm_course(session, None, data, storage)
    catalog.publish(session, None, version)
    make.enrol(learner, version)
    make.commit()
    login("hv.seq")
    [listed] = client.get(f"/offline/courses/{version.course.slug}").get_json()["scos"]
    index = int(listed["runtime"].split("/scos/")[1].split("/")[0])
    rt = keep(client, version, index).get_json()
    answer = send_kept(client, rt, 1, [*PASSED, ["adl.nav.request", "exitAll"]], True)
    assert answer.status_code == 200
    assert answer.get_json()["navigation"]["end"] is True
    session.rollback()
    assert session.scalars(select(ActivityProgress)).one().status == ProgressStatus.DONE


def test_a_tab_playing_the_part_goes_on_saving_after_the_download(client, login, course, session):
    """Keeping a SCO opens no session: the tab where the learner plays it online is not
    superseded, its commits go on being taken."""
    version = course("ordered")
    login("hv.seq")
    page(client, version)
    online = runtime(client, version, 0)
    assert send(client, online, 1, [["cmi.location", "p1"]]).status_code == 200
    keep(client, version, 0)
    later = send(client, online, 2, [["cmi.location", "p2"]])
    assert later.status_code == 200 and later.get_json()["taken"] is True
    assert dict(_states(session)[0].data)["cmi.location"] == "p2"


def test_a_kept_launch_older_than_the_newest_commit_is_refused_not_applied(
    client, login, course, session
):
    """The part was played online after it was kept: what was played offline from the older
    state would undo it, so it is refused (409, said so) and the state keeps the newer
    data."""
    version = course("ordered")
    login("hv.seq")
    rt = keep(client, version, 0).get_json()
    page(client, version)
    online = runtime(client, version, 0)
    send(client, online, 1, [["cmi.location", "truc-tuyen"]])
    stale = send_kept(client, rt, 1, [["cmi.location", "ngoai-tuyen"]])
    assert stale.status_code == 409
    assert stale.get_json()["stale"] is True
    assert "học tiếp trên thiết bị khác" in stale.get_json()["message"]
    [state, *_] = _states(session)
    assert dict(state.data)["cmi.location"] == "truc-tuyen"
    assert state.session_key == online["session"]


def test_a_forged_or_foreign_ticket_opens_nothing(client, login, course, session):
    """A ticket not signed by the site, or naming another session key, is refused (400) and
    opens no session."""
    version = course("ordered")
    login("hv.seq")
    rt = keep(client, version, 0).get_json()
    forged = send_kept(client, rt, 1, PASSED, ticket="forged")
    assert forged.status_code == 400
    assert forged.get_json()["message"] == "Không đọc được dữ liệu tiến độ."
    other = dict(rt, session="0" * 24)
    assert send_kept(client, other, 1, PASSED).status_code == 400
    assert _states(session)[0].sessions == 0


def test_a_kept_session_opening_at_the_same_moment_as_the_lesson_is_taken_on_a_second_try(
    client, login, course, session, monkeypatch
):
    """Coming back online, the lesson page, the outbox's opening of the lesson and the
    journal's first commit arrive together: when the commit's opening loses the race for the
    lesson's progress row, it runs again on what the other request stored (never answered as
    a superseded session, which the player would give up)."""
    from sqlalchemy.exc import IntegrityError

    version = course("ordered")
    login("hv.seq")
    rt = keep(client, version, 0).get_json()
    real = offline.start_kept
    calls = []

    def racing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise IntegrityError("INSERT INTO activity_progress", {}, Exception("unique"))
        return real(*args, **kwargs)

    monkeypatch.setattr(offline, "start_kept", racing)
    answer = send_kept(client, rt, 1, PASSED)
    assert answer.status_code == 200 and answer.get_json()["taken"] is True
    assert len(calls) == 2
    assert _states(session)[0].session_key == rt["session"]


def test_an_opening_that_finds_the_progress_made_meanwhile_uses_it(make, session, app):
    """The lesson's progress row, made by another request between this one's look and its
    insert, is the one this request goes on with (an insert that yields, no error)."""
    from sqlalchemy import insert

    from lms.services import learning

    version = make.course(app.config["HOCVU_FILES_DIR"])
    enrolment = make.enrol(make.learner(make.unit(), username="hv.dua"), version)
    make.commit()
    activity = version.activities[0]
    real = session.scalar

    def meanwhile(statement, *args, **kwargs):
        found = real(statement, *args, **kwargs)
        if found is None and "activity_progress" in str(statement):
            with session.get_bind().engine.begin() as other:
                other.execute(
                    insert(ActivityProgress).values(
                        enrolment_id=enrolment.id,
                        activity_id=activity.id,
                        status=ProgressStatus.IN_PROGRESS,
                        data={"khac": True},
                    )
                )
        return found

    session.scalar = meanwhile
    try:
        progress = learning.open_activity(session, enrolment, activity)
    finally:
        del session.scalar
    assert progress.data == {"khac": True}
    session.commit()
    assert session.scalar(select(func.count()).select_from(ActivityProgress)) == 1


def test_played_again_from_its_own_newer_record_a_launch_kept_earlier_is_taken(
    client, login, course, session
):
    """The launch was kept again (a visit of the course page) just before the device's
    journal reached the server: played offline from that journal's record (taken since, and
    named as where the play started), the newer play is no stale one. Naming a start older than
    the server's newest commit does not help."""
    version = course("ordered")
    login("hv.seq")
    first = keep(client, version, 0).get_json()
    second = keep(client, version, 0).get_json()  # kept again before the journal was sent
    assert send_kept(client, first, 1, [["cmi.location", "p1"]]).status_code == 200
    later = client.post(
        second["commit_url"],
        data=json.dumps(
            {
                "session": second["session"],
                "seq": 2,
                "data": [["cmi.location", "p2"]],
                "terminated": False,
                "offline": second["offline"],
                "base": 1,
            }
        ),
        content_type="application/json",
        headers={"X-CSRFToken": _token(client)},
    )
    assert later.status_code == 200 and later.get_json()["taken"] is True
    state = _states(session)[0]
    assert (state.session_key, dict(state.data)["cmi.location"]) == (second["session"], "p2")
    third = keep(client, version, 0).get_json()
    send(client, {"commit_url": second["commit_url"], "session": second["session"]}, 3, [])
    stale = client.post(
        third["commit_url"],
        data=json.dumps(
            {
                "session": third["session"],
                "seq": 4,
                "data": [["cmi.location", "p3"]],
                "offline": third["offline"],
                "base": 2,
            }
        ),
        content_type="application/json",
        headers={"X-CSRFToken": _token(client)},
    )
    assert stale.status_code == 409 and stale.get_json()["stale"] is True

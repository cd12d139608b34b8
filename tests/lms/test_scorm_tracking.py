"""SCORM in the LMS: upload, launch, commits (ordered, idempotent, checked), rollup into
progress, admin corrections, package files and the author's report."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from lms.app.storage import LocalStorage
from lms.models import (
    ActivityProgress,
    AuditEvent,
    CourseVersion,
    Enrolment,
    ProgressStatus,
    Role,
    ScormPackage,
    ScoState,
)
from lms.services import catalog
from tests.conftest import csrf_token
from tests.factories import mini_course_files, zip_bytes

FIXTURES = Path(__file__).resolve().parents[1] / "scorm" / "fixtures"


def package_bytes(name: str, **replace: bytes) -> bytes:
    """A fixture package folder as a zip, with files replaced."""
    root = FIXTURES / name
    files = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    files.update(replace)
    return zip_bytes(files)


@pytest.fixture
def files_dir(app):
    return app.config["HOCVU_FILES_DIR"]


def scorm_version(session, files_dir, name: str = "probe12") -> CourseVersion:
    version = catalog.scorm_course(session, None, package_bytes(name), LocalStorage(files_dir))
    catalog.publish(session, None, version)
    return version


@pytest.fixture
def learner(make):
    user = make.learner(make.unit(), username="hv.scorm", full_name="Nguyễn Văn Bình")
    make.commit()
    return user


def enrolled(make, session, files_dir, learner, name: str = "probe12"):
    version = scorm_version(session, files_dir, name)
    make.enrol(learner, version)
    make.commit()
    return version


def runtime(client, version, index: int = 0) -> dict:
    """Start a session of a SCO as the player page does (a POST with the CSRF token)."""
    response = client.post(
        runtime_url(version, index),
        headers={"X-CSRFToken": _token(client), "Accept": "application/json"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_json()


def runtime_url(version, index: int = 0) -> str:
    activity = next(a for a in version.activities if a.kind == "scorm")
    return f"/player/activities/{activity.id}/scos/{index}/runtime"


def send(client, rt: dict, seq: int, data: list, terminated=False, token=None, session_key=None):
    token = token or _token(client)
    return client.post(
        rt["commit_url"],
        data=json.dumps(
            {
                "session": session_key or rt["session"],
                "seq": seq,
                "data": data,
                "terminated": terminated,
            }
        ),
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )


def _token(client) -> str:
    return csrf_token(client, "/")


def _state(session) -> ScoState:
    session.rollback()
    return session.scalars(select(ScoState)).one()


def test_learner_launches_commits_and_resumes(client, login, make, session, files_dir, learner):
    version = enrolled(make, session, files_dir, learner)
    login("hv.scorm")
    rt = runtime(client, version)
    assert rt["standard"] == "1.2"
    assert rt["launch"]["entry"] == "ab-initio"
    assert rt["launch"]["learner_name"] == "Nguyễn, Văn Bình"
    assert rt["launch"]["mastery_score"] == 80
    assert rt["launch"]["launch_data"] == "level=1"
    assert rt["stored"] == [] and rt["seq"] == 0
    assert rt["launch_url"].endswith("/index.html")

    data = [
        ["cmi.core.lesson_location", "trang-3"],
        ["cmi.suspend_data", "a=1;b=2"],
        ["cmi.core.lesson_status", "incomplete"],
        ["cmi.core.exit", "suspend"],
        ["cmi.core.session_time", "00:05:30"],
    ]
    response = send(client, rt, 1, data, terminated=True)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"seq": 1, "taken": True, "refused": [], "satisfied": False}
    state = _state(session)
    assert state.completion == "incomplete" and state.exit == "suspend"
    assert state.total_seconds == 330 and state.sessions == 1

    # Relaunch: resume where the learner stopped, with the time so far.
    rt2 = runtime(client, version)
    assert rt2["launch"]["entry"] == "resume"
    assert rt2["launch"]["total_seconds"] == 330
    assert ["cmi.core.lesson_location", "trang-3"] in rt2["stored"]
    assert ["cmi.suspend_data", "a=1;b=2"] in rt2["stored"]
    assert not any(k in ("cmi.core.exit", "cmi.core.session_time") for k, _ in rt2["stored"])
    assert rt2["seq"] == 1

    # The second session's time adds to the first.
    second = [*rt2["stored"], ["cmi.core.session_time", "00:01:00"]]
    assert send(client, rt2, 2, second).get_json()["taken"] is True
    state = _state(session)
    assert state.total_seconds == 390 and state.sessions == 2


def test_replayed_and_stale_commits_change_nothing(
    client, login, make, session, files_dir, learner
):
    version = enrolled(make, session, files_dir, learner)
    login("hv.scorm")
    rt = runtime(client, version)
    token = _token(client)
    newer = [["cmi.core.lesson_location", "p5"]]
    older = [["cmi.core.lesson_location", "p4"]]
    assert send(client, rt, 5, newer, token=token).get_json()["taken"] is True
    again = send(client, rt, 5, newer, token=token).get_json()
    late = send(client, rt, 4, older, token=token).get_json()
    assert again == {"seq": 5, "taken": False, "refused": [], "satisfied": False}
    assert late["taken"] is False and late["seq"] == 5
    assert _state(session).data == [["cmi.core.lesson_location", "p5"]]


def test_mastery_score_decides_and_completion_rolls_up(
    client, login, make, session, files_dir, learner
):
    version = enrolled(make, session, files_dir, learner)
    login("hv.scorm")
    rt = runtime(client, version)
    data = [["cmi.core.score.raw", "85"], ["cmi.core.lesson_status", "completed"]]
    result = send(client, rt, 1, data, terminated=True).get_json()
    assert result["satisfied"] is True
    state = _state(session)
    assert state.success == "passed" and state.score_scaled == pytest.approx(0.85)
    progress = session.scalars(select(ActivityProgress)).one()
    assert progress.status == ProgressStatus.DONE
    assert progress.data["scos"]["probe"]["satisfied"] is True
    # The only lesson of the course: the course is completed.
    assert session.scalars(select(Enrolment)).one().completed_at is not None

    # A later session reporting "incomplete" does not take the completion back.
    rt2 = runtime(client, version)
    send(client, rt2, 2, [["cmi.core.lesson_status", "incomplete"]])
    session.rollback()
    assert session.scalars(select(ActivityProgress)).one().status == ProgressStatus.DONE


def test_a_score_below_mastery_fails(client, login, make, session, files_dir, learner):
    version = enrolled(make, session, files_dir, learner)
    login("hv.scorm")
    rt = runtime(client, version)
    data = [["cmi.core.score.raw", "60"], ["cmi.core.lesson_status", "completed"]]
    send(client, rt, 1, data, terminated=True)
    state = _state(session)
    assert state.success == "failed"
    # "completed" is enough for a package whose rule is completion (the default).
    assert session.scalars(select(ActivityProgress)).one().status == ProgressStatus.DONE


def test_values_the_rules_refuse_are_left_out_and_the_old_value_kept(
    client, login, make, session, files_dir, learner
):
    version = enrolled(make, session, files_dir, learner)
    login("hv.scorm")
    rt = runtime(client, version)
    token = _token(client)
    send(client, rt, 1, [["cmi.suspend_data", "giữ-lại"]], token=token)
    huge = "x" * (1024 * 1024)
    data = [
        ["cmi.suspend_data", huge],
        ["cmi.core.lesson_location", "p2"],
        ["cmi.core.score.raw", "200"],
        ["cmi.core.student_name", "Kẻ Gian"],
    ]
    response = send(client, rt, 2, data, token=token)
    assert response.status_code == 200
    refused = {r[0]: r[2] for r in response.get_json()["refused"]}
    assert refused == {
        "cmi.suspend_data": 405,
        "cmi.core.score.raw": 405,
        "cmi.core.student_name": 403,
    }
    stored = dict(_state(session).data)
    assert stored == {"cmi.suspend_data": "giữ-lại", "cmi.core.lesson_location": "p2"}


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        json.dumps([1, 2]),
        json.dumps({"session": "s", "seq": "1", "data": []}),
        json.dumps({"session": "s", "seq": 1, "data": [["cmi.core.lesson_location"]]}),
        json.dumps({"session": "s", "seq": 1, "data": [["cmi.core.lesson_location", 5]]}),
        json.dumps({"session": "", "seq": 1, "data": []}),
        json.dumps({"session": "s", "seq": True, "data": []}),
        '{"session": "\\ud800", "seq": 1, "data": []}',
        json.dumps({"session": "SESSION", "seq": 1, "data": [["cmi.suspend_data", "\ud800"]]}),
    ],
)
def test_commits_that_cannot_be_read_are_refused_clearly(
    client, login, make, session, files_dir, learner, body
):
    version = enrolled(make, session, files_dir, learner)
    login("hv.scorm")
    rt = runtime(client, version)
    response = client.post(
        rt["commit_url"],
        data=body.replace("SESSION", rt["session"]),
        content_type="application/json",
        headers={"X-CSRFToken": _token(client)},
    )
    assert response.status_code == 400
    assert response.get_json()["message"] == "Không đọc được dữ liệu tiến độ."
    assert _state(session).seq == 0


def test_another_learners_state_and_no_login_are_refused(
    client, login, make, session, files_dir, learner
):
    version = enrolled(make, session, files_dir, learner)
    other = make.learner(make.unit(), username="hv.khac")
    make.enrol(other, version)
    make.commit()
    login("hv.scorm")
    rt = runtime(client, version)
    client.post("/logout", data={"csrf_token": _token(client)})
    login("hv.khac")
    response = send(client, rt, 1, [["cmi.core.lesson_location", "x"]])
    assert response.status_code == 404
    assert _state(session).data == []
    client.post("/logout", data={"csrf_token": _token(client)})
    token = csrf_token(client, "/login")
    response = send(client, rt, 1, [["cmi.core.lesson_location", "x"]], token=token)
    assert response.status_code == 401
    # Without the CSRF token, nothing is taken either.
    login("hv.scorm")
    response = client.post(
        rt["commit_url"],
        data=json.dumps({"session": rt["session"], "seq": 1, "data": []}),
        content_type="application/json",
    )
    assert response.status_code == 403
    assert response.get_json()["message"].startswith("Trang đã hết hạn")
    assert _state(session).seq == 0


def _upload(client, data: bytes, name: str, course_id: int = 0):
    token = csrf_token(client, "/author/")
    return client.post(
        "/author/",
        data={"csrf_token": token, "course_id": str(course_id), "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


@pytest.fixture
def author(make):
    user = make.user(make.unit(), username="tacgia", roles=[(Role.AUTHOR, None)])
    make.commit()
    return user


def test_author_uploads_a_package_as_a_course_and_sees_problems_of_a_bad_one(
    client, login, author, session
):
    login("tacgia")
    response = _upload(client, package_bytes("probe2004"), "dich-vu-cong.zip")
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    version = session.get(CourseVersion, int(re.search(r"/versions/(\d+)", response.location)[1]))
    assert version.title == "Dịch vụ công trực tuyến"
    assert version.course.slug == "dich-vu-cong-truc-tuyen"
    [activity] = version.activities
    assert activity.kind == "scorm" and activity.content["scos"] == ["part1", "part2"]
    page = client.get(response.location).get_data(as_text=True)
    assert "Gói SCORM" in page and "2 phần" in page

    broken = package_bytes(
        "probe12",
        **{
            "imsmanifest.xml": (FIXTURES / "probe12" / "imsmanifest.xml")
            .read_bytes()
            .replace(b'href="index.html">', b'href="mat-tich.html">')
        },
    )
    response = _upload(client, broken, "hong.zip")
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "mat-tich.html" in text
    xxe = b"""<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]><manifest>&x;</manifest>"""
    response = _upload(client, zip_bytes({"imsmanifest.xml": xxe}), "xxe.zip")
    assert response.status_code == 422
    assert "root:" not in response.get_data(as_text=True)
    response = _upload(client, zip_bytes({"readme.txt": b"hello"}), "rong.zip")
    assert response.status_code == 422
    assert "imsmanifest.xml" in response.get_data(as_text=True)


def test_a_course_bundle_may_hold_a_package_between_its_modules(session, files_dir):
    files = mini_course_files()
    files["modules/03-lua-dao.zip"] = package_bytes("probe12")
    version = catalog.import_bundle(session, None, zip_bytes(files), LocalStorage(files_dir))
    kinds = [(a.key, a.kind) for a in version.activities]
    assert ("03-lua-dao", "scorm") in kinds
    assert kinds[-1][1] == "test"
    scorm_activity = next(a for a in version.activities if a.kind == "scorm")
    assert scorm_activity.title == "Nhận diện lừa đảo trực tuyến"
    # The same package in a second version is stored once.
    catalog.import_bundle(session, None, zip_bytes(files), LocalStorage(files_dir))
    assert len(session.scalars(select(ScormPackage)).all()) == 1


def test_admin_sees_the_raw_state_and_corrects_it_with_a_reason(
    client, login, make, session, files_dir, learner, post
):
    version = enrolled(make, session, files_dir, learner)
    login("hv.scorm")
    rt = runtime(client, version)
    send(client, rt, 1, [["cmi.core.lesson_location", "p9"], ["cmi.suspend_data", "<b>x</b>"]])
    client.post("/logout", data={"csrf_token": _token(client)})

    make.user(make.unit(), username="qt.khac", roles=[(Role.UNIT_ADMIN, make.unit())])
    admin = make.user(
        learner.org_unit, username="qt.donvi", roles=[(Role.UNIT_ADMIN, learner.org_unit)]
    )
    make.commit()
    state_id = _state(session).id
    login("qt.khac")
    assert client.get(f"/admin/scorm/states/{state_id}").status_code == 404
    client.post("/logout", data={"csrf_token": _token(client)})

    login("qt.donvi")
    page = client.get(f"/admin/users/{learner.id}").get_data(as_text=True)
    assert "Bài học SCORM" in page and f"/admin/scorm/states/{state_id}" in page
    page = client.get(f"/admin/scorm/states/{state_id}").get_data(as_text=True)
    assert "cmi.core.lesson_location" in page and "p9" in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page  # shown, never run
    response = post(
        f"/admin/scorm/states/{state_id}", {"completion": "completed", "success": "", "reason": ""}
    )
    assert response.status_code == 422
    assert "Hãy nêu lý do" in response.get_data(as_text=True)
    response = post(
        f"/admin/scorm/states/{state_id}",
        {"completion": "finished", "success": "", "reason": "Gói lỗi"},
    )
    assert response.status_code == 422  # not a status of the list
    assert _state(session).override_at is None
    response = post(
        f"/admin/scorm/states/{state_id}",
        {"completion": "completed", "success": "", "reason": "Gói bị lỗi không báo hoàn thành"},
    )
    assert response.status_code == 302
    state = _state(session)
    assert state.effective_completion == "completed" and state.completion == "not attempted"
    assert state.override_by_id == admin.id
    assert session.scalars(select(ActivityProgress)).one().status == ProgressStatus.DONE
    page = client.get(f"/admin/users/{learner.id}").get_data(as_text=True)
    assert re.search(r"<li>Nhận diện lừa đảo trực tuyến – <span class=\"status done\">", page)
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "scorm.override")).one()
    assert event.details["reason"] == "Gói bị lỗi không báo hoàn thành"


def test_author_report_counts_statuses_and_questions(
    client, login, make, session, files_dir, author
):
    version = scorm_version(session, files_dir, "probe12")
    answers = [
        ("hv.a", "85", "correct", "b"),
        ("hv.b", "40", "wrong", "c"),
        ("hv.c", "90", "correct", "b"),
    ]
    unit = make.unit()
    for username, *_ in answers:
        make.enrol(make.learner(unit, username=username), version)
    make.commit()
    for username, raw, result, response in answers:
        login(username)
        rt = runtime(client, version)
        data = [
            ["cmi.core.score.raw", raw],
            ["cmi.core.lesson_status", "completed"],
            ["cmi.interactions.0.id", "cau-1"],
            ["cmi.interactions.0.type", "choice"],
            ["cmi.interactions.0.student_response", response],
            ["cmi.interactions.0.result", result],
            ["cmi.core.session_time", "00:10:00"],
        ]
        assert send(client, rt, 1, data, terminated=True).get_json()["refused"] == []
        client.post("/logout", data={"csrf_token": _token(client)})
    login("tacgia")
    package = session.scalars(select(ScormPackage)).one()
    page = client.get(f"/author/packages/{package.id}").get_data(as_text=True)
    found = re.search(r"<tr>\s*<td>Nhận diện lừa đảo trực tuyến ·(.*?)</tr>", page, re.S)
    assert found, page[page.find("<tbody>") : page.find("<tbody>") + 800]
    row = found[1]
    assert "Thử" in row
    cells = re.findall(r'<td class="num">([^<]*)</td>', row)
    assert cells[:6] == ["3", "3", "2", "1", "71,7 %", "10 phút"]
    question = re.search(r"<td>cau-1</td>(.*?)</tr>", page, re.S)[1]
    assert "choice" in question and ">3</td>" in question and "66,7 %" in question
    assert "<code>b</code> (2), <code>c</code> (1)" in question


SHARED = Path(__file__).resolve().parents[3] / "shared" / "scorm-packages"


@pytest.mark.skipif(
    not SHARED.is_dir(), reason=f"SHARED SCORM PACKAGES SKIPPED: {SHARED} is missing"
)
@pytest.mark.parametrize(
    "name", sorted(p.name for p in SHARED.glob("*.zip")) if SHARED.is_dir() else []
)
def test_every_shared_package_becomes_a_course(session, files_dir, name):
    version = catalog.scorm_course(
        session, None, (SHARED / name).read_bytes(), LocalStorage(files_dir)
    )
    [activity] = version.activities
    package = session.get(ScormPackage, activity.content["package_id"])
    assert activity.kind == "scorm" and activity.content["scos"]
    assert package.standard == ("1.2" if "SCORM12" in name else "2004")
    for sco in package.manifest["scos"]:
        assert (Path(files_dir) / package.files_path / sco["href"]).is_file()


def test_only_the_newest_launch_changes_the_data_but_every_session_counts_its_time(
    client, login, make, session, files_dir, learner
):
    version = enrolled(make, session, files_dir, learner)
    login("hv.scorm")
    token = _token(client)
    first = runtime(client, version)  # a tab
    second = runtime(client, version)  # the same lesson opened again: another tab or phone
    assert first["session"] != second["session"]
    data = [["cmi.core.lesson_location", "p7"], ["cmi.core.session_time", "00:03:00"]]
    assert send(client, second, 1, data, token=token).status_code == 200
    stale = [["cmi.core.lesson_location", "p2"], ["cmi.core.session_time", "00:12:00"]]
    response = send(client, first, 5, stale, token=token)
    assert response.status_code == 409
    assert "mở lại ở một thẻ khác" in response.get_json()["message"]
    state = _state(session)
    assert dict(state.data)["cmi.core.lesson_location"] == "p7"
    assert state.total_seconds == 15 * 60  # 12 min in the first tab, 3 in the second
    assert state.sessions == 2 and state.attempts == 1
    # Sent again, the old session's time is not counted twice.
    send(client, first, 6, stale, token=token)
    assert _state(session).total_seconds == 15 * 60


def test_a_2004_attempt_ended_normally_starts_the_next_one_afresh(
    client, login, make, session, files_dir, learner
):
    version = enrolled(make, session, files_dir, learner, "probe2004")
    login("hv.scorm")
    rt = runtime(client, version)
    data = [
        ["cmi.location", "3"],
        ["cmi.completion_status", "completed"],
        ["cmi.exit", "normal"],
        ["cmi.session_time", "PT10M"],
    ]
    assert send(client, rt, 1, data, terminated=True).get_json()["satisfied"] is True
    again = runtime(client, version)
    assert again["launch"]["entry"] == "ab-initio"
    assert again["stored"] == []
    assert again["launch"]["total_seconds"] == 0  # cmi.total_time of the new attempt
    state = _state(session)
    assert state.attempts == 2 and state.satisfied_at is not None
    assert state.total_seconds == 600  # the learner's time, all attempts
    # A suspended attempt resumes instead, and is the same attempt.
    send(client, again, 2, [["cmi.location", "1"], ["cmi.exit", "suspend"]], terminated=True)
    resumed = runtime(client, version)
    assert resumed["launch"]["entry"] == "resume"
    assert ["cmi.location", "1"] in resumed["stored"]
    assert _state(session).attempts == 2


def test_a_part_with_a_passing_score_must_be_passed_when_the_rule_is_passed(session, files_dir):
    from lms.services.tracking import satisfies

    assert satisfies("passed", "completed", "unknown", graded=False)
    assert not satisfies("passed", "completed", "unknown", graded=True)
    assert not satisfies("passed", "completed", "failed")
    assert satisfies("completed", "completed", "failed")
    assert satisfies("completed", "incomplete", "passed")

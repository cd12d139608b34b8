"""A finished SCORM lesson opened again: every page and report keeps the learner's best
result (the one rule of lms.services.tracking.rollup.best_result and ScoState.result_*)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from lms.models import ActivityProgress, ProgressStatus, Role, ScormPackage, ScoState
from tests.conftest import csrf_token
from tests.lms.test_scorm_tracking import enrolled, runtime, send


@pytest.fixture
def files_dir(app):
    return app.config["HOCVU_FILES_DIR"]


@pytest.fixture
def learner(make):
    user = make.learner(make.unit(), username="hv.scorm", full_name="Nguyễn Văn Bình")
    make.commit()
    return user


def test_the_best_result_takes_each_part_at_its_best():
    """Completed > incomplete > not attempted > unknown; passed > failed > unknown; the
    higher score; a missing score never replaces one."""
    from lms.services.tracking.rollup import best_result

    assert best_result(("completed", "passed", 1.0), ("incomplete", "unknown", None)) == (
        "completed",
        "passed",
        1.0,
    )
    assert best_result(("incomplete", "failed", 0.4), ("completed", "unknown", 0.3)) == (
        "completed",
        "failed",
        0.4,
    )
    assert best_result(("not attempted", "unknown", None), ("unknown", "failed", 0.2)) == (
        "not attempted",
        "failed",
        0.2,
    )


def _part1_row(page: str) -> list[str]:
    found = re.search(r"<tr>\s*<td>Phần 1: Tài khoản ·(.*?)</tr>", page, re.S)
    assert found, page
    return re.findall(r'<td class="num">([^<]*)</td>', found[1])


def test_a_finished_lesson_opened_again_stays_finished_in_every_report(
    client, login, make, session, files_dir, learner
):
    """RTE 4.2.8: a SCORM 2004 attempt ended normally is followed by a new attempt that starts
    from nothing; the author's report and the admin's view of the learner keep the finished
    attempt, as the learner's own page does."""
    version = enrolled(make, session, files_dir, learner, "probe2004")
    author = make.user(make.unit(), username="tacgia", roles=[(Role.AUTHOR, None)])
    make.user(learner.org_unit, username="qt.donvi", roles=[(Role.UNIT_ADMIN, learner.org_unit)])
    make.commit()
    login("hv.scorm")
    first = runtime(client, version, 0)
    finished = [
        ["cmi.completion_status", "completed"],
        ["cmi.success_status", "passed"],
        ["cmi.score.scaled", "1"],
        ["cmi.exit", "normal"],
    ]
    assert send(client, first, 1, finished, terminated=True).get_json()["satisfied"] is True
    again = runtime(client, version, 0)
    assert again["launch"]["entry"] == "ab-initio" and again["stored"] == []
    left = [["cmi.completion_status", "incomplete"], ["cmi.exit", "normal"]]
    assert send(client, again, again["seq"] + 1, left, terminated=True).get_json()["taken"] is True
    session.rollback()
    state = session.scalars(select(ScoState)).one()
    assert (state.completion, state.score_scaled) == ("incomplete", None)  # the last attempt
    assert (state.result_completion, state.result_success, state.result_score) == (
        "completed",
        "passed",
        1.0,
    )
    progress = session.scalars(select(ActivityProgress)).one()
    assert progress.data["score"] == 1.0 and progress.data["scos"]["part1"]["satisfied"]
    assert progress.status != ProgressStatus.DONE  # part 2 is still to do
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})

    login("tacgia")
    assert author.is_author
    package = session.scalars(select(ScormPackage)).one()
    page = client.get(f"/author/packages/{package.id}").get_data(as_text=True)
    assert _part1_row(page)[:5] == ["1", "1", "1", "0", "100 %"]
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})

    login("qt.donvi")
    page = client.get(f"/admin/users/{learner.id}").get_data(as_text=True)
    row = re.search(r"Phần 1: Tài khoản</a></td>(.*?)</tr>", page, re.S)[1]
    assert "hoàn thành · đạt" in row and "100 %" in row
    page = client.get(f"/admin/scorm/states/{state.id}").get_data(as_text=True)
    assert "chưa hoàn thành" in page  # what the last attempt reported, shown beside

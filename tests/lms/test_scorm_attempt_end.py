"""SCORM 2004 content that never reports its status: what the LMS records when the SCO's
attempt ends (SN book, End Attempt Process [UP.4]), with the package's delivery controls."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lms.models import ActivityProgress, ProgressStatus, ScormPackage, ScoState
from tests.lms.test_scorm_tracking import FIXTURES, enrolled, package_bytes, runtime, send

QUIET = [["cmi.location", "2"], ["cmi.session_time", "PT3M"]]  # no status at all


@pytest.fixture
def files_dir(app):
    return app.config["HOCVU_FILES_DIR"]


@pytest.fixture
def learner(make):
    user = make.learner(make.unit(), username="hv.scorm", full_name="Nguyễn Văn Bình")
    make.commit()
    return user


def _states(session) -> dict[str, ScoState]:
    session.rollback()
    return {s.sco: s for s in session.scalars(select(ScoState))}


def _progress(session) -> ProgressStatus | None:
    progress = session.scalars(select(ActivityProgress)).one_or_none()
    return progress.status if progress else None


def test_parts_whose_content_reports_no_status_are_completed_when_their_attempt_ends(
    client, login, make, session, files_dir, learner
):
    """UP.4 1.1.1.1: completionSetByContent defaults to false, so a tracked SCO that ends its
    attempt (Terminate, not suspended) without a completion status is completed; its primary
    objective (objectiveSetByContent false) is satisfied unless it is satisfied by measure."""
    version = enrolled(make, session, files_dir, learner, "probe2004")
    login("hv.scorm")
    first = runtime(client, version, 0)
    assert send(client, first, 1, QUIET).get_json()["satisfied"] is False
    assert _states(session)["part1"].completion == "unknown"  # still in its attempt
    response = send(client, first, 2, [*QUIET, ["cmi.exit", "normal"]], terminated=True)
    assert response.get_json()["satisfied"] is True
    part1 = _states(session)["part1"]
    assert (part1.completion, part1.success) == ("completed", "passed")

    second = runtime(client, version, 1)  # its objective is satisfied by measure
    assert send(client, second, 1, QUIET, terminated=True).get_json()["satisfied"] is True
    part2 = _states(session)["part2"]
    assert (part2.completion, part2.success) == ("completed", "unknown")
    assert _progress(session) == ProgressStatus.DONE


def test_a_suspended_part_is_not_completed(client, login, make, session, files_dir, learner):
    """UP.4 1.1.1: the sequencer does not change a suspended activity."""
    version = enrolled(make, session, files_dir, learner, "probe2004")
    login("hv.scorm")
    rt = runtime(client, version, 0)
    send(client, rt, 1, [*QUIET, ["cmi.exit", "suspend"]], terminated=True)
    assert _states(session)["part1"].completion == "unknown"
    assert _progress(session) != ProgressStatus.DONE


def _with_part1_sequencing(monkeypatch, sequencing: str) -> None:
    """Enrol in probe2004 with `sequencing` added to its first part."""
    manifest = (FIXTURES / "probe2004" / "imsmanifest.xml").read_text(encoding="utf-8")
    manifest = manifest.replace(
        "<title>Phần 1: Tài khoản</title>",
        f"<title>Phần 1: Tài khoản</title><imsss:sequencing>{sequencing}</imsss:sequencing>",
    )
    import tests.lms.test_scorm_tracking as tracking_tests

    data = package_bytes("probe2004", **{"imsmanifest.xml": manifest.encode()})
    monkeypatch.setattr(tracking_tests, "package_bytes", lambda name: data)


def test_an_untracked_part_is_not_needed_to_finish_the_lesson(
    client, login, make, session, files_dir, learner, monkeypatch
):
    """UP.4 1.1 applies to tracked activities only, and an untracked child does not
    contribute to rollup (SN RB.1.4): the lesson is done without it."""
    _with_part1_sequencing(monkeypatch, '<imsss:deliveryControls tracked="false"/>')
    version = enrolled(make, session, files_dir, learner, "probe2004")
    login("hv.scorm")
    first = runtime(client, version, 0)
    send(client, first, 1, [*QUIET, ["cmi.exit", "normal"]], terminated=True)
    assert _states(session)["part1"].completion == "unknown"
    assert _progress(session) != ProgressStatus.DONE
    second = runtime(client, version, 1)
    data = [["cmi.score.scaled", "0.8"], ["cmi.completion_status", "completed"]]
    assert send(client, second, 1, data, terminated=True).get_json()["satisfied"] is True
    assert _progress(session) == ProgressStatus.DONE


def test_content_that_sets_its_status_itself_stays_incomplete_when_it_never_does(
    client, login, make, session, files_dir, learner, monkeypatch
):
    """UP.4 1.1.1.1 and 1.1.1.2: with completionSetByContent="true" and objectiveSetByContent=
    "true" (as authoring tools write them) the LMS leaves both statuses to the content; one
    that never reports them is neither completed nor passed."""
    _with_part1_sequencing(
        monkeypatch,
        '<imsss:deliveryControls completionSetByContent="true" objectiveSetByContent="true"/>',
    )
    version = enrolled(make, session, files_dir, learner, "probe2004")
    package = session.scalars(select(ScormPackage)).one()
    assert package.manifest["scos"][0]["delivery"] == {
        "tracked": True,
        "completion_set_by_content": True,
        "objective_set_by_content": True,
    }
    assert "delivery" not in package.manifest["scos"][1]  # the spec's defaults
    login("hv.scorm")
    rt = runtime(client, version, 0)
    response = send(client, rt, 1, [*QUIET, ["cmi.exit", "normal"]], terminated=True)
    assert response.get_json()["satisfied"] is False
    part1 = _states(session)["part1"]
    assert (part1.completion, part1.success) == ("unknown", "unknown")
    assert _progress(session) != ProgressStatus.DONE

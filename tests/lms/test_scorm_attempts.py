"""SCORM 2004 attempts as the LMS keeps them: what a relaunch resumes (suspend, suspendAll),
what a new attempt resets (cmi.total_time), and the statuses the LMS stores when the manifest
gives a threshold the SCO reports no measure for."""

from __future__ import annotations

import pytest

from tests.lms.test_scorm_tracking import _state, enrolled, runtime, send


@pytest.fixture
def files_dir(app):
    return app.config["HOCVU_FILES_DIR"]


@pytest.fixture
def learner(make):
    user = make.learner(make.unit(), username="hv.scorm", full_name="Nguyễn Văn Bình")
    make.commit()
    return user


def test_a_passing_score_without_a_scaled_score_is_stored_as_unknown(
    client, login, make, session, files_dir, learner
):
    """4th ed. RTE 4.2.22.1 (success_status evaluation table): with cmi.scaled_passing_score
    known and no cmi.score.scaled, success_status is unknown, whatever the SCO set, also in
    the status the LMS stores and after a resume."""
    version = enrolled(make, session, files_dir, learner, "probe2004")
    login("hv.scorm")
    rt = runtime(client, version, 1)  # part 2: minNormalizedMeasure 0.7
    assert rt["launch"]["scaled_passing_score"] == 0.7
    data = [["cmi.success_status", "passed"], ["cmi.exit", "suspend"]]
    assert send(client, rt, 1, data, terminated=True).status_code == 200
    assert _state(session).success == "unknown"
    resumed = runtime(client, version, 1)
    assert resumed["launch"]["entry"] == "resume"
    data = [*resumed["stored"], ["cmi.score.scaled", "0.9"]]
    assert send(client, resumed, 2, data).status_code == 200
    assert _state(session).success == "passed"


def test_suspend_all_without_exit_suspend_resumes_the_next_launch(
    client, login, make, session, files_dir, learner
):
    """adl.nav.request = suspendAll suspends the attempt (SN book 4th ed., suspendAll; RTE
    4.2.7 cmi.entry): the next launch is a resume with the data kept, though cmi.exit was
    never set to suspend."""
    version = enrolled(make, session, files_dir, learner, "probe2004")
    login("hv.scorm")
    rt = runtime(client, version)
    data = [
        ["cmi.location", "trang-4"],
        ["cmi.suspend_data", "q1=b;q2=c"],
        ["cmi.progress_measure", "0.4"],
        ["adl.nav.request", "suspendAll"],
        ["cmi.session_time", "PT5M"],
    ]
    assert send(client, rt, 1, data, terminated=True).status_code == 200
    assert _state(session).exit == "suspend"
    resumed = runtime(client, version)
    assert resumed["launch"]["entry"] == "resume"
    assert resumed["launch"]["total_seconds"] == 300
    stored = dict(resumed["stored"])
    assert stored["cmi.location"] == "trang-4"
    assert stored["cmi.suspend_data"] == "q1=b;q2=c"
    assert stored["cmi.progress_measure"] == "0.4"
    assert "adl.nav.request" not in stored  # a request is for one session only
    assert _state(session).attempts == 1


def test_total_time_accumulates_over_resumes_and_restarts_with_an_attempt(
    client, login, make, session, files_dir, learner
):
    """cmi.total_time (RTE 4.2.25) sums the session times of the learner attempt: across a
    suspend and resume it keeps growing; after a normal exit or a time-out the next launch is
    a new attempt (RTE 4.2.8) whose total_time starts at zero. The learner's time over every
    attempt stays in the LMS's total."""
    version = enrolled(make, session, files_dir, learner, "probe2004")
    login("hv.scorm")
    first = runtime(client, version)
    suspend = [["cmi.exit", "suspend"], ["cmi.session_time", "PT2M"]]
    send(client, first, 1, suspend, terminated=True)
    second = runtime(client, version)
    assert (second["launch"]["entry"], second["launch"]["total_seconds"]) == ("resume", 120)
    timeout = [*second["stored"], ["cmi.exit", "time-out"], ["cmi.session_time", "PT3M"]]
    send(client, second, 2, timeout, terminated=True)
    third = runtime(client, version)
    assert (third["launch"]["entry"], third["launch"]["total_seconds"]) == ("ab-initio", 0)
    send(client, third, 3, [["cmi.session_time", "PT1M"], ["cmi.exit", "suspend"]], True)
    # A late report of the old attempt's session changes neither total_time nor the total.
    send(client, second, 9, timeout, terminated=True)
    state = _state(session)
    assert state.total_seconds == 6 * 60 and state.attempts == 2
    fourth = runtime(client, version)
    assert (fourth["launch"]["entry"], fourth["launch"]["total_seconds"]) == ("resume", 60)

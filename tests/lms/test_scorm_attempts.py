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

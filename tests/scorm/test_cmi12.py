"""SCORM 1.2 run-time data model: the shared corpus, the element table, timing and rollup."""

from __future__ import annotations

import json

import pytest

from scorm import cmi12
from scorm.datamodel import Api, Launch, outcome
from tests.scorm import corpus

MODEL = cmi12.MODEL
LAUNCH = Launch(learner_id="hv-000123", learner_name="Nguyễn Văn An", entry="ab-initio")

# Conformance doc §2, every element row (cmi.evaluation.* and nav.event are not SCORM 1.2).
DOC_ELEMENTS = {
    "cmi._version",
    "cmi.core.student_id",
    "cmi.core.student_name",
    "cmi.core.lesson_location",
    "cmi.core.credit",
    "cmi.core.lesson_status",
    "cmi.core.entry",
    "cmi.core.score.raw",
    "cmi.core.score.min",
    "cmi.core.score.max",
    "cmi.core.total_time",
    "cmi.core.lesson_mode",
    "cmi.core.exit",
    "cmi.core.session_time",
    "cmi.suspend_data",
    "cmi.launch_data",
    "cmi.comments",
    "cmi.comments_from_lms",
    "cmi.objectives.n.id",
    "cmi.objectives.n.score.raw",
    "cmi.objectives.n.score.min",
    "cmi.objectives.n.score.max",
    "cmi.objectives.n.status",
    "cmi.student_data.mastery_score",
    "cmi.student_data.max_time_allowed",
    "cmi.student_data.time_limit_action",
    "cmi.student_preference.audio",
    "cmi.student_preference.language",
    "cmi.student_preference.speed",
    "cmi.student_preference.text",
    "cmi.interactions.n.id",
    "cmi.interactions.n.objectives.n.id",
    "cmi.interactions.n.time",
    "cmi.interactions.n.type",
    "cmi.interactions.n.correct_responses.n.pattern",
    "cmi.interactions.n.weighting",
    "cmi.interactions.n.student_response",
    "cmi.interactions.n.result",
    "cmi.interactions.n.latency",
}


@pytest.mark.parametrize(("name", "case"), corpus.cases("1.2"), ids=lambda v: "")
def test_corpus(name, case):
    """Every call of every 1.2 case returns what the conformance doc says, with its error code."""
    assert corpus.mismatches(case, corpus.run("1.2", case)) == [], name


def test_corpus_is_not_empty():
    assert len(corpus.cases("1.2")) >= 10


def test_table_has_every_element_of_the_conformance_doc():
    assert {e.path for e in cmi12.TABLE.elements} == DOC_ELEMENTS


def test_table_is_json_for_the_browser():
    table = MODEL.table()
    assert json.loads(json.dumps(table)) == table
    assert table["version"] == "1.2"
    assert table["codes"]["range"] == 405  # no 407 in 1.2
    assert {e["path"] for e in table["elements"]} == DOC_ELEMENTS


def test_written_keeps_first_write_order_and_write_only_values():
    runtime = MODEL.start(LAUNCH, {"cmi.suspend_data": "old"})
    assert runtime.set("cmi.core.session_time", "00:01:00") == 0
    assert runtime.set("cmi.core.lesson_location", "p1") == 0
    assert runtime.set("cmi.suspend_data", "new") == 0
    assert runtime.set("cmi.core.score.raw", "x") == 405
    assert list(runtime.written().items()) == [
        ("cmi.suspend_data", "new"),
        ("cmi.core.session_time", "00:01:00"),
        ("cmi.core.lesson_location", "p1"),
    ]
    assert MODEL.session_only == {"cmi.core.exit", "cmi.core.session_time"}
    assert MODEL.stored_from(runtime.written()) == {
        "cmi.suspend_data": "new",
        "cmi.core.lesson_location": "p1",
    }


def test_stored_values_are_trusted_but_launch_values_are_not_taken_from_them():
    runtime = MODEL.start(
        LAUNCH,
        {
            "cmi.core.lesson_status": "not attempted",  # e.g. kept by the LMS itself
            "cmi.core.student_id": "someone-else",
            "cmi.bogus": "x",
            "cmi.objectives.01.id": "x",
        },
    )
    assert runtime.get("cmi.core.lesson_status") == ("not attempted", 0)
    assert runtime.get("cmi.core.student_id") == ("hv-000123", 0)
    assert runtime.get("cmi.objectives._count") == ("0", 0)
    assert runtime.written() == {"cmi.core.lesson_status": "not attempted"}


def test_replay_returns_the_refused_writes():
    runtime, refused = MODEL.replay(
        LAUNCH,
        {"cmi.core.lesson_location": "p1"},
        [
            ("cmi.core.lesson_status", "incomplete"),
            ("cmi.core.lesson_status", "not attempted"),
            ("cmi.core.score.raw", "150"),
            ("cmi.objectives.1.id", "gap"),
            ("cmi.core.student_id", "me"),
            ("cmi.core.score.raw", "85"),
        ],
    )
    assert refused == [
        ("cmi.core.lesson_status", "not attempted", 405),
        ("cmi.core.score.raw", "150", 405),
        ("cmi.objectives.1.id", "gap", 201),
        ("cmi.core.student_id", "me", 403),
    ]
    assert runtime.written() == {
        "cmi.core.lesson_location": "p1",
        "cmi.core.lesson_status": "incomplete",
        "cmi.core.score.raw": "85",
    }


def test_replay_of_fifty_writes_refuses_none():
    # Its speed (well under a millisecond) is measured by bench/commit_overhead.py.
    writes = [("cmi.core.lesson_location", f"p{i}") for i in range(10)]
    for i in range(8):
        writes += [
            (f"cmi.interactions.{i}.id", f"q{i}"),
            (f"cmi.interactions.{i}.type", "choice"),
            (f"cmi.interactions.{i}.student_response", "a,b"),
            (f"cmi.interactions.{i}.result", "correct"),
            (f"cmi.interactions.{i}.latency", "00:00:05"),
        ]
    assert len(writes) == 50
    runtime, refused = MODEL.replay(LAUNCH, {"cmi.suspend_data": "x" * 2000}, writes)
    assert refused == []
    assert runtime.get("cmi.core.lesson_location") == ("p9", 0)
    assert runtime.get("cmi.interactions._count") == ("8", 0)


def test_arrays_hold_at_most_1000_records():
    runtime = MODEL.start(LAUNCH, {})
    for i in range(1000):
        assert runtime.set(f"cmi.objectives.{i}.status", "passed") == 0
    assert runtime.set("cmi.objectives.1000.status", "passed") == 201
    assert runtime.get("cmi.objectives._count") == ("1000", 0)
    assert runtime.set("cmi.objectives.999999999999999999999999.id", "x") == 201


def test_seconds_parses_cmitimespan():
    assert MODEL.seconds("00:00:00") == 0
    assert MODEL.seconds("0001:02:03.45") == pytest.approx(3723.45)
    assert MODEL.seconds("12:30:00.5") == pytest.approx(45000.5)
    assert MODEL.seconds("") == 0.0  # blank is a valid CMITimespan (ADL)
    for bad in ("PT1H", "1:00:00", "00:60:00", "abc", "00:00:00.123"):
        with pytest.raises(ValueError):
            MODEL.seconds(bad)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0000:00:00.00"),
        (3723.45, "0001:02:03.45"),
        (59.996, "0000:01:00.00"),
        (-5, "0000:00:00.00"),
        (99999 * 3600, "9999:59:59.99"),
    ],
)
def test_total_time_is_rendered_from_launch_seconds(seconds, text):
    runtime = MODEL.start(Launch("u", "n", "", total_seconds=seconds), {})
    assert runtime.get("cmi.core.total_time") == (text, 0)


def test_api_commits_the_written_values_and_says_when_terminated():
    commits = []
    api = Api(MODEL, LAUNCH, {}, on_commit=lambda w, t: commits.append((w, t)) or True)
    assert api.call("LMSInitialize", "") == "true"
    assert api.call("LMSSetValue", "cmi.core.lesson_status", "completed") == "true"
    assert api.call("LMSCommit", "") == "true"
    assert api.call("LMSSetValue", "cmi.core.session_time", "00:10:00") == "true"
    assert api.call("LMSFinish", "") == "true"
    assert commits == [
        ({"cmi.core.lesson_status": "completed"}, False),
        ({"cmi.core.lesson_status": "completed", "cmi.core.session_time": "00:10:00"}, True),
    ]


def test_error_string_accepts_numbers_and_strings():
    assert MODEL.error_string(405) == "Incorrect data type"
    assert MODEL.error_string("405") == "Incorrect data type"
    assert MODEL.error_string(407) == ""
    assert MODEL.error_string("0405") == ""


# -- Rollup ----------------------------------------------------------------------------------


def roll(written, terminated=False, **launch):
    return outcome(MODEL, Launch("u", "n", "", **launch), written, terminated=terminated)


@pytest.mark.parametrize(
    ("status", "completion", "success"),
    [
        ("passed", "completed", "passed"),
        ("failed", "completed", "failed"),
        ("completed", "completed", "unknown"),
        ("incomplete", "incomplete", "unknown"),
        ("browsed", "incomplete", "unknown"),
    ],
)
def test_outcome_maps_lesson_status(status, completion, success):
    result = roll({"cmi.core.lesson_status": status})
    assert (result.completion, result.success) == (completion, success)


def test_not_attempted_counts_as_completed_only_once_the_sco_terminated():
    assert roll({}).completion == "not attempted"
    assert roll({}, terminated=True).completion == "completed"
    assert roll({"cmi.core.lesson_status": "incomplete"}, terminated=True).completion == (
        "incomplete"
    )


def test_mastery_score_decides_passed_or_failed_in_normal_credit_mode():
    written = {"cmi.core.lesson_status": "incomplete", "cmi.core.score.raw": "85"}
    result = roll(written, mastery_score=80)
    assert (result.completion, result.success) == ("incomplete", "passed")
    result = roll(written, terminated=True, mastery_score=80)
    assert (result.completion, result.success) == ("completed", "passed")
    failed = {"cmi.core.lesson_status": "passed", "cmi.core.score.raw": "79.5"}
    assert roll(failed, mastery_score=80).success == "failed"
    assert roll(failed, mastery_score=80, mode="browse").success == "passed"
    assert roll(failed, mastery_score=80, credit="no-credit").success == "passed"
    assert roll({"cmi.core.score.raw": ""}, mastery_score=80).success == "unknown"


def test_outcome_normalises_the_score_and_reads_the_session():
    result = roll(
        {
            "cmi.core.score.raw": "50",
            "cmi.core.session_time": "00:01:30.5",
            "cmi.core.exit": "suspend",
            "cmi.core.lesson_location": "p4",
            "cmi.suspend_data": "s",
        }
    )
    assert result.score_raw == 50
    assert result.score_scaled == pytest.approx(0.5)
    assert result.session_seconds == pytest.approx(90.5)
    assert (result.exit, result.location, result.suspend_data) == ("suspend", "p4", "s")
    ranged = {"cmi.core.score.raw": "50", "cmi.core.score.min": "20", "cmi.core.score.max": "80"}
    assert roll(ranged).score_scaled == pytest.approx(0.5)
    assert roll({}).score_scaled is None
    assert roll({"cmi.core.session_time": "junk"}).session_seconds == 0.0

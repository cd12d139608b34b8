"""SCORM 2004 run-time data model: the shared corpus, the element table, the regex subset shared
with the browser engine, timing and rollup."""

from __future__ import annotations

import json
import re
import warnings

import pytest

from scorm import cmi12, cmi2004
from scorm.datamodel import Api, Launch, Number, Pattern, Timestamp, outcome
from tests.scorm import corpus

MODEL = cmi2004.MODEL
LAUNCH = Launch(learner_id="hv-000123", learner_name="Nguyễn Văn An", entry="ab-initio")

# Conformance doc §3, every element row (adl.data included, with no buckets).
DOC_ELEMENTS = {
    "cmi._version",
    "cmi.comments_from_learner.n.comment",
    "cmi.comments_from_learner.n.location",
    "cmi.comments_from_learner.n.timestamp",
    "cmi.comments_from_lms.n.comment",
    "cmi.comments_from_lms.n.location",
    "cmi.comments_from_lms.n.timestamp",
    "cmi.completion_status",
    "cmi.completion_threshold",
    "cmi.credit",
    "cmi.entry",
    "cmi.exit",
    "cmi.interactions.n.id",
    "cmi.interactions.n.type",
    "cmi.interactions.n.objectives.n.id",
    "cmi.interactions.n.timestamp",
    "cmi.interactions.n.correct_responses.n.pattern",
    "cmi.interactions.n.weighting",
    "cmi.interactions.n.learner_response",
    "cmi.interactions.n.result",
    "cmi.interactions.n.latency",
    "cmi.interactions.n.description",
    "cmi.launch_data",
    "cmi.learner_id",
    "cmi.learner_name",
    "cmi.learner_preference.audio_level",
    "cmi.learner_preference.language",
    "cmi.learner_preference.delivery_speed",
    "cmi.learner_preference.audio_captioning",
    "cmi.location",
    "cmi.max_time_allowed",
    "cmi.mode",
    "cmi.objectives.n.id",
    "cmi.objectives.n.score.scaled",
    "cmi.objectives.n.score.raw",
    "cmi.objectives.n.score.min",
    "cmi.objectives.n.score.max",
    "cmi.objectives.n.success_status",
    "cmi.objectives.n.completion_status",
    "cmi.objectives.n.progress_measure",
    "cmi.objectives.n.description",
    "cmi.progress_measure",
    "cmi.scaled_passing_score",
    "cmi.score.scaled",
    "cmi.score.raw",
    "cmi.score.min",
    "cmi.score.max",
    "cmi.session_time",
    "cmi.success_status",
    "cmi.suspend_data",
    "cmi.time_limit_action",
    "cmi.total_time",
    "adl.nav.request",
    "adl.nav.request_valid.continue",
    "adl.nav.request_valid.previous",
    "adl.nav.request_valid.choice.{target}",
    "adl.nav.request_valid.jump.{target}",
    "adl.data.n.id",
    "adl.data.n.store",
}
INTERACTION_TYPES = (
    "true-false",
    "choice",
    "fill-in",
    "long-fill-in",
    "matching",
    "performance",
    "sequencing",
    "likert",
    "numeric",
    "other",
)


@pytest.mark.parametrize(("name", "case"), corpus.cases("2004"), ids=lambda v: "")
def test_corpus(name, case):
    """Every call of every 2004 case returns what the conformance doc says, with its error code."""
    assert corpus.mismatches(case, corpus.run("2004", case)) == [], name


def test_corpus_is_not_empty():
    assert len(corpus.cases("2004")) >= 20


def test_table_has_every_element_of_the_conformance_doc():
    assert {e.path for e in cmi2004.TABLE.elements} == DOC_ELEMENTS


def test_table_is_json_for_the_browser():
    table = MODEL.table()
    assert json.loads(json.dumps(table)) == table
    assert table["codes"]["range"] == 407
    for name in ("learner_response", "pattern"):
        assert set(table["types"][name]["cases"]) == set(INTERACTION_TYPES)


# -- The regex subset shared with JavaScript ---------------------------------------------------

_ESCAPES = set("\\^$.*+?()[]{}|/")


def subset_problems(pattern: str) -> list[str]:
    """Constructs that Python `re` and JS `RegExp(..., 'u')` do not read alike."""
    problems, i, in_class = [], 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            nxt = pattern[i + 1 : i + 2]
            if nxt == "u":
                if not re.fullmatch(r"[0-9A-Fa-f]{4}", pattern[i + 2 : i + 6]):
                    problems.append(f"bad \\u escape at {i}")
                i += 6
                continue
            if nxt not in _ESCAPES and not (in_class and nxt == "-"):
                problems.append(f"escape \\{nxt} at {i}")
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
            elif c == "[":
                problems.append(f"[ inside a class at {i}")
            elif pattern[i : i + 2] in ("--", "&&", "||", "~~"):
                problems.append(f"{pattern[i : i + 2]} inside a class at {i}")
        elif c == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "^":
                i += 1
        elif c in ".^$]}":
            problems.append(f"unescaped {c} at {i}")
        elif c == "{":
            m = re.match(r"\{[0-9]+(,[0-9]+)?\}", pattern[i:])
            if not m:
                problems.append(f"{{ that is no {{n}} or {{n,m}} quantifier at {i}")
            else:
                i += len(m.group()) - 1
        elif c == "(" and pattern[i + 1 : i + 2] == "?" and pattern[i + 2 : i + 3] not in ":=!":
            problems.append(f"group (?{pattern[i + 2]} at {i}")
        i += 1
    if in_class:
        problems.append("unclosed class")
    return problems


def table_patterns():
    for model in (cmi12, cmi2004):
        for name, spec in model.TABLE.types.items():
            if isinstance(spec, Pattern | Number | Timestamp):
                yield f"{model.TABLE.version}:{name}", spec.pattern


@pytest.mark.parametrize(("name", "pattern"), list(table_patterns()))
def test_every_table_pattern_is_in_the_shared_subset(name, pattern):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        re.compile(pattern)
    assert subset_problems(pattern) == []


def test_the_subset_checker_catches_what_the_engines_read_differently():
    for bad in (r"a.b", r"\d+", r"\s", r"^a$", r"(?P<x>a)", r"(?i)a", r"a{,3}", r"[[a]", r"\:"):
        assert subset_problems(bad), bad
    assert subset_problems(r"[^\u0000-\u0020\-]{1,4}(?:a|b)(?=c)") == []


# -- Identifiers, times and numbers --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("INTID0", 0),
        ("urn:adl:lmsTest/OBJ01", 0),
        ("http://example.com/q?x=1#frag", 0),
        ("mục-tiêu", 0),
        ("a%2Fb", 0),
        ("/relative/path", 0),
        ("", 406),
        ("urn:", 406),
        ("urn:adl:lms Test/OBJ01", 406),
        (":abc", 406),
        ("a%2", 406),
        ("a<b", 406),
        ("tab\there", 406),
        ("nbsp\u00a0here", 406),
        ("ideographic\u3000space", 406),
        ("x" * 4000, 0),  # long_identifier SPM (RTE 4.2.9)
        ("x" * 8000, 0),
        ("x" * 8001, 406),  # our cap (cmi2004.py)
    ],
)
def test_identifiers_follow_java_uri(value, code):
    runtime = MODEL.start(LAUNCH, {})
    assert runtime.set("cmi.interactions.0.id", value) == code


def test_seconds_parses_iso_durations():
    assert MODEL.seconds("PT1H2M3.45S") == pytest.approx(3723.45)
    assert MODEL.seconds("P1D") == 86400
    assert MODEL.seconds("P1Y") == 31536000
    assert MODEL.seconds("P1M") == 2628029  # ADL DurationValidator's month
    assert MODEL.seconds("PT0.5S") == pytest.approx(0.5)
    for bad in ("", "P", "PT", "1Y6M14DT4H15M6.34S", "PT1H30", "00:30:00"):
        with pytest.raises(ValueError):
            MODEL.seconds(bad)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "PT0H0M0S"),
        (3723.45, "PT1H2M3.45S"),
        (90.5, "PT0H1M30.5S"),
        (59.999, "PT0H1M0S"),
        (360000, "PT100H0M0S"),
    ],
)
def test_total_time_is_rendered_from_launch_seconds(seconds, text):
    runtime = MODEL.start(Launch("u", "n", "", total_seconds=seconds), {})
    assert runtime.get("cmi.total_time") == (text, 0)


def test_launch_numbers_render_like_javascript():
    runtime = MODEL.start(
        Launch("u", "n", "", completion_threshold=1.0, scaled_passing_score=0.75), {}
    )
    assert runtime.get("cmi.completion_threshold") == ("1", 0)
    assert runtime.get("cmi.scaled_passing_score") == ("0.75", 0)


def test_arrays_hold_at_most_1000_records():
    runtime = MODEL.start(LAUNCH, {})
    for i in range(1000):
        assert runtime.set(f"cmi.comments_from_learner.{i}.comment", "c") == 0
    assert runtime.set("cmi.comments_from_learner.1000.comment", "c") == 351
    assert runtime.get("cmi.comments_from_learner._count") == ("1000", 0)


def test_unknown_interaction_type_value_in_stored_data_refuses_responses():
    runtime = MODEL.start(LAUNCH, {"cmi.interactions.0.id": "q", "cmi.interactions.0.type": "x"})
    assert runtime.set("cmi.interactions.0.learner_response", "a") == 406


def test_replay_returns_the_refused_writes():
    # Its speed (well under a millisecond) is measured by bench/commit_overhead.py.
    writes = [("cmi.location", f"p{i}") for i in range(10)]
    for i in range(8):
        writes += [
            (f"cmi.interactions.{i}.id", f"q{i}"),
            (f"cmi.interactions.{i}.type", "choice"),
            (f"cmi.interactions.{i}.learner_response", "a[,]b"),
            (f"cmi.interactions.{i}.result", "correct"),
            (f"cmi.interactions.{i}.latency", "PT5S"),
        ]
    assert len(writes) == 50
    runtime, refused = MODEL.replay(LAUNCH, {"cmi.suspend_data": "x" * 2000}, writes)
    assert refused == []
    assert runtime.get("cmi.location") == ("p9", 0)
    _, refused = MODEL.replay(
        LAUNCH,
        {"cmi.objectives.0.id": "o1"},
        [
            ("cmi.objectives.0.id", "o2"),
            ("cmi.interactions.0.type", "choice"),
            ("cmi.score.scaled", "2"),
            ("cmi.exit", "suspend"),
        ],
    )
    assert refused == [
        ("cmi.objectives.0.id", "o2", 351),
        ("cmi.interactions.0.type", "choice", 408),
        ("cmi.score.scaled", "2", 407),
    ]


def test_api_reports_a_refused_commit_as_391():
    api = Api(MODEL, LAUNCH, {}, on_commit=lambda written, terminated: False)
    assert api.initialize() == "true"
    assert api.commit() == "false"
    assert api.get_last_error() == "391"
    assert api.get_error_string("391") == "General Commit Failure"


def test_stored_values_may_come_as_pairs():
    runtime = MODEL.start(LAUNCH, [("cmi.location", "p1"), ("cmi.objectives.0.id", "o1")])
    assert runtime.get("cmi.location") == ("p1", 0)
    assert runtime.get("cmi.objectives._count") == ("1", 0)
    assert runtime.set("cmi.objectives.0.id", "o2") == 351


def test_session_only_elements():
    assert MODEL.session_only == {"cmi.exit", "cmi.session_time", "adl.nav.request"}


# -- Rollup ----------------------------------------------------------------------------------


def roll(written, **launch):
    return outcome(MODEL, Launch("u", "n", "", **launch), written)


def test_outcome_takes_the_scos_statuses():
    assert (roll({}).completion, roll({}).success) == ("unknown", "unknown")
    result = roll({"cmi.completion_status": "completed", "cmi.success_status": "failed"})
    assert (result.completion, result.success) == ("completed", "failed")
    assert roll({"cmi.completion_status": "not attempted"}).completion == "not attempted"


def test_completion_threshold_against_progress_measure():
    written = {"cmi.completion_status": "completed", "cmi.progress_measure": "0.5"}
    assert roll(written, completion_threshold=0.8).completion == "incomplete"
    assert roll(written, completion_threshold=0.5).completion == "completed"
    assert roll(written).completion == "completed"  # no threshold: the SCO decides
    no_progress = {"cmi.completion_status": "completed"}
    # 4th ed. RTE 4.2.4.1 table: a threshold and no progress_measure: unknown.
    assert roll(no_progress, completion_threshold=0.8).completion == "unknown"


def test_scaled_passing_score_against_score_scaled():
    written = {"cmi.success_status": "passed", "cmi.score.scaled": "0.6"}
    assert roll(written, scaled_passing_score=0.7).success == "failed"
    assert roll(written, scaled_passing_score=0.6).success == "passed"
    # 4th ed. RTE 4.2.22.1 table: a scaled_passing_score and no score.scaled: unknown.
    assert roll({"cmi.success_status": "passed"}, scaled_passing_score=0.7).success == "unknown"
    assert roll({"cmi.success_status": "passed"}).success == "passed"


def test_outcome_score_and_session():
    result = roll(
        {
            "cmi.score.scaled": "0.85",
            "cmi.score.raw": "85",
            "cmi.session_time": "PT1H2M3.45S",
            "cmi.exit": "suspend",
            "cmi.location": "p9",
            "cmi.suspend_data": "s",
        }
    )
    assert result.score_scaled == pytest.approx(0.85)
    assert result.score_raw == 85
    assert result.session_seconds == pytest.approx(3723.45)
    assert (result.exit, result.location, result.suspend_data) == ("suspend", "p9", "s")
    assert roll({"cmi.score.scaled": "-0.5"}).score_scaled == 0.0
    raw_only = {"cmi.score.raw": "30", "cmi.score.min": "10", "cmi.score.max": "50"}
    assert roll(raw_only).score_scaled == pytest.approx(0.5)
    assert roll({"cmi.score.raw": "30"}).score_scaled is None  # no max: no scale
    assert roll({}).session_seconds == 0.0

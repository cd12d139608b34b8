"""The end of a SCORM 2004 attempt: what the LMS records for a SCO whose content did not
report its completion or its objective (SN book, End Attempt Process [UP.4])."""

from __future__ import annotations

from scorm import cmi2004
from scorm.datamodel import Launch, outcome
from scorm.datamodel.outcome import end_attempt
from scorm.manifest import DeliveryControls, parse_manifest

CONTENT_SETS_COMPLETION = DeliveryControls(completion_set_by_content=True)
CONTENT_SETS_OBJECTIVE = DeliveryControls(objective_set_by_content=True)
UNTRACKED = DeliveryControls(tracked=False)


def test_content_that_reports_nothing_is_completed_and_satisfied_by_default():
    """UP.4 1.1.1.1 and 1.1.1.2: completionSetByContent and objectiveSetByContent default to
    false, so an attempt whose progress and objective the content left unknown ends
    completed and satisfied."""
    assert end_attempt("unknown", "unknown") == ("completed", "passed")
    assert end_attempt("unknown", "unknown", DeliveryControls()) == ("completed", "passed")


def test_what_the_content_reported_is_kept():
    """UP.4 1.1.1.1.1 / 1.1.1.2.1.1.1: only a status the content did not inform is set."""
    assert end_attempt("incomplete", "failed") == ("incomplete", "failed")
    assert end_attempt("not attempted", "unknown") == ("not attempted", "passed")
    assert end_attempt("unknown", "failed") == ("completed", "failed")


def test_content_that_sets_its_own_status_keeps_it_unknown():
    """UP.4 1.1.1.1 / 1.1.1.2: with completionSetByContent or objectiveSetByContent true the
    LMS sets nothing."""
    assert end_attempt("unknown", "unknown", CONTENT_SETS_COMPLETION) == ("unknown", "passed")
    assert end_attempt("unknown", "unknown", CONTENT_SETS_OBJECTIVE) == ("completed", "unknown")


def test_untracked_and_suspended_activities_are_left_alone():
    """UP.4 1.1 (tracked only) and 1.1.1 (the sequencer does not touch a suspended activity)."""
    assert end_attempt("unknown", "unknown", UNTRACKED) == ("unknown", "unknown")
    assert end_attempt("unknown", "unknown", suspended=True) == ("unknown", "unknown")


def test_a_status_decided_by_a_measure_the_content_did_not_report_stays_unknown():
    """RB.1.2.a 2.1.1 (satisfied by measure) and RB.1.3.a (completed by measure): with no
    measure the rollup after UP.4 gives the objective or the progress no status."""
    assert end_attempt("unknown", "unknown", satisfied_by_measure=True) == ("completed", "unknown")
    assert end_attempt("unknown", "unknown", completed_by_measure=True) == ("unknown", "passed")


def _roll(written, *, terminated=True, controls=None, **launch):
    result = outcome(
        cmi2004.MODEL,
        Launch("u", "n", "", **launch),
        written,
        terminated=terminated,
        controls=controls,
    )
    return result.completion, result.success


def test_the_outcome_applies_the_rule_once_the_sco_terminated_without_suspending():
    """RTE 4.2.8 / SN UP.4: Terminate with cmi.exit normal, "", logout or time-out ends the
    attempt; cmi.exit suspend or adl.nav.request suspendAll suspends it instead."""
    assert _roll({}, terminated=False) == ("unknown", "unknown")
    assert _roll({}) == ("completed", "passed")
    assert _roll({"cmi.exit": "normal"}) == ("completed", "passed")
    assert _roll({"cmi.exit": "time-out"}) == ("completed", "passed")
    assert _roll({"cmi.exit": "suspend"}) == ("unknown", "unknown")
    assert _roll({"adl.nav.request": "suspendAll"}) == ("unknown", "unknown")
    assert _roll({}, controls=CONTENT_SETS_COMPLETION) == ("unknown", "passed")
    assert _roll({"cmi.score.scaled": "0.5"}, scaled_passing_score=0.7) == ("completed", "failed")
    assert _roll({}, scaled_passing_score=0.7) == ("completed", "unknown")


MANIFEST = b"""<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier="m" xmlns="http://www.imsglobal.org/xsd/imscp_v1p1"
  xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_v1p3" xmlns:imsss="http://www.imsglobal.org/xsd/imsss">
  <metadata><schema>ADL SCORM</schema><schemaversion>2004 4th Edition</schemaversion></metadata>
  <organizations default="o"><organization identifier="o"><title>T</title>
    <item identifier="a" identifierref="r"><title>A</title>
      <imsss:sequencing><imsss:deliveryControls completionSetByContent="true"
        tracked="false"/></imsss:sequencing></item>
    <item identifier="b" identifierref="r"><title>B</title></item>
  </organization></organizations>
  <resources><resource identifier="r" type="webcontent" adlcp:scormType="sco" href="a.html">
    <file href="a.html"/></resource></resources>
</manifest>"""


def test_the_manifest_gives_each_item_its_delivery_controls():
    """CAM imsss:deliveryControls: tracked (default true), completionSetByContent and
    objectiveSetByContent (default false)."""
    organization = parse_manifest(MANIFEST, {"a.html"}).organizations[0]
    first, second = organization.items
    assert first.sequencing.delivery_controls == DeliveryControls(
        tracked=False, completion_set_by_content=True
    )
    assert second.sequencing is None or second.sequencing.delivery_controls == DeliveryControls()

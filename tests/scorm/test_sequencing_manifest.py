"""The sequencing the engine needs, read from imsmanifest.xml (CAM 5.1.x / SN 5) and carried
by `describe()` into the stored description the engine is rebuilt from."""

from __future__ import annotations

import pytest

from scorm.errors import PackageError
from scorm.manifest import (
    ConstrainedChoice,
    LimitConditions,
    ObjectiveMap,
    Randomization,
    parse_manifest,
)
from scorm.sequencing.navigation import describe
from scorm.sequencing.sequencer import Sequencer
from scorm.sequencing.tree import ActivityTree

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier="m" xmlns="http://www.imsglobal.org/xsd/imscp_v1p1"
          xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_v1p3"
          xmlns:adlseq="http://www.adlnet.org/xsd/adlseq_v1p3"
          xmlns:adlnav="http://www.adlnet.org/xsd/adlnav_v1p3"
          xmlns:imsss="http://www.imsglobal.org/xsd/imsss">
  <metadata><schemaversion>{version}</schemaversion></metadata>
"""


def manifest(sequencing: str, version="2004 4th Edition", extra="", collection="") -> bytes:
    """One SCO item with the given <imsss:sequencing> content."""
    return (
        HEAD.format(version=version)
        + '<organizations default="org"><organization identifier="org"><title>Khóa</title>'
        + '<item identifier="i1" identifierref="r1"><title>Một</title>'
        + f"{extra}<imsss:sequencing{sequencing}</imsss:sequencing></item>"
        + "</organization></organizations><resources>"
        + '<resource identifier="r1" type="webcontent" adlcp:scormType="sco" href="a.html"/>'
        + f"</resources>{collection}</manifest>"
    ).encode()


def read(xml: bytes):
    """The manifest, with a.html as the package's one file."""
    return parse_manifest(xml, {"a.html"})


def test_randomization_constrained_choice_and_limits_are_read():
    """SN 3.10 imsss:randomizationControls, adlseq:constrainedChoiceConsiderations and every
    imsss:limitConditions attribute are read, without "not supported" warnings."""
    package = read(
        manifest(
            '><imsss:limitConditions attemptLimit="2" attemptAbsoluteDurationLimit="PT1H"'
            ' attemptExperiencedDurationLimit="PT30M" activityAbsoluteDurationLimit="P1D"'
            ' activityExperiencedDurationLimit="PT2H" beginTimeLimit="2030-01-01T00:00:00"'
            ' endTimeLimit="2030-12-31T00:00:00"/>'
            '<imsss:randomizationControls selectCount="3" selectionTiming="once"'
            ' reorderChildren="true" randomizationTiming="onEachNewAttempt"/>'
            '<adlseq:constrainedChoiceConsiderations constrainChoice="true"'
            ' preventActivation="true"/>'
        )
    )
    assert package.warnings == ()
    seq = package.item("i1").sequencing
    assert seq.limit_conditions == LimitConditions(
        2, "PT1H", "PT30M", "P1D", "PT2H", "2030-01-01T00:00:00", "2030-12-31T00:00:00"
    )
    assert seq.randomization == Randomization("onEachNewAttempt", 3, True, "once")
    assert seq.constrained_choice == ConstrainedChoice(True, True)
    limits = describe(package)["tree"]["children"][0]["seq"]["limits"]
    assert limits["attempt_absolute_duration"] == 3600
    assert limits["activity_absolute_duration"] == 86400
    assert limits["attempt_experienced_duration"] == 1800


def test_a_bad_randomization_timing_is_a_problem():
    """CAM: selectionTiming is one of never, once, onEachNewAttempt."""
    with pytest.raises(PackageError) as error:
        read(manifest('><imsss:randomizationControls selectionTiming="sometimes"/>'))
    assert "selectionTiming" in str(error.value)


def test_adlseq_objectives_add_completion_progress_and_score_maps():
    """CAM 4th ed. adlseq:objectives: an adlseq:mapInfo extends the imsss:mapInfo of the
    same objective and target with read/write of completion, progress measure and raw/min/
    max score (reads default to true, writes to false); a target only adlseq names shares
    nothing else."""
    package = read(
        manifest(
            "><imsss:objectives>"
            '<imsss:primaryObjective objectiveID="p">'
            '<imsss:mapInfo targetObjectiveID="g1" writeSatisfiedStatus="true"/>'
            "</imsss:primaryObjective></imsss:objectives>"
            '<adlseq:objectives><adlseq:objective objectiveID="p">'
            '<adlseq:mapInfo targetObjectiveID="g1" writeCompletionStatus="true"'
            ' readRawScore="false"/>'
            '<adlseq:mapInfo targetObjectiveID="g2" writeProgressMeasure="true"/>'
            "</adlseq:objective></adlseq:objectives>"
        )
    )
    g1, g2 = package.item("i1").sequencing.primary_objective.maps
    assert g1 == ObjectiveMap(
        "g1",
        write_satisfied_status=True,
        read_completion_status=True,
        write_completion_status=True,
        read_progress_measure=True,
        read_min_score=True,
        read_max_score=True,
    )
    assert (g2.read_satisfied_status, g2.read_normalized_measure) == (False, False)
    assert (g2.write_progress_measure, g2.read_completion_status) == (True, True)
    tree = ActivityTree.from_description(describe(package))
    [m1, m2] = tree["i1"].primary.maps
    assert m1.write == {"satisfied", "completion"}
    assert m1.read == {"satisfied", "measure", "completion", "progress", "min", "max"}
    assert m2.read == {"completion", "progress", "raw", "min", "max"}


def test_adlseq_objective_naming_no_objective_is_a_problem():
    """CAM 4th ed.: adlseq:objective/@objectiveID must name an objective of the activity."""
    with pytest.raises(PackageError) as error:
        read(
            manifest(
                '><adlseq:objectives><adlseq:objective objectiveID="nope">'
                '<adlseq:mapInfo targetObjectiveID="g"/></adlseq:objective></adlseq:objectives>'
            )
        )
    assert "nope" in str(error.value)


def test_sequencing_collection_entries_are_merged_with_adlseq_objectives():
    """SN 5 (IDRef): an element of the collection entry that the item does not have is
    added; here the entry's objectives and the item's own adlseq:objectives combine."""
    collection = (
        '<imsss:sequencingCollection><imsss:sequencing ID="shared">'
        '<imsss:objectives><imsss:primaryObjective objectiveID="p">'
        '<imsss:mapInfo targetObjectiveID="g"/></imsss:primaryObjective></imsss:objectives>'
        "</imsss:sequencing></imsss:sequencingCollection>"
    )
    package = read(
        manifest(
            ' IDRef="shared"><adlseq:objectives><adlseq:objective objectiveID="p">'
            '<adlseq:mapInfo targetObjectiveID="g" writeCompletionStatus="true"/>'
            "</adlseq:objective></adlseq:objectives>",
            collection=collection,
        )
    )
    [only] = package.item("i1").sequencing.primary_objective.maps
    assert (only.read_satisfied_status, only.write_completion_status) == (True, True)


def test_describe_carries_conditions_thresholds_and_presentation():
    """describe(): conditions keep referencedObjective and measureThreshold; the item's
    completion threshold and hideLMSUI and the delivery controls go into the description,
    which the engine rebuilds; a 3rd Edition threshold decides completion by measure."""
    extra = (
        '<adlcp:completionThreshold completedByMeasure="true" minProgressMeasure="0.7"'
        ' progressWeight="0.5"/>'
        "<adlnav:presentation><adlnav:navigationInterface><adlnav:hideLMSUI>continue"
        "</adlnav:hideLMSUI></adlnav:navigationInterface></adlnav:presentation>"
    )
    sequencing = (
        "><imsss:sequencingRules><imsss:preConditionRule><imsss:ruleConditions>"
        '<imsss:ruleCondition condition="objectiveMeasureGreaterThan" measureThreshold="0.5"'
        ' referencedObjective="o2"/></imsss:ruleConditions>'
        '<imsss:ruleAction action="skip"/></imsss:preConditionRule></imsss:sequencingRules>'
        '<imsss:objectives><imsss:primaryObjective objectiveID="o1"/>'
        '<imsss:objective objectiveID="o2"/></imsss:objectives>'
        '<imsss:deliveryControls tracked="false"/>'
    )
    description = describe(read(manifest(sequencing, extra=extra)))
    item = description["tree"]["children"][0]
    [condition] = item["seq"]["pre"][0]["conditions"]
    assert condition == {
        "condition": "objectiveMeasureGreaterThan",
        "negated": False,
        "referenced_objective": "o2",
        "measure_threshold": 0.5,
    }
    assert item["completion"] == {
        "completed_by_measure": True,
        "min_progress_measure": 0.7,
        "progress_weight": 0.5,
    }
    assert item["hide_lms_ui"] == ["continue"]
    activity = ActivityTree.from_description(description)["i1"]
    assert (activity.tracked, activity.completed_by_measure, activity.progress_weight) == (
        False,
        True,
        0.5,
    )
    assert activity.pre_rules[0].conditions[0].objective == "o2"
    third = "<adlcp:completionThreshold>0.6</adlcp:completionThreshold>"
    old = describe(read(manifest(">", version="2004 3rd Edition", extra=third)))
    assert old["tree"]["children"][0]["completion"]["completed_by_measure"] is True


def test_a_description_from_before_the_engine_still_loads():
    """Stored descriptions without the engine's keys: the old "objective" read/write pair
    becomes a primary objective map, everything else takes the IMS SS defaults."""
    old = {
        "tree": {
            "identifier": "org",
            "title": "Khóa",
            "seq": {
                "choice": True,
                "flow": True,
                "forward_only": False,
                "pre": [],
                "post": [],
                "exit": [],
                "attempt_limit": 2,
                "objective": {},
                "rollup_satisfied": True,
            },
            "children": [
                {
                    "identifier": "a",
                    "title": "A",
                    "sco": True,
                    "children": [],
                    "seq": {
                        "flow": False,
                        "objective": {"read": "g", "write": "g"},
                        "pre": [
                            {
                                "action": "skip",
                                "combination": "all",
                                "conditions": [{"condition": "satisfied", "negated": False}],
                            }
                        ],
                    },
                },
            ],
        }
    }
    tree = ActivityTree.from_description(old)
    [mapping] = tree["a"].primary.maps
    assert (mapping.target, mapping.read, mapping.write) == ("g", {"satisfied"}, {"satisfied"})
    assert tree.root.limits["attempt_limit"] == 2 and tree.root.choice_exit is True


def test_a_scorm_1_2_package_flows_in_tree_order():
    """SCORM 1.2 has no sequencing (its description has empty "seq"): the engine lets it flow
    in tree order and allows choice (an LMS choice, as the old Navigator did)."""
    xml = (
        b'<?xml version="1.0"?><manifest identifier="m" '
        b'xmlns="http://www.imsproject.org/xsd/imscp_rootv1p1p2" '
        b'xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_rootv1p2">'
        b"<metadata><schemaversion>1.2</schemaversion></metadata>"
        b'<organizations default="o"><organization identifier="o"><title>K</title>'
        b'<item identifier="a" identifierref="r"><title>A</title></item>'
        b'<item identifier="b" identifierref="r"><title>B</title></item>'
        b'</organization></organizations><resources><resource identifier="r" '
        b'type="webcontent" adlcp:scormtype="sco" href="a.html"/></resources></manifest>'
    )
    seq = Sequencer(ActivityTree.from_description(describe(read(xml))), None, 1)
    assert seq.navigate("start").deliver == "a"
    assert seq.navigate("continue").deliver == "b"
    assert seq.navigate("choice", "a").deliver == "a"

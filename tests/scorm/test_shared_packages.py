"""Real-world packages from ../shared/scorm-packages (Rustici's golf samples) read as expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from scorm.manifest import ControlMode, RuleCondition
from scorm.package import Package, read_package

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "scorm-packages"

if not SHARED.is_dir():
    pytest.skip(
        f"{SHARED} is absent: real-world SCORM packages not tested", allow_module_level=True
    )

LAUNCH = "shared/launchpage.html"

# name: (version, edition, number of SCOs, launch of the first SCO, number of launchable leaves)
EXPECTED = {
    "ContentPackagingOneFilePerSCO_SCORM12": ("1.2", None, 0, None, 18),
    "ContentPackagingSingleSCO_SCORM12": ("1.2", None, 1, LAUNCH, 1),
    "ContentPackagingSingleSCO_SCORM20042ndEdition": ("2004", 2, 1, LAUNCH, 1),
    "RunTimeAdvancedCalls_SCORM20043rdEdition": ("2004", 3, 1, LAUNCH, 1),
    "RuntimeBasicCalls_SCORM12": ("1.2", None, 1, LAUNCH, 1),
    "RuntimeBasicCalls_SCORM20043rdEdition": ("2004", 3, 1, LAUNCH, 1),
    "SequencingSimpleRemediation_SCORM20043rdEdition": (
        "2004",
        3,
        8,
        "shared/launchpage.html?content=playing",
        8,
    ),
}


def read(name: str) -> Package:
    return read_package((SHARED / f"{name}.zip").read_bytes())


def test_every_shared_package_is_known():
    assert sorted(p.stem for p in SHARED.glob("*.zip")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shared_package_reads_without_problems(name):
    version, edition, sco_count, first_launch, leaf_count = EXPECTED[name]
    package = read(name)
    assert (package.version, package.edition) == (version, edition)
    assert len(package.scos()) == sco_count
    assert len(package.leaves()) == leaf_count
    if first_launch:
        assert package.scos()[0].launch == first_launch
    assert package.warnings == ()
    for item in package.leaves():
        path = item.launch.split("?", 1)[0]
        assert path in package.files and package.files[path]


def test_one_file_per_sco_has_assets_with_parameters():
    package = read("ContentPackagingOneFilePerSCO_SCORM12")
    leaves = package.leaves()
    assert leaves[0].launch == "Playing/Playing.html" and not leaves[0].sco
    assert package.item("playing_quiz_item").launch == (
        "shared/assessmenttemplate.html?questions=Playing"
    )
    assert [i.title for i in package.organization.items] == [
        "Playing the Game",
        "Etiquette",
        "Handicapping",
        "Having Fun",
    ]
    assert "shared/style.css" in package.resource("common_files").files


def test_advanced_calls_passing_score():
    [sco] = read("RunTimeAdvancedCalls_SCORM20043rdEdition").scos()
    assert sco.scaled_passing_score == 0.8
    assert [o.identifier for o in sco.objectives] == [
        "PRIMARYOBJ",
        "obj_etiquette",
        "obj_handicapping",
        "obj_havingfun",
        "obj_playing",
    ]
    assert sco.sequencing.delivery_controls.objective_set_by_content


def test_simple_remediation_sequencing():
    package = read("SequencingSimpleRemediation_SCORM20043rdEdition")
    assert package.organization.sequencing.control_mode == ControlMode(choice=False, flow=True)
    [wrapper] = package.organization.items
    assert wrapper.identifier == "content_wrapper" and not wrapper.is_visible
    assert wrapper.sequencing.control_mode == ControlMode(
        choice=False, choice_exit=False, flow=True
    )
    retry, exit_all = wrapper.sequencing.post_condition_rules
    assert (retry.combination, retry.action) == ("any", "retry")
    assert retry.conditions == (
        RuleCondition("satisfied", negated=True),
        RuleCondition("objectiveStatusKnown", negated=True),
    )
    assert (exit_all.conditions, exit_all.action) == ((RuleCondition("satisfied"),), "exitAll")

    scos = package.scos()
    assert [s.identifier for s in scos][4:] == ["test_1", "test_2", "test_3", "test_4"]
    assert scos[4].launch == "shared/launchpage.html?content=assessment1"

    # Content objects: skipped when satisfied, not counted in rollup (sequencingCollection)
    playing = scos[0].sequencing
    assert playing.idref == "content_seq_rules"
    [skip] = playing.pre_condition_rules
    assert (skip.conditions, skip.action) == ((RuleCondition("satisfied"),), "skip")
    assert playing.rollup_rules.objective_measure_weight == 0.0
    assert not playing.rollup_rules.rollup_objective_satisfied
    [objective] = playing.objectives
    assert objective.primary and objective.maps[0].target_objective_id.endswith(
        ".playing_satisfied"
    )
    assert not objective.maps[0].write_satisfied_status

    # Tests: counted in rollup; the last one's own rules replace the shared ones (as ADL does)
    test_1, test_4 = scos[4].sequencing, scos[7].sequencing
    assert test_1.idref == "test_seq_rules" and test_1.rollup_rules.objective_measure_weight == 1
    assert test_1.rollup_considerations.required_for_completed == "ifNotSkipped"
    assert test_1.objectives[0].maps[0].write_normalized_measure
    assert [r.action for r in test_4.post_condition_rules] == ["exitParent"]
    assert test_4.post_condition_rules[0].conditions == (RuleCondition("always"),)
    assert test_4.pre_condition_rules == ()
    assert test_4.delivery_controls.completion_set_by_content

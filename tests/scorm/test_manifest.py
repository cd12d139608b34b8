"""imsmanifest.xml: versions, items and launch URLs, sequencing, and every problem with its line."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from scorm.errors import PackageError
from scorm.manifest import (
    CompletionThreshold,
    ControlMode,
    DataMap,
    LimitConditions,
    ObjectiveMap,
    RuleCondition,
    launch_url,
    parse_manifest,
)
from scorm.package import read_package
from tests.scorm.test_package import zip_folder

FIXTURES = Path(__file__).resolve().parent / "fixtures"

HEAD_12 = """<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier="m" xmlns="http://www.imsproject.org/xsd/imscp_rootv1p1p2"
          xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_rootv1p2">
  <metadata><schemaversion>{version}</schemaversion></metadata>
"""

HEAD_2004 = """<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier="m" xmlns="http://www.imsglobal.org/xsd/imscp_v1p1"
          xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_v1p3"
          xmlns:imsss="http://www.imsglobal.org/xsd/imsss">
  <metadata><schemaversion>{version}</schemaversion></metadata>
"""


def manifest(
    items: str = '<item identifier="i1" identifierref="r1"><title>Một</title></item>',
    resources: str = '<resource identifier="r1" type="webcontent" adlcp:scormtype="sco" '
    'href="index.html"/>',
    version: str = "1.2",
    head: str = HEAD_12,
    tail: str = "",
) -> bytes:
    """A small manifest: with HEAD_12, line 7 holds the items and line 11 the resources."""
    return (
        head.format(version=version)
        + '  <organizations default="org">\n'
        + '    <organization identifier="org"><title>Khóa</title>\n'
        + f"      {items}\n"
        + "    </organization>\n"
        + "  </organizations>\n"
        + f"  <resources>\n    {resources}\n  </resources>\n{tail}</manifest>\n"
    ).encode()


def problems(xml: bytes, files: set[str] | None = None) -> list[str]:
    with pytest.raises(PackageError) as error:
        parse_manifest(xml, {"index.html"} if files is None else files)
    return [str(p) for p in error.value.problems]


# --- Valid packages -------------------------------------------------------------------------


def test_scorm12_item_values():
    package = read_package(zip_folder(FIXTURES / "scorm12-single"))
    [sco] = package.scos()
    assert sco.mastery_score == 80.0
    assert sco.max_time_allowed == "00:30:00"
    assert sco.time_limit_action == "exit,message"
    assert sco.data_from_lms == "level=1"
    assert sco.prerequisites == "item_0"
    assert sco.sequencing is None and sco.scaled_passing_score is None
    assert package.resource("sco_1").files == ("index.html", "media/khoa%20hoc.png")


def test_scorm2004_fourth_edition_multi_sco_with_sequencing():
    package = read_package(zip_folder(FIXTURES / "scorm2004-multi"))
    assert (package.version, package.edition) == ("2004", 4)
    assert package.label == "SCORM 2004 4th Edition"
    assert package.title == "Kỹ năng số"
    assert not package.organization.objectives_global_to_system
    assert package.organization.sequencing.control_mode == ControlMode(choice=True, flow=True)

    lesson_1, lesson_2 = package.scos()
    assert lesson_1.launch == "sco1/index.html?from=lms#top"  # xml:base applied
    assert lesson_2.launch == "sco2/index.html?part=2"
    assert [i.identifier for i in package.leaves()] == ["lesson_1", "lesson_2", "final"]
    final = package.item("final")
    assert not final.sco and not final.is_visible and final.launch == "shared/end.html"

    assert lesson_1.completion_threshold == CompletionThreshold(0.75, True, 1.0)
    assert lesson_1.data_from_lms == "chapter=1"
    assert lesson_1.time_limit_action == "continue,no message"
    assert lesson_1.hide_lms_ui == ("continue", "previous")
    assert lesson_1.data_maps == ()

    # lesson_1 takes everything from the collection entry
    seq = lesson_1.sequencing
    assert seq.idref == "skip_when_done"
    [rule] = seq.pre_condition_rules
    assert (rule.action, rule.combination, rule.conditions) == (
        "skip",
        "all",
        (RuleCondition("satisfied"),),
    )
    assert seq.limit_conditions == LimitConditions(attempt_limit=1)
    assert seq.delivery_controls.completion_set_by_content
    assert seq.rollup_considerations.required_for_completed == "ifNotSkipped"

    # lesson_2's own limitConditions and objectives replace the collection's, rules are kept
    seq = lesson_2.sequencing
    assert [r.action for r in seq.pre_condition_rules] == ["skip"]
    assert seq.limit_conditions == LimitConditions(3, "PT1H")
    assert lesson_2.max_time_allowed == "PT1H"
    primary, other = lesson_2.objectives
    assert (primary.identifier, primary.primary, primary.satisfied_by_measure) == (
        "lesson_2_passed",
        True,
        True,
    )
    assert primary.maps == (ObjectiveMap("vn.hocvu.lesson_2", write_satisfied_status=True),)
    assert (other.identifier, other.primary) == ("password_rules", False)
    assert lesson_2.scaled_passing_score == 0.6

    module = package.item("module_1")
    assert module.launch is None and [c.identifier for c in module.children] == [
        "lesson_1",
        "lesson_2",
    ]
    seq = module.sequencing
    assert seq.control_mode == ControlMode(
        choice=False, choice_exit=False, flow=True, forward_only=True
    )
    [exit_rule] = seq.exit_condition_rules
    assert exit_rule.action == "exit"
    [post] = seq.post_condition_rules
    assert post.combination == "any" and post.action == "retry"
    assert post.conditions == (
        RuleCondition("satisfied", negated=True),
        RuleCondition("objectiveStatusKnown", negated=True),
    )
    assert seq.rollup_rules.objective_measure_weight == 0.5
    [rollup] = seq.rollup_rules.rules
    assert (rollup.child_activity_set, rollup.minimum_count, rollup.action) == (
        "atLeastCount",
        1,
        "satisfied",
    )

    # imsss:randomizationControls is read now (SN book 3.10), so nothing is left unread.
    assert package.warnings == ()


def test_data_maps_are_read():
    xml = manifest(
        items='<item identifier="i1" identifierref="r1"><title>Một</title>'
        '<adlcp:data><adlcp:map targetID="notes" writeSharedData="false"/></adlcp:data></item>',
        version="2004 4th Edition",
        head=HEAD_2004,
        resources='<resource identifier="r1" type="webcontent" adlcp:scormType="sco" '
        'href="index.html"/>',
    )
    [item] = parse_manifest(xml, {"index.html"}).scos()
    assert item.data_maps == (DataMap("notes", True, False),)


def test_shared_data_global_to_system_and_maps_without_a_target():
    """CAM 4th ed. adlcp:data/adlcp:map: targetID is required (one bucket per target), and
    the organization's adlcp:sharedDataGlobalToSystem (default true) scopes the buckets."""
    maps = (
        '<adlcp:data><adlcp:map targetID="a" readSharedData="false"/>'
        '<adlcp:map targetID="a"/><adlcp:map targetID="b"/></adlcp:data>'
    )
    xml = manifest(
        items=f'<item identifier="i1" identifierref="r1"><title>Một</title>{maps}</item>',
        version="2004 4th Edition",
        head=HEAD_2004,
        resources='<resource identifier="r1" type="webcontent" adlcp:scormType="sco" '
        'href="index.html"/>',
    )
    parsed = parse_manifest(xml, {"index.html"})
    assert parsed.organization.shared_data_global_to_system is True
    [item] = parsed.scos()
    assert item.data_maps == (DataMap("a", False, True), DataMap("b", True, True))
    local = xml.replace(
        b'<organization identifier="org">',
        b'<organization identifier="org" adlcp:sharedDataGlobalToSystem="false">',
    )
    assert parse_manifest(local, {"index.html"}).organization.shared_data_global_to_system is False
    untargeted = xml.replace(b'<adlcp:map targetID="b"/>', b'<adlcp:map targetID=" "/>')
    assert any("has no targetID" in p for p in problems(untargeted))


@pytest.mark.parametrize(
    ("version", "edition"),
    [("1.2", None), ("CAM 1.3", 2), ("2004 3rd Edition", 3), ("2004 4th Edition", 4)],
)
def test_schema_versions(version, edition):
    head = HEAD_12 if version == "1.2" else HEAD_2004
    result = parse_manifest(manifest(version=version, head=head), {"index.html"})
    assert result.edition == edition
    assert result.version == ("1.2" if version == "1.2" else "2004")


def test_third_edition_completion_threshold_is_text():
    xml = manifest(
        items='<item identifier="i1" identifierref="r1"><title>Một</title>'
        "<adlcp:completionThreshold>0.8</adlcp:completionThreshold></item>",
        version="2004 3rd Edition",
        head=HEAD_2004,
    )
    [item] = parse_manifest(xml, {"index.html"}).scos()
    assert item.completion_threshold == CompletionThreshold(0.8, True)
    assert item.sequencing is not None and item.sequencing.control_mode == ControlMode()


def test_missing_schemaversion_falls_back_on_namespaces():
    xml = manifest().replace(b"<metadata><schemaversion>1.2</schemaversion></metadata>", b"")
    result = parse_manifest(xml, {"index.html"})
    assert result.version == "1.2"
    assert [str(w) for w in result.warnings] == [
        "imsmanifest.xml:3: There is no <schemaversion>; the package was read as SCORM 1.2."
    ]
    xml = manifest(head=HEAD_2004).replace(
        b"<metadata><schemaversion>1.2</schemaversion></metadata>", b""
    )
    result = parse_manifest(xml, {"index.html"})
    assert (result.version, result.edition) == ("2004", 3)


@pytest.mark.parametrize(
    ("href", "parameters", "expected"),
    [
        ("a.html", "", "a.html"),
        ("a.html", "?x=1", "a.html?x=1"),
        ("a.html", "x=1", "a.html?x=1"),
        ("a.html?y=2", "?x=1", "a.html?y=2&x=1"),
        ("a.html?y=2", "&x=1", "a.html?y=2&x=1"),
        ("a.html?", "x=1", "a.html?x=1"),
        ("a.html", "#p3", "a.html#p3"),
        ("a.html#p1", "#p3", "a.html#p1"),
        ("a.html#p1", "?x=1", "a.html?x=1#p1"),
        ("a.html?y=2#p1", "x=1#p3", "a.html?y=2&x=1#p1"),
        ("a.html", "?x=1#p3", "a.html?x=1#p3"),
    ],
)
def test_launch_url(href, parameters, expected):
    assert launch_url(href, parameters) == expected


# --- Hostile and broken manifests -------------------------------------------------------------


def test_xxe_is_refused_and_the_file_is_not_read():
    xml = (FIXTURES / "bad" / "xxe.xml").read_bytes()
    found = problems(xml)
    assert found == [
        "imsmanifest.xml:3: The manifest declares XML entities (<!ENTITY>); "
        "they are refused for safety."
    ]
    assert "root:" not in "".join(found)


def test_parameter_entity_xxe_does_not_read_a_local_file(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER")
    xml = manifest().replace(
        b"<manifest",
        f'<!DOCTYPE manifest [<!ENTITY % s SYSTEM "{secret.as_uri()}"> %s;]>\n<manifest'.encode(),
        1,
    )
    with pytest.raises(PackageError) as error:
        parse_manifest(xml, {"index.html"})
    assert "TOP-SECRET-MARKER" not in str(error.value)
    assert "XML entities" in str(error.value) or "XML syntax error" in str(error.value)


def test_billion_laughs_is_refused_quickly():
    start = time.monotonic()
    found = problems((FIXTURES / "bad" / "billion-laughs.xml").read_bytes())
    assert time.monotonic() - start < 2
    assert found == [
        "imsmanifest.xml:3: The manifest declares XML entities (<!ENTITY>); "
        "they are refused for safety."
    ]


def test_broken_xml_gives_the_line():
    xml = manifest(items='<item identifier="i1" identifierref="r1"><title>Một</item>')
    [problem] = problems(xml)
    assert problem.startswith("imsmanifest.xml:7: XML syntax error:")


def test_unknown_schema_version():
    assert problems(manifest(version="2004 5th Edition")) == [
        "imsmanifest.xml:4: Unknown SCORM version '2004 5th Edition': expected 1.2, CAM 1.3, "
        "2004 3rd Edition or 2004 4th Edition."
    ]


def test_no_version_at_all():
    xml = (
        b'<manifest identifier="m" xmlns="http://www.imsglobal.org/xsd/imscp_v1p1">'
        b"<organizations/><resources/></manifest>"
    )
    xml = xml.replace(b"imscp_v1p1", b"imscp_v9")
    assert problems(xml) == [
        "imsmanifest.xml:1: The SCORM version cannot be told: there is no <schemaversion> "
        "and no SCORM namespace."
    ]


def test_root_must_be_manifest():
    assert problems(b"<html><body/></html>") == [
        "imsmanifest.xml:1: The root element must be <manifest>."
    ]


def test_missing_launch_file():
    assert problems(manifest(), files={"start.html"}) == [
        "imsmanifest.xml:11: Resource 'r1' launches 'index.html', which is not in the package."
    ]


def test_launch_file_differs_only_in_case():
    assert problems(manifest(), files={"Index.HTML"}) == [
        "imsmanifest.xml:11: Resource 'r1' points to 'index.html', which is not in the package; "
        "it has 'Index.HTML' (upper and lower case letters differ)."
    ]


@pytest.mark.parametrize(
    "href",
    [
        "../index.html",
        "a/../../index.html",
        "/index.html",
        "file:///etc/passwd",
        "http://example.com/x.html",
    ],
)
def test_hrefs_outside_the_package(href):
    resources = f'<resource identifier="r1" type="webcontent" adlcp:scormtype="sco" href="{href}"/>'
    assert problems(manifest(resources=resources)) == [
        f"imsmanifest.xml:11: Resource 'r1' points to '{href}', outside the package."
    ]


def test_file_href_with_dotdot():
    resources = (
        '<resource identifier="r1" type="webcontent" adlcp:scormtype="sco" href="index.html">'
        '<file href="../secret.txt"/></resource>'
    )
    assert problems(manifest(resources=resources)) == [
        "imsmanifest.xml:11: Resource 'r1' points to '../secret.txt', outside the package."
    ]


def test_every_problem_is_reported_at_once_with_lines():
    xml = (
        HEAD_12.format(version="1.2")
        + '  <organizations default="main">\n'  # 5
        + '    <organization identifier="org"><title>Khóa</title>\n'  # 6
        + '      <item identifier="i1" identifierref="r1"><title>Một</title>\n'  # 7
        + "        <adlcp:masteryscore>tám mươi</adlcp:masteryscore></item>\n"  # 8
        + '      <item identifier="i1" identifierref="r1"><title>Hai</title></item>\n'  # 9
        + '      <item identifier="i3" identifierref="nope"><title>Ba</title></item>\n'  # 10
        + '      <item identifier="i4"><title>Bốn</title></item>\n'  # 11
        + "    </organization>\n"  # 12
        + '    <organization identifier="empty"><title>Trống</title></organization>\n'  # 13
        + "  </organizations>\n"  # 14
        + "  <resources>\n"  # 15
        + '    <resource identifier="r1" type="webcontent" adlcp:scormtype="sco" href="a.htm">\n'
        + '      <file href="a.htm"/><file href="b.css"/><dependency identifierref="lib"/>\n'  # 17
        + "    </resource>\n"
        + '    <resource identifier="r1" type="webcontent" adlcp:scormtype="asset" href="c.htm"/>\n'
        + '    <resource identifier="r2" type="webcontent" adlcp:scormtype="sco"/>\n'  # 20
        + "  </resources>\n</manifest>\n"
    ).encode()
    assert problems(xml, files={"a.htm", "c.htm"}) == [
        "imsmanifest.xml:17: Resource 'r1' lists 'b.css', which is not in the package.",
        "imsmanifest.xml:19: The identifier 'r1' is used more than once (first on line 16).",
        "imsmanifest.xml:20: Resource 'r2' is a SCO but has no href to launch.",
        "imsmanifest.xml:16: Resource 'r1' depends on 'lib', which does not exist.",
        "imsmanifest.xml:8: adlcp:masteryscore must be a number from 0 to 100, not 'tám mươi'.",
        "imsmanifest.xml:9: The identifier 'i1' is used more than once (first on line 7).",
        "imsmanifest.xml:10: Item 'i3' refers to resource 'nope', which does not exist.",
        "imsmanifest.xml:11: Item 'i4' has neither a resource to launch nor sub-items.",
        "imsmanifest.xml:13: Organization 'empty' has no items.",
        "imsmanifest.xml:5: The default organization 'main' does not exist.",
    ]


def test_no_organization():
    xml = manifest().replace(b'<organizations default="org">', b"<organizations>")
    xml = xml.replace(b'<organization identifier="org">', b"<!--").replace(
        b"</organization>\n", b"-->\n"
    )
    assert problems(xml) == [
        "imsmanifest.xml:5: The package has no organization, so there is nothing to take."
    ]


def test_sequencing_problems_and_idref_to_nothing():
    items = (
        '<item identifier="i1" identifierref="r1"><title>Một</title>\n'
        '        <imsss:sequencing IDRef="missing"><imsss:sequencingRules>\n'
        "          <imsss:preConditionRule><imsss:ruleConditions>"
        '<imsss:ruleCondition condition="satisfied"/></imsss:ruleConditions>\n'
        '            <imsss:ruleAction action="exitAll"/></imsss:preConditionRule>\n'
        '        </imsss:sequencingRules><imsss:limitConditions attemptLimit="two"/>\n'
        '        <imsss:controlMode flow="yes"/></imsss:sequencing></item>'
    )
    xml = manifest(items=items, version="2004 4th Edition", head=HEAD_2004).replace(
        b'adlcp:scormtype="sco"', b'adlcp:scormType="sco"'
    )
    assert problems(xml) == [
        "imsmanifest.xml:9: The sequencing 'missing' named by IDRef is not in the "
        "sequencingCollection.",
        "imsmanifest.xml:11: 'exitAll' is not a valid action; expected one of: skip, disabled, "
        "hiddenFromChoice, stopForwardTraversal.",
        "imsmanifest.xml:12: attemptLimit must be a whole number, not 'two'.",
        "imsmanifest.xml:13: flow must be true or false, not 'yes'.",
    ]


def test_time_limit_action_vocabulary():
    items = (
        '<item identifier="i1" identifierref="r1"><title>Một</title>'
        "<adlcp:timelimitaction>stop</adlcp:timelimitaction></item>"
    )
    assert problems(manifest(items=items)) == [
        "imsmanifest.xml:7: 'stop' is not a valid adlcp:timeLimitAction; expected one of: "
        "exit,message, exit,no message, continue,message, continue,no message."
    ]


def test_entities_in_a_utf16_manifest_are_refused_too():
    xml = (
        (FIXTURES / "bad" / "xxe.xml").read_text().replace('encoding="UTF-8"', 'encoding="UTF-16"')
    )
    found = problems(xml.encode("utf-16"))
    assert found == [
        "imsmanifest.xml: The manifest declares XML entities (<!ENTITY>); "
        "they are refused for safety."
    ]

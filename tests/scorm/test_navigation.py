"""Navigation decisions from the stored description: table of contents, flow, skip rules,
remediation loops, forward-only, attempt limits and hidden items."""

from __future__ import annotations

from pathlib import Path

import pytest

from scorm.manifest import parse_manifest
from scorm.package import read_package
from scorm.sequencing.navigation import Navigator, ScoStatus, describe

SHARED = Path(__file__).resolve().parents[3] / "shared" / "scorm-packages"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

PASSED = ScoStatus(completion="completed", success="passed", attempts=1, done=True)
FAILED = ScoStatus(completion="completed", success="failed", attempts=1, done=True)
SEEN = ScoStatus(completion="completed", attempts=1, done=True)


def _manifest(organization_body: str, resources: str = "") -> dict:
    xml = f"""<?xml version="1.0"?>
<manifest identifier="m" xmlns="http://www.imsglobal.org/xsd/imscp_v1p1"
  xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_v1p3" xmlns:imsss="http://www.imsglobal.org/xsd/imsss">
  <metadata><schema>ADL SCORM</schema><schemaversion>2004 4th Edition</schemaversion></metadata>
  <organizations default="o"><organization identifier="o"><title>T</title>
  {organization_body}
  </organization></organizations>
  <resources>
    <resource identifier="r" type="webcontent" adlcp:scormType="sco" href="a.html">
      <file href="a.html"/></resource>
    {resources}
  </resources>
</manifest>"""
    return describe(parse_manifest(xml.encode(), {"a.html"}))


def _items(*names: str, extra: str = "") -> str:
    return "".join(
        f'<item identifier="{n}" identifierref="r"><title>{n.upper()}</title>{extra}</item>'
        for n in names
    )


FLOW = '<imsss:sequencing><imsss:controlMode choice="true" flow="true"/></imsss:sequencing>'


def test_2004_without_sequencing_offers_choice_but_no_flow():
    # The SCORM 2004 defaults: choice="true", flow="false".
    nav = Navigator(_manifest(_items("a", "b")), {})
    assert nav.may_choose("b") and nav.next("a") is None and nav.previous("b") is None


def test_flow_follows_the_tree_and_every_part_may_be_chosen():
    nav = Navigator(_manifest(_items("a", "b", "c") + FLOW), {})
    assert nav.start() == "a"
    assert nav.next("a")["identifier"] == "b"
    assert nav.previous("b")["identifier"] == "a"
    assert nav.previous("a") is None and nav.next("c") is None
    assert [e["enabled"] for e in nav.toc("a")] == [True, True, True]
    # Launching without a choice opens the first part not yet done.
    assert Navigator(_manifest(_items("a", "b", "c") + FLOW), {"a": SEEN}).start() == "b"


def test_forward_only_and_no_choice():
    control = (
        '<imsss:sequencing><imsss:controlMode choice="false" flow="true" forwardOnly="true"/>'
        "</imsss:sequencing>"
    )
    nav = Navigator(_manifest(_items("a", "b") + control), {})
    assert nav.previous("b") is None
    assert nav.next("a")["identifier"] == "b"
    assert not nav.may_choose("b") and nav.may_deliver("b")
    assert [e["enabled"] for e in nav.toc("a")] == [False, False]


def test_flow_off_means_no_previous_or_next():
    control = '<imsss:sequencing><imsss:controlMode choice="true" flow="false"/></imsss:sequencing>'
    nav = Navigator(_manifest(_items("a", "b") + control), {})
    assert nav.next("a") is None and nav.previous("b") is None
    assert nav.may_choose("b")


def test_attempt_limit_disables_and_hidden_from_choice_hides():
    limited = '<imsss:sequencing><imsss:limitConditions attemptLimit="1"/></imsss:sequencing>'
    hidden = (
        "<imsss:sequencing><imsss:sequencingRules><imsss:preConditionRule>"
        '<imsss:ruleConditions><imsss:ruleCondition condition="always"/></imsss:ruleConditions>'
        '<imsss:ruleAction action="hiddenFromChoice"/></imsss:preConditionRule>'
        "</imsss:sequencingRules></imsss:sequencing>"
    )
    body = (
        '<item identifier="a" identifierref="r"><title>A</title>' + limited + "</item>"
        '<item identifier="b" identifierref="r"><title>B</title>' + hidden + "</item>"
        '<item identifier="c" identifierref="r"><title>C</title></item>'
    )
    nav = Navigator(_manifest(body + FLOW), {"a": ScoStatus(attempts=1)})
    assert nav.disabled("a") and not nav.may_deliver("a")
    assert nav.start() == "b"
    assert [e["identifier"] for e in nav.toc("b")] == ["a", "c"]


@pytest.mark.skipif(
    not SHARED.is_dir(), reason=f"SHARED SCORM PACKAGES SKIPPED: {SHARED} is missing"
)
class TestSimpleRemediation:
    """Rustici's remediation sample: content is skipped once its quiz is passed, and the end
    of the course loops back to what is not yet mastered."""

    @pytest.fixture
    def manifest(self):
        data = (SHARED / "SequencingSimpleRemediation_SCORM20043rdEdition.zip").read_bytes()
        return describe(read_package(data))

    def test_first_pass_goes_through_everything_in_order(self, manifest):
        nav = Navigator(manifest, {})
        order, current = [], nav.start()
        while current:
            order.append(current)
            following = nav.next(current)
            current = following["identifier"] if following else None
            if len(order) > 20:
                break
        assert order[:8] == [
            "playing_item",
            "etuqiette_item",
            "handicapping_item",
            "havingfun_item",
            "test_1",
            "test_2",
            "test_3",
            "test_4",
        ]

    def test_a_failed_quiz_sends_the_learner_back_to_its_content_only(self, manifest):
        statuses = {
            "playing_item": SEEN,
            "etuqiette_item": SEEN,
            "handicapping_item": SEEN,
            "havingfun_item": SEEN,
            "test_1": PASSED,
            "test_2": FAILED,
            "test_3": PASSED,
            "test_4": PASSED,
        }
        nav = Navigator(manifest, statuses)
        # Playing is mastered (its quiz passed): its content is skipped; Etiquette is not.
        assert nav.skipped("playing_item") and not nav.skipped("etuqiette_item")
        assert nav.next("test_4")["identifier"] == "etuqiette_item"
        assert nav.next("etuqiette_item")["identifier"] == "test_2"

    def test_everything_mastered_ends_the_course(self, manifest):
        statuses = {
            i: SEEN
            for i in ("playing_item", "etuqiette_item", "handicapping_item", "havingfun_item")
        }
        statuses.update({f"test_{n}": PASSED for n in range(1, 5)})
        nav = Navigator(manifest, statuses)
        assert nav.next("test_4") is None
        assert not any(e["enabled"] for e in nav.toc("test_4"))


@pytest.mark.skipif(
    not SHARED.is_dir(), reason=f"SHARED SCORM PACKAGES SKIPPED: {SHARED} is missing"
)
def test_a_1_2_package_of_many_parts_flows_in_tree_order():
    data = (SHARED / "ContentPackagingOneFilePerSCO_SCORM12.zip").read_bytes()
    manifest = describe(read_package(data))
    nav = Navigator(manifest, {})
    ids = [s["identifier"] for s in manifest["scos"]]
    assert len(ids) > 10
    assert nav.next(ids[0])["identifier"] == ids[1]
    assert all(e["enabled"] for e in nav.toc(ids[0]) if e["sco"])

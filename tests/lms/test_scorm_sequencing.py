"""SCORM 2004 packages played through the SN engine (lms/services/tracking/sequencing.py), at
the HTTP level: what the lesson page delivers (start, resume all, choice), what its controls
and a SCO's Terminate ask, adl.nav.request_valid, and the lesson's progress from the engine's
root. The packages are tests/scorm/fixtures/sequencing/<name>/imsmanifest.xml with the test
SCO of tests/scorm/fixtures/seqsco/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from lms.app.storage import LocalStorage
from lms.models import ActivityProgress, ProgressStatus, Registration, ScormPackage
from lms.services import catalog
from lms.services.tracking import sequencing
from tests.factories import zip_bytes
from tests.lms.test_scorm_tracking import _token, runtime, send

FIXTURES = Path(__file__).resolve().parents[1] / "scorm" / "fixtures"

PASSED = [
    ["cmi.completion_status", "completed"],
    ["cmi.success_status", "passed"],
    ["cmi.score.scaled", "0.9"],
]
FAILED = [
    ["cmi.completion_status", "completed"],
    ["cmi.success_status", "failed"],
    ["cmi.score.scaled", "0.2"],
]


def sequencing_package(name: str) -> bytes:
    """A sequencing fixture's manifest with the test SCO, as a zip."""
    sco = FIXTURES / "seqsco"
    return zip_bytes(
        {
            "imsmanifest.xml": (FIXTURES / "sequencing" / name / "imsmanifest.xml").read_bytes(),
            "sco.html": (sco / "sco.html").read_bytes(),
            "sco.js": (sco / "sco.js").read_bytes(),
        }
    )


@pytest.fixture
def learner(make):
    user = make.learner(make.unit(), username="hv.seq", full_name="Trần Thị Hoa")
    make.commit()
    return user


@pytest.fixture
def course(make, session, app, learner):
    def build(name: str):
        storage = LocalStorage(app.config["HOCVU_FILES_DIR"])
        version = catalog.scorm_course(session, None, sequencing_package(name), storage)
        catalog.publish(session, None, version)
        make.enrol(learner, version)
        make.commit()
        return version

    return build


def lesson_url(version) -> str:
    activity = next(a for a in version.activities if a.kind == "scorm")
    return f"/courses/{version.course.slug}/{activity.key}"


def page(client, version, query: str = "") -> str:
    response = client.get(lesson_url(version) + query)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def launched(html: str) -> int | None:
    """The index of the SCO the page launches (None: nothing)."""
    match = re.search(r'data-runtime-url="/player/activities/\d+/scos/(\d+)/runtime"', html)
    return int(match.group(1)) if match else None


def toc_links(html: str) -> list[str]:
    """The parts the table of contents offers as links (not hidden)."""
    return re.findall(r'<a href="[^"]*\?sco=([^"]+)" data-choice>', html)


def controls(html: str) -> set[str]:
    """The navigation controls shown (not hidden)."""
    return set(re.findall(r'data-nav-control="(\w+)">', html))


def control(client, version, request: str, target: str | None = None):
    activity = next(a for a in version.activities if a.kind == "scorm")
    form = {"request": request, "csrf_token": _token(client)}
    if target:
        form["target"] = target
    return client.post(f"/player/activities/{activity.id}/navigate", data=form)


def progress_of(session) -> ActivityProgress:
    session.rollback()
    return session.scalars(select(ActivityProgress)).one()


def test_forced_order_first_visit_starts_and_a_disabled_part_is_no_link(client, login, course):
    """SN book OP.1 with start (NB.2.1, SB.2.5): a first visit delivers part 1. Part 2's
    pre-condition rule "disabled" (its objective reads part 1's global objective, SN 3.10.2
    / UP.2.1) holds while part 1 is not satisfied: part 2 and 3 are not links, and continue
    is not offered (flow stops at the disabled part, SB.2.2-2)."""
    version = course("ordered")
    login("hv.seq")
    html = page(client, version)
    assert launched(html) == 0
    assert toc_links(html) == []  # part 1 is the current one; 2 and 3 disabled
    assert html.count('aria-disabled="true"') == 2
    assert controls(html) == {"suspendAll"}


def test_a_choice_of_a_disabled_part_says_why_and_launches_nothing(client, login, course):
    """SB.2.9 then DB.1.1-3 (Check Activity: the disabled rule): ?sco=<part 2> before part 1
    is done is refused in the learner's words, and no SCO is launched."""
    version = course("ordered")
    login("hv.seq")
    page(client, version)
    html = page(client, version, "?sco=part_2")
    assert "Phần này chưa mở: hãy học xong phần trước." in html
    assert launched(html) is None


def test_terminate_with_continue_delivers_the_next_part_and_the_lesson_completes(
    client, login, course, session
):
    """adl.nav.request = continue at Terminate (RTE 4.4.1, SN OP.1 with continue): the
    server records the SCO's report, exits part 1 (its satisfied status written to the
    global objective) and delivers part 2, which the lesson page launches. After part 3 the
    root is satisfied by rollup (RB.1.2): the lesson is done, and stays done when reopened."""
    version = course("ordered")
    login("hv.seq")
    assert launched(page(client, version)) == 0
    for index in range(3):
        rt = runtime(client, version, index)
        valid = rt["launch"]["nav_valid"]["adl.nav.request_valid.continue"]
        # Not before the part is satisfied; from the last part continue ends the session.
        assert valid == ("true" if index == 2 else "false")
        answer = send(client, rt, 1, PASSED).get_json()
        if index < 2:
            assert answer["nav_valid"]["adl.nav.request_valid.continue"] == "true"
            assert answer["nav_valid"]["adl.nav.request_valid.choice.{target=part_3}"] == (
                "true" if index == 1 else "false"
            )
        answer = send(client, rt, 2, [*PASSED, ["adl.nav.request", "continue"]], True).get_json()
        if index < 2:
            assert answer["navigation"] == {"url": lesson_url(version), "end": False}
            assert launched(page(client, version)) == index + 1
        else:  # continue past the last part ends the session (SB.2.7 -> SB.2.1 step 3.1)
            assert answer["navigation"] == {"url": f"/courses/{version.course.slug}", "end": True}
    assert progress_of(session).status == ProgressStatus.DONE
    html = page(client, version)  # a new session: start again on part 1
    assert launched(html) == 0
    assert progress_of(session).status == ProgressStatus.DONE


def test_after_terminate_without_a_request_nothing_is_delivered(client, login, course, session):
    """RTE 4.4.1: a SCO that terminates with adl.nav.request _none_ asks for nothing; the
    LMS delivers nothing until the learner asks (the commit's answer has no navigation and
    the registration no delivery). The learner's continue (the page's control) then runs in
    the engine and delivers part 2."""
    version = course("ordered")
    login("hv.seq")
    page(client, version)
    rt = runtime(client, version, 0)
    answer = send(client, rt, 1, PASSED, terminated=True).get_json()
    assert answer["navigation"] is None
    assert answer["nav_valid"]["adl.nav.request_valid.continue"] == "true"
    session.rollback()
    assert session.scalars(select(Registration)).one().delivered is None
    response = control(client, version, "continue")
    assert response.status_code == 302 and response.location.endswith(lesson_url(version))
    assert launched(page(client, version)) == 1


def test_a_new_visit_after_a_terminate_without_request_opens_the_part_again(client, login, course):
    """LMS choice: opening the lesson page anew is the learner asking for the part they were
    in (a choice of the current activity, SB.2.9): a SCO that ended with cmi.exit = suspend
    resumes (cmi.entry = resume, its data kept). Where choice is off, the page waits for
    the controls instead (the forced-order package allows choice)."""
    version = course("ordered")
    login("hv.seq")
    page(client, version)
    rt = runtime(client, version, 0)
    data = [["cmi.location", "trang-3"], ["cmi.exit", "suspend"]]
    assert send(client, rt, 1, data, terminated=True).get_json()["navigation"] is None
    html = page(client, version)
    assert launched(html) == 0
    resumed = runtime(client, version, 0)
    assert resumed["launch"]["entry"] == "resume"
    assert ["cmi.location", "trang-3"] in resumed["stored"]


def test_where_nothing_may_be_chosen_a_new_visit_waits_for_the_controls(client, login, course):
    """The forced sequential package (choice off, NB.2.1-10): after a Terminate without a
    request, a new visit launches nothing and offers continue."""
    version = course("forced-sequential")
    login("hv.seq")
    page(client, version)
    rt = runtime(client, version, 0)
    send(client, rt, 1, [["cmi.completion_status", "completed"]], terminated=True)
    html = page(client, version)
    assert launched(html) is None
    assert "Hãy chọn một phần trong danh sách" in html
    assert "continue" in controls(html)


def test_exit_the_lesson_suspends_all_and_the_next_visit_resumes(client, login, course):
    """ "Exit the lesson" is suspendAll (TB.2.3: the current activity becomes the suspended
    one, the session ends); the next visit sends resumeAll (NB.2.1, SB.2.6), delivering the
    suspended part, whose SCO resumes (cmi.entry = resume)."""
    version = course("ordered")
    login("hv.seq")
    page(client, version)
    rt = runtime(client, version, 0)
    send(client, rt, 1, PASSED)
    send(client, rt, 2, [*PASSED, ["cmi.exit", "suspend"], ["cmi.location", "p4"]], True)
    control(client, version, "continue")
    rt = runtime(client, version, 1)
    send(client, rt, 1, [["cmi.exit", "suspend"], ["cmi.location", "trang-2"]])
    response = control(client, version, "suspendAll")
    assert response.status_code == 302
    assert response.location.endswith(f"/courses/{version.course.slug}")
    html = page(client, version)
    assert launched(html) == 1
    resumed = runtime(client, version, 1)
    assert resumed["launch"]["entry"] == "resume"
    assert ["cmi.location", "trang-2"] in resumed["stored"]


def test_a_control_the_engine_refuses_changes_nothing(client, login, course, session):
    """Previous from the first part is refused (SB.2.1-3, flow past the tree's start): the
    learner is told, the delivered part stays; a request the page never offers is a 400."""
    version = course("ordered")
    login("hv.seq")
    page(client, version)
    response = control(client, version, "previous")
    assert response.status_code == 302
    html = client.get(response.location).get_data(as_text=True)
    assert launched(html) == 0
    assert "Hiện chưa mở được phần này." in html  # SB.2.1-3: nothing before the first part
    assert control(client, version, "dance").status_code == 400


def test_pretest_passed_skips_the_content_and_completes_the_lesson(client, login, course, session):
    """Pre-test / post-test (SN book's example; the Golf sample's pattern): passing the
    pre-test writes the shared mastery objective; continue then skips the content and the
    post-test (their skip pre-condition reads it, SB.2.2) and ends the session; the root is
    satisfied by its "any satisfied" rollup rule (RB.1.4), so the lesson is done."""
    version = course("pretest-posttest")
    login("hv.seq")
    assert launched(page(client, version)) == 0
    rt = runtime(client, version, 0)
    answer = send(client, rt, 1, [*PASSED, ["adl.nav.request", "continue"]], True).get_json()
    assert answer["navigation"]["end"] is True
    assert progress_of(session).status == ProgressStatus.DONE


def test_pretest_failed_leads_through_the_content_to_the_post_test(client, login, course, session):
    """A failed pre-test leaves the mastery objective not satisfied: flow enters the content
    (lesson 1, 2) and the post-test, whose pass satisfies the root."""
    version = course("pretest-posttest")
    login("hv.seq")
    page(client, version)
    order = []
    rt = runtime(client, version, 0)
    send(client, rt, 1, [*FAILED, ["adl.nav.request", "continue"]], True)
    for _ in range(3):
        index = launched(page(client, version))
        order.append(index)
        rt = runtime(client, version, index)
        send(client, rt, 1, [*PASSED, ["adl.nav.request", "continue"]], True)
    assert order == [1, 2, 3]
    assert progress_of(session).status == ProgressStatus.DONE


def test_random_test_delivers_the_selected_questions_only(client, login, course, session):
    """randomizationControls selectCount=2, selection "once" (SR.1, SR.2 at the first
    attempt): the test cluster holds two of its four questions, in the table of contents
    and in what flow delivers; choosing the cluster delivers its first selected question."""
    version = course("random-test")
    login("hv.seq")
    html = page(client, version)
    assert launched(html) == 0
    shown = re.findall(r'data-toc="(q\d)"', html)
    assert len(shown) == 2
    ids = [s["identifier"] for s in session.scalars(select(ScormPackage)).one().manifest["scos"]]
    rt = runtime(client, version, 0)
    done = [["cmi.completion_status", "completed"], ["adl.nav.request", "continue"]]
    send(client, rt, 1, done, True)
    delivered = []
    for _ in range(2):
        index = launched(page(client, version))
        delivered.append(ids[index])
        rt = runtime(client, version, index)
        send(client, rt, 1, [*PASSED, ["adl.nav.request", "continue"]], True)
    assert delivered == shown
    assert ids[launched(page(client, version))] == "summary"


def test_a_package_stored_before_the_engine_is_described_again(client, login, course, session):
    """A package stored before the engine lacks its sequencing definition in the stored
    description: the first play reads its stored files again and keeps the new description
    (the disabled rule then holds, as for a package stored today)."""
    version = course("ordered")
    package = session.scalars(select(ScormPackage)).one()
    old = dict(package.manifest)
    tree = dict(old["tree"])
    tree.pop("hide_lms_ui")
    package.manifest = {**old, "tree": tree}
    session.commit()
    sequencing._TREES.pop(package.sha256, None)
    login("hv.seq")
    html = page(client, version, "?sco=part_2")
    assert "Phần này chưa mở" in html
    session.expire_all()
    assert "hide_lms_ui" in session.scalars(select(ScormPackage)).one().manifest["tree"]


def test_a_stale_registration_is_not_stored_over_a_newer_one(client, login, course, session):
    """Two tabs: a change made from an older version of the registration is refused
    (optimistic concurrency); `navigate` then runs again on the newer state."""
    version = course("ordered")
    login("hv.seq")
    page(client, version)
    reg = session.scalars(select(Registration)).one()
    assert reg.delivered == "part_1" and reg.version == 1
    stale = Registration(id=reg.id, version=0)
    engine = sequencing._engine(sequencing.tree_of(session, reg_package(session), None), reg)
    with pytest.raises(sequencing.Conflict):
        sequencing._store(session, stale, engine, None)
    session.rollback()
    assert session.scalars(select(Registration)).one().version == 1


def reg_package(session) -> ScormPackage:
    return session.scalars(select(ScormPackage)).one()


def test_hide_lms_ui_hides_the_controls_the_sco_asks_to_hide(
    client, login, make, session, app, learner
):
    """adlnav:hideLMSUI (CAM 5.1.3.6; SN 4th ed. presentation): lesson 1 of the package hides
    continue and previous; the engine allows continue there (its adl.nav.request_valid says
    true), yet the page shows no Next button, and shows it on lesson 2, which hides nothing."""
    from tests.lms.test_scorm_tracking import package_bytes

    storage = LocalStorage(app.config["HOCVU_FILES_DIR"])
    version = catalog.scorm_course(session, None, package_bytes("scorm2004-multi"), storage)
    catalog.publish(session, None, version)
    make.enrol(learner, version)
    make.commit()
    login("hv.seq")
    html = page(client, version)
    assert launched(html) == 0
    rt = runtime(client, version, 0)
    assert rt["launch"]["nav_valid"]["adl.nav.request_valid.continue"] == "true"
    assert 'data-nav-control="continue"' not in html  # not even hidden
    send(client, rt, 1, [["cmi.progress_measure", "0.9"]], terminated=True)
    assert control(client, version, "continue").status_code == 302
    html = page(client, version)
    assert launched(html) == 1
    assert "continue" in controls(html)


def test_choosing_a_cluster_delivers_what_the_engine_delivers(client, login, course):
    """SB.2.9 with a cluster target: choice delivers the first leaf flow reaches inside it
    (the content cluster's first lesson); the cluster is a link in the contents."""
    version = course("pretest-posttest")
    login("hv.seq")
    html = page(client, version)
    assert "content" in toc_links(html)
    assert launched(page(client, version, "?sco=content")) == 1


def test_an_admins_correction_of_every_part_still_completes_the_lesson(
    client, login, course, session, make, learner
):
    """An admin's correction of a SCO's status (with a reason) is a person's decision the
    engine cannot see: when every part is then satisfied, the lesson is done, as for SCORM
    1.2 packages; the engine's own rollup alone leaves it open here (part 3 incomplete)."""
    from lms.models import Role, ScoState
    from lms.services import tracking

    version = course("ordered")
    login("hv.seq")
    page(client, version)
    for index in range(3):
        rt = runtime(client, version, index)
        data = PASSED if index < 2 else [["cmi.completion_status", "incomplete"]]
        send(
            client, rt, 1, [*data, ["adl.nav.request", "continue" if index < 2 else "_none_"]], True
        )
    assert progress_of(session).status != ProgressStatus.DONE
    admin = make.user(
        learner.org_unit, username="qt.seq", roles=[(Role.UNIT_ADMIN, learner.org_unit)]
    )
    make.commit()
    state = session.scalars(select(ScoState).where(ScoState.sco == "part_3")).one()
    tracking.override(session, admin, state, "completed", "passed", "Gói chấm sai")
    session.commit()
    assert progress_of(session).status == ProgressStatus.DONE


def test_a_part_starts_with_the_objectives_it_reads_from_global_objectives(client, login, course):
    """RTE 4.2 / SN 4.2 mapping: before a launch the LMS initialises cmi.objectives from the
    tracking model, through the objective maps: part 2's objective "previous" reads part 1's
    global objective, so part 2 starts knowing it passed."""
    version = course("ordered")
    login("hv.seq")
    page(client, version)
    rt = runtime(client, version, 0)
    send(client, rt, 1, [*PASSED, ["adl.nav.request", "continue"]], True)
    page(client, version)
    stored = dict(runtime(client, version, 1)["stored"])
    index = next(k.split(".")[2] for k, v in stored.items() if v == "previous")
    assert stored[f"cmi.objectives.{index}.success_status"] == "passed"


def test_the_scos_own_requests_choice_jump_and_exit_all(client, login, course, session):
    """adl.nav.request at Terminate (RTE 4.4.1): {target=ID}choice and {target=ID}jump
    deliver their target (jump without the choice checks, SB.2.13); exitAll ends the
    session (TB.2.3), back to the course page; a choice the engine refuses delivers
    nothing."""
    version = course("pretest-posttest")
    login("hv.seq")
    page(client, version)
    rt = runtime(client, version, 0)
    data = [*FAILED, ["adl.nav.request", "{target=lesson_2}choice"]]
    assert send(client, rt, 1, data, True).get_json()["navigation"]["url"] == lesson_url(version)
    assert launched(page(client, version)) == 2
    rt = runtime(client, version, 2)
    data = [["adl.nav.request", "{target=pretest}jump"]]
    assert send(client, rt, 1, data, True).get_json()["navigation"]["end"] is False
    assert launched(page(client, version)) == 0
    rt = runtime(client, version, 0)
    answer = send(client, rt, rt["seq"] + 1, [["adl.nav.request", "exitAll"]], True).get_json()
    assert answer["navigation"] == {"url": f"/courses/{version.course.slug}", "end": True}


def test_a_request_the_engine_refuses_at_terminate_delivers_nothing(client, login, course):
    """{target=part_3}choice from part 1 of the forced order: part 3 is disabled (DB.1.1-3);
    the player stays where it is and nothing is delivered."""
    version = course("ordered")
    login("hv.seq")
    page(client, version)
    rt = runtime(client, version, 0)
    answer = send(client, rt, 1, [["adl.nav.request", "{target=part_3}choice"]], True)
    assert answer.get_json()["navigation"] == {"url": None, "end": False, "refused": "DB.1.1-3"}


def test_a_single_part_package_has_no_table_of_contents(client, login, make, session, app, learner):
    """A 2004 package of one SCO plays through the engine too (start delivers it) without a
    list of parts, as before."""
    manifest = (FIXTURES / "sequencing" / "ordered" / "imsmanifest.xml").read_text()
    one = re.sub(
        r'\s*<item identifier="part_2".*?</item>\s*<item identifier="part_3".*?</item>',
        "",
        manifest,
        flags=re.S,
    )
    assert one.count("<item ") == 1
    data = zip_bytes({"imsmanifest.xml": one.encode(), "sco.html": b"<p>x</p>", "sco.js": b""})
    storage = LocalStorage(app.config["HOCVU_FILES_DIR"])
    version = catalog.scorm_course(session, None, data, storage)
    catalog.publish(session, None, version)
    make.enrol(learner, version)
    make.commit()
    login("hv.seq")
    html = page(client, version)
    assert launched(html) == 0
    assert "player-toc" not in html
    assert "with-toc" not in html


def test_a_terminate_landing_while_the_page_is_made_still_opens_the_part(
    client, login, course, session, monkeypatch
):
    """A reload races the SCO's last commit (its Terminate goes out as the page goes): when it
    lands between the page's look at the registration and its reading of what to launch, the
    page opens the part again (LMS choice of the current activity) instead of launching
    nothing and asking the learner to choose a part."""
    version = course("ordered")
    login("hv.seq")
    page(client, version)
    rt = runtime(client, version, 0)
    send(client, rt, 1, [["cmi.location", "trang-3"], ["cmi.exit", "suspend"]])
    real = sequencing.page_request
    landed = []

    def terminate_lands_after_the_look(reg):
        answer = real(reg)
        if not landed:
            landed.append(1)
            with session.get_bind().engine.begin() as other:  # the Terminate's request
                other.execute(
                    Registration.__table__.update()
                    .where(Registration.__table__.c.id == reg.id)
                    .values(delivered=None)
                )
        return answer

    monkeypatch.setattr(sequencing, "page_request", terminate_lands_after_the_look)
    html = page(client, version)
    assert landed and launched(html) == 0
    assert '<p class="notice">Hãy chọn một phần' not in html

"""SCORM 2004 shared data buckets (adl.data) in the LMS: launched with what the learner's SCOs
stored, saved from commits where the manifest's map allows it, shared between SCOs (and,
global to the system, between packages), kept across attempts, and the learner's alone."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lms.app.storage import LocalStorage
from lms.models import SharedData
from lms.services import catalog
from tests.conftest import LoggedIn
from tests.lms.test_scorm_tracking import (
    FIXTURES,
    _token,
    enrolled,
    package_bytes,
    runtime,
    send,
)

NOTES, ANSWERS = "vn.hocvu.notes", "vn.hocvu.answers"


@pytest.fixture
def files_dir(app):
    return app.config["HOCVU_FILES_DIR"]


@pytest.fixture
def learner(make):
    user = make.learner(make.unit(), username="hv.scorm", full_name="Nguyễn Văn Bình")
    make.commit()
    return user


def _buckets(rt: dict) -> dict[str, tuple]:
    return {r["id"]: (r["store"], r["read"], r["write"]) for r in rt["launch"]["shared_data"]}


def _another_package(identifier: str, organization: bytes = b"") -> bytes:
    """shared2004 as another package (another identifier and title: another course)."""
    manifest = (FIXTURES / "shared2004" / "imsmanifest.xml").read_bytes()
    manifest = manifest.replace(b"vn.hocvu.test.shared2004", identifier.encode())
    manifest = manifest.replace(b"<title>Ghi ch", f"<title>{identifier} ".encode() + b"Ghi ch", 1)
    manifest = manifest.replace(
        b'<organization identifier="org"', b'<organization identifier="org"' + organization
    )
    return package_bytes("shared2004", **{"imsmanifest.xml": manifest})


def _course_of(make, session, files_dir, learner, data: bytes):
    version = catalog.scorm_course(session, None, data, LocalStorage(files_dir))
    catalog.publish(session, None, version)
    make.enrol(learner, version)
    make.commit()
    return version


def test_two_scos_share_buckets_as_their_maps_allow(
    client, login, make, session, files_dir, learner
):
    """4th ed. RTE 4.3 (adl.data) and CAM adlcp:map: a bucket is found by its targetID for
    the learner; readSharedData=false keeps its store from the SCO, writeSharedData=false
    refuses a write (404) and the bucket keeps its value."""
    version = enrolled(make, session, files_dir, learner, "shared2004")
    login("hv.scorm")
    first = runtime(client, version, 0)
    assert first["launch"]["shared_data"] == [
        {"id": NOTES, "store": None, "read": True, "write": True},
        {"id": ANSWERS, "store": None, "read": True, "write": True},
    ]
    data = [["adl.data.0.store", "Ghi chú: mật khẩu 12 ký tự"], ["adl.data.1.store", "a,b"]]
    assert send(client, first, 1, data, terminated=True).get_json()["refused"] == []

    second = runtime(client, version, 1)
    assert _buckets(second) == {
        ANSWERS: (None, False, True),  # write-only: its store is not sent
        NOTES: ("Ghi chú: mật khẩu 12 ký tự", True, False),
    }
    data = [["adl.data.0.store", "c"], ["adl.data.1.store", "overwritten"]]
    response = send(client, second, 1, data, terminated=True).get_json()
    assert response["refused"] == [["adl.data.1.store", "overwritten", 404]]

    again = runtime(client, version, 0)
    assert _buckets(again) == {
        NOTES: ("Ghi chú: mật khẩu 12 ký tự", True, True),
        ANSWERS: ("c", True, True),
    }
    assert not any(k.startswith("adl.data.") for k, _ in again["stored"])
    session.rollback()
    rows = session.scalars(select(SharedData).order_by(SharedData.id)).all()
    assert [(r.target_id, r.store, r.scope, r.user_id) for r in rows] == [
        (NOTES, "Ghi chú: mật khẩu 12 ký tự", "", learner.id),
        (ANSWERS, "c", "", learner.id),
    ]


def test_an_old_copy_in_a_later_commit_does_not_undo_another_scos_write(
    client, login, make, session, files_dir, learner
):
    """Each commit carries the session's whole state: a store the session wrote earlier and
    did not change since is not written again over what another SCO stored meanwhile."""
    version = enrolled(make, session, files_dir, learner, "shared2004")
    login("hv.scorm")
    token = _token(client)
    first = runtime(client, version, 0)
    send(client, first, 1, [["adl.data.1.store", "from part 1"]], token=token)
    second = runtime(client, version, 1)  # part 2, another SCO: answers is write-only there
    send(client, second, 1, [["adl.data.0.store", "from part 2"]], token=token)
    later = [["adl.data.1.store", "from part 1"], ["cmi.location", "3"]]
    assert send(client, first, 2, later, token=token).get_json()["taken"] is True
    session.rollback()
    row = session.scalars(select(SharedData).where(SharedData.target_id == ANSWERS)).one()
    assert row.store == "from part 2"


def test_buckets_outlast_attempts_are_global_by_default_and_each_learners_own(
    app, client, login, make, session, files_dir, learner
):
    """CAM 4th ed. adlcp:sharedDataGlobalToSystem (default true): another package with the
    same targetID shares the bucket, unless its organization says false; a new attempt keeps
    the buckets; another learner has buckets of their own."""
    version = enrolled(make, session, files_dir, learner, "shared2004")
    login("hv.scorm")
    rt = runtime(client, version, 0)
    data = [["adl.data.0.store", "notes v1"], ["cmi.exit", "normal"]]
    send(client, rt, 1, data, terminated=True)
    new_attempt = runtime(client, version, 0)
    assert new_attempt["launch"]["entry"] == "ab-initio"
    assert _buckets(new_attempt)[NOTES][0] == "notes v1"

    other = _course_of(make, session, files_dir, learner, _another_package("vn.hocvu.other"))
    assert _buckets(runtime(client, other, 0))[NOTES][0] == "notes v1"

    local_package = _another_package("vn.hocvu.local", b' adlcp:sharedDataGlobalToSystem="false"')
    local = _course_of(make, session, files_dir, learner, local_package)
    local_rt = runtime(client, local, 0)
    assert _buckets(local_rt)[NOTES][0] is None
    send(client, local_rt, 1, [["adl.data.0.store", "local notes"]])
    assert _buckets(runtime(client, local, 1))[NOTES][0] == "local notes"
    assert _buckets(runtime(client, version, 0))[NOTES][0] == "notes v1"

    make.enrol(make.learner(make.unit(), username="hv.khac", full_name="Trần Thị Khác"), version)
    make.commit()
    someone_else = app.test_client()
    LoggedIn(someone_else)("hv.khac")
    assert _buckets(runtime(someone_else, version, 0))[NOTES][0] is None

"""SCORM 2004 shared data (adl.data) through the real player in Chromium: what one SCO of a
package stores in a bucket, the package's other SCO reads in a later session, with the
manifest's read and write permissions."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from lms.models import SharedData
from tests.browser.test_scorm_player import _course, _fixture, _log_in, _probe_frame, _wait_for

API = "window.parent.API_1484_11"


def _get(frame, element: str) -> tuple[str, str]:
    value = frame.evaluate(f"{API}.GetValue({element!r})")
    return value, frame.evaluate(f"{API}.GetLastError()")


def test_two_scos_of_a_package_share_a_bucket_in_the_player(page, make, app, session):
    """4th ed. RTE 4.3 (adl.data), CAM adlcp:data/adlcp:map: part 1 writes the notes and the
    answers; part 2 reads the notes (its map may not write them: 404) and may write the
    answers without reading them (405); part 1 then reads part 2's answers."""
    url = _course(make, app, _fixture("shared2004"), username="hv.chung")
    page.set_viewport_size({"width": 1280, "height": 900})
    _log_in(page, "hv.chung")
    page.goto(url)
    frame = _probe_frame(page)
    assert _get(frame, "adl.data._count") == ("2", "0")
    assert _get(frame, "adl.data.0.id") == ("vn.hocvu.notes", "0")
    assert _get(frame, "adl.data.0.store") == ("", "403")
    assert frame.evaluate(f"{API}.SetValue('adl.data.0.store', 'Mật khẩu: 12 ký tự')") == "true"
    assert frame.evaluate(f"{API}.SetValue('adl.data.1.store', 'a')") == "true"
    frame.evaluate(f"{API}.SetValue('cmi.completion_status', 'completed')")
    frame.evaluate(f"{API}.SetValue('adl.nav.request', 'continue')")
    frame.evaluate(f"window.finished = true; {API}.Terminate('')")

    expect(page.locator(".toc-current")).to_contain_text("Phần 2")
    frame = _probe_frame(page)
    assert _get(frame, "adl.data.1.id") == ("vn.hocvu.notes", "0")
    assert _get(frame, "adl.data.1.store") == ("Mật khẩu: 12 ký tự", "0")
    assert frame.evaluate(f"{API}.SetValue('adl.data.1.store', 'x')") == "false"
    assert frame.evaluate(f"{API}.GetLastError()") == "404"
    assert _get(frame, "adl.data.0.store") == ("", "405")
    assert frame.evaluate(f"{API}.SetValue('adl.data.0.store', 'b,c')") == "true"
    frame.evaluate(f"window.finished = true; {API}.Terminate('')")

    def answered(_states):
        session.rollback()
        row = session.scalar(select(SharedData).where(SharedData.target_id == "vn.hocvu.answers"))
        return row is not None and row.store == "b,c"

    _wait_for(session, answered)
    page.goto(url + "?sco=part1")
    frame = _probe_frame(page)
    assert _get(frame, "adl.data.1.store") == ("b,c", "0")
    assert _get(frame, "adl.data.0.store") == ("Mật khẩu: 12 ký tự", "0")

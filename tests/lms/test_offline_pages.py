"""What the browser needs to learn offline (issue 23): the service worker and its scope, the
manifest, the offline page, a course's files for offline reading, and the content origin's
side of keeping a SCORM package."""

from __future__ import annotations

import re

from sqlalchemy import select

from lms.app.storage import LocalStorage
from lms.models import ActivityProgress, ScormPackage
from lms.services import catalog
from tests.conftest import CONTENT_ORIGIN
from tests.factories import zip_bytes

COURSE = "an-toan-tren-mang"


def test_the_service_worker_covers_the_learner_pages_and_names_the_app_shell(client):
    response = client.get("/sw.js")
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert response.headers["Cache-Control"] == "no-cache"
    body = response.get_data(as_text=True)
    settings = body.splitlines()[0]
    assert settings.startswith("self.HOCVU = {")
    assert re.search(r'"/static/css/hocvu\.css\?v=[0-9a-f]{12}"', settings)
    assert '"offline": "/offline"' in settings and '"scope": "/"' in settings
    assert "importScripts(self.HOCVU.store)" in body


def test_the_manifest_makes_the_site_installable_in_vietnamese(client):
    manifest = client.get("/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    data = manifest.json
    assert data["name"] == "Hocvu — Học vụ số" and data["lang"] == "vi"
    assert data["start_url"] == "/" and data["display"] == "standalone"
    sizes = {icon["sizes"] for icon in data["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in data["icons"]:
        assert client.get(icon["src"]).status_code == 200
    page = client.get("/login").get_data(as_text=True)
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page


def test_the_offline_page_shows_no_account(client, login, make, app):
    make.learner(make.unit(), username="hv.rieng", full_name="Trần Thị Riêng")
    make.commit()
    login("hv.rieng")
    page = client.get("/offline").get_data(as_text=True)
    assert "Không có kết nối mạng" in page and "Đã lưu trên điện thoại này để đọc" in page
    assert "Trần Thị Riêng" not in page and "csrf" not in page


def test_a_course_for_offline_reading_lists_its_pages_media_and_sizes(
    client, login, make, app, session
):
    version = make.course(app.config["HOCVU_FILES_DIR"])
    make.enrol(make.learner(make.unit(), username="hv.tai"), version)
    make.learner(make.unit(), username="hv.ngoai")
    make.commit()
    login("hv.tai")
    listed = client.get(f"/offline/courses/{COURSE}").json
    urls = [u["url"] for u in listed["urls"]]
    assert urls[:4] == [
        f"/courses/{COURSE}",
        f"/courses/{COURSE}/01-mat-khau",
        f"/courses/{COURSE}/02-ma-otp",
        f"/courses/{COURSE}/final-test",
    ]
    svg = next(u for u in listed["urls"] if u["url"].endswith("/media/o-khoa.svg"))
    assert svg["bytes"] == len(client.get(svg["url"]).get_data())
    assert listed["bytes"] == sum(u["bytes"] for u in listed["urls"]) and listed["scos"] == []
    course_page = client.get(f"/courses/{COURSE}")
    assert course_page.headers["X-Hocvu-User"] == listed["user"]
    html = course_page.get_data(as_text=True)
    size = re.search(r"Tải về để học khi mất mạng \((\d+(?:,\d)?) KB\)", html).group(1)
    assert abs(float(size.replace(",", ".")) - listed["bytes"] / 1024) <= 0.05

    # Keeping a lesson is not opening it: its minimum reading time has not started.
    kept = client.get(f"/courses/{COURSE}/02-ma-otp", headers={"X-Hocvu-Download": "1"})
    assert kept.status_code == 200 and "Mã OTP" in kept.get_data(as_text=True)
    session.rollback()
    assert session.scalars(select(ActivityProgress)).all() == []

    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    client.post("/logout", data={"csrf_token": token})
    login("hv.ngoai")
    assert client.get(f"/offline/courses/{COURSE}").status_code == 404


def _probe_package() -> bytes:
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "scorm" / "fixtures" / "probe12"
    return zip_bytes(
        {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    )


def test_a_scorm_package_is_listed_for_keeping_through_its_link_only(
    client, login, make, app, session
):
    version = catalog.scorm_course(
        session, None, _probe_package(), LocalStorage(app.config["HOCVU_FILES_DIR"])
    )
    catalog.publish(session, None, version)
    make.enrol(make.learner(make.unit(), username="hv.goi"), version)
    make.commit()
    login("hv.goi")
    slug = version.course.slug
    listed = client.get(f"/offline/courses/{slug}").json
    activity = version.activities[0]
    assert [s["runtime"] for s in listed["scos"]] == [
        f"/player/activities/{activity.id}/scos/0/runtime"
    ]
    page = client.get(f"/courses/{slug}").get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)">', page).group(1)
    runtime = client.post(
        listed["scos"][0]["runtime"], headers={"X-CSRFToken": token, "X-Hocvu-Download": "1"}
    ).json
    session.rollback()
    assert session.scalars(select(ActivityProgress)).all() == []  # kept, not opened

    content = app.test_client()
    link = runtime["frame_url"].rsplit("/frame/", 1)[1]
    files = content.get(f"/pkg-files/{link}", base_url=CONTENT_ORIGIN)
    assert files.status_code == 200
    assert files.json["files"] == ["imsmanifest.xml", "index.html", "probe.js"]
    package = session.get(ScormPackage, version.activities[0].content["package_id"])
    assert files.json["package"] == package.sha256
    assert content.get("/pkg-files/forged", base_url=CONTENT_ORIGIN).status_code == 404
    assert client.get(f"/pkg-files/{link}").status_code == 404  # never on the site

    worker = content.get("/frame-assets/content-sw.js", base_url=CONTENT_ORIGIN)
    assert worker.status_code == 200 and worker.mimetype == "text/javascript"
    assert worker.headers["Service-Worker-Allowed"] == "/"
    assert worker.headers["Content-Security-Policy"] == "default-src 'none'; connect-src 'self'"
    frame = content.get(f"/frame/{link}", base_url=CONTENT_ORIGIN)
    assert "connect-src 'self'; worker-src 'self'" in frame.headers["Content-Security-Policy"]

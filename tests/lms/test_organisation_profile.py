"""The organisation profile that certificates print, set by a site admin in the browser: the
issuing organisation (and a unit's own), the place of the date line, the signatory, a seal or
signature image and the number prefix; no made-up issuer when none is named."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from pypdf import PdfReader
from sqlalchemy import func, select

from lms.app.storage import for_app as site_files
from lms.models import Certificate, Enrolment, OrganisationProfile, OrgUnit, UnitKind, utcnow
from lms.services import assessment, learning
from tests.conftest import LoggedIn, csrf_token
from tests.factories import correct_answers

PROFILE = {
    "organisation": "Công đoàn Viên chức tỉnh Quảng Ninh",
    "place": "Hạ Long",
    "signer_title": "Chủ tịch",
    "signer_name": "Vũ Minh Khang",
    "serial_prefix": "ldld-qn",  # written in capitals; with it a number passes 20 characters
}


def seal_png(width: int = 320, height: int = 320, **save) -> bytes:
    """A round red seal on a transparent background, as a PNG."""
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    side = min(width, height)
    red = (200, 20, 20, 255)
    draw.ellipse((2, 2, width - 2, height - 2), outline=red, width=max(1, side // 22))
    inner = side // 5
    draw.ellipse(
        (inner, inner, width - inner, height - inner), outline=red, width=max(1, side // 50)
    )
    draw.regular_polygon((width / 2, height / 2, side // 8), 5, fill=red)
    output = io.BytesIO()
    image.save(output, format="PNG", **save)
    return output.getvalue()


def pdf_text(app, certificate: Certificate) -> str:
    data = site_files(app).local_path(certificate.files_path).read_bytes()
    return PdfReader(io.BytesIO(data)).pages[0].extract_text()


def complete(app, enrolment_id: int) -> None:
    """The learner reads every page and passes the final test (the completion listener then
    issues the certificate, as in production)."""
    with app.app_context():
        from lms.app.extensions import db

        enrolment = db.session.get(Enrolment, enrolment_id)
        for step in learning.progress_of(db.session, enrolment).steps:
            if step.activity.kind == "page":
                progress = learning.open_activity(
                    db.session, enrolment, step.activity, utcnow() - timedelta(hours=1)
                )
                progress.data = {"self_check": {"0": [0], "1": [0]}}
                learning.complete_activity(db.session, enrolment, step.activity)
            else:
                attempt = assessment.start(db.session, enrolment, step.activity)
                assessment.submit(db.session, attempt, correct_answers(attempt))
        db.session.commit()


@pytest.fixture
def site(make, app):
    """A federation with a district under it and a grassroots union under that, a learner in
    the grassroots union enrolled in the mini course, and a site admin."""
    version = make.course(app.config["HOCVU_FILES_DIR"])
    root = make.unit(name="Liên đoàn Lao động tỉnh Quảng Ninh", kind=UnitKind.FEDERATION)
    district = make.unit(root, name="Liên đoàn Lao động thành phố Hạ Long", code="LDLD-HL")
    grassroots = make.unit(district, name="Công đoàn Trường THPT Hòn Gai", code="CDCS-HG")
    learner = make.learner(grassroots, username="hv.hongai", full_name="Trần Thị Thu Hà")
    enrolment = make.enrol(learner, version)
    make.site_admin(username="admin")
    make.commit()
    return {
        "version": version,
        "root": root.id,
        "district": district.id,
        "grassroots": grassroots.id,
        "enrolment": enrolment.id,
    }


def save_profile(post, **changes):
    return post("/admin/organisation", {**PROFILE, **changes})


def test_certificates_print_the_saved_profile(client, login, post, site, app, session):
    login("admin")
    page = client.get("/admin/organisation")
    assert page.status_code == 200
    # Not saved yet: the form shows the server's settings, and says so.
    assert "các giá trị dưới đây lấy từ cấu hình máy chủ" in page.get_data(as_text=True)
    saved = save_profile(post)
    assert saved.status_code == 302, saved.get_data(as_text=True)[:3000]
    assert "Đã lưu thông tin tổ chức cấp." in client.get(saved.location).get_data(as_text=True)
    complete(app, site["enrolment"])
    certificate = session.scalars(select(Certificate)).one()
    assert re.fullmatch(r"LDLD-QN-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", certificate.serial)
    text = pdf_text(app, certificate)
    assert "CÔNG ĐOÀN VIÊN CHỨC TỈNH QUẢNG NINH" in text  # the profile, not the settings
    assert "TỈNH QUẢNG NINH" not in text.replace("VIÊN CHỨC TỈNH QUẢNG NINH", "")
    assert re.search(r"Hạ Long, ngày \d\d tháng \d\d? năm \d{4}", text)
    assert "CHỦ TỊCH" in text and "Vũ Minh Khang" in text
    assert f"Số: {certificate.serial}" in text and "HOCVU" not in text.upper()
    # The public page finds the longer number whole.
    verify = client.get(f"/verify/{certificate.serial.lower()}").get_data(as_text=True)
    assert "Giấy chứng nhận hợp lệ" in verify
    audit = client.get("/admin/audit").get_data(as_text=True)
    assert "Đổi thông tin tổ chức cấp" in audit


def test_the_nearest_unit_that_names_its_own_issuer_wins(client, login, post, site, app, session):
    login("admin")
    assert save_profile(post).status_code == 302
    for unit, name in (
        (site["root"], "Liên đoàn Lao động tỉnh Quảng Ninh"),
        (site["district"], "Liên đoàn Lao động thành phố Hạ Long"),
    ):
        edit = f"/admin/units/{unit}/edit"
        page = client.get(edit).get_data(as_text=True)
        assert "Tổ chức cấp in trên giấy chứng nhận" in page
        unit_row = session.get(OrgUnit, unit)
        answer = post(
            edit,
            {
                "name": unit_row.name,
                "code": unit_row.code,
                "kind": unit_row.kind.value,
                "certificate_issuer": name,
            },
        )
        assert answer.status_code == 302, answer.get_data(as_text=True)[:3000]
    # Another learner, outside both units, gets the site's organisation.
    session.rollback()
    elsewhere = session.get(OrgUnit, site["root"])
    other_unit = OrgUnit(
        code="KHAC", name="Công đoàn Khác", kind=UnitKind.GRASSROOTS, path="", depth=0
    )
    session.add(other_unit)
    session.flush()
    other_unit.path = f"/{other_unit.id}/"
    from tests.factories import Factories

    make = Factories(session)
    other = make.enrol(make.learner(other_unit, full_name="Lê Văn Ngoài"), site["version"])
    make.commit()
    assert elsewhere.certificate_issuer == "Liên đoàn Lao động tỉnh Quảng Ninh"
    complete(app, site["enrolment"])
    complete(app, other.id)
    session.rollback()
    mine, theirs = session.scalars(select(Certificate).order_by(Certificate.id)).all()
    text = pdf_text(app, mine)
    assert "LIÊN ĐOÀN LAO ĐỘNG THÀNH PHỐ HẠ LONG" in text  # the district, nearer than the root
    assert "TỈNH QUẢNG NINH" not in text and "VIÊN CHỨC" not in text
    assert "CÔNG ĐOÀN VIÊN CHỨC TỈNH QUẢNG NINH" in pdf_text(app, theirs)
    # The sample of the district's learners says the same.
    sample = client.get(f"/admin/organisation/sample.pdf?unit={site['grassroots']}")
    sample_text = PdfReader(io.BytesIO(sample.data)).pages[0].extract_text()
    assert "LIÊN ĐOÀN LAO ĐỘNG THÀNH PHỐ HẠ LONG" in sample_text
    assert "MẪU XEM TRƯỚC" in sample_text and "LDLD-QN-" in sample_text


def test_a_seal_image_is_printed_on_the_certificate(client, login, post, site, app, session):
    login("admin")
    upload = seal_png()
    answer = save_profile(post, seal=(io.BytesIO(upload), "con-dau.png"))
    assert answer.status_code == 302, answer.get_data(as_text=True)[:3000]
    page = client.get("/admin/organisation").get_data(as_text=True)
    assert "/admin/organisation/seal" in page
    shown = client.get("/admin/organisation/seal")
    assert shown.mimetype == "image/png" and Image.open(io.BytesIO(shown.data)).size == (320, 320)
    complete(app, site["enrolment"])
    certificate = session.scalars(select(Certificate)).one()
    data = site_files(app).local_path(certificate.files_path).read_bytes()
    images = PdfReader(io.BytesIO(data)).pages[0].images
    assert len(images) == 1 and images[0].image.size == (320, 320)
    # Removing it: the next certificate has none.
    assert save_profile(post, remove_seal="y").status_code == 302
    session.rollback()
    assert session.get(OrganisationProfile, 1).seal_path is None
    assert not list((Path(app.config["HOCVU_FILES_DIR"]) / "organisation").iterdir())


def _gif() -> bytes:
    output = io.BytesIO()
    Image.new("RGB", (300, 300), (200, 0, 0)).save(output, format="GIF")
    return output.getvalue()


def _noise_png() -> bytes:
    """A real PNG over 2 MB (random pixels do not compress)."""
    import os

    image = Image.frombytes("RGB", (1000, 1000), os.urandom(3 * 1000 * 1000))
    output = io.BytesIO()
    image.save(output, format="PNG")
    assert len(output.getvalue()) > 2 * 1024 * 1024
    return output.getvalue()


@pytest.mark.parametrize(
    ("make_upload", "message"),
    [
        (lambda: b"<script>alert(1)</script>", "Tệp này không phải là ảnh PNG hoặc JPEG."),
        (_gif, "Tệp này không phải là ảnh PNG hoặc JPEG."),  # an image, of another kind
        (lambda: seal_png()[:400], "Tệp này không phải là ảnh PNG hoặc JPEG."),  # truncated
        (_noise_png, "Ảnh lớn hơn 2 MB; hãy gửi ảnh nhỏ hơn."),
        (
            lambda: seal_png(5000, 1500),
            "Ảnh có kích thước 5000 × 1500 điểm ảnh; mỗi cạnh phải từ 100 đến 4000 điểm ảnh.",
        ),
        (
            lambda: seal_png(60, 60),
            "Ảnh có kích thước 60 × 60 điểm ảnh; mỗi cạnh phải từ 100 đến 4000 điểm ảnh.",
        ),
        (
            lambda: seal_png(2000, 120),
            "Ảnh có kích thước 2000 × 120 điểm ảnh: ảnh con dấu hoặc chữ ký chỉ được rộng tối "
            "đa gấp bốn lần chiều cao",
        ),
    ],
    ids=["text", "gif", "truncated", "oversize", "huge", "tiny", "banner"],
)
def test_a_bad_image_is_refused_and_nothing_is_stored(
    client, login, post, site, app, session, make_upload, message
):
    # OWASP File Upload Cheat Sheet: check the content (not the name or type sent), limit
    # the size, and store a re-encoded copy.
    login("admin")
    answer = save_profile(post, seal=(io.BytesIO(make_upload()), "con-dau.png"))
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert message in page and 'id="seal-error"' in page
    session.rollback()
    assert session.scalar(select(func.count()).select_from(OrganisationProfile)) == 0
    assert not (Path(app.config["HOCVU_FILES_DIR"]) / "organisation").exists()


def test_an_image_is_stored_drawn_again_without_what_was_appended(
    client, login, post, site, app, session
):
    login("admin")
    # A PNG with a script appended (a polyglot), and metadata of its own.
    upload = seal_png(pnginfo=_text_chunk("Comment", "<b>x</b>")) + b"<script>alert(1)</script>"
    assert save_profile(post, seal=(io.BytesIO(upload), "con-dau.png")).status_code == 302
    session.rollback()
    key = session.get(OrganisationProfile, 1).seal_path
    stored = site_files(app).local_path(key).read_bytes()
    assert stored.startswith(b"\x89PNG") and b"<script>" not in stored and b"<b>x</b>" not in stored


def _text_chunk(key: str, value: str):
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text(key, value)
    return info


def test_a_wrong_prefix_or_a_missing_name_is_refused(client, login, post, site, session):
    login("admin")
    wrong = save_profile(post, serial_prefix="QN_01")
    assert wrong.status_code == 422
    assert "Tiền tố chỉ gồm tối đa 12 ký tự" in wrong.get_data(as_text=True)
    accented = save_profile(post, serial_prefix="ĐN")
    assert "Tiền tố chỉ gồm tối đa 12 ký tự" in accented.get_data(as_text=True)
    nameless = save_profile(post, organisation="   ")
    assert "Nhập tên tổ chức cấp giấy chứng nhận." in nameless.get_data(as_text=True)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(OrganisationProfile)) == 0


def test_only_a_site_admin_sets_the_profile(client, post, make, site, session, app):
    district = session.get(OrgUnit, site["district"])
    boss = make.unit_admin(session.get(OrgUnit, site["root"]), username="qt.tinh")
    make.commit()
    LoggedIn(client)(boss.username)
    assert client.get("/admin/organisation").status_code == 403
    assert client.get("/admin/organisation/sample.pdf").status_code == 403
    assert client.get("/admin/organisation/seal").status_code == 403
    token = csrf_token(client, "/admin/certificates")
    refused = client.post("/admin/organisation", data={"csrf_token": token, **PROFILE})
    assert refused.status_code == 403
    assert "/admin/organisation" not in client.get("/admin/").get_data(as_text=True)
    # The unit form has no issuer field for them, and a forged one changes nothing.
    edit = f"/admin/units/{district.id}/edit"
    assert "Tổ chức cấp in trên giấy chứng nhận" not in client.get(edit).get_data(as_text=True)
    forged = client.post(
        edit,
        data={
            "csrf_token": csrf_token(client, edit),
            "name": district.name,
            "code": district.code,
            "kind": district.kind.value,
            "certificate_issuer": "Công ty Lừa Đảo",
        },
    )
    assert forged.status_code == 302
    session.rollback()
    assert session.get(OrgUnit, site["district"]).certificate_issuer is None
    assert session.scalar(select(func.count()).select_from(OrganisationProfile)) == 0


def test_without_an_issuer_certificates_wait_until_the_profile_is_saved(
    client, login, post, site, app, session
):
    app.config["HOCVU_JOBS_INLINE"] = True  # the job runs before the redirect
    app.config["HOCVU_CERT_ORGANISATION"] = ""  # the default: no issuer is made up
    complete(app, site["enrolment"])
    session.rollback()
    assert session.get(Enrolment, site["enrolment"]).completed_at is not None
    assert session.scalar(select(func.count()).select_from(Certificate)) == 0
    learner = app.test_client()
    LoggedIn(learner)("hv.hongai")
    home = learner.get("/").get_data(as_text=True)
    assert "Giấy chứng nhận của bạn đang được chuẩn bị và sẽ hiện ở đây." in home
    # The site admin is told why, and where to fix it; the button would only fail.
    login("admin")
    listing = client.get("/admin/certificates").get_data(as_text=True)
    assert 'id="no-issuer"' in listing
    assert "Chưa cấp được giấy chứng nhận: chưa có tên tổ chức cấp." in listing
    assert "1 học viên đã hoàn thành khóa học nhưng chưa có giấy chứng nhận" in listing
    assert 'action="/admin/certificates/issue-missing"' not in listing
    assert 'href="/admin/organisation"' in listing
    page = client.get("/admin/organisation").get_data(as_text=True)
    assert "Chưa có tên tổ chức cấp nên chưa cấp được giấy chứng nhận nào" in page
    # Pressing the button anyway (a page left open) says the same and issues nothing.
    early = post("/admin/certificates/issue-missing", {}, form_page="/admin/certificates")
    assert early.location.endswith("/admin/organisation")
    assert session.scalar(select(func.count()).select_from(Certificate)) == 0
    # Saved: the existing button issues it.
    assert save_profile(post).status_code == 302
    listing = client.get("/admin/certificates").get_data(as_text=True)
    assert 'id="no-issuer"' not in listing and "Cấp các giấy chứng nhận còn thiếu" in listing
    started = post("/admin/certificates/issue-missing", {}, form_page="/admin/certificates")
    assert "Đã cấp 1 giấy chứng nhận." in client.get(started.location).get_data(as_text=True)
    session.rollback()
    certificate = session.scalars(select(Certificate)).one()
    assert "CÔNG ĐOÀN VIÊN CHỨC TỈNH QUẢNG NINH" in pdf_text(app, certificate)


def test_the_settings_stand_in_until_the_profile_is_saved(client, login, post, site, app):
    # An existing deployment configured by HOCVU_CERT_*: its certificates keep printing them,
    # and the page starts from them (its seal image included).
    seal = Path(app.instance_path) / "con-dau.png"
    seal.parent.mkdir(parents=True, exist_ok=True)
    seal.write_bytes(seal_png())
    app.config.update(
        HOCVU_CERT_PLACE="Uông Bí",
        HOCVU_CERT_SIGNER_NAME="Phạm Thị Mai",
        HOCVU_CERT_SEAL_IMAGE=str(seal),
        HOCVU_CERT_SERIAL_PREFIX="UB",
    )
    login("admin")
    page = client.get("/admin/organisation").get_data(as_text=True)
    assert 'value="Liên đoàn Lao động tỉnh Quảng Ninh"' in page and 'value="Uông Bí"' in page
    assert 'value="UB"' in page and "/admin/organisation/seal" in page
    sample = client.get("/admin/organisation/sample.pdf")
    text = PdfReader(io.BytesIO(sample.data)).pages[0].extract_text()
    assert "Uông Bí, ngày" in text and "Phạm Thị Mai" in text and "Số: UB-" in text
    # Saved as shown, without uploading it again: the image is kept.
    fields = {
        "organisation": "Liên đoàn Lao động tỉnh Quảng Ninh",
        "place": "Uông Bí",
        "signer_title": "Thủ trưởng đơn vị",
        "signer_name": "Phạm Thị Mai",
        "serial_prefix": "UB",
    }
    assert post("/admin/organisation", fields).status_code == 302
    complete(app, site["enrolment"])
    with app.app_context():
        from lms.app.extensions import db

        certificate = db.session.scalars(select(Certificate)).one()
        data = site_files(app).local_path(certificate.files_path).read_bytes()
    assert certificate.serial.startswith("UB-")
    assert len(PdfReader(io.BytesIO(data)).pages[0].images) == 1


def test_the_demo_issues_credible_quang_ninh_certificates(runner, app, session):
    app.config["HOCVU_CERT_ORGANISATION"] = ""  # as `make run` starts: nothing configured
    result = runner.invoke(args=["init", "--demo"])
    assert result.exit_code == 0, result.output
    enrolment = session.scalars(
        select(Enrolment).join(Enrolment.user).where(Enrolment.user.has(username="hv.nguyenvanan"))
    ).first()
    enrolment.completed_at = utcnow()
    session.commit()
    issued = runner.invoke(args=["issue-certificates"])
    assert issued.exit_code == 0 and "Certificates issued: 1." in issued.output
    session.rollback()
    certificate = session.scalars(select(Certificate)).one()
    assert certificate.serial.startswith("QN-")
    text = pdf_text(app, certificate)
    assert "LIÊN ĐOÀN LAO ĐỘNG TỈNH QUẢNG NINH" in text
    assert re.search(r"Quảng Ninh, ngày \d\d tháng \d\d? năm \d{4}", text)
    assert "CHỦ TỊCH" in text and "Vũ Minh Khang" in text and "HOCVU" not in text.upper()
    # A demo loaded before the organisation page existed gets its profile on the next init.
    session.delete(session.get(OrganisationProfile, 1))
    session.commit()
    again = runner.invoke(args=["init", "--demo"])
    assert again.exit_code == 0 and "already loaded" in again.output
    session.rollback()
    assert session.get(OrganisationProfile, 1).serial_prefix == "QN"


def test_the_command_says_why_nothing_is_issued(runner, app, make, site, session):
    app.config["HOCVU_CERT_ORGANISATION"] = ""
    session.get(Enrolment, site["enrolment"]).completed_at = utcnow()
    session.commit()
    result = runner.invoke(args=["issue-certificates"])
    assert result.exit_code != 0
    assert "Chưa cấp được giấy chứng nhận: chưa có tên tổ chức cấp." in result.output


def test_a_production_site_without_an_issuer_is_told_at_init(runner, app):
    app.config["HOCVU_ENV"] = "production"
    app.config["HOCVU_CERT_ORGANISATION"] = ""
    result = runner.invoke(args=["init"])
    assert result.exit_code == 0, result.output
    assert "no organisation is named as the issuer of certificates" in result.stderr
    app.config["HOCVU_CERT_ORGANISATION"] = "Liên đoàn Lao động tỉnh Quảng Ninh"
    assert "no organisation is named" not in runner.invoke(args=["init"]).stderr

"""The certificate document: its text, fonts, layout limits, QR code and signature."""

from __future__ import annotations

import io
import subprocess
import unicodedata
from dataclasses import replace
from pathlib import Path

import pytest
from pypdf import PdfReader

from certificates.render import CertificateData, _fit, register_fonts, render_pdf
from certificates.sign import Signer, check_signature, make_development_key

DATA = CertificateData(
    serial="7K3Q-M9PX-T2VD",
    verify_url="https://hoc.ldld-quangninh.vn/verify/7K3Q-M9PX-T2VD",
    organisation="Liên đoàn Lao động tỉnh Quảng Ninh",
    learner_name="Nguyễn Thị Bích Phượng",
    course_title="Chuyển đổi số cơ bản",
    result="Đạt - 8,5/10",
    period="từ ngày 01/11/2026 đến ngày 09/11/2026",
    place_and_date="Hạ Long, ngày 23 tháng 11 năm 2026",
    signer_title="Chủ tịch",
    signer_name="Nguyễn Văn Hùng",
    birth_date="17/05/1990",
    unit="CĐCS Công ty Than Hà Lầm",
)


@pytest.fixture(scope="module")
def signer(tmp_path_factory) -> Signer:
    path = tmp_path_factory.mktemp("key") / "dev.p12"
    make_development_key(path, "Liên đoàn Lao động tỉnh Quảng Ninh")
    return Signer(path)


def _text(pdf: bytes) -> str:
    return PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


def test_every_expected_string_is_in_the_text_exactly_and_nfc():
    text = _text(render_pdf(DATA))
    assert unicodedata.is_normalized("NFC", text)
    for expected in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "LIÊN ĐOÀN LAO ĐỘNG TỈNH QUẢNG NINH",
        "GIẤY CHỨNG NHẬN",
        "Nguyễn Thị Bích Phượng",
        "Ngày sinh: 17/05/1990",
        "Đơn vị: CĐCS Công ty Than Hà Lầm",
        "đã hoàn thành khóa học",
        "“Chuyển đổi số cơ bản”",
        "Thời gian học: từ ngày 01/11/2026 đến ngày 09/11/2026",
        "Kết quả: Đạt - 8,5/10",
        "Hạ Long, ngày 23 tháng 11 năm 2026",
        "CHỦ TỊCH",
        "Nguyễn Văn Hùng",
        "Số hiệu: 7K3Q-M9PX-T2VD",
    ):
        assert expected in text, expected
    assert "BẢN THỬ NGHIỆM" not in text


def test_nfd_input_is_printed_as_nfc():
    decomposed = unicodedata.normalize("NFD", "Lò Văn Hặc")
    text = _text(render_pdf(replace(DATA, learner_name=decomposed)))
    assert "Lò Văn Hặc" in text


def test_every_font_is_embedded():
    reader = PdfReader(io.BytesIO(render_pdf(DATA)))
    fonts = reader.pages[0]["/Resources"]["/Font"]
    assert fonts
    for ref in fonts.values():
        font = ref.get_object()
        descendant = (
            font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
        )
        descriptor = descendant["/FontDescriptor"].get_object()
        assert "/FontFile2" in descriptor, font["/BaseFont"]
        assert "BeVietnamPro" in font["/BaseFont"]


@pytest.mark.parametrize(
    "name",
    [
        "Nguyễn Thị Bích Phượng",
        "Lò Văn Hặc",
        "Hoàng Thị Ngọc Trâm Anh Đào Nguyễn Phương Thảo Minh Châu Bảo Ngọc Khánh Linh Huyền Trang",
    ],
)
def test_long_names_shrink_or_wrap_within_the_page(name):
    fonts = register_fonts()
    from reportlab.pdfbase import pdfmetrics

    lines, size = _fit(name, fonts["bold"], 28, 640, 16)
    assert all(pdfmetrics.stringWidth(line, fonts["bold"], size) <= 640 for line in lines)
    assert " ".join(lines) == name
    text = _text(render_pdf(replace(DATA, learner_name=name)))
    assert all(word in text for word in name.split())


def _placed(pdf: bytes) -> tuple[list[tuple[str, float, float]], list[tuple[float, ...]]]:
    """The text runs as (text, font size, baseline y) and the images as (x, y, width, height)
    placed on the page."""
    runs: list[tuple[str, float, float]] = []
    images: list[tuple[float, ...]] = []
    matrices: list[list[float]] = []

    def operation(op, args, cm, tm):
        if op == b"cm":
            matrices.append([float(a) for a in args])
        elif op == b"Do" and matrices:
            a, _, _, d, e, f = matrices[-1]
            images.append((e, f, a, d))

    def text(chunk, cm, tm, font, size):
        if chunk.strip():
            runs.append((chunk.strip(), size, tm[5] + cm[5]))

    PdfReader(io.BytesIO(pdf)).pages[0].extract_text(
        visitor_operand_before=operation, visitor_text=text
    )
    return runs, images


def _seal_png(width: int = 300, height: int = 300) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((4, 4, width - 4, height - 4), outline=(200, 0, 0, 255), width=12)
    output = io.BytesIO()
    image.save(output, format="PNG")
    return output.getvalue()


@pytest.mark.parametrize("size", [(300, 300), (800, 260)], ids=["round seal", "signature"])
def test_the_signers_name_is_printed_under_the_seal_not_on_it(size):
    runs, images = _placed(render_pdf(replace(DATA, seal_png=_seal_png(*size))))
    (x, y, width, height) = images[0]
    title = next(r for r in runs if r[0] == "CHỦ TỊCH")
    name = next(r for r in runs if r[0] == "Nguyễn Văn Hùng")
    assert name[2] + name[1] * 0.8 < y  # the name's capitals end below the image
    assert y + height < title[2]  # and the image ends below the title
    assert width <= 200 and height <= 68


def test_a_long_organisation_name_wraps_at_a_readable_size():
    name = (
        "Công đoàn cơ sở Văn phòng Hội đồng nhân dân và Ủy ban nhân dân thành phố Hạ Long, "
        "tỉnh Quảng Ninh, Liên đoàn Lao động tỉnh Quảng Ninh"
    )
    runs, _ = _placed(render_pdf(replace(DATA, organisation=name)))
    upper = name.upper()
    lines = runs[: next(i for i, r in enumerate(runs) if r[0].startswith("Số: "))]
    assert " ".join(r[0] for r in lines) == upper
    assert len(lines) >= 2 and all(size >= 10 for _, size, _ in lines)
    title = next(r for r in runs if r[0] == "GIẤY CHỨNG NHẬN")
    serial = next(r for r in runs if r[0] == "Số: 7K3Q-M9PX-T2VD")
    assert lines[-1][2] > serial[2] > title[2] + 36  # the number under the name, above the title


def test_the_qr_code_reads_as_the_verification_url(tmp_path):
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    pdf = tmp_path / "c.pdf"
    pdf.write_bytes(render_pdf(DATA))
    subprocess.run(
        ["pdftoppm", "-png", "-r", "150", "-singlefile", str(pdf), str(tmp_path / "page")],
        check=True,
    )
    codes = zxingcpp.read_barcodes(Image.open(tmp_path / "page.png"))
    assert [c.text for c in codes] == [DATA.verify_url]


def test_signature_validates_and_any_change_is_detected(signer):
    signed = signer.sign(render_pdf(DATA))
    check = signer.check(signed)
    assert check.valid and "Hocvu development signing certificate" in check.signer
    for offset in (len(signed) // 3, len(signed) - 300):
        tampered = bytearray(signed)
        tampered[offset] ^= 0x01
        assert not check_signature(bytes(tampered), signer.certificate).valid, offset
    assert not signer.check(render_pdf(DATA)).signed  # unsigned
    assert not signer.check(b"not a pdf").valid


def test_development_certificates_are_marked_on_the_page(signer):
    assert signer.development
    text = _text(render_pdf(replace(DATA, development=True)))
    assert "BẢN THỬ NGHIỆM – ký bằng chứng thư số tự cấp, không có giá trị pháp lý" in text


def test_a_sample_is_marked_on_the_page():
    text = _text(render_pdf(replace(DATA, sample=True, development=True)))
    assert "MẪU XEM TRƯỚC – không phải giấy chứng nhận, không có giá trị" in text
    assert "BẢN THỬ NGHIỆM" not in text  # one warning: it is not a certificate at all


def test_a_signature_by_another_key_is_not_trusted(signer, tmp_path):
    other = tmp_path / "other.p12"
    make_development_key(other, "Kẻ giả mạo")
    forged = Signer(other).sign(render_pdf(DATA))
    check = signer.check(forged)
    assert check.signed and check.intact and not check.trusted and not check.valid


def test_wrong_key_file_is_a_clear_error(tmp_path):
    from certificates.sign import SigningError

    bad = tmp_path / "bad.p12"
    bad.write_bytes(b"junk")
    with pytest.raises(SigningError, match="cannot load the signing key"):
        Signer(bad)
    with pytest.raises(SigningError):
        Signer(Path(tmp_path / "missing.p12"))


def test_signatures_made_from_the_template_validate_for_different_documents(signer):
    """After the first signature the signer reuses a CMS template (the fast path)."""
    first = signer.sign(render_pdf(DATA))
    others = [
        signer.sign(
            render_pdf(replace(DATA, serial=f"AAAA-BBBB-{n:04d}", learner_name=f"Học Viên {n}"))
        )
        for n in range(3)
    ]
    assert signer._signer._templates  # the fast path was used
    for signed in [first, *others]:
        assert signer.check(signed).valid
    tampered = bytearray(others[-1])
    tampered[len(tampered) // 2] ^= 0x01
    assert not signer.check(bytes(tampered)).valid

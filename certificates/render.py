"""The completion certificate as a one-page A4 landscape PDF, in Vietnamese.

Drawn with reportlab's canvas in Be Vietnam Pro (embedded, full Vietnamese coverage, from the
fontpkg-be-vietnam-pro package): never a system font. Long names and titles shrink, then wrap,
so nothing overflows the page.
"""

from __future__ import annotations

import io
import unicodedata
from dataclasses import dataclass
from functools import cache

from reportlab.lib.colors import Color
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from certificates.fonts import FIXED_CHARACTERS, CachedSubsetTTFont
from certificates.qr import qr_matrix

PAGE_WIDTH, PAGE_HEIGHT = landscape(A4)
RED = Color(0.62, 0.08, 0.08)
GOLD = Color(0.72, 0.55, 0.16)
INK = Color(0.1, 0.1, 0.12)
FONTS = {"regular": "Regular", "bold": "Bold", "italic": "Italic", "semibold": "SemiBold"}
# The faces that print a learner's own text (name, unit) embed the fixed Vietnamese subset, so
# that their embedded subset is made once, not once per name (certificates/fonts.py).
FIXED_SUBSET_FACES = {"regular", "bold"}


class CertificateError(Exception):
    """The certificate could not be made (missing font, broken seal image, ...)."""


@cache
def register_fonts() -> dict[str, str]:
    """Register the embedded Be Vietnam Pro faces once; return {style: reportlab name}.

    The other documents Hocvu prints (reports, credentials, attendance sheets) use them too."""
    try:
        import fontpkg_be_vietnam_pro
    except ImportError as error:  # a packaging mistake, not a user error
        raise CertificateError("the fontpkg-be-vietnam-pro package is not installed") from error
    names = {}
    for style, face in FONTS.items():
        name = f"BeVietnamPro-{face}"
        path = str(fontpkg_be_vietnam_pro.ROOT / "files" / f"{name}.ttf")
        fixed = FIXED_CHARACTERS if style in FIXED_SUBSET_FACES else ""
        pdfmetrics.registerFont(CachedSubsetTTFont(name, path, fixed=fixed))
        names[style] = name
    return names


@dataclass(frozen=True)
class CertificateData:
    """Everything printed on a certificate (plain values, NFC)."""

    serial: str
    verify_url: str
    organisation: str
    learner_name: str
    course_title: str
    result: str  # "Đạt - 8,5/10"
    period: str  # "từ ngày 01/11/2026 đến ngày 09/11/2026"
    place_and_date: str  # "Hạ Long, ngày 23 tháng 11 năm 2026"
    signer_title: str
    signer_name: str
    title: str = "GIẤY CHỨNG NHẬN"
    subtitle: str = "HOÀN THÀNH KHÓA HỌC"
    body: str = "đã hoàn thành khóa học"
    birth_date: str = ""  # "17/05/1990"
    unit: str = ""
    seal_png: bytes | None = None
    mode: str = ""  # "trực tiếp" for a course completed in an in-person class
    development: bool = False  # printed as a warning: signed with a self-signed certificate
    sample: bool = False  # printed as a warning: a preview of the layout, not a certificate


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _fit(
    text: str, font: str, size: float, width: float, minimum: float
) -> tuple[list[str], float]:
    """Lines and font size so that `text` fits `width`: shrink first, then wrap."""
    while size > minimum and pdfmetrics.stringWidth(text, font, size) > width:
        size -= 0.5
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return [text], size
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if pdfmetrics.stringWidth(candidate, font, size) <= width or not current:
            current = candidate
        else:
            lines.append(current)
            current = word
    lines.append(current)
    return lines, size


def _centered(
    canvas: Canvas,
    text: str,
    font: str,
    size: float,
    x: float,
    y: float,
    width: float,
    minimum: float,
    leading: float = 1.25,
) -> float:
    """Draw `text` centred on x, fitting `width`; return the y below it."""
    lines, size = _fit(text, font, size, width, minimum)
    canvas.setFont(font, size)
    for line in lines:
        canvas.drawCentredString(x, y, line)
        y -= size * leading
    return y


def _border(canvas: Canvas) -> None:
    canvas.setStrokeColor(GOLD)
    canvas.setLineWidth(6)
    canvas.rect(18, 18, PAGE_WIDTH - 36, PAGE_HEIGHT - 36)
    canvas.setStrokeColor(RED)
    canvas.setLineWidth(1.2)
    canvas.rect(30, 30, PAGE_WIDTH - 60, PAGE_HEIGHT - 60)
    # Corner ornaments: small diamonds.
    canvas.setFillColor(GOLD)
    for cx, cy in (
        (30, 30),
        (30, PAGE_HEIGHT - 30),
        (PAGE_WIDTH - 30, 30),
        (PAGE_WIDTH - 30, PAGE_HEIGHT - 30),
    ):
        path = canvas.beginPath()
        path.moveTo(cx, cy + 7)
        path.lineTo(cx + 7, cy)
        path.lineTo(cx, cy - 7)
        path.lineTo(cx - 7, cy)
        path.close()
        canvas.drawPath(path, fill=1, stroke=0)


def _qr(canvas: Canvas, payload: str, x: float, y: float, size: float) -> None:
    """The QR code on a white square: a filled rectangle per horizontal run of dark modules.

    The operators are written at once in module units (row 0 at the top) under one
    transformation, instead of a canvas call per rectangle with its coordinates formatted on
    the page. Each run stays its own fill: poppler snaps a lone rectangle to whole pixels, so
    the modules keep the hard edges they had (one path of all the runs came out with grey
    fringes in pdftoppm's images).
    """
    matrix = qr_matrix(payload)
    cells = len(matrix) + 8  # quiet zone of four modules
    module = size / cells
    canvas.setFillColor(Color(1, 1, 1))
    canvas.rect(x, y, size, size, fill=1, stroke=0)
    canvas.setFillColor(INK)
    runs = []
    for row_index, row in enumerate(matrix):
        run_start = None
        for col_index, dark in enumerate([*row, False]):
            if dark and run_start is None:
                run_start = col_index
            elif not dark and run_start is not None:
                runs.append(f"{run_start} {row_index} {col_index - run_start} 1 re f")
                run_start = None
    canvas.saveState()
    canvas.transform(module, 0, 0, -module, x + 4 * module, y + size - 4 * module)
    canvas.addLiteral("\n".join(runs))
    canvas.restoreState()


def render_pdf(data: CertificateData) -> bytes:
    """The certificate as PDF bytes (unsigned)."""
    fonts = register_fonts()
    buffer = io.BytesIO()
    canvas = Canvas(
        buffer,
        pagesize=(PAGE_WIDTH, PAGE_HEIGHT),
        pageCompression=1,
        initialFontName=fonts["regular"],  # else Helvetica, a system font, is referenced
    )
    canvas.setTitle(_nfc(f"{data.title} – {data.learner_name}"))
    canvas.setAuthor(_nfc(data.organisation))
    canvas.setSubject(_nfc(data.course_title))
    canvas.setCreator("Hocvu")
    _border(canvas)
    canvas.setFillColor(INK)

    # Left: the issuing organisation and the serial; right: the national heading.
    left_x, right_x, column = 215, PAGE_WIDTH - 235, 330
    top = PAGE_HEIGHT - 70
    # A long name wraps (up to five lines fit above the title) rather than shrink unreadable.
    organisation = _nfc(data.organisation).upper()
    _, size = _fit(organisation, fonts["bold"], 12, column, 10)
    y = _centered(canvas, organisation, fonts["bold"], 12, left_x, top, column, 10)
    rule = y + size * 1.25 - 7  # the short rule under the name, clear of its last line
    canvas.setLineWidth(0.8)
    canvas.setStrokeColor(INK)
    canvas.line(left_x - 40, rule, left_x + 40, rule)
    canvas.setFont(fonts["regular"], 10.5)
    canvas.drawCentredString(left_x, rule - 15, _nfc(f"Số: {data.serial}"))
    canvas.setFont(fonts["bold"], 12)
    canvas.drawCentredString(right_x, top, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
    canvas.setFont(fonts["bold"], 12.5)
    motto = "Độc lập - Tự do - Hạnh phúc"
    canvas.drawCentredString(right_x, top - 17, motto)
    half = pdfmetrics.stringWidth(motto, fonts["bold"], 12.5) / 2
    canvas.line(right_x - half, top - 21, right_x + half, top - 21)

    # The title and the learner.
    middle = PAGE_WIDTH / 2
    canvas.setFillColor(RED)
    y = _centered(canvas, _nfc(data.title), fonts["bold"], 36, middle, PAGE_HEIGHT - 175, 600, 24)
    canvas.setFillColor(INK)
    y = _centered(canvas, _nfc(data.subtitle), fonts["semibold"], 15, middle, y + 6, 600, 10)
    canvas.setFont(fonts["italic"], 13)
    canvas.drawCentredString(middle, y - 6, "Chứng nhận Ông/Bà:")
    canvas.setFillColor(RED)
    y = _centered(canvas, _nfc(data.learner_name), fonts["bold"], 28, middle, y - 42, 640, 16)
    canvas.setFillColor(INK)
    details = []
    if data.birth_date:
        details.append(f"Ngày sinh: {data.birth_date}")
    if data.unit:
        details.append(f"Đơn vị: {data.unit}")
    if details:
        y = _centered(
            canvas, _nfc("   ·   ".join(details)), fonts["regular"], 12.5, middle, y + 2, 660, 8.5
        )
    y = _centered(canvas, _nfc(data.body), fonts["regular"], 13, middle, y - 8, 660, 9)
    y = _centered(
        canvas, _nfc(f"“{data.course_title}”"), fonts["bold"], 18, middle, y - 10, 640, 11
    )
    y = _centered(
        canvas,
        _nfc(
            f"Thời gian học: {data.period}"
            + (f"   ·   Hình thức: {data.mode}" if data.mode else "")
        ),
        fonts["regular"],
        12.5,
        middle,
        y - 4,
        640,
        8.5,
    )
    _centered(canvas, _nfc(f"Kết quả: {data.result}"), fonts["bold"], 13, middle, y - 2, 640, 9)

    # Bottom right: place and date, signer's title, the seal or signature image (or room to
    # sign by hand), and the signer's name below it, never under the seal.
    sign_x, sign_top = PAGE_WIDTH - 215, 150
    _centered(canvas, _nfc(data.place_and_date), fonts["italic"], 12, sign_x, sign_top, 320, 8)
    _centered(
        canvas, _nfc(data.signer_title).upper(), fonts["bold"], 12, sign_x, sign_top - 18, 320, 8
    )
    if data.seal_png:
        try:
            image = ImageReader(io.BytesIO(data.seal_png))
        except Exception as error:  # noqa: BLE001 - reportlab raises many kinds here
            raise CertificateError("the seal image cannot be read") from error
        # A round seal fills the height; a signature (wider) the width; centred either way.
        canvas.drawImage(
            image,
            sign_x - 100,
            60,
            width=200,
            height=68,
            mask="auto",
            preserveAspectRatio=True,
            anchor="c",
        )
    _centered(canvas, _nfc(data.signer_name), fonts["bold"], 13, sign_x, 45, 320, 9)

    # Bottom left: QR code to the verification page.
    _qr(canvas, data.verify_url, 62, 52, 92)
    canvas.setFont(fonts["regular"], 8.5)
    canvas.drawString(162, 112, _nfc(f"Số hiệu: {data.serial}"))
    canvas.drawString(162, 100, "Quét mã QR hoặc truy cập:")
    lines, size = _fit(data.verify_url, fonts["regular"], 8.5, 230, 6)
    canvas.setFont(fonts["regular"], size)
    for offset, line in enumerate(lines[:2]):
        canvas.drawString(162, 88 - offset * 10, line)
    warning = ""
    if data.sample:
        warning = "MẪU XEM TRƯỚC – không phải giấy chứng nhận, không có giá trị"
    elif data.development:
        warning = "BẢN THỬ NGHIỆM – ký bằng chứng thư số tự cấp, không có giá trị pháp lý"
    if warning:  # at the top, where it can cover neither the signature nor the QR code
        canvas.setFillColor(RED)
        canvas.setFont(fonts["bold"], 9)
        canvas.drawCentredString(middle, PAGE_HEIGHT - 45, warning)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()

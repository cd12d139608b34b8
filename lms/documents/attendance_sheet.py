"""The attendance sheet of an in-person class as an A4 landscape PDF ("Danh sách điểm danh"):
one row per learner, one column per session with what was recorded, and a column for the
learner's signature, set in the certificates' font. Texts are translated with the current
locale."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext, pgettext
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from certificates.render import register_fonts
from lms.app.i18n import format_date, format_time


@dataclass(frozen=True)
class SheetRow:
    """One learner: name, username, unit, a mark per session ("" when none), the rate."""

    full_name: str
    username: str
    unit: str
    marks: tuple[str, ...]
    attended: str


def marks_legend() -> dict[str, str]:
    """The one-letter marks printed in the session columns, by attendance status."""
    return {
        "present": pgettext("attendance mark", "P"),
        "late": pgettext("attendance mark", "L"),
        "absent": pgettext("attendance mark", "A"),
        "excused": pgettext("attendance mark", "E"),
    }


def render(
    *,
    organisation: str,
    unit: str,
    class_name: str,
    course_title: str,
    sessions: list[tuple[datetime, datetime, str]],
    rows: list[SheetRow],
    printed_at: datetime,
) -> bytes:
    """The sheet's PDF (repeating its header row on every page)."""
    fonts = register_fonts()
    base = ParagraphStyle("base", fontName=fonts["regular"], fontSize=9.5, leading=12)
    head = ParagraphStyle("head", parent=base, fontName=fonts["bold"], alignment=TA_CENTER)
    title = ParagraphStyle(
        "title", parent=base, fontName=fonts["bold"], fontSize=14, leading=19, alignment=TA_CENTER
    )
    center = ParagraphStyle("center", parent=base, alignment=TA_CENTER)
    th = ParagraphStyle("th", parent=base, fontName=fonts["bold"], fontSize=8, leading=10)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=f"{gettext('Attendance sheet')} – {class_name}",
        author=organisation,
        creator="Hocvu",
    )
    story = [
        Table(
            [
                [
                    Paragraph(organisation.upper(), head),
                    Paragraph(
                        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM<br/>Độc lập - Tự do - Hạnh phúc", head
                    ),
                ],
                [Paragraph(unit, center), Paragraph("", center)],
            ],
            colWidths=[doc.width * 0.45, doc.width * 0.55],
        ),
        Spacer(1, 4 * mm),
        Paragraph(gettext("ATTENDANCE SHEET"), title),
        Paragraph(f"{class_name} – {course_title}", center),
        Spacer(1, 3 * mm),
    ]
    session_heads = [
        Paragraph(f"{format_date(start, 'short')}<br/>{format_time(start)}–{format_time(end)}", th)
        for start, end, _place in sessions
    ]
    header = [
        Paragraph(gettext("No."), th),
        Paragraph(gettext("Full name"), th),
        Paragraph(gettext("Username"), th),
        Paragraph(gettext("Unit"), th),
        *session_heads,
        Paragraph(gettext("Attended"), th),
        Paragraph(gettext("Signature"), th),
    ]
    body = [
        [
            str(number),
            Paragraph(row.full_name, base),
            row.username,
            Paragraph(row.unit, base),
            *row.marks,
            row.attended,
            "",
        ]
        for number, row in enumerate(rows, start=1)
    ]
    fixed = [10 * mm, 52 * mm, 30 * mm, 48 * mm]
    attended_width = 18 * mm
    # Session columns share the room up to 26 mm each; the signature column takes the rest.
    room = doc.width - sum(fixed) - attended_width - 34 * mm
    each = min(26 * mm, max(10 * mm, room / max(1, len(sessions))))
    signature = max(25 * mm, doc.width - sum(fixed) - attended_width - each * len(sessions))
    tail = [attended_width, signature]
    table = Table(
        [header, *body],
        colWidths=[*fixed, *([each] * len(sessions)), *tail],
        repeatRows=1,
    )
    first_mark = len(fixed)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), fonts["regular"], 9),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6f2ec")),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9aa6a0")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("ALIGN", (first_mark, 1), (-2, -1), "CENTER"),
                ("TOPPADDING", (0, 1), (-1, -1), 6),
                ("BOTTOMPADDING", (0, 1), (-1, -1), 6),
            ]
        )
    )
    story.append(table)
    legend = marks_legend()
    story += [
        Spacer(1, 3 * mm),
        Paragraph(
            gettext(
                "%(present)s: present · %(late)s: arrived late · %(absent)s: absent · "
                "%(excused)s: excused. Printed %(when)s.",
                present=legend["present"],
                late=legend["late"],
                absent=legend["absent"],
                excused=legend["excused"],
                when=format_date(printed_at),
            ),
            base,
        ),
    ]
    places = sorted({place for _s, _e, place in sessions if place})
    if places:
        story.append(Paragraph(gettext("Place: %(places)s", places="; ".join(places)), base))
    doc.build(story)
    return buffer.getvalue()

"""The periodic report "Báo cáo kết quả thực hiện" as an A4 PDF, drawn from its frozen figures.

Set in Be Vietnam Pro, embedded (the certificates' font, registered by certificates.render),
with reportlab's platypus for the flowing tables and reportlab graphics for the charts, so the
PDF needs neither a browser nor a system font. Texts are translated with the current locale.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

from flask_babel import gettext
from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from certificates.render import register_fonts
from lms.app.i18n import format_date, format_datetime, format_number

GREEN = colors.HexColor("#0b5d3b")
RED = colors.HexColor("#b42318")
GRID = colors.HexColor("#d6ddd9")
FIGURES = ("issued", "started", "completed", "passed", "certified", "overdue")


def figure_labels() -> dict[str, str]:
    """The names of the figures, in the current language."""
    return {
        "issued": gettext("Accounts issued"),
        "started": gettext("Started learning"),
        "completed": gettext("Completed"),
        "passed": gettext("Passed the final test"),
        "certified": gettext("Certificates issued"),
        "overdue": gettext("Overdue"),
        "never_logged_in": gettext("Never logged in"),
    }


def _rate(part: int, whole: int) -> str:
    return format_number(100 * part / whole) + " %" if whole else "–"


def period_title(kind: str, start: date, end: date) -> str:
    """'6 tháng đầu năm 2026', 'Năm 2026' or 'Từ ngày … đến ngày …'."""
    if kind == "half_year" and start.month == 1:
        return gettext("First six months of %(year)s", year=start.year)
    if kind == "half_year":
        return gettext("Last six months of %(year)s", year=start.year)
    if kind == "year":
        return gettext("Year %(year)s", year=start.year)
    return gettext(
        "From %(start)s to %(end)s",
        start=format_date(start, "short"),
        end=format_date(end, "short"),
    )


def _styles(fonts: dict[str, str]) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=fonts["regular"], fontSize=10, leading=13.5)
    return {
        "base": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8.5, leading=11),
        "center": ParagraphStyle("center", parent=base, alignment=TA_CENTER),
        "head": ParagraphStyle(
            "head", parent=base, fontName=fonts["bold"], alignment=TA_CENTER, fontSize=10
        ),
        "title": ParagraphStyle(
            "title",
            parent=base,
            fontName=fonts["bold"],
            fontSize=15,
            leading=20,
            alignment=TA_CENTER,
            spaceBefore=6,
        ),
        "subtitle": ParagraphStyle(
            "subtitle", parent=base, fontName=fonts["semibold"], fontSize=11, alignment=TA_CENTER
        ),
        "h2": ParagraphStyle(
            "h2",
            parent=base,
            fontName=fonts["bold"],
            fontSize=11.5,
            leading=15,
            spaceBefore=10,
            spaceAfter=4,
        ),
        "italic": ParagraphStyle(
            "italic", parent=base, fontName=fonts["italic"], alignment=TA_CENTER
        ),
    }


def _table(rows: list[list[Any]], widths: list[float], fonts: dict[str, str]) -> Table:
    # Header cells wrap (long Vietnamese labels in narrow figure columns).
    th = ParagraphStyle("th", fontName=fonts["bold"], fontSize=7.5, leading=9)
    rows = [[Paragraph(str(cell), th) for cell in rows[0]], *rows[1:]]
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), fonts["regular"], 8.5),
                ("FONT", (0, 0), (-1, 0), fonts["bold"], 8.5),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6f2ec")),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9aa6a0")),
                ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 2.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
            ]
        )
    )
    return table


def _bars(items: list[tuple[str, float, bool]], width: float, font: str, value_text) -> Drawing:
    """Horizontal bars of percentages, each with its label above."""
    row = 20
    drawing = Drawing(width, row * len(items) + 4)
    plot = width - 48
    for index, (label, value, warn) in enumerate(items):
        y = drawing.height - (index + 1) * row
        text = label if len(label) <= 90 else label[:89] + "…"
        drawing.add(String(0, y + 10, text, fontName=font, fontSize=7.5))
        drawing.add(Rect(0, y + 1, plot, 7, fillColor=GRID, strokeColor=None))
        drawing.add(
            Rect(
                0,
                y + 1,
                plot * min(value, 100) / 100,
                7,
                fillColor=RED if warn else GREEN,
                strokeColor=None,
            )
        )
        drawing.add(String(plot + 4, y + 1.5, value_text(value), fontName=font, fontSize=7.5))
    return drawing


def _columns(days: list[tuple[date, int]], width: float, font: str) -> Drawing:
    height, left, bottom = 120, 28, 16
    drawing = Drawing(width, height)
    plot_w, plot_h = width - left, height - bottom - 8
    maximum = max((n for _, n in days), default=0)
    drawing.add(Line(left, bottom, width, bottom, strokeColor=colors.grey, strokeWidth=0.5))
    drawing.add(
        String(
            left - 3,
            bottom + plot_h - 3,
            format_number(maximum),
            fontName=font,
            fontSize=7,
            textAnchor="end",
        )
    )
    drawing.add(String(left - 3, bottom - 2, "0", fontName=font, fontSize=7, textAnchor="end"))
    if days and maximum:
        step = plot_w / len(days)
        for index, (_, count) in enumerate(days):
            if count:
                h = count / maximum * plot_h
                drawing.add(
                    Rect(
                        left + index * step + step * 0.1,
                        bottom,
                        max(step * 0.8, 0.4),
                        h,
                        fillColor=GREEN,
                        strokeColor=None,
                    )
                )
        for index in sorted({0, len(days) // 2, len(days) - 1}):
            anchor = "start" if index == 0 else "end" if index == len(days) - 1 else "middle"
            drawing.add(
                String(
                    left + index * step + step / 2,
                    3,
                    format_date(days[index][0], "short"),
                    fontName=font,
                    fontSize=7,
                    textAnchor=anchor,
                )
            )
    return drawing


def _classes_section(
    classes: dict[str, Any] | None, width: float, fonts: dict[str, str], styles: dict
) -> list[Any]:
    """5. In-person classes, when the report's subtree has any (reports frozen before classes
    existed have no such key and print no section)."""
    if not classes or not classes["total"]["learners"]:
        return []
    head = [
        gettext("Unit"),
        gettext("Classes held"),
        gettext("Class sessions"),
        gettext("Learners in classes"),
        gettext("Attendance rate"),
        gettext("In-person completions"),
    ]

    def cells(c: dict[str, int]) -> list[str]:
        return [
            format_number(c["classes"]),
            format_number(c["sessions"]),
            format_number(c["learners"]),
            _rate(c["attended"], c["counted"]) if c["counted"] else "—",
            format_number(c["completed"]),
        ]

    rows = [head]
    for row in classes["rows"]:
        if row["counts"]["learners"]:
            rows.append([Paragraph(row["name"], styles["small"]), *cells(row["counts"])])
    rows.append([Paragraph(gettext("Total"), styles["small"]), *cells(classes["total"])])
    first = width * 0.35
    rest = (width - first) / 5
    return [
        Paragraph(gettext("5. In-person classes"), styles["h2"]),
        Paragraph(
            gettext(
                "Sessions held and in-person completions during the period; learners on the "
                "rosters of every class."
            ),
            styles["base"],
        ),
        Spacer(1, 2 * mm),
        _table(rows, [first] + [rest] * 5, fonts),
    ]


def _teams_section(
    teams: dict[str, Any] | None, width: float, fonts: dict[str, str], styles: dict
) -> list[Any]:
    """6. Community digital-technology teams, when the report's subtree has any (as they stand
    at the report's date; reports frozen before teams existed print no section)."""
    if not teams or not teams["total"]["teams"]:
        return []
    names = ("teams", "members", "supported", "contacts", "completed_after")
    head = [
        gettext("Unit"),
        gettext("Support teams"),
        gettext("Members"),
        gettext("Learners supported"),
        gettext("Support contacts"),
        gettext("Completed after support"),
    ]
    rows = [head]
    for row in teams["rows"]:
        if row["teams"]:
            rows.append(
                [Paragraph(row["name"], styles["small"]), *(format_number(row[n]) for n in names)]
            )
    rows.append(
        [
            Paragraph(gettext("Total"), styles["small"]),
            *(format_number(teams["total"][n]) for n in names),
        ]
    )
    first = width * 0.35
    rest = (width - first) / 5
    return [
        Paragraph(gettext("6. Community digital-technology teams"), styles["h2"]),
        Paragraph(
            gettext(
                "Teams, their members, the learners they support and their contacts as they "
                "stand at the report's date; completed after support: learners who completed "
                "the course after a team first contacted them."
            ),
            styles["base"],
        ),
        Spacer(1, 2 * mm),
        _table(rows, [first] + [rest] * 5, fonts),
    ]


def render(data: dict[str, Any], place: str) -> bytes:
    """The report's PDF from its frozen data."""
    fonts = register_fonts()
    styles = _styles(fonts)
    buffer = io.BytesIO()
    start, end = date.fromisoformat(data["start"]), date.fromisoformat(data["end"])
    as_of = datetime.fromisoformat(data["as_of"])
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"{data['title']} – {data['unit']}",
        author=data.get("organisation", ""),
        creator="Hocvu",
    )
    width = doc.width
    labels = figure_labels()
    total = data["total"]
    story: list[Any] = []
    header = Table(
        [
            [
                Paragraph(data.get("organisation", "").upper(), styles["head"]),
                Paragraph(
                    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM<br/>Độc lập - Tự do - Hạnh phúc",
                    styles["head"],
                ),
            ],
            [
                Paragraph(data["unit"], styles["center"]),
                Paragraph(
                    f"{place}, {format_date(as_of)}" if place else format_date(as_of),
                    styles["italic"],
                ),
            ],
        ],
        colWidths=[width * 0.45, width * 0.55],
    )
    header.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story += [header, Spacer(1, 8 * mm)]
    story.append(Paragraph(data["title"].upper(), styles["title"]))
    story.append(
        Paragraph(gettext("Course: %(course)s", course=data["course"]), styles["subtitle"])
    )
    story.append(Paragraph(period_title(data["kind"], start, end), styles["subtitle"]))
    story.append(Spacer(1, 4 * mm))
    story.append(
        Paragraph(
            gettext(
                "Figures of the accounts issued from %(start)s to %(end)s in %(unit)s and its "
                "sub-units, as they stood at %(moment)s. They do not change afterwards.",
                start=format_date(start, "short"),
                end=format_date(end, "short"),
                unit=data["unit"],
                moment=format_datetime(as_of),
            ),
            styles["base"],
        )
    )
    story.append(Paragraph(gettext("1. Overall results"), styles["h2"]))
    rows = [[gettext("Figure"), gettext("Count"), gettext("Share of accounts issued")]]
    for name in (*FIGURES, "never_logged_in"):
        rows.append(
            [
                labels[name],
                format_number(total[name]),
                "" if name == "issued" else _rate(total[name], total["issued"]),
            ]
        )
    story.append(_table(rows, [width * 0.5, width * 0.2, width * 0.3], fonts))
    story.append(Paragraph(gettext("2. Results by unit"), styles["h2"]))
    if data["rows"]:
        unit_rows = [[gettext("Unit"), *(labels[n] for n in FIGURES), gettext("Completion rate")]]
        for row in data["rows"]:
            c = row["counts"]
            unit_rows.append(
                [
                    Paragraph(row["name"], styles["small"]),
                    *(format_number(c[n]) for n in FIGURES),
                    _rate(c["completed"], c["issued"]),
                ]
            )
        first = width * 0.3
        rest = (width - first) / (len(FIGURES) + 1)
        story.append(_table(unit_rows, [first] + [rest] * (len(FIGURES) + 1), fonts))
        ranked = sorted(
            (r for r in data["rows"] if r["counts"]["issued"]),
            key=lambda r: r["counts"]["completed"] / r["counts"]["issued"],
        )[:25]
        if ranked:
            average = total["completed"] / total["issued"] if total["issued"] else 0
            chart = _bars(
                [
                    (
                        r["name"],
                        100 * r["counts"]["completed"] / r["counts"]["issued"],
                        r["counts"]["completed"] / r["counts"]["issued"] < average,
                    )
                    for r in ranked
                ],
                width,
                fonts["regular"],
                lambda v: format_number(v) + " %",
            )
            story.append(Spacer(1, 3 * mm))
            story.append(
                KeepTogether(
                    [
                        Paragraph(
                            gettext(
                                "Completion rate by unit (lowest first; red: below the "
                                "average of %(rate)s)",
                                rate=_rate(total["completed"], total["issued"]),
                            ),
                            styles["small"],
                        ),
                        chart,
                    ]
                )
            )
    else:
        story.append(Paragraph(gettext("This unit has no sub-units."), styles["base"]))
    story.append(Paragraph(gettext("3. Results by batch"), styles["h2"]))
    if data["batches"]:
        batch_rows = [[gettext("Batch"), *(labels[n] for n in FIGURES), gettext("Completion rate")]]
        for row in data["batches"]:
            c = row["counts"]
            batch_rows.append(
                [
                    Paragraph(row["name"] or gettext("(no batch)"), styles["small"]),
                    *(format_number(c[n]) for n in FIGURES),
                    _rate(c["completed"], c["issued"]),
                ]
            )
        first = width * 0.3
        rest = (width - first) / (len(FIGURES) + 1)
        story.append(_table(batch_rows, [first] + [rest] * (len(FIGURES) + 1), fonts))
    else:
        story.append(Paragraph(gettext("No account was issued in this period."), styles["base"]))
    days = [(date.fromisoformat(d), n) for d, n in data["days"]]
    story.append(Paragraph(gettext("4. Completions per day"), styles["h2"]))
    story.append(
        Paragraph(
            gettext(
                "%(count)s completions during the period; the busiest day had %(max)s.",
                count=format_number(sum(n for _, n in days)),
                max=format_number(max((n for _, n in days), default=0)),
            ),
            styles["base"],
        )
    )
    story.append(Spacer(1, 2 * mm))
    story.append(_columns(days, width, fonts["regular"]))
    story += _classes_section(data.get("classes"), width, fonts, styles)
    story += _teams_section(data.get("teams"), width, fonts, styles)
    story.append(Spacer(1, 10 * mm))
    signature = Table(
        [
            ["", Paragraph(gettext("PREPARED BY"), styles["head"])],
            ["", Spacer(1, 18 * mm)],
            ["", Paragraph(data.get("issued_by", ""), styles["head"])],
        ],
        colWidths=[width * 0.5, width * 0.5],
    )
    story.append(KeepTogether([signature]))

    def footer(canvas, document):
        canvas.saveState()
        canvas.setFont(fonts["regular"], 7.5)
        canvas.setFillColor(colors.grey)
        canvas.drawString(
            doc.leftMargin, 8 * mm, f"{data['title']} – {data['unit']} – {data['reference']}"
        )
        canvas.drawRightString(
            A4[0] - doc.rightMargin, 8 * mm, gettext("Page %(page)s", page=document.page)
        )
        canvas.restoreState()

    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()

"""Charts drawn on the server as inline SVG: no script, no CDN, no inline style (the CSP
forbids it), readable on a 360 px phone. Labels come in already formatted and translated;
every chart has a title and a description for screen readers, and the page shows the same
figures in a table beside it."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

GREEN = "#0b5d3b"
RED = "#b42318"
GRID = "#d6ddd9"
INK = "#1c2421"
MUTED = "#5b6762"
_ids = itertools.count(1)


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its value, the value's text, and whether to draw it as a warning."""

    label: str
    value: float
    text: str
    warn: bool = False


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def bar_chart(title: str, description: str, bars: Sequence[Bar], maximum: float) -> Markup:
    """Horizontal bars (e.g. the completion rate of each unit), the label above each bar."""
    chart_id = f"chart-{next(_ids)}"
    width, row = 600, 34
    height = max(row * len(bars) + 10, 40)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" preserveAspectRatio="xMinYMin meet" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(description)}</desc>',
    ]
    plot = width - 70
    for index, bar in enumerate(bars):
        y = index * row + 4
        length = 0 if maximum <= 0 else max(0.0, min(bar.value / maximum, 1.0)) * plot
        colour = RED if bar.warn else GREEN
        parts.append(
            f'<text x="0" y="{y + 11}" font-size="12" fill="{INK}">'
            f"{escape(_clip(bar.label, 80))}</text>"
            f'<rect x="0" y="{y + 15}" width="{plot}" height="12" fill="{GRID}" rx="2"/>'
            f'<rect x="0" y="{y + 15}" width="{length:.1f}" height="12" fill="{colour}" rx="2"/>'
            f'<text x="{plot + 6}" y="{y + 26}" font-size="12" fill="{INK}">'
            f"{escape(bar.text)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above is escaped


def column_chart(
    title: str,
    description: str,
    values: Sequence[tuple[str, int]],
    axis_labels: Sequence[tuple[int, str]],
    maximum_text: str,
) -> Markup:
    """Vertical columns (e.g. completions per day), with a few dates under the axis."""
    chart_id = f"chart-{next(_ids)}"
    width, height, left, bottom, top = 600, 220, 36, 24, 14
    plot_w, plot_h = width - left - 6, height - bottom - top
    maximum = max((v for _, v in values), default=0)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(description)}</desc>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 6}" y2="{top + plot_h}" '
        f'stroke="{MUTED}" stroke-width="1"/>',
        f'<line x1="{left}" y1="{top}" x2="{width - 6}" y2="{top}" stroke="{GRID}" '
        f'stroke-width="1"/>',
        f'<text x="{left - 4}" y="{top + 4}" font-size="11" fill="{MUTED}" '
        f'text-anchor="end">{escape(maximum_text)}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" font-size="11" fill="{MUTED}" '
        f'text-anchor="end">0</text>',
    ]
    if values:
        step = plot_w / len(values)
        bar_w = max(step * 0.8, 0.6)
        for index, (label, value) in enumerate(values):
            if value <= 0 or maximum <= 0:
                continue
            h = value / maximum * plot_h
            x = left + index * step + (step - bar_w) / 2
            parts.append(
                f'<rect x="{x:.2f}" y="{top + plot_h - h:.2f}" width="{bar_w:.2f}" '
                f'height="{h:.2f}" fill="{GREEN}"><title>{escape(label)}</title></rect>'
            )
        for index, text in axis_labels:
            x = left + index * step + step / 2
            anchor = "start" if index == 0 else "end" if index == len(values) - 1 else "middle"
            parts.append(
                f'<text x="{x:.1f}" y="{height - 6}" font-size="11" fill="{MUTED}" '
                f'text-anchor="{anchor}">{escape(text)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above is escaped

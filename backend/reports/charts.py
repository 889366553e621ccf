"""Charts drawn on the server as SVG: no script, no CDN, the same numbers as the table beside them.

A chart is stacked bars: one bar per label (a day, a week, a kind), one colour per series. A daily
figure gets a place for every day of the range, so a quiet day shows as a gap, not as nothing; a
bar is never wider than `MAX_BAR`, and a label longer than its bar's room is cut with an ellipsis
(the table has it whole). It has a text alternative (`role="img"` and a label); the table after it
is the accessible way to read it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

from backend.reports.figures import Table

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 640, 220, 44, 36, 12
MAX_BAR = 48
# Roughly how wide a character of the 10-unit axis font is.
CHAR_WIDTH = 6
# Distinguishable in print and for the common colour blindnesses (Okabe-Ito).
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")


@dataclass(frozen=True)
class Shape:
    """How a figure's table becomes bars: which column labels the bars, which one (if any) names the
    series, and which columns are the values."""

    label: int
    values: tuple[int, ...]
    series: int | None = None


SHAPES = {
    "bookings": Shape(label=0, series=1, values=(3,)),
    "confirmations": Shape(label=0, values=(1,)),
    "attendance": Shape(label=0, values=(5, 6)),
    "recovered": Shape(label=0, values=(1,)),
    "messages": Shape(label=0, series=1, values=(2,)),
}
# "speed" has no chart: minutes and counts side by side are not bars on one axis; its table says it.


# The figures counted per day of the clinic: their bars are every day of the range.
DAILY = frozenset({"bookings", "messages"})


def bars(table: Table, shape: Shape, every: Sequence[str] = ()) -> tuple[list[str], dict[str, list[float]]]:
    """The labels (`every` first, then any other the rows have), and each series' value per label
    (0 where a label has none)."""
    labels: list[str] = list(every)
    series: dict[str, dict[str, float]] = {}
    for row in table.rows:
        label = str(row[shape.label])
        if label not in labels:
            labels.append(label)
        if shape.series is not None:
            pairs = [(str(row[shape.series]), row[shape.values[0]])]
        else:
            pairs = [(table.columns[i], row[i]) for i in shape.values]
        for name, value in pairs:
            bucket = series.setdefault(name, {})
            bucket[label] = bucket.get(label, 0.0) + float(value or 0)
    return labels, {name: [values.get(label, 0.0) for label in labels] for name, values in series.items()}


def svg(title: str, table: Table, shape: Shape, every: Sequence[str] = ()) -> Markup:
    labels, series = bars(table, shape, every)
    if not table.rows:
        return Markup(f'<p class="muted">{escape(title)}: nothing in this range.</p>')  # noqa: S704 - escaped
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    top = max(max(totals), 1.0)
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    step = plot_w / len(labels)
    width = min(max(step * 0.7, 1.0), MAX_BAR)
    room = max(3, int(step * (len(labels) // 8 + 1 if len(labels) > 16 else 1) / CHAR_WIDTH))
    parts = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT + 18 * ((len(series) + 3) // 4)}" role="img" '
        f'aria-label="{escape(title)}: a chart; the table below has its numbers" class="chart" '
        'preserveAspectRatio="xMinYMin meet" width="100%">',
        f'<text x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end" font-size="11">{top:g}</text>',
        f'<text x="{LEFT - 6}" y="{TOP + plot_h}" text-anchor="end" font-size="11">0</text>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - 8}" y2="{TOP + plot_h}" stroke="#888"/>',
    ]
    for i, label in enumerate(labels):
        x, base = LEFT + i * step + (step - width) / 2, TOP + plot_h
        for n, (name, values) in enumerate(series.items()):
            colour = COLOURS[n % len(COLOURS)]
            h = plot_h * values[i] / top
            if h > 0:
                base -= h
                parts.append(
                    f'<rect x="{x:.1f}" y="{base:.1f}" width="{width:.1f}" height="{h:.1f}" fill="{colour}">'
                    f"<title>{escape(label)}, {escape(name)}: {values[i]:g}</title></rect>"
                )
        if len(labels) <= 16 or i % (len(labels) // 8 + 1) == 0:
            parts.append(
                f'<text x="{x + width / 2:.1f}" y="{TOP + plot_h + 14}" text-anchor="middle" '
                f'font-size="10">{escape(_fitted(label, room))}</text>'
            )
    for n, name in enumerate(series):
        colour = COLOURS[n % len(COLOURS)]
        x, y = LEFT + (n % 4) * 150, HEIGHT + 18 * (n // 4)
        parts.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{x + 14}" y="{y}" font-size="11">{escape(name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it went through escape()


def _fitted(label: str, room: int) -> str:
    """An axis label in `room` characters: a day as month-day, anything longer cut with an ellipsis."""
    if len(label) == 10 and label[4] == "-":
        return label[5:]
    return label if len(label) <= room else label[: room - 1].rstrip() + "\u2026"

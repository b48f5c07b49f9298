"""Server-rendered SVG charts: plain geometry for the templates to draw.

A chart never stands alone: every page that draws one shows its numbers in a table beside it,
and the chart itself is hidden from screen readers in favour of that table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

# Colour-blind-safe palette (Okabe-Ito), in series order; series are also named in the legend
# and the table, so colour is never the only way to tell them apart.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#000000", "#999999", "#7F3C8D"]


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


@dataclass
class Chart:
    width: int
    height: int
    bars: list[Bar] = field(default_factory=list)
    labels: list[tuple[float, str]] = field(default_factory=list)  # x, text under each group
    ticks: list[tuple[float, str]] = field(default_factory=list)  # y, value on the axis
    legend: list[tuple[str, str]] = field(default_factory=list)  # colour, name
    plot_left: int = 56
    plot_bottom: int = 0


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def stacked_bars(groups: list[str], series: list[str], values: dict[tuple[str, str], float],
                 *, width: int = 640, height: int = 280) -> Chart:
    """One stacked bar per group (e.g. month), one segment per series (e.g. modality)."""
    left, bottom, top = 56, 32, 10
    chart = Chart(width=width, height=height, plot_left=left, plot_bottom=height - bottom)
    plot_h = height - bottom - top
    totals = [sum(values.get((g, s), 0) for s in series) for g in groups]
    top_value = _nice_max(max(totals, default=0))
    slot = (width - left - 10) / max(1, len(groups))
    bar_w = min(48, slot * 0.6)
    colours = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(series)}
    for index, group in enumerate(groups):
        x = left + slot * index + (slot - bar_w) / 2
        y: float = height - bottom
        for name in series:
            value = values.get((group, name), 0)
            if not value:
                continue
            h = plot_h * value / top_value
            y -= h
            chart.bars.append(Bar(x, y, bar_w, h, colours[name], f"{group}, {name}: {value:,.0f}"))
        chart.labels.append((x + bar_w / 2, group))
    for step in range(6):
        value = top_value * step / 5
        chart.ticks.append((height - bottom - plot_h * step / 5, f"{value:,.0f}"))
    chart.legend = [(colours[s], s) for s in series]
    return chart


def horizontal_bars(groups: list[str], values: list[float], *, width: int = 640,
                    colour: str = PALETTE[0], label_width: int = 170) -> Chart:
    """One horizontal bar per group, its name on the left (long names fit)."""
    row, top, bottom = 30, 6, 26
    height = top + row * len(groups) + bottom
    chart = Chart(width=width, height=height, plot_left=label_width, plot_bottom=height - bottom)
    plot_w = width - label_width - 16
    top_value = _nice_max(max(values, default=0))
    for index, (group, value) in enumerate(zip(groups, values, strict=True)):
        y = top + row * index + 5
        chart.bars.append(Bar(label_width, y, plot_w * value / top_value, row - 10, colour,
                              f"{group}: {value:,.1f}"))
        chart.labels.append((y + (row - 10) / 2, group))
    for step in range(6):
        chart.ticks.append((label_width + plot_w * step / 5, f"{top_value * step / 5:,.0f}"))
    return chart


def sparkline(values: list[float | None], *, width: int = 96, height: int = 24,
              top: float | None = None) -> str:
    """The points of a small trend line (SVG polyline), gaps skipped; '' with under two points."""
    known = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(known) < 2:
        return ""
    top_value = top or max(v for _, v in known) or 1
    step = (width - 4) / max(1, len(values) - 1)
    return " ".join(f"{2 + i * step:.1f},{height - 2 - (height - 4) * v / top_value:.1f}"
                    for i, v in known)

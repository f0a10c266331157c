"""Server-side SVG charts: geometry computed here, markup in templates (no script, no CDN).

The SVG scales with the page, and so do its labels: a label of `font` units shows at
`font * shown width / view width` pixels. So each chart is drawn twice, a wide one for
screens from 40em (640px) up and a narrow one below, each sized so that its axis labels never
show smaller than MIN_LABEL_PX (`label_px` computes it; tests/web/admin/test_dashboard.py checks).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from newsletter.compose.times import uk_date
from newsletter.subscriptions.growth import Week

MIN_LABEL_PX = 12


@dataclass(frozen=True)
class Layout:
    """One drawing of a chart: its view box, and the widths it is shown at (CSS pixels)."""

    name: str  # "wide" or "narrow": the CSS class that shows it
    width: int
    height: int
    left: int
    bottom: int
    font: int  # label size in view-box units
    label_every: int  # a date under every nth week
    shown_min: int
    shown_max: int

    def label_px(self, shown_width: float) -> float:
        """The labels' size on screen when the chart is `shown_width` CSS pixels wide."""
        return self.font * shown_width / self.width


# Wide: shown from a 640px window (a 610px column, 15px padding each side) to its 720px cap.
WIDE = Layout("wide", 720, 280, 52, 44, 15, 2, 610, 720)
# Narrow: shown from a 320px window (290px column) to the 40em breakpoint, capped at 400px.
NARROW = Layout("narrow", 320, 240, 40, 40, 14, 3, 290, 400)
LAYOUTS = (WIDE, NARROW)
TOP, RIGHT = 16, 8


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    series: str  # signups, imports, unsubscribes or bounces
    label: str  # what the bar's tooltip says


@dataclass(frozen=True)
class Tick:
    y: float
    value: int


@dataclass(frozen=True)
class Label:
    x: float
    text: str
    anchor: str = "middle"  # the last week's label ends at the plot's edge, inside the view


@dataclass(frozen=True)
class Chart:
    layout: Layout
    baseline: float
    bars: list[Bar]
    ticks: list[Tick]
    labels: list[Label]

    @property
    def width(self) -> int:
        return self.layout.width

    @property
    def height(self) -> int:
        return self.layout.height

    @property
    def left(self) -> int:
        return self.layout.left


def _nice_ceiling(value: int) -> int:
    """The axis top: 1, 2 or 5 times a power of ten, at least `value` (and at least 4)."""
    if value <= 4:
        return 4
    power = 10 ** int(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


SERIES_NAMES = {
    "signups": "confirmed sign-ups",
    "imports": "imported",
    "unsubscribes": "unsubscribed",
    "bounces": "stopped by bounces",
}


def short_date(week: Week) -> str:
    """ "7 Dec": the week's first day in UK time, without the year."""
    return uk_date(week.start).rsplit(" ", 1)[0]


def _draw(weeks: list[Week], layout: Layout) -> Chart:
    """Two stacked bars a week: joined (sign-ups, imports on top), left (unsubscribes, bounces)."""
    top = _nice_ceiling(max([w.joined for w in weeks] + [w.left for w in weeks] + [0]))
    plot_width = layout.width - layout.left - RIGHT
    plot_height = layout.height - TOP - layout.bottom
    group = plot_width / max(len(weeks), 1)
    bar_width = group * 0.4
    baseline = TOP + plot_height
    bars, labels = [], []
    for n, week in enumerate(weeks):
        x0 = layout.left + n * group + group * 0.1
        stacks = (
            (("signups", week.signups), ("imports", week.imports)),
            (("unsubscribes", week.unsubscribes), ("bounces", week.bounces)),
        )
        for offset, stack in enumerate(stacks):
            y: float = baseline
            for series, value in stack:
                if not value:
                    continue
                height = plot_height * value / top
                y -= height
                bars.append(
                    Bar(
                        round(x0 + offset * bar_width, 1),
                        round(y, 1),
                        round(bar_width, 1),
                        round(height, 1),
                        value,
                        series,
                        f"{short_date(week)}: {value} {SERIES_NAMES[series]}",
                    )
                )
        if n == len(weeks) - 1:
            labels.append(Label(layout.width - RIGHT, short_date(week), "end"))
        elif (len(weeks) - 1 - n) % layout.label_every == 0:
            labels.append(Label(round(layout.left + n * group + group / 2, 1), short_date(week)))
    ticks = [Tick(round(baseline - plot_height * i / 4, 1), round(top * i / 4)) for i in range(5)]
    return Chart(layout, baseline, bars, ticks, labels)


def growth_charts(weeks: list[Week]) -> list[Chart]:
    """The growth chart in each layout (wide first)."""
    return [_draw(weeks, layout) for layout in LAYOUTS]


def growth_description(weeks: list[Week], with_bounces: bool = True) -> str:
    """The chart's figures in one sentence, for its <desc>."""
    if not weeks:
        return "No weeks to show."
    signups = sum(w.signups for w in weeks)
    imports = sum(w.imports for w in weeks)
    unsubscribes = sum(w.unsubscribes for w in weeks)
    bounces = sum(w.bounces for w in weeks)
    left = (
        f"left: {unsubscribes + bounces} ({unsubscribes} unsubscribed, "
        f"{bounces} stopped by bounces)"
        if with_bounces
        else f"left: {unsubscribes} unsubscribed"
    )
    return (
        f"Over the last {len(weeks)} weeks, joined: {signups + imports} "
        f"({signups} confirmed sign-ups, {imports} imported); {left}. "
        "The table below gives each week's figures."
    )

"""Server-side SVG charts: geometry computed here, markup in templates (no script, no CDN)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from newsletter.subscriptions.audience import Week

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 16, 40


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    series: str  # "confirmations" or "unsubscribes"


@dataclass(frozen=True)
class Tick:
    y: float
    value: int


@dataclass(frozen=True)
class Label:
    x: float
    text: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    baseline: float
    bars: list[Bar]
    ticks: list[Tick]
    labels: list[Label]
    description: str


def _nice_ceiling(value: int) -> int:
    """The axis top: 1, 2 or 5 times a power of ten, at least `value` (and at least 4)."""
    if value <= 4:
        return 4
    power = 10 ** int(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def growth_chart(weeks: list[Week]) -> Chart:
    """Grouped bars, confirmations beside unsubscribes, one group per week."""
    top = _nice_ceiling(max([w.confirmations for w in weeks] + [w.unsubscribes for w in weeks]))
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    group = plot_width / max(len(weeks), 1)
    bar_width = group * 0.35
    baseline = TOP + plot_height
    bars, labels = [], []
    for n, week in enumerate(weeks):
        x0 = LEFT + n * group + group * 0.15
        for offset, (series, value) in enumerate(
            (("confirmations", week.confirmations), ("unsubscribes", week.unsubscribes))
        ):
            height = plot_height * value / top
            bars.append(
                Bar(
                    round(x0 + offset * bar_width, 1),
                    round(baseline - height, 1),
                    round(bar_width, 1),
                    round(height, 1),
                    value,
                    series,
                )
            )
        labels.append(Label(round(LEFT + n * group + group / 2, 1), week.start.strftime("%d %b")))
    ticks = [Tick(round(baseline - plot_height * i / 4, 1), round(top * i / 4)) for i in range(5)]
    joined = sum(w.confirmations for w in weeks)
    left = sum(w.unsubscribes for w in weeks)
    description = (
        f"Over the last {len(weeks)} weeks, confirmations: {joined}, unsubscribes: {left}. "
        "The table below gives each week's figures."
    )
    return Chart(WIDTH, HEIGHT, LEFT, baseline, bars, ticks, labels, description)

"""A small server-drawn SVG line chart for a segment's growth (no script, no CDN)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

WIDTH, HEIGHT, PAD = 600, 160, 28


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    points: str  # the polyline's "x,y x,y …"
    area: str  # the filled area's polygon points
    top: int  # the largest count (y-axis label)
    first_day: date | None
    last_day: date | None
    dots: list[tuple[float, float, date, int]]


def growth_chart(history: list[tuple[date, int]]) -> Chart | None:
    """Scale (day, count) points into the chart box; None when there is nothing to draw."""
    if not history:
        return None
    top = max(count for _day, count in history) or 1
    span = max(len(history) - 1, 1)
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD
    dots = []
    for index, (day, count) in enumerate(history):
        x = PAD + inner_w * index / span if len(history) > 1 else WIDTH / 2
        y = PAD + inner_h * (1 - count / top)
        dots.append((round(x, 1), round(y, 1), day, count))
    points = " ".join(f"{x},{y}" for x, y, _d, _c in dots)
    base = HEIGHT - PAD
    area = f"{dots[0][0]},{base} {points} {dots[-1][0]},{base}"
    return Chart(width=WIDTH, height=HEIGHT, points=points, area=area, top=top,
                 first_day=history[0][0], last_day=history[-1][0],
                 dots=dots if len(dots) <= 31 else [dots[-1]])

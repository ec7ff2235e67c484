"""The class summary's two plots as inline SVG, drawn from Jinja2 templates.

Plain SVG elements computed here and written by templates/plots/*.svg.j2: no
plotting library to import at the end of every batch (matplotlib cost seconds),
the same bytes for the same data, and text that the browser renders with its own
fonts, so Chinese labels show as Chinese.
"""
import math
import statistics
from dataclasses import dataclass

from markupsafe import Markup

from grader.i18n import _

COLOURS = {"public": "#3566a8", "hidden": "#8a5cb8", "bars": "#3566a8", "mean": "#c0392b", "median": "#2c3e50",
           "grid": "#dddddd", "axis": "#333333"}
WIDTH = 640


@dataclass(frozen=True)
class Box:
    """The plotting area inside the SVG, in SVG units."""
    left: float
    top: float
    width: float
    height: float

    @property
    def bottom(self):
        return self.top + self.height

    def x(self, fraction):
        return round(self.left + fraction * self.width, 2)

    def y(self, fraction):
        return round(self.bottom - fraction * self.height, 2)


def _number(value):
    return f"{value:g}"


def _count_ticks(highest):
    """Whole-number ticks from 0 that reach at least `highest`, at most about six of them."""
    step = max(1, math.ceil(max(highest, 1) / 5))
    top = step * math.ceil(max(highest, 1) / step)
    return list(range(0, top + 1, step)), top


def _render(template, **context):
    from grader.reports import environment

    return Markup(environment("html").get_template(f"plots/{template}").render(colours=COLOURS, **context).strip())


def score_histogram(scores, *, max_score=100.0) -> Markup:
    """How many students scored in each tenth of the points, with the mean and median marked."""
    box = Box(left=48, top=34, width=WIDTH - 48 - 16, height=190)
    edges = [max_score * step / 10 for step in range(11)]
    counts = [0] * 10
    for score in scores:
        counts[min(9, max(0, int(score / max_score * 10))) if max_score else 0] += 1
    ticks, top = _count_ticks(max(counts, default=0))
    bars = [{"x": box.x(index / 10) + 0.5, "y": box.y(count / top), "width": round(box.width / 10 - 1, 2),
             "height": round(box.bottom - box.y(count / top), 2), "count": count,
             "range": f"{_number(edges[index])}–{_number(edges[index + 1])}"}
            for index, count in enumerate(counts)]
    markers = []
    if scores:
        mean, median = statistics.fmean(scores), statistics.median(scores)
        markers = [{"x": box.x(mean / max_score), "colour": COLOURS["mean"], "dash": "6 4",
                    "label": _("mean %(value).1f") % {"value": mean}},
                   {"x": box.x(median / max_score), "colour": COLOURS["median"], "dash": "2 3",
                    "label": _("median %(value)g") % {"value": median}}]
    return _render("histogram.svg.j2", box=box, bars=bars, markers=markers, height=box.bottom + 44,
                   width=WIDTH, x_ticks=[{"x": box.x(step / 10), "label": _number(edges[step])} for step in range(11)],
                   y_ticks=[{"y": box.y(tick / top), "label": tick} for tick in ticks],
                   title=_("Score distribution"), x_label=_("score (points)"), y_label=_("students"))


def pass_rate_plot(checks) -> Markup:
    """One bar per check, in course order from the top: the share of students who passed it."""
    row = 16
    box = Box(left=170, top=30, width=WIDTH - 170 - 16, height=row * max(len(checks), 1))
    bars = [{"y": round(box.top + index * row + 2, 2), "height": row - 4, "width": round(box.width * check["rate"] / 100, 2),
             "colour": COLOURS[check["visibility"]], "label": check["id"], "rate": check["rate"],
             "middle": round(box.top + index * row + row / 2, 2)}
            for index, check in enumerate(checks)]
    return _render("passrates.svg.j2", box=box, bars=bars, height=box.bottom + 44, width=WIDTH,
                   x_ticks=[{"x": box.x(percent / 100), "label": percent} for percent in range(0, 101, 20)],
                   title=_("Pass rate of each check"), x_label=_("students who passed (percent)"),
                   legend=[(COLOURS["public"], _("public check")), (COLOURS["hidden"], _("hidden check"))])

"""What each dashboard page computes on first render: the lib.metrics calls it makes, and their arguments."""

import ast
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from lib import metrics

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Call:
    """One figure a page asks lib.ui.figure for: the metrics function and its arguments by role."""

    name: str
    args: tuple[str, ...] = ("period", "filters")


# In page order. Arguments by role: "period" the period asked for, "filters" the sidebar's
# (none set), "label" the period's text (compute, as the CLI calls it).
# Each dashboard asks for one bundle of its figures (lib.metrics.*_page, keyed by the names of the
# functions they equal); drill-downs run only after a click, so they are listed apart and timed
# only in the per-function table.
PAGES: dict[str, tuple[str | None, tuple[Call, ...]]] = {
    # the overview's months chart reads the attendance page's bundle (cached, shared with that page)
    "overview": ("pages/overview.py", (Call("overview_page"), Call("attendance_page"))),
    "attendance": ("pages/attendance.py", (Call("attendance_page"),)),
    "leaders": ("pages/leaders.py", (Call("leaders_page"), Call("leader_posts", ("period",)))),
    "weaknesses": ("pages/weakness_board.py", (Call("weakness_page"),)),
    # the checklist ratings and the year's classification of cells close the quality page
    "quality": ("pages/quality.py", (Call("quality_page"), Call("checklist_ratings"),
                                     Call("classification_distribution"))),
    "compute": (None, (Call("compute", ("label",)),)),
}

DRILL_DOWNS: dict[str, tuple[Call, ...]] = {
    "attendance": (Call("attendance_by_cell", ("period", "one_unit")),),
    # at a node with only cells (branch drill) the quality page's rows are its cells
    "quality": (Call("quality_by_cell", ("period", "one_unit")),),
    "leaders": (Call("participation_by_assignment"), Call("leader_meetings", ("period", "one_leader", "filters"))),
    # at a node with only cells (branch cellrows) the weakness board's rows are its cells
    "weaknesses": (Call("weakness_by_cell", ("period", "one_unit")),),
}


@dataclass(frozen=True)
class Context:
    """The values the argument roles stand for in one run of the benchmark."""

    period: metrics.Period
    today: date
    one_unit: str = ""
    one_leader: str = ""

    def value(self, role: str) -> Any:
        if role == "period":
            return self.period
        if role == "label":
            return self.period.label
        if role == "filters":
            return metrics.Filters()
        if role == "one_unit":
            return metrics.Filters(unit_codes=(self.one_unit,))
        if role == "one_leader":
            return self.one_leader
        raise ValueError(f"unknown argument role {role!r}")


def missing_functions(calls: tuple[Call, ...]) -> list[str]:
    """The calls' function names that lib.metrics does not define (yet)."""
    return [c.name for c in calls if not callable(getattr(metrics, c.name, None))]


def run_call(db: Any, call: Call, ctx: Context) -> Any:
    """Call one figure on an open connection the way lib.ui.figure does (today passed when it takes one)."""
    fn = getattr(metrics, call.name)
    kwargs = {"today": ctx.today} if "today" in fn.__code__.co_varnames else {}
    return fn(db, *(ctx.value(role) for role in call.args), **kwargs)


def figure_names(page_file: str | Path) -> set[str]:
    """The names a page file passes to ui.figure("name", ...), read from its source."""
    tree = ast.parse((ROOT / page_file).read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "figure"
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            names.add(node.args[0].value)
    return names


def unlisted_figures() -> dict[str, list[str]]:
    """Per page, the figures its file asks for that the benchmark does not time (empty when in step)."""
    out = {}
    for page, (file, calls) in PAGES.items():
        if file is None or not (ROOT / file).exists():
            continue
        listed = {c.name for c in calls + DRILL_DOWNS.get(page, ())}
        extra = sorted(figure_names(file) - listed)
        if extra:
            out[page] = extra
    return out

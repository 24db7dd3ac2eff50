"""Weakness board: counts by category × commune, noted vs resolved over time, ageing, overdue list."""

import pandas as pd
import streamlit as st

from lib import charts, ui
from lib.domain import Severity, WeaknessCategory, WeaknessStatus
from lib.i18n import t

ui.require_page("pages/weakness_board.py")
st.title(t("nav.weakness_board"))
period, filters = ui.dashboard_filters()

CATEGORY = ui.label_of(WeaknessCategory)
OPEN_COLUMNS = {"unit_name": t("chart.unit"), "cell_name": t("field.cell_id"), "category": t("field.category"),
                "severity": t("field.severity"), "status": t("field.status"), "noted_on": t("field.noted_on"),
                "due_on": t("field.due_on"), "age_days": t("dash.age_days")}
# a weakness noted for the commune as a whole belongs to no cell
OPEN_MISSING = {"cell_name": t("dash.tables.whole_unit")}
# every column's width set, together under the 1,074 px a table has at 1440 px beside the sidebar: the last
# column (days overdue) in sight whatever the names' lengths
OPEN_WIDTHS = {"unit_name": 140, "cell_name": 170, "category": 260, "severity": 80, "status": 115, "noted_on": 95,
               "due_on": 95, "age_days": 100}
OPEN_LABELS = {"category": CATEGORY, "severity": ui.label_of(Severity), "status": ui.label_of(WeaknessStatus)}


def render() -> None:
    st.caption(ui.period_label(period))
    figures = ui.figure("weakness_page", period, filters)
    summary = figures["weakness_summary"]
    noted = sum(summary["by_status"].values())
    if not noted and not summary["open_now"]:
        ui.no_data()
        return
    cols = st.columns(4)
    cols[0].metric(t("dash.w_noted"), ui.fmt_num(noted), border=True)
    cols[1].metric(t("dash.w_resolved"), ui.fmt_num(summary["by_status"]["resolved"]), border=True)
    cols[2].metric(t("dash.h_weaknesses_open"), ui.fmt_num(summary["open_now"]), border=True,
                   help=t("dash.w_open_help"))
    cols[3].metric(t("dash.h_weaknesses_overdue"), ui.fmt_num(summary["overdue"]), border=True)

    view = ui.node_in_view()
    cells_only = view is not None and view.code is not None and not view.children
    matrix = figures["weakness_matrix"]
    if cells_only:
        # a node with only cells (a commune without sub-committees): the cells are the rows, not one row of itself
        whole = t("cell_rows.whole", name=view.name[:1].lower() + view.name[1:])
        by_cell = ui.figure("weakness_by_cell", period, filters)
        matrix = [dict(m, unit_name=m["cell_name"] or whole) for m in by_cell["matrix"]]
    trend = figures["weakness_trend"]
    # the three charts one at a time: only the open tab is drawn (ui.lazy_tabs), one Vega chart at first load
    # instead of three (bench/NOTES.md, "Fewer charts and tables at first load")
    shown = {}
    if matrix:
        shown[t("speed.tab_weak_cells" if cells_only else "speed.tab_weak_matrix")] = lambda: ui.show_chart(
            ui.chart(charts.weakness_matrix_chart, pd.DataFrame(matrix),
                     title="cell_rows.chart_title" if cells_only else "chart.weakness_matrix"),
            "han-che-theo-loai", "weak_matrix")
    if trend:
        shown[t("speed.tab_by_month")] = lambda: ui.show_chart(
            ui.chart(charts.weakness_trend_chart, pd.DataFrame(trend)), "han-che-theo-thang", "weak_trend")
    shown[t("speed.tab_weak_ageing")] = lambda: ui.show_chart(
        ui.chart(charts.weakness_ageing_chart, pd.DataFrame(figures["weakness_ageing"])), "thoi-gian-ton-dong",
        "weak_ageing")
    ui.lazy_tabs(shown, "weak_charts")

    by_category = [{"category": c, "n": n} for c, n in summary["by_category"].items()]
    counts = {"n": t("chart.count"), "open": t("dash.w_open"), "resolved": t("dash.w_resolved")}

    def categories() -> None:
        ui.table(by_category, {"category": t("field.category"), "n": t("chart.count")}, "han-che-theo-loai",
                 "weak_categories", labels={"category": CATEGORY})

    def cells() -> None:
        st.caption(t("cell_rows.by_cell_help", name=view.name, whole=whole))
        cell_columns = {"cell_code": t("field.cell_code"), "cell_name": t("field.cell_id")}
        ui.table(by_cell["by_cell"], {**cell_columns, **counts}, f"han-che-theo-chi-bo-{view.code}", "weak_cells",
                 missing={"cell_name": whole}, pinned=("cell_name",))
        ui.table(by_cell["matrix"], {**cell_columns, "category": t("field.category"), **counts},
                 f"han-che-theo-chi-bo-va-loai-{view.code}", "weak_cell_matrix", missing={"cell_name": whole},
                 labels={"category": CATEGORY}, pinned=("cell_name",))

    def units() -> None:
        ui.table(matrix, {"unit_name": t("chart.unit"), "category": t("field.category"), **counts},
                 "han-che-theo-don-vi", "weak_matrix_table", labels={"category": CATEGORY})

    # the tables under the charts one at a time: only the open tab is drawn (ui.lazy_tabs)
    st.subheader(t("speed.weak_tables"), divider="gray")
    ui.lazy_tabs({**({t("cell_rows.by_cell"): cells} if cells_only else {t("dash.by_unit"): units}),
                  t("dash.by_category"): categories}, "weak_tables")
    # at a node with only cells every weakness counts under the node itself: the cell tells them apart
    columns = {k: v for k, v in OPEN_COLUMNS.items() if k != "unit_name"} if cells_only else OPEN_COLUMNS
    missing = {"cell_name": whole} if cells_only else OPEN_MISSING
    widths = {k: v for k, v in OPEN_WIDTHS.items() if k in columns}
    open_rows = figures["open_weaknesses"]
    overdue = [w for w in open_rows if w["overdue"]]
    pinned = ("cell_name",) if cells_only else ()

    def overdue_list() -> None:
        ui.table(overdue, columns, "han-che-qua-han", "weak_overdue", dates=("noted_on", "due_on"),
                 labels=OPEN_LABELS, missing=missing, widths=widths, pinned=pinned)

    def open_list() -> None:
        ui.table(open_rows, columns, "han-che-chua-khac-phuc", "weak_open", dates=("noted_on", "due_on"),
                 labels=OPEN_LABELS, missing=missing, widths=widths, height=320, pinned=pinned)

    # the overdue ones are among the open ones: the two lists one at a time, the overdue first
    st.subheader(t("speed.weak_lists"), divider="red")
    ui.lazy_tabs({t("dash.overdue", n=len(overdue)): overdue_list, t("dash.open_list", n=len(open_rows)): open_list},
                 "weak_lists")

ui.live(render)

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

    matrix = figures["weakness_matrix"]
    if matrix:
        ui.show_chart(charts.weakness_matrix_chart(pd.DataFrame(matrix)), "han-che-theo-loai", "weak_matrix")
    trend = figures["weakness_trend"]
    ui.show_chart_pair(
        (charts.weakness_trend_chart(pd.DataFrame(trend)), "han-che-theo-thang", "weak_trend") if trend else None,
        (charts.weakness_ageing_chart(pd.DataFrame(figures["weakness_ageing"])), "thoi-gian-ton-dong", "weak_ageing"))

    st.subheader(t("dash.by_category"), divider="gray")
    by_category = [{"category": c, "n": n} for c, n in summary["by_category"].items()]
    ui.table(by_category, {"category": t("field.category"), "n": t("chart.count")}, "han-che-theo-loai",
             "weak_categories", labels={"category": CATEGORY})
    ui.table(matrix, {"unit_name": t("chart.unit"), "category": t("field.category"), "n": t("chart.count"),
                      "open": t("dash.w_open"), "resolved": t("dash.w_resolved")}, "han-che-theo-don-vi",
             "weak_matrix_table", labels={"category": CATEGORY})
    open_rows = figures["open_weaknesses"]
    overdue = [w for w in open_rows if w["overdue"]]
    st.subheader(t("dash.overdue", n=len(overdue)), divider="red")
    ui.table(overdue, OPEN_COLUMNS, "han-che-qua-han", "weak_overdue", dates=("noted_on", "due_on"),
             labels=OPEN_LABELS, missing=OPEN_MISSING, widths=OPEN_WIDTHS)
    st.subheader(t("dash.open_list", n=len(open_rows)), divider="gray")
    ui.table(open_rows, OPEN_COLUMNS, "han-che-chua-khac-phuc", "weak_open", dates=("noted_on", "due_on"),
             labels=OPEN_LABELS, missing=OPEN_MISSING, widths=OPEN_WIDTHS, height=320)


ui.live(render)

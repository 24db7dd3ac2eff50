"""Attendance by commune: ranked rates, month heatmap, trend, coverage and missing meetings; drill-down to records."""

from dataclasses import replace

import pandas as pd
import streamlit as st

from lib import charts, directory, meetings, settings, ui
from lib.domain import CellType, MeetingType, Rating
from lib.i18n import t

ui.require_page("pages/attendance.py")
st.title(t("nav.attendance"))
period, filters = ui.dashboard_filters()

# Short headers (the full names in their tooltips) and set widths: all twelve columns fit at 1440 px.
UNIT_COLUMNS = {"unit_code": t("field.unit_code"), "unit_name": t("chart.unit"), "meetings": t("ux.q.meetings"),
                "required": t("chart.required"), "present": t("chart.present"),
                "absent_excused": t("chart.absent_excused"), "absent_unexcused": t("chart.absent_unexcused"),
                "rate": t("ux.a.rate"), "cell_months": t("dash.cell_months"), "held": t("ux.a.held"),
                "coverage": t("ux.a.coverage"), "on_schedule_rate": t("ux.a.on_schedule_rate")}
UNIT_HELPS = {"meetings": t("chart.meetings"), "rate": t("chart.attendance_rate"), "held": t("dash.held"),
              "coverage": t("dash.coverage"), "on_schedule_rate": t("dash.on_schedule_rate")}
UNIT_WIDTHS = {"unit_code": 85, "unit_name": 150, "meetings": 70, "required": 65, "present": 60,
               "absent_excused": 100, "absent_unexcused": 120, "rate": 70, "cell_months": 95, "held": 65,
               "coverage": 95, "on_schedule_rate": 80}
CELL_COLUMNS = {"unit_name": t("chart.unit"), "cell_code": t("field.cell_code"), "cell_name": t("field.cell_id"),
                "cell_type": t("field.cell_type"), "meeting_day": t("field.meeting_day"),
                "meetings": t("chart.meetings"), "rate": t("chart.attendance_rate"),
                "cell_months": t("dash.cell_months"), "held": t("dash.held"), "coverage": t("dash.coverage"),
                "regular": t("dash.regular"), "on_schedule": t("dash.on_schedule"),
                "on_schedule_rate": t("dash.on_schedule_rate")}
MEETING_COLUMNS = {"id": t("field.id"), "held_on": t("field.held_on"), "mtype": t("field.mtype"),
                   "members_total": t("field.members_total"), "members_exempt": t("field.members_exempt"),
                   "present": t("field.present"), "absent_excused": t("field.absent_excused"),
                   "absent_unexcused": t("field.absent_unexcused"), "duration_minutes": t("field.duration_minutes"),
                   "rating": t("field.rating"), "leaders_present": t("dash.leaders_present"),
                   "topics": t("field.topics")}
RATES = ("rate", "coverage", "on_schedule_rate")


def show_meetings(cell: str, cell_name: str) -> None:
    """The meetings of one cell in the period (and the meeting types chosen)."""
    cell_id = ui.read(directory.id_by_code, "cells").get(cell)
    one_type = filters.mtypes[0] if len(filters.mtypes) == 1 else None
    rows = ui.read(meetings.list_meetings, start=period.start.isoformat(), end=period.end.isoformat(),
                   cell_id=cell_id, mtype=one_type, limit=500) if cell_id else []
    rows = [r for r in rows if not filters.mtypes or r["mtype"] in filters.mtypes]
    st.markdown(f"**{ui.md_escape(t('drill.meetings_of', cell=cell_name))}**")
    if not rows:
        ui.no_data()
        return
    ui.table(rows, MEETING_COLUMNS, f"buoi-sinh-hoat-{cell}", "att_meetings", dates=("held_on",),
             labels={"mtype": ui.label_of(MeetingType), "rating": ui.label_of(Rating)})


def pick_cell(code: str) -> None:
    st.session_state["att_cell_pick"] = code


def cells_of(code: str) -> list[dict]:
    """The cells of one row: a child's subtree, or (the row of the node itself) the cells directly under it."""
    view = ui.node_in_view()
    if view is not None and code == view.code:
        return [c for c in ui.figure("attendance_by_cell", period, filters) if c["unit_code"] == code]
    # the node in view moves down to the child; a scoped user's own subtrees (unit_codes) keep narrowing it
    return ui.figure("attendance_by_cell", period, replace(filters, node=code))


def drill_down(units: list[dict]) -> None:
    names = {u["unit_code"]: u["unit_name"] for u in units}
    code = st.selectbox(t("dash.pick_unit"), [None, *names], key="att_unit",
                        format_func=lambda c: names[c] if c else t("dash.pick_none"))
    if not code:
        return
    cells = cells_of(code)
    ui.table(cells, CELL_COLUMNS, f"chi-bo-{code}", "att_cells", pct=RATES,
             labels={"cell_type": ui.label_of(CellType)}, pinned=("cell_name",))
    cell_names = {c["cell_code"]: c["cell_name"] for c in cells}
    cell = st.selectbox(t("dash.pick_cell"), [None, *cell_names], key=f"att_cell_{code}",
                        format_func=lambda c: cell_names[c] if c else t("dash.pick_none"))
    if cell:
        show_meetings(cell, cell_names[cell])


def cell_rows(view) -> None:
    """At a node with only cells under it: the cells are the rows, each opening its meetings."""
    st.subheader(t("drill.by_cell"), divider="gray")
    st.caption(t("drill.by_cell_help"))
    cells = ui.figure("attendance_by_cell", period, filters)
    ui.table(cells, CELL_COLUMNS, f"chi-bo-{view.code}", "att_cell_rows", pct=RATES,
             labels={"cell_type": ui.label_of(CellType)}, hidden=("unit_name",), pinned=("cell_name",),
             drill="cell_code", on_pick=pick_cell)
    names = {c["cell_code"]: c["cell_name"] for c in cells}
    if st.session_state.get("att_cell_pick") not in names:
        st.session_state.pop("att_cell_pick", None)
    cell = st.selectbox(t("dash.pick_cell"), [None, *names], key="att_cell_pick",
                        format_func=lambda c: names[c] if c else t("dash.pick_none"))
    if cell:
        show_meetings(cell, names[cell])


def render() -> None:
    st.caption(ui.period_label(period))
    figures = ui.figure("attendance_page", period, filters)
    units = figures["attendance_by_unit"]
    if not any(u["meetings"] or u["cell_months"] for u in units):
        ui.no_data()
        return
    totals, absences = figures["attendance_totals"], figures["absences"]
    cols = st.columns(5)
    cols[0].metric(t("dash.h_attendance_rate"), ui.fmt_pct(totals["rate"]), border=True)
    cols[1].metric(t("dash.h_coverage"), ui.fmt_pct(totals["coverage"]), border=True)
    # the short label: five figures a row leave no room for "Sinh hoạt đúng ngày cố định"
    cols[2].metric(t("dash.on_schedule_rate"), ui.fmt_pct(totals["on_schedule_rate"]), border=True,
                   help=t("dash.h_on_schedule_rate_help"))
    cols[3].metric(t("chart.absent_excused"), ui.fmt_num(absences["absent_excused"]),
                   t("dash.share_of_required", share=ui.fmt_pct(absences["excused_share"])), delta_color="off",
                   delta_arrow="off", border=True)
    cols[4].metric(t("chart.absent_unexcused"), ui.fmt_num(absences["absent_unexcused"]),
                   t("dash.share_of_required", share=ui.fmt_pct(absences["unexcused_share"])), delta_color="off",
                   delta_arrow="off", border=True)

    threshold = ui.read(settings.thresholds).attendance
    view = ui.node_in_view()
    if view is not None and view.code is not None and not view.children:
        # a commune (or sub-committee) with only cells: the cells are its rows, not one row of itself
        months = charts.monthly_rates_frame(figures["attendance_by_month"])
        if len(months):
            ui.show_chart(ui.chart(charts.monthly_rates_chart, months), "ty-le-theo-thang", "att_months")
        cell_rows(view)
        missing_and_upcoming(figures)
        return
    # 70+ communes: the highest or lowest ten, or those found by name, in the charts and the table alike
    every_unit, units = units, ui.top_bottom(units, "att_units", "rate", t("chart.rate"))
    shown_codes = {u["unit_code"] for u in units}
    frame = pd.DataFrame(units, columns=list(every_unit[0]))
    by_month = [r for r in figures["attendance_by_unit_month"] if r["unit_code"] in shown_codes]

    def ranked() -> None:
        picked = ui.show_chart(ui.chart(charts.attendance_ranked_chart, frame, threshold, select=True), "ty-le-du-hop",
                               "att_ranked", select=True)
        codes = [p.get("unit_code") for p in (picked or {}).get("unit", [])]
        if codes and codes != st.session_state.get("att_last_pick"):
            st.session_state["att_last_pick"] = codes
            st.session_state["att_unit"] = codes[0]

    def heatmap() -> None:
        ui.show_chart(ui.chart(charts.attendance_heatmap_chart, pd.DataFrame(by_month)), "ty-le-theo-thang",
                      "att_heatmap")

    def trend() -> None:
        rows = charts.trend_frame(figures["attendance_by_month"], by_month, t("dash.all_scope"))
        ui.show_chart(ui.chart(charts.attendance_trend_chart, rows, threshold), "dien-bien-ty-le", "att_trend")

    # the four charts one at a time (only the open tab is drawn): four Vega charts were most of the page's
    # time in the browser
    shown = {t("speed.tab_ranked"): ranked}
    if len(period.months) > 1:
        shown |= {t("speed.tab_by_month"): heatmap, t("speed.tab_trend"): trend}
    shown[t("speed.tab_absences")] = lambda: ui.show_chart(ui.chart(charts.absences_chart, frame), "vang-hop",
                                                           "att_absences")
    ui.lazy_tabs(shown, "att_charts")

    st.subheader(t("dash.by_unit"), divider="gray")
    if ui.drillable():
        st.caption(t("drill.row_help"))
    ui.table(units, UNIT_COLUMNS, "du-hop-theo-don-vi", "att_units", pct=RATES, hidden=ui.codes_hidden(every_unit),
             pinned=("unit_name",), widths=UNIT_WIDTHS, helps=UNIT_HELPS,
             drill="unit_code" if ui.drillable() else None)
    missing_and_upcoming(figures)
    st.subheader(t("dash.drill"), divider="gray")
    drill_down(every_unit)


def missing_and_upcoming(figures: dict) -> None:
    st.subheader(t("dash.missing"), divider="gray")
    missing = figures["missing_meetings"]
    st.caption(t("dash.missing_help", n=len(missing)))
    ui.table(missing, {"unit_name": t("chart.unit"), "cell_code": t("field.cell_code"),
                       "cell_name": t("field.cell_id"), "month": t("chart.month"), "status_label": t("field.status")},
             "buoi-chua-sinh-hoat", "att_missing", labels={"month": ui.fmt_month}, height=320)
    if upcoming := figures["upcoming_meetings"]:
        # apart from the missing ones: not yet due, so outside coverage
        st.subheader(t("dash.upcoming"), divider="gray")
        by_unit = ", ".join(f"{u['unit_name']} ({ui.fmt_num(u['upcoming'])})" for u in figures["upcoming_by_unit"])
        st.caption(t("dash.upcoming_help", n=ui.fmt_num(len(upcoming)), grace=ui.read(settings.thresholds).grace_days)
                   + " " + t("dash.upcoming_units", units=by_unit))
        ui.table(upcoming, {"unit_name": t("chart.unit"), "cell_code": t("field.cell_code"),
                            "cell_name": t("field.cell_id"), "month": t("chart.month"), "due_on": t("dash.due_on")},
                 "buoi-sap-den-han", "att_upcoming", labels={"month": ui.fmt_month}, dates=("due_on",), height=320)


ui.live(render)

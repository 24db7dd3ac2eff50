"""Leaders against their assignments: expected vs attended, compliance, written reports; drill-down to meetings."""

from datetime import date

import pandas as pd
import streamlit as st

from lib import charts, leaders, metrics, ui
from lib.domain import MeetingType
from lib.i18n import t

ui.require_page("pages/leaders.py")
st.title(t("nav.leaders"))
period, filters = ui.dashboard_filters()

COUNTS = {"expected": t("chart.expected"), "attended": t("chart.attended"), "compliance": t("chart.compliance"),
          "reports": t("dash.reports"), "late_reports": t("chart.reports_late"),
          "missing_reports": t("chart.reports_missing")}
LEADER_COLUMNS = {"leader_code": t("field.leader_code"), "full_name": t("field.full_name"), "title": t("field.title"),
                  "grp": t("field.grp"), "assignments": t("dash.assignments"), **COUNTS}
GROUP_COLUMNS = {"grp": t("field.grp"), "leaders": t("dash.leaders_count"), "assignments": t("dash.assignments"),
                 **COUNTS}
ASSIGNMENT_COLUMNS = {"unit_name": t("chart.unit"), "cell_name": t("field.cell_id"),
                      "decision_no": t("field.decision_no"), "valid_from": t("field.valid_from"),
                      "valid_to": t("field.valid_to"), "required_per_quarter": t("field.required_per_quarter"),
                      **COUNTS}
MEETING_COLUMNS = {"meeting_id": t("field.id"), "held_on": t("field.held_on"), "mtype": t("field.mtype"),
                   "unit_name": t("chart.unit"), "cell_name": t("field.cell_id"),
                   "report_submitted_on": t("field.report_submitted_on"), "report_label": t("dash.report_status")}
# Groups are data (leader_groups): the shipped five show their translated label, a new group its name.
GROUP_LABELS = ui.read(leaders.group_labels)
GROUP = {"grp": lambda code: GROUP_LABELS.get(code, code or "")}


def cell_columns(columns: dict[str, str], first: bool) -> tuple[dict[str, str], dict]:
    """A table's columns and options: at a node with only cells no unit column (every row is the node's own) and
    the cell (first, pinned, when it names the row), a unit-level row named for the whole node; elsewhere as is."""
    view = ui.node_in_view()
    if view is None or view.code is None or view.children:
        return columns, {}
    whole = t("cell_rows.whole", name=view.name[:1].lower() + view.name[1:])
    kept = {k: v for k, v in columns.items() if k != "unit_name"}
    if not first:
        return kept, {"missing": {"cell_name": whole}}
    return {"cell_name": kept.pop("cell_name"), **kept}, {"missing": {"cell_name": whole}, "pinned": ("cell_name",)}


def drill_down(leaders: list[dict]) -> None:
    names = {r["leader_code"]: r["full_name"] for r in leaders}
    code = st.selectbox(t("dash.pick_leader"), [None, *names], key="lead_pick",
                        format_func=lambda c: names[c] if c else t("dash.pick_none"))
    if not code:
        return
    rows = [r for r in ui.figure("participation_by_assignment", period, filters) if r["leader_code"] == code]
    columns, options = cell_columns(ASSIGNMENT_COLUMNS, first=True)
    ui.table(rows, columns, f"phan-cong-{code}", "lead_assignments", pct=("compliance",),
             dates=("valid_from", "valid_to"), **options)
    attended = ui.figure("leader_meetings", period, code, filters)
    if not attended:
        ui.no_data()
        return
    columns, options = cell_columns(MEETING_COLUMNS, first=False)
    ui.table(attended, columns, f"buoi-du-{code}", "lead_meetings", dates=("held_on", "report_submitted_on"),
             labels={"mtype": ui.label_of(MeetingType)}, **options)


def render() -> None:
    st.caption(ui.period_label(period))
    figures = ui.figure("leaders_page", period, filters)
    # The group is the post's of the period (the post valid at its end); its title is shown beside it.
    posts = ui.figure("leader_posts", period)
    leaders = [dict(r, title=(posts.get(r["leader_code"]) or {}).get("title")) for r in
               figures["participation_by_leader"]]
    if not leaders:
        ui.no_data()
        return
    groups, reports, totals = (figures[k] for k in ("participation_by_group", "report_status", "leader_totals"))
    cols = st.columns(5)
    cols[0].metric(t("dash.h_leader_compliance"), ui.fmt_pct(totals["compliance"]), border=True)
    cols[1].metric(t("chart.attended"), ui.fmt_num(reports["attended"]), border=True)
    cols[2].metric(t("chart.reports_on_time"), ui.fmt_num(reports["on_time"]), border=True)
    cols[3].metric(t("chart.reports_late"), ui.fmt_num(reports["late"]), border=True)
    cols[4].metric(t("chart.reports_missing"), ui.fmt_num(reports["missing"]), border=True)

    def group_charts() -> None:
        ui.show_chart_pair((ui.chart(charts.group_compliance_chart, pd.DataFrame(groups), labels=GROUP_LABELS),
                            "thuc-hien-theo-nhom", "lead_groups"),
                           (ui.chart(charts.reports_chart, pd.DataFrame(groups), labels=GROUP_LABELS),
                            "bao-cao-sau-du-hop", "lead_reports"))

    # the charts by group and by leader one at a time: only the open tab is drawn (ui.lazy_tabs)
    ui.lazy_tabs({t("dash.by_group"): group_charts,
                  t("dash.by_leader"): lambda: ui.show_chart(ui.chart(charts.leader_attendance_chart,
                                                                      pd.DataFrame(leaders)),
                                                             "can-bo-phai-du-da-du", "lead_chart")}, "lead_charts")

    # leaders_page asks who attended nobody of today's quarter
    this_quarter = metrics.quarter_of(date.today())
    nobody = figures["leaders_without_attendance"]
    st.subheader(t("dash.nobody", quarter=ui.period_label(this_quarter), n=len(nobody)), divider="red")
    ui.table(nobody, {"leader_code": t("field.leader_code"), "full_name": t("field.full_name"),
                      "grp": t("field.grp"), "expected": t("chart.expected")}, "chua-du-buoi-nao", "lead_nobody",
             labels=GROUP)
    # With the post title beside the name, the code moves to the downloads only and a long title is cut to a
    # medium column (whole in the downloads), and a level's long group name ("Đảng ủy viên phụ trách chi
    # bộ") to 150 px, so the table fits at 1440 px.
    st.subheader(t("speed.lead_tables"), divider="gray")
    ui.lazy_tabs({
        t("dash.by_leader"): lambda: ui.table(leaders, LEADER_COLUMNS, "theo-can-bo", "lead_table",
                                              pct=("compliance",), labels=GROUP, pinned=("full_name",),
                                              widths={"title": "medium", "grp": 150}, hidden=("leader_code",)),
        t("dash.by_group"): lambda: ui.table(groups, GROUP_COLUMNS, "theo-nhom", "lead_group_table",
                                             pct=("compliance",), labels=GROUP)},
        "lead_tables")
    st.subheader(t("dash.drill"), divider="gray")
    drill_down(leaders)


ui.live(render)

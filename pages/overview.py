"""Overview: headline figures against the previous period, and what needs attention."""

import streamlit as st

from lib import charts, leaders, metrics, ui
from lib.domain import Severity, WeaknessCategory, WeaknessStatus
from lib.i18n import t

ui.require_page("pages/overview.py")
st.title(t("nav.overview"))
period, filters = ui.dashboard_filters()
who = ui.actor()


def render() -> None:
    ui.todo(who)  # a clerk's landing: what is left to do this month, before the figures
    figures = ui.figure("overview_page", period, filters)
    ov = figures["overview"]
    current = ov["current"]
    before = metrics.previous(period)
    # a period in progress is compared with the one before up to the same day (like for like)
    cut = ov["previous_period"]["end"]
    st.caption(t("dash.period_line", period=ui.period_label(period), previous=ui.period_label(before))
               if cut == before.end.isoformat() else
               t("dash.period_line_to", period=ui.period_label(period), previous=ui.period_label(before),
                 day=ui.fmt_date(cut)))
    if not current["meetings"]:
        ui.no_data()
    if not (current["meetings"] or current["missing_meetings"] or current["weaknesses_open"]
            or current["leader_compliance"] is not None):
        return
    ui.headline_metrics(ov)
    if current["upcoming_meetings"]:
        st.caption(t("dash.upcoming_note", n=ui.fmt_num(current["upcoming_meetings"])))
    # the months come from the attendance page's bundle, cached and shared with that page and the slides
    months = charts.monthly_rates_frame(ui.figure("attendance_page", period, filters)["attendance_by_month"])
    if len(months):
        ui.show_chart(ui.chart(charts.monthly_rates_chart, months), "ty-le-theo-thang", "ov_months")

    st.subheader(t("dash.attention"), divider="gray")
    missed = figures["cells_missing_last_month"]
    below = figures["leaders_below_assignment"]
    overdue = [w for w in figures["open_weaknesses"] if w["overdue"]]

    def leaders_below() -> None:
        groups = ui.read(leaders.group_labels)  # groups are data: a new group shows its name, not its code
        ui.table(below, {"full_name": t("field.full_name"), "grp": t("field.grp"), "expected": t("chart.expected"),
                         "attended": t("chart.attended"), "compliance": t("chart.compliance")},
                 "can-bo-chua-dat", "ov_leaders", pct=("compliance",),
                 labels={"grp": lambda code: groups.get(code, code or "")})

    # only the open tab's list is drawn (ui.lazy_tabs); the counts stay in the tabs' names
    ui.lazy_tabs({t("dash.att_missed", n=len(missed)): lambda: missed_cells(missed),
                  t("dash.att_leaders", n=len(below)): leaders_below,
                  t("dash.att_overdue", n=len(overdue)): lambda: overdue_weaknesses(overdue)}, "ov_attention")


def missed_cells(missed: list[dict]) -> None:
    st.caption(t("dash.att_missed_help"))
    ui.table(missed, {"unit_name": t("chart.unit"), "cell_name": t("field.cell_id"), "month": t("chart.month"),
                      "status_label": t("field.status")}, "chi-bo-chua-sinh-hoat", "ov_missed",
             labels={"month": ui.fmt_month})


def overdue_weaknesses(overdue: list[dict]) -> None:
    st.caption(t("dash.w_open_help"))
    ui.table(overdue, {"unit_name": t("chart.unit"), "cell_name": t("field.cell_id"),
                       "category": t("field.category"), "severity": t("field.severity"),
                       "status": t("field.status"), "due_on": t("field.due_on"), "age_days": t("dash.age_days")},
             "han-che-qua-han", "ov_overdue", dates=("due_on",), missing={"cell_name": t("dash.tables.whole_unit")},
             labels={"category": ui.label_of(WeaknessCategory), "severity": ui.label_of(Severity),
                     "status": ui.label_of(WeaknessStatus)})


ui.live(render)

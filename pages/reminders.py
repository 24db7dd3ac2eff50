"""Reminders: late leader reports and overdue weaknesses in the user's scope (the menu shows their count)."""

import streamlit as st

from lib import metrics, nav, ui
from lib.domain import Severity, WeaknessCategory, WeaknessStatus
from lib.i18n import t

who = ui.require_page(nav.REMINDERS)
st.title(t("ux.nav.reminders"))
ui.dashboard_style()  # the dashboards' margins: both tables fit at 1440 px
st.caption(t("ux.remind.intro", window=metrics.REMINDER_DAYS))
rem = ui.figure("reminders", who.username)
if not rem["count"]:
    st.success(t("ux.remind.none"), icon=":material/check_circle:")

late = rem["late_reports"]
st.subheader(t("ux.remind.late_reports", n=ui.fmt_num(len(late))), divider="red" if late else "gray")
if late:
    ui.table(late, {"held_on": t("field.held_on"), "unit_name": t("chart.unit"), "cell_name": t("field.cell_id"),
                    "full_name": t("field.full_name"), "due_on": t("ux.remind.report_due_on"),
                    "days_late": t("ux.remind.days_late")}, "bao-cao-tre", "rem_reports",
             dates=("held_on", "due_on"))
    ui.page_link("pages/leader_reports.py", t("ux.remind.open_reports"), ":material/open_in_new:")

overdue = rem["overdue_weaknesses"]
st.subheader(t("ux.remind.overdue", n=ui.fmt_num(len(overdue))), divider="red" if overdue else "gray")
if overdue:
    ui.table(overdue, {"unit_name": t("chart.unit"), "cell_name": t("field.cell_id"), "category": t("field.category"),
                       "severity": t("field.severity"), "status": t("field.status"), "due_on": t("field.due_on"),
                       "days_overdue": t("ux.remind.days_overdue")}, "han-che-qua-han", "rem_weaknesses",
             dates=("due_on",), missing={"cell_name": t("dash.tables.whole_unit")},
             labels={"category": ui.label_of(WeaknessCategory), "severity": ui.label_of(Severity),
                     "status": ui.label_of(WeaknessStatus)},
             widths={"unit_name": 140, "cell_name": 170, "category": 260, "severity": 80, "status": 115,
                     "due_on": 100, "days_overdue": 120})
    page = "pages/weaknesses.py" if nav.allowed(who.role, "pages/weaknesses.py") else "pages/weakness_board.py"
    ui.page_link(page, t("ux.remind.open_weaknesses"), ":material/open_in_new:")

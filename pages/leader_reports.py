from datetime import date, timedelta

import streamlit as st

from lib import directory, forms, meetings, ui
from lib.domain import FieldError
from lib.i18n import t

who = ui.require_page("pages/leader_reports.py")
st.title(t("nav.leader_reports"))
today = date.today()
st.caption(t("page.reports_entry.intro"))

flash = st.session_state.pop("lrep_flash", None)
if flash:
    st.success(flash, icon=":material/check_circle:")

unit_rows = ui.read(forms.units_in_scope, who)
unit_labels = ui.unit_names(unit_rows)
units = {u["id"]: unit_labels[u["code"]] for u in unit_rows}
leaders = {r["id"]: r["full_name"] for r in ui.read(directory.list_leaders)}
states = {s: t(f"page.reports_entry.state_{s}") for s in forms.REPORT_STATES}
ui.init_state("lrep_", {"start": today - timedelta(days=180), "end": today})
c1, c2, c3, c4, c5 = st.columns(5)
all_label = t("page.records.all")
unit_id = ui.field_input("lrep_", "unit", ui.optional(units, all_label), label=t("field.unit_id"), where=c1)
leader_id = ui.field_input("lrep_", "leader", ui.optional(leaders, all_label), label=t("field.leader_id"), where=c2)
start = ui.field_input("lrep_", "start", "date", label=t("page.records.start"), where=c3)
end = ui.field_input("lrep_", "end", "date", label=t("page.records.end"), where=c4)
state = ui.field_input("lrep_", "state", ui.optional(states, all_label), label=t("page.reports_entry.state"), where=c5)

rows = ui.display(ui.read(forms.leader_reports, who, unit_id=unit_id, leader_id=leader_id,
                         start=start.isoformat() if start else None, end=end.isoformat() if end else None))
counts = {s: sum(r["state"] == s for r in rows) for s in forms.REPORT_STATES}
for col, s in zip(st.columns(len(states)), forms.REPORT_STATES, strict=True):
    col.metric(states[s], counts[s])
shown = [dict(r, state_label=states[r["state"]]) for r in rows if state is None or r["state"] == state]
columns = forms.headers("held_on", "unit_name", "cell_name", "full_name", "report_submitted_on", "state_label",
                        "days", unit_name=t("field.unit_id"), cell_name=t("field.cell_id"),
                        full_name=t("field.leader_id"), state_label=t("page.reports_entry.state"),
                        days=t("page.reports_entry.days"))
late = {states["late"], states["missing"]}
table = forms.frame(shown, columns)
st.dataframe(table.style.apply(
    lambda row: ["background-color: #fde2e1" if row[columns["state_label"]] in late else ""] * len(row), axis=1),
    hide_index=True, key="lrep_table")

st.subheader(t("page.reports_entry.mark"), divider="gray")
if not rows:
    st.info(t("page.reports_entry.none"), icon=":material/info:")
    st.stop()
choices = {f"{r['meeting_id']}:{r['leader_id']}": t("page.reports_entry.pick_label", day=ui.fmt_date(r["held_on"]),
                                                   cell=r["cell_name"], name=r["full_name"], state=states[r["state"]])
           for r in shown or rows}
c6, c7 = st.columns([3, 1])
picked = ui.field_input("lrep_", "pick", choices, label=t("page.reports_entry.pick"), where=c6)
ui.init_state("lrep_", {"date": today})
received = ui.field_input("lrep_", "date", "date", label=t("field.report_submitted_on"), where=c7)
meeting_id, leader = (int(x) for x in picked.split(":"))
chosen = next(r for r in rows if (r["meeting_id"], r["leader_id"]) == (meeting_id, leader))
shown_version = meetings.report_version(meeting_id, leader, chosen["report_submitted_on"])
if ui.needs_load("lrep_pk_", picked, ()):
    # The report date as shown when picked: lib refuses to overwrite a date entered meanwhile (another tab).
    st.session_state["lrep_pk_for"] = picked
    st.session_state["lrep_pk_version"] = shown_version
loaded_version = st.session_state["lrep_pk_version"]
if shown_version != loaded_version:
    ui.stale_form("lrep_pk_", ui.read(meetings.report_changed_since, meeting_id, leader, loaded_version))
b1, b2 = st.columns(2)
if b1.button(t("page.reports_entry.save"), type="primary", key="lrep_save", icon=":material/save:"):
    if received is None:
        ui.show_errors([FieldError("report_submitted_on", "required")])
    elif ui.write(meetings.set_report, meeting_id, leader, received, version=loaded_version):
        st.session_state["lrep_flash"] = t("page.reports_entry.saved")
        st.session_state.pop("lrep_pk_for", None)
        st.rerun()
if b2.button(t("page.reports_entry.clear"), key="lrep_clear", icon=":material/backspace:"):
    if ui.write(meetings.set_report, meeting_id, leader, None, version=loaded_version):
        st.session_state["lrep_flash"] = t("page.reports_entry.cleared")
        st.session_state.pop("lrep_pk_for", None)
        st.rerun()

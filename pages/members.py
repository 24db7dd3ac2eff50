from datetime import date

import streamlit as st

from lib import members, ui
from lib.domain import fmt_date
from lib.i18n import t

who = ui.require_page("pages/members.py")
st.title(t("nav.members"))
st.caption(t("page.members.intro"))
today = date.today()

flash = st.session_state.pop("mem_flash", None)
if flash:
    st.success(flash, icon=":material/check_circle:")

ui.init_state("mem_", {"on": today})
c1, c2 = st.columns([1, 3], vertical_alignment="bottom")
on = ui.field_input("mem_", "on", "date", label=t("page.members.on"), where=c1) or today
day = on.isoformat()
# Only the cells whose members this user may read (lib decides; every read checks again), current on the day:
# an old commune's cell and the merged one that followed it may share a name, so the code is shown too.
cells = ui.read(members.cells_in_scope, who, day)
if not cells:
    st.info(t("page.members.no_cells"), icon=":material/info:")
    st.stop()
choices = {c["id"]: f"{c['name']} ({c['unit_name']}) · {c['code']}" for c in cells}
cell_id = ui.field_input("mem_", "cell_id", choices, where=c2)
rows = ui.open_record(members.members_on, who, cell_id, day)


def status(row: dict) -> str:
    return t("page.members.probationary") if row["probationary"] else t("page.members.official")


active = [dict(r, status=status(r)) for r in rows if not r["exempt"]]
exempt = [dict(r, status=status(r)) for r in rows if r["exempt"]]
m1, m2, m3, m4 = st.columns(4)
m1.metric(t("page.members.count"), len(rows))
m2.metric(t("page.members.official_count"), sum(not r["probationary"] for r in rows))
m3.metric(t("page.members.probationary_count"), sum(r["probationary"] for r in rows))
m4.metric(t("page.members.exempt_count"), len(exempt))

st.subheader(t("page.members.list", day=fmt_date(day)), divider="gray")
columns = {"code": t("field.member_code"), "full_name": t("field.full_name"), "status": t("page.members.status"),
           "admitted_on": t("field.admitted_on"), "official_on": t("field.official_on"),
           "since": t("page.members.since")}
ui.table(active, columns, f"dang-vien-{day}", "mem_table", dates=("admitted_on", "official_on", "since"),
         missing={"since": t("page.members.since_always")})
if exempt:
    st.markdown(f"**{t('page.members.exempt_list')}**")
    ui.table(exempt, {**columns, "exempt_from": t("field.exempt_from"), "exempt_to": t("field.exempt_to"),
                      "exempt_reason": t("field.exempt_reason"), "exempt_decision": t("field.decision_no")},
             f"mien-sinh-hoat-{day}", "mem_exempt_table",
             dates=("admitted_on", "official_on", "since", "exempt_from", "exempt_to"),
             missing={"since": t("page.members.since_always")})

# The list in the import template's shape, read again through the scoped reader when the button is clicked.
st.caption(t("page.members.download_help"))
d1, d2 = st.columns(2)
d1.download_button(t("page.members.download_csv"), lambda: ui.read(members.download, who, cell_id, day, "csv"),
                   f"dang-vien-{day}.csv", "text/csv", key="mem_dl_csv", icon=":material/download:",
                   on_click="ignore")
d2.download_button(t("page.members.download_xlsx"), lambda: ui.read(members.download, who, cell_id, day, "xlsx"),
                   f"dang-vien-{day}.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                   key="mem_dl_xlsx", icon=":material/download:", on_click="ignore")

by_id = {r["id"]: f"{r['full_name']} ({r['code']})" for r in rows}
tab_add, tab_move, tab_exempt, tab_end, tab_history = st.tabs(
    [t("page.members.tab_add"), t("page.members.tab_transfer"), t("page.members.tab_exempt"),
     t("page.members.tab_end"), t("page.members.tab_history")])

with tab_add:
    with st.form("mem_add", clear_on_submit=False):
        a1, a2 = st.columns(2)
        new = {"code": ui.field_input("mem_add_", "code", "str", label=t("field.member_code"), where=a1),
               "full_name": ui.field_input("mem_add_", "full_name", "str", where=a2),
               "admitted_on": ui.field_input("mem_add_", "admitted_on", "date", where=a1),
               "official_on": ui.field_input("mem_add_", "official_on", "date", where=a2)}
        joined = ui.field_input("mem_add_", "joined_cell_on", "date")
        st.caption(t("page.members.add_help"))
        if st.form_submit_button(t("page.members.add"), type="primary", icon=":material/person_add:"):
            new_id = ui.write(members.create, new, cell_id, joined)
            if new_id:
                ui.clear_state("mem_add_")
                st.session_state["mem_flash"] = t("page.members.added", name=new["full_name"])
                st.rerun()

with tab_move:
    if not by_id:
        st.info(t("page.members.none_on_day"), icon=":material/info:")
    else:
        targets = {c: label for c, label in choices.items() if c != cell_id}
        with st.form("mem_move"):
            who_moves = ui.field_input("mem_move_", "member_id", by_id)
            target = ui.field_input("mem_move_", "cell_id", targets, label=t("page.members.to_cell"))
            since = ui.field_input("mem_move_", "valid_from", "date", label=t("page.members.move_on"))
            note = ui.field_input("mem_move_", "note", "str", label=t("field.notes"))
            st.caption(t("page.members.transfer_help"))
            if st.form_submit_button(t("page.members.transfer"), type="primary", icon=":material/move_up:"):
                if ui.write(members.transfer, who_moves, target, since, note):
                    st.session_state["mem_flash"] = t("page.members.transferred", name=by_id[who_moves])
                    st.rerun()

with tab_exempt:
    if not by_id:
        st.info(t("page.members.none_on_day"), icon=":material/info:")
    else:
        with st.form("mem_exempt"):
            member_id = ui.field_input("mem_ex_", "member_id", by_id)
            e1, e2 = st.columns(2)
            values = {"valid_from": ui.field_input("mem_ex_", "valid_from", "date", label=t("field.exempt_from"),
                                                   where=e1),
                      "valid_to": ui.field_input("mem_ex_", "valid_to", "date", label=t("field.exempt_to"), where=e2),
                      "reason": ui.field_input("mem_ex_", "reason", "str", where=e1),
                      "decision_no": ui.field_input("mem_ex_", "decision_no", "str", where=e2)}
            st.caption(t("page.members.exempt_help"))
            if st.form_submit_button(t("page.members.exempt"), type="primary", icon=":material/event_busy:"):
                if ui.write(members.exempt, member_id, values):
                    st.session_state["mem_flash"] = t("page.members.exempted", name=by_id[member_id])
                    st.rerun()

with tab_end:
    if not by_id:
        st.info(t("page.members.none_on_day"), icon=":material/info:")
    else:
        with st.form("mem_end"):
            member_id = ui.field_input("mem_end_", "member_id", by_id)
            last = ui.field_input("mem_end_", "valid_to", "date", label=t("page.members.last_day"))
            note = ui.field_input("mem_end_", "note", "str", label=t("page.members.end_note"))
            if st.form_submit_button(t("page.members.end"), icon=":material/logout:"):
                if ui.write(members.end_membership, member_id, last, note):
                    st.session_state["mem_flash"] = t("page.members.ended", name=by_id[member_id])
                    st.rerun()

with tab_history:
    if not by_id:
        st.info(t("page.members.none_on_day"), icon=":material/info:")
    else:
        member_id = ui.field_input("mem_hist_", "member_id", by_id)
        person = ui.open_record(members.get, who, member_id)
        ui.table(person["cells"], {"cell_name": t("field.cell_id"), "valid_from": t("page.members.from"),
                                   "valid_to": t("page.members.to"), "note": t("field.notes")},
                 f"qua-trinh-{person['code']}", "mem_hist_cells", dates=("valid_from", "valid_to"),
                 missing={"valid_from": t("page.members.since_always"), "valid_to": t("page.members.until_now")})
        if person["exemptions"]:
            st.markdown(f"**{t('page.members.exemptions')}**")
            ui.table(person["exemptions"], {"valid_from": t("page.members.from"), "valid_to": t("page.members.to"),
                                            "reason": t("field.reason"), "decision_no": t("field.decision_no")},
                     f"mien-sinh-hoat-{person['code']}", "mem_hist_ex", dates=("valid_from", "valid_to"),
                     missing={"valid_to": t("page.members.until_now")})

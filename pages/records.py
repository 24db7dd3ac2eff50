from datetime import date

import streamlit as st

from lib import forms, meetings, rules, ui
from lib.domain import MeetingType, Rating
from lib.i18n import t

who = ui.require_page("pages/records.py")
st.title(t("nav.records"))
today = date.today()

# A link from another page (?id=N) opens that record once; lib reads the text and refuses a bad one.
ui.linked_record("recs_open")


def _open_linked(linked: list[dict]) -> None:
    if picked := st.session_state["recs_linked"].selection.rows:
        st.session_state["recs_open"] = linked[picked[0]]["id"]


# A member flag's link (?ids=1,2,3) lists the meetings behind it, each scope-checked in lib; a pick opens one.
if linked_ids := st.query_params.get("ids"):
    linked = ui.display(ui.read(rules.linked_meetings, who, linked_ids))
    st.markdown(f"**{t('rules.linked_meetings', n=len(linked))}**")
    st.dataframe(forms.frame(linked, forms.headers("id", "held_on", "unit_name", "cell_name", "mtype", "present",
                                                   "absent_excused", "absent_unexcused",
                                                   unit_name=t("field.unit_id"), cell_name=t("field.cell_id"))),
                 hide_index=True, key="recs_linked", selection_mode="single-row",
                 on_select=lambda: _open_linked(linked))

flash = st.session_state.pop("recs_flash", None)
if flash:
    st.success(flash, icon=":material/check_circle:")

unit_rows = ui.read(forms.units_in_scope, who)
unit_labels = ui.unit_names(unit_rows)
units = {u["id"]: unit_labels[u["code"]] for u in unit_rows}
ui.init_state("recs_f_", {"start": date(today.year - 1, today.month, 1), "end": today})
c1, c2, c3, c4 = st.columns(4)
unit_id = ui.field_input("recs_f_", "unit", ui.optional(units, t("page.records.all")), label=t("field.unit_id"),
                         where=c1)
cells = {c["id"]: c["name"] for c in ui.read(forms.cells_for_entry, unit_id)} if unit_id else {}
cell_id = ui.field_input("recs_f_", "cell", ui.optional(cells, t("page.records.all")), label=t("field.cell_id"),
                         where=c2)
start = ui.field_input("recs_f_", "start", "date", label=t("page.records.start"), where=c3)
end = ui.field_input("recs_f_", "end", "date", label=t("page.records.end"), where=c4)
c5, c6, c7, c8 = st.columns(4)
mtype = ui.field_input("recs_f_", "mtype", ui.optional(MeetingType.labels(), t("page.records.all")), where=c5)
rating = ui.field_input("recs_f_", "rating", ui.optional(Rating.labels(), t("page.records.all")), where=c6)
text = ui.field_input("recs_f_", "text", "str", label=t("page.records.search"), where=c7,
                      placeholder=t("page.records.search_hint"))
sorts = {k: t(f"page.records.sort_{k}") for k in meetings.SORTS}
sort = ui.field_input("recs_f_", "sort", sorts, label=t("page.records.sort"), where=c8)
show_deleted = ui.field_input("recs_f_", "deleted", "bool", label=t("page.records.show_deleted")) \
    if who.is_admin else False

chosen = {"start": start.isoformat() if start else None, "end": end.isoformat() if end else None,
          "unit_id": unit_id, "cell_id": cell_id, "mtype": mtype, "rating": rating, "text": text,
          "unit_ids": None if who.is_admin else who.unit_ids, "deleted": show_deleted}
# The first rows in the chosen order and the count of all that match: both read an index, not the whole table.
rows = ui.display(ui.read(meetings.list_meetings, **chosen, sort=sort, limit=ui.TABLE_ROWS))
total = ui.read(meetings.count_meetings, **chosen) if len(rows) == ui.TABLE_ROWS else len(rows)
columns = forms.headers("id", "held_on", "unit_name", "cell_name", "mtype", "members_total", "members_exempt",
                        "present", "absent_excused", "absent_unexcused", "duration_minutes", "score", "rating",
                        "leaders_present", "topics", "notes", "deleted_at",
                        unit_name=t("field.unit_id"), cell_name=t("field.cell_id"),
                        deleted_at=t("page.records.deleted_at"))
if total > len(rows):
    st.caption(t("page.records.count_capped", shown=ui.fmt_num(len(rows)), count=ui.fmt_num(total)))
else:
    st.caption(t("page.records.count", count=ui.fmt_num(total)))


def _pick_from_table() -> None:
    picked = st.session_state["recs_table"].selection.rows
    if picked:
        st.session_state["recs_open"] = rows[picked[0]]["id"]


# Notes and topics go into dataframe cells, which show text as it is (never as Markdown).
st.dataframe(forms.frame(rows, columns), hide_index=True, key="recs_table", on_select=_pick_from_table,
             selection_mode="single-row")

c9, c10 = st.columns([1, 3], vertical_alignment="bottom")
open_id = c9.number_input(t("page.records.open_id"), key="recs_open_id", step=1, value=None,
                          placeholder=t("page.records.open_hint"))
if c10.button(t("page.records.open"), key="recs_open_btn", icon=":material/open_in_new:") and open_id:
    st.session_state["recs_open"] = int(open_id)

meeting_id = st.session_state.get("recs_open")
if meeting_id is None or meeting_id == "":
    st.info(t("page.records.pick_hint"), icon=":material/touch_app:")
    st.stop()

# Scope-checked in lib: a clerk cannot open another commune's meeting by its number or a link.
m = ui.open_record(meetings.read, who, meeting_id)

st.subheader(t("page.records.detail", id=m["id"]), divider="gray")
st.text(t("page.records.detail_line", unit=m["unit_name"], cell=m["cell_name"], day=ui.fmt_date(m["held_on"]),
          by=m["created_by"] or "", at=ui.fmt_datetime(m["updated_at"])))

# Who was absent (marks are personal data: lib leaves them out for a reader outside the cell's scope).
ui.meeting_marks(m)

if m["deleted_at"]:
    st.warning(t("page.records.is_deleted", at=ui.fmt_datetime(m["deleted_at"])), icon=":material/delete:")
    if who.is_admin and st.button(t("page.records.restore"), key="recs_restore", icon=":material/restore:"):
        if ui.write(meetings.restore, m["id"]):
            st.session_state["recs_flash"] = t("page.records.restored", id=m["id"])
            st.rerun()
    st.stop()

# Load the form when another record is opened. It keeps the version it loaded: if the record changes
# underneath (another tab, another clerk), what is typed here stays, and lib refuses to save it over the
# newer record, naming who changed it and when.
if ui.needs_load("recs_e_", m["id"], ("cell", "held_on")):
    ui.clear_state("recs_e_")
    ui.init_state("recs_e_", {**forms.meeting_state(m), "for": m["id"], "version": m["version"],
                              "marks_loaded": m.get("marks")}, force=True)
loaded_version = st.session_state["recs_e_version"]
if m["version"] != loaded_version:
    ui.stale_form("recs_e_", ui.read(meetings.changed_since, m["id"], loaded_version))

form = ui.meeting_form("recs_e_", who, own_id=m["id"], keep_unit=m["unit_id"])
if form is None:
    st.stop()
raw, leaders = form
c11, c12, c13 = st.columns(3, vertical_alignment="bottom")
if c11.button(t("page.records.save"), type="primary", key="recs_save", icon=":material/save:"):
    if ui.write(meetings.update, m["id"], raw, leaders, version=loaded_version, **ui.form_marks("recs_e_")):
        st.session_state["recs_flash"] = t("page.records.saved", id=m["id"])
        st.session_state.pop("recs_e_for", None)  # load the saved record and its new version
        st.rerun()
sure = c12.checkbox(t("page.records.confirm_delete"), key="recs_confirm_delete")
if c13.button(t("page.records.delete"), key="recs_delete", icon=":material/delete:", disabled=not sure):
    if ui.write(meetings.delete, m["id"], version=loaded_version):
        st.session_state["recs_flash"] = t("page.records.deleted", id=m["id"])
        st.session_state["recs_open"] = None
        st.session_state.pop("recs_confirm_delete", None)
        st.rerun()

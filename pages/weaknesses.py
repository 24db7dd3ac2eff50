from datetime import date

import streamlit as st

from lib import directory, forms, store, ui, weaknesses
from lib.domain import Severity, WeaknessCategory, WeaknessStatus
from lib.i18n import t

who = ui.require_page("pages/weaknesses.py")
st.title(t("nav.weaknesses"))
today = date.today()

flash = st.session_state.pop("weak_flash", None)
if flash:
    st.success(flash, icon=":material/check_circle:")

units = {u["id"]: u["name"] for u in ui.read(forms.units_in_scope, who)}
leaders = {r["id"]: r["full_name"] for r in ui.read(directory.list_leaders, True)}
all_label = t("page.records.all")
tab_list, tab_new, tab_update = st.tabs([t("page.weak.tab_list"), t("page.weak.tab_new"), t("page.weak.tab_update")])

with tab_list:
    c1, c2, c3, c4 = st.columns(4, vertical_alignment="bottom")
    f_unit = ui.field_input("weak_f_", "unit_id", ui.optional(units, all_label), where=c1)
    f_category = ui.field_input("weak_f_", "category", ui.optional(WeaknessCategory.labels(), all_label), where=c2)
    f_status = ui.field_input("weak_f_", "status", ui.optional(WeaknessStatus.labels(), all_label), where=c3)
    f_open = ui.field_input("weak_f_", "open_only", "bool", label=t("page.weak.open_only"), where=c4)
    rows = ui.read(forms.weaknesses_in_scope, who, unit_id=f_unit, category=f_category, status=f_status,
                   open_only=f_open, today=today)
    m1, m2, m3 = st.columns(3)
    m1.metric(t("page.weak.shown"), len(rows))
    m2.metric(t("page.weak.open_now"), sum(r["status"] != WeaknessStatus.RESOLVED for r in rows))
    m3.metric(t("page.weak.overdue"), sum(r["overdue"] for r in rows))
    # Overdue shows as a red label in a pinned first column rather than a coloured row: the table widget formats
    # the cells in the browser (no per-cell Styler), and a long list is capped with a search box, all in the download.
    overdue_label = t("page.weak.overdue_mark")
    shown = [dict(r, overdue_label=overdue_label if r["overdue"] else "",
                  age=int(r["age_days"]) if r["age_days"] is not None else None) for r in rows]
    columns = forms.headers("overdue_label", "id", "noted_on", "unit_name", "cell_name", "category", "description",
                            "severity", "status", "due_on", "age", "resolution",
                            unit_name=t("field.unit_id"), cell_name=t("field.cell_id"),
                            overdue_label=t("page.weak.overdue"), age=t("page.weak.age"))
    # Descriptions and resolutions are user text: dataframe cells show them as they are.
    ui.table(shown, columns, "han-che", "weak_table", dates=("noted_on", "due_on"),
             labels={k: (lambda v, k=k: forms.ENUMS[k](v).label) for k in ("category", "severity", "status")},
             pinned=("overdue_label",), marks={"overdue_label": "#c92a2a"},
             missing={"cell_name": t("dash.tables.whole_unit")})

with tab_new:
    sources = {"meeting": t("page.weak.from_meeting"), "unit": t("page.weak.from_unit")}
    source = st.radio(t("page.weak.source"), list(sources), format_func=sources.get, horizontal=True,
                      key="weak_n_source")
    raw: dict = {}
    if source == "meeting":
        recent = {m["id"]: forms.meeting_label(m) for m in ui.read(forms.meetings_in_scope, who)}
        if recent:
            raw["meeting_id"] = ui.field_input("weak_n_", "meeting_id", recent, label=t("page.weak.meeting"))
        else:
            st.info(t("page.weak.no_meetings"), icon=":material/info:")
    elif units:
        c5, c6 = st.columns(2)
        raw["unit_id"] = ui.field_input("weak_n_", "unit_id", units, where=c5)
        cells = {c["id"]: c["name"] for c in ui.read(forms.cells_for_entry, raw["unit_id"])}
        raw["cell_id"] = ui.field_input("weak_n_", "cell_id", ui.optional(cells), where=c6)
    else:
        st.info(t("page.record.no_units"), icon=":material/info:")
    ui.init_state("weak_n_", {"severity": Severity.MEDIUM.value, "noted_on": today})
    raw |= ui.fields("weak_n_", {"category": WeaknessCategory, "severity": Severity, "noted_on": "date",
                                 "due_on": "date", "noted_by": ui.optional(leaders)})
    raw["description"] = ui.field_input("weak_n_", "description", "text")
    if st.button(t("page.weak.save"), type="primary", key="weak_n_save", icon=":material/flag:"):
        new_id = ui.write(weaknesses.create, raw)
        if new_id:
            ui.clear_state("weak_n_", keep=("source",))
            st.session_state["weak_flash"] = t("page.weak.saved", id=new_id)
            st.rerun()

with tab_update:
    if not rows:
        st.info(t("page.weak.none"), icon=":material/info:")
    else:
        # the cell too: a commune's weaknesses are told apart by their cells
        picks = {r["id"]: t("cell_rows.pick_label", id=r["id"], unit=r["unit_name"],
                            cell=r["cell_name"] or t("dash.tables.whole_unit"),
                            category=WeaknessCategory(r["category"]).label, status=WeaknessStatus(r["status"]).label)
                 for r in rows}
        pick = ui.field_input("weak_u_", "pick", picks, label=t("page.weak.pick"))
        chosen = next(r for r in rows if r["id"] == pick)
        if ui.needs_load("weak_u_", pick, ("status", "resolution")):
            # Offer the next step by default: open → in progress → resolved. The form keeps the version it
            # loaded, so a save over a change made meanwhile (another tab) is refused in lib.
            ui.init_state("weak_u_", {"status": forms.next_status(chosen["status"]),
                                      "resolution": chosen["resolution"] or "", "for": pick,
                                      "version": ui.read(weaknesses.version_of, chosen)}, force=True)
        loaded_version = st.session_state["weak_u_version"]
        if ui.read(weaknesses.version_of, chosen) != loaded_version:
            ui.stale_form("weak_u_", ui.read(store.changed_since, "weaknesses", pick, loaded_version))
        st.caption(t("field.description"))
        ui.plain(chosen["description"])
        status = ui.field_input("weak_u_", "status", WeaknessStatus)
        resolution = ui.field_input("weak_u_", "resolution", "text", help=t("page.weak.resolution_help"))
        if st.button(t("page.weak.update"), type="primary", key="weak_u_save", icon=":material/save:"):
            if ui.write(weaknesses.set_status, pick, status, resolution or None, version=loaded_version):
                st.session_state["weak_flash"] = t("page.weak.updated", id=pick)
                st.session_state.pop("weak_u_for", None)
                st.rerun()

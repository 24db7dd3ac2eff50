from datetime import date

import streamlit as st

from lib import assignments, directory, forms, org, store, ui
from lib import leaders as posts
from lib.domain import FieldError
from lib.i18n import t

who = ui.require_page("pages/assignments.py")
st.title(t("nav.assignments"))
today = date.today()

flash = st.session_state.pop("asg_flash", None)
if flash:
    st.success(flash, icon=":material/check_circle:")

unit_rows = ui.read(directory.list_units)
unit_labels = ui.unit_names(unit_rows)
units = {u["id"]: unit_labels[u["code"]] for u in unit_rows}
leaders = {r["id"]: r["full_name"] + (f" — {r['position']}" if r["position"] else "")
           for r in ui.read(directory.list_leaders, True)}
groups = ui.read(posts.group_labels)
statuses = {s: t(f"page.assign.status_{s}") for s in ("current", "ended", "future")}
columns = forms.headers("decision_no", "decision_date", "issuer_name", "full_name", "grp", "unit_name", "cell_name",
                        "valid_from", "valid_to", "required_per_quarter", "status_label", "citation",
                        full_name=t("field.leader_id"), unit_name=t("field.unit_id"), cell_name=t("field.cell_id"),
                        status_label=t("page.assign.status"), issuer_name=t("page.assign.issuer"),
                        citation=t("page.assign.citation"))


def table(rows: list[dict], key: str) -> None:
    """Assignment rows with their status today and how the decision is cited (its issuing body then)."""
    shown = [dict(r, status_label=statuses[forms.assignment_status(r, today)], grp=groups.get(r["grp"], r["grp"]))
             for r in ui.display(ui.read(assignments.with_citations, rows))]
    st.dataframe(forms.frame(shown, columns), hide_index=True, key=key)


tab_new, tab_unit, tab_leader, tab_end = st.tabs([t("page.assign.tab_new"), t("page.assign.tab_unit"),
                                                  t("page.assign.tab_leader"), t("page.assign.tab_end")])

with tab_new:
    if not units or not leaders:
        st.info(t("page.assign.need_directory"), icon=":material/info:")
    else:
        c1, c2, c0 = st.columns(3)
        home = ui.read(org.home_node)
        ui.init_state("asg_", {"decision_date": today, "lines": 1, "issuer_unit_id": home["id"] if home else None})
        decision_no = ui.field_input("asg_", "decision_no", "str", where=c1, placeholder="395-QĐ/HU")
        decision_date = ui.field_input("asg_", "decision_date", "date", where=c2)
        issuer = ui.field_input("asg_", "issuer_unit_id", ui.optional(units), where=c0,
                                help=t("page.assign.issuer_help"))
        st.caption(t("page.assign.lines_help"))
        lines = []
        for i in range(st.session_state["asg_lines"]):
            prefix = f"asg_l{i}_"
            st.markdown(f"**{t('page.assign.line')} {i + 1}**")
            ui.init_state(prefix, {"required_per_quarter": 1})
            a, b, c = st.columns(3)
            leader_id = ui.field_input(prefix, "leader_id", leaders, where=a)
            unit_id = ui.field_input(prefix, "unit_id", units, where=b)
            cells = {x["id"]: x["name"] for x in ui.read(forms.cells_for_entry, unit_id)}
            cell_id = ui.field_input(prefix, "cell_id", ui.optional(cells, t("page.assign.whole_unit")), where=c)
            d, e, f = st.columns(3)
            valid_from = ui.field_input(prefix, "valid_from", "date", where=d, help=t("page.assign.from_help"))
            valid_to = ui.field_input(prefix, "valid_to", "date", where=e)
            required = ui.field_input(prefix, "required_per_quarter", "int", where=f)
            lines.append({"leader_id": leader_id, "unit_id": unit_id, "cell_id": cell_id, "valid_from": valid_from,
                          "valid_to": valid_to, "required_per_quarter": required, "issuer_unit_id": issuer})
        b1, b2, b3 = st.columns(3)
        if b1.button(t("page.assign.add_line"), key="asg_add_line", icon=":material/add:"):
            st.session_state["asg_lines"] += 1
            st.rerun()
        if st.session_state["asg_lines"] > 1 and b2.button(t("page.assign.drop_line"), key="asg_drop_line",
                                                          icon=":material/remove:"):
            ui.clear_state(f"asg_l{st.session_state['asg_lines'] - 1}_")
            st.session_state["asg_lines"] -= 1
            st.rerun()
        if b3.button(t("page.assign.save"), type="primary", key="asg_save", icon=":material/save:"):
            ids = ui.write(forms.create_assignments, decision_no, decision_date, lines)
            if ids:
                ui.clear_state("asg_", keep=("vu_unit", "vl_leader"))
                st.session_state["asg_flash"] = t("page.assign.saved", count=len(ids))
                st.rerun()

with tab_unit:
    unit = ui.field_input("asg_vu_", "unit", units, label=t("field.unit_id")) if units else None
    table(ui.read(assignments.list_assignments, unit_id=unit, on=today.isoformat()) if unit else [], "asg_unit_table")

with tab_leader:
    all_leaders = {r["id"]: r["full_name"] for r in ui.read(directory.list_leaders)}
    leader = ui.field_input("asg_vl_", "leader", all_leaders, label=t("field.leader_id")) if all_leaders else None
    table(ui.read(assignments.list_assignments, leader_id=leader) if leader else [], "asg_leader_table")

with tab_end:
    current = ui.display(ui.read(assignments.list_assignments, on=today.isoformat()))
    if not current:
        st.info(t("page.assign.no_current"), icon=":material/info:")
    else:
        picks = {r["id"]: t("page.assign.pick_label", name=r["full_name"], unit=r["unit_name"],
                            cell=r["cell_name"] or t("page.assign.whole_unit"), no=r["decision_no"] or "—")
                 for r in current}
        c3, c4 = st.columns([3, 1])
        pick = ui.field_input("asg_end_", "pick", picks, label=t("page.assign.pick"), where=c3)
        chosen = next(r for r in current if r["id"] == pick)
        if ui.needs_load("asg_end_", pick, ()):
            # The version the pick was made on: lib refuses to end an assignment changed meanwhile.
            st.session_state["asg_end_for"] = pick
            st.session_state["asg_end_version"] = ui.read(assignments.version_of, chosen)
        loaded_version = st.session_state["asg_end_version"]
        if ui.read(assignments.version_of, chosen) != loaded_version:
            ui.stale_form("asg_end_", ui.read(store.changed_since, "assignments", pick, loaded_version))
        ui.init_state("asg_end_", {"day": today})
        last_day = ui.field_input("asg_end_", "day", "date", label=t("page.assign.end_day"), where=c4)
        st.caption(t("page.assign.end_help"))
        if st.button(t("page.assign.end"), type="primary", key="asg_end_save", icon=":material/event_busy:"):
            if last_day is None:
                ui.show_errors([FieldError("valid_to", "required")])
            elif ui.write(assignments.end, pick, last_day, version=loaded_version):
                ui.clear_state("asg_end_")
                st.session_state["asg_flash"] = t("page.assign.ended")
                st.rerun()

from datetime import date

import streamlit as st

from lib import directory, forms, leaders, org, store, ui
from lib.domain import CellType, LeaderGroup, UnitKind
from lib.i18n import t

who = ui.require_page("pages/directory.py")
st.title(t("nav.directory"))
today = date.today()

flash = st.session_state.pop("dir_flash", None)
if flash:
    st.success(flash, icon=":material/check_circle:")


def adder(prefix: str, table: str, spec: dict, defaults: dict) -> None:
    """A short form that creates one row."""
    ui.init_state(prefix, defaults)
    values = ui.fields(prefix, spec)
    if st.button(t("page.directory.add"), type="primary", key=prefix + "save", icon=":material/add:"):
        if ui.write(directory.create, table, values):
            ui.clear_state(prefix)
            st.session_state["dir_flash"] = t("page.directory.added")
            st.rerun()


def editor(prefix: str, table: str, rows: list[dict], spec: dict, label_of) -> None:
    """Pick a row, change its fields, save (validated and audited in lib)."""
    if not rows:
        st.info(t("page.directory.empty"), icon=":material/info:")
        return
    picks = {r["id"]: label_of(r) for r in rows}
    pick = ui.field_input(prefix, "pick", picks, label=t("page.directory.pick"))
    row = next(r for r in rows if r["id"] == pick)
    if ui.needs_load(prefix, pick, tuple(spec)):
        # The form keeps the version it loaded: lib refuses to save over a change made meanwhile.
        ui.init_state(prefix, {**forms.widget_values(row, spec), "for": pick,
                               "version": ui.read(directory.version_of, table, row)}, force=True)
    loaded_version = st.session_state[prefix + "version"]
    if ui.read(directory.version_of, table, row) != loaded_version:
        ui.stale_form(prefix, ui.read(store.changed_since, table, pick, loaded_version))
    values = ui.fields(prefix, spec)
    if st.button(t("page.directory.save"), type="primary", key=prefix + "save", icon=":material/save:"):
        if ui.write(directory.update, table, pick, values, version=loaded_version):
            st.session_state.pop(prefix + "for", None)
            st.session_state["dir_flash"] = t("page.directory.saved")
            st.rerun()


unit_rows = ui.read(directory.list_units)
unit_labels = ui.unit_names(unit_rows)
units = {u["id"]: unit_labels[u["code"]] for u in unit_rows}


def units_tab() -> None:
    st.dataframe(forms.frame(unit_rows, forms.headers(
        "code", "name", "kind", "parent_name", "valid_from", "valid_to", "successor_name", "cells",
        successor_name=t("field.successor_id"), cells=t("page.directory.cell_count"))), hide_index=True,
        key="dir_units_table")
    # The unit above in the tree; lib refuses a parent below the unit itself (org.check_parent), naming the field.
    unit_spec = {"code": "str", "name": "str", "kind": UnitKind, "parent_id": ui.optional(units, t(
        "page.directory.no_parent")), "valid_from": "date", "valid_to": "date"}
    if box := ui.folding(t("page.directory.add_unit"), "dir_box_un", icon=":material/add:"):
        with box:
            # A new unit goes under our own organisation unless another parent is chosen.
            adder("dir_un_", "units", unit_spec, {"kind": UnitKind.XA.value, "parent_id": ui.read(org.default_parent)})
    if box := ui.folding(t("page.directory.edit_unit"), "dir_box_ue", icon=":material/edit:"):
        with box:
            editor("dir_ue_", "units", unit_rows, unit_spec, lambda r: units[r["id"]])
    if box := ui.folding(t("page.directory.merge"), "dir_box_mg", icon=":material/merge:"):
        with box:
            st.caption(t("page.directory.merge_help"))
            if len(units) < 2:
                st.info(t("page.directory.merge_need_two"), icon=":material/info:")
            else:
                c1, c2, c3 = st.columns(3)
                merged = ui.field_input("dir_mg_", "unit", units, label=t("page.directory.merge_unit"), where=c1)
                successor = ui.field_input("dir_mg_", "successor", units, label=t("field.successor_id"), where=c2)
                ui.init_state("dir_mg_", {"day": today})
                last_day = ui.field_input("dir_mg_", "day", "date", label=t("page.directory.merge_day"), where=c3)
                if st.button(t("page.directory.merge_do"), type="primary", key="dir_mg_save", icon=":material/merge:"):
                    if ui.write(directory.merge_unit, merged, successor, last_day):
                        ui.clear_state("dir_mg_")
                        st.session_state["dir_flash"] = t("page.directory.merged")
                        st.rerun()


def cells_tab() -> None:
    filter_unit = ui.field_input("dir_cf_", "unit", ui.optional(units, t("page.records.all")),
                                 label=t("field.unit_id"))
    cell_rows = ui.read(directory.list_cells, filter_unit)
    st.dataframe(forms.frame(cell_rows, forms.headers(
        "code", "name", "unit_name", "cell_type", "meeting_day", "valid_from", "valid_to",
        unit_name=t("field.unit_id"))), hide_index=True, key="dir_cells_table")
    cells = {c["id"]: f"{c['name']} ({c['code']})" for c in ui.read(directory.list_cells)}
    cell_spec = {"code": "str", "unit_id": units, "name": "str", "cell_type": CellType, "meeting_day": "int",
                 "valid_from": "date", "valid_to": "date"}
    if box := ui.folding(t("page.directory.add_cell"), "dir_box_cn", icon=":material/add:"):
        with box:
            if units:
                adder("dir_cn_", "cells", cell_spec, {"cell_type": CellType.AP_KHOM.value, "unit_id": filter_unit})
            else:
                st.info(t("page.directory.need_unit"), icon=":material/info:")
    if box := ui.folding(t("page.directory.edit_cell"), "dir_box_ce", icon=":material/edit:"):
        with box:
            editor("dir_ce_", "cells", cell_rows, cell_spec | {"successor_id": ui.optional(cells)},
                   lambda r: cells[r["id"]])


def leaders_tab() -> None:
    leader_rows = ui.read(directory.list_leaders)
    groups = ui.read(leaders.group_labels)
    # position and grp are the leader's latest post, kept in step by lib.leaders.
    shown = [dict(r, active=bool(r["active"]), grp=groups.get(r["grp"], r["grp"])) for r in leader_rows]
    st.dataframe(forms.frame(shown, forms.headers("code", "full_name", "position", "grp", "active",
                                                  position=t("page.directory.current_post"))),
                 hide_index=True, key="dir_leaders_table",
                 column_config={t("field.active"): st.column_config.CheckboxColumn()})
    leader_spec = {"code": "str", "full_name": "str", "position": "str", "grp": groups}
    if box := ui.folding(t("page.directory.add_leader"), "dir_box_ln", icon=":material/add:"):
        with box:
            adder("dir_ln_", "leaders", leader_spec, {"grp": LeaderGroup.UV_BCH.value})
    if box := ui.folding(t("page.directory.edit_leader"), "dir_box_le", icon=":material/edit:"):
        with box:
            editor("dir_le_", "leaders", leader_rows, leader_spec | {"active": "bool"},
                   lambda r: f"{r['full_name']} ({r['code']})")
    if box := ui.folding(t("page.directory.posts"), "dir_box_ps", icon=":material/history:"):
        with box:
            st.caption(t("page.directory.posts_help"))
            people = {r["id"]: f"{r['full_name']} ({r['code']})" for r in leader_rows}
            person = (ui.field_input("dir_ps_", "leader", people, label=t("page.directory.posts_leader"))
                      if people else None)
            if person is not None:
                posts = ui.read(leaders.list_posts, person)
                if posts:
                    st.dataframe(forms.frame(posts, forms.headers("title", "grp_label", "unit_name", "valid_from",
                                                                  "valid_to", grp_label=t("field.grp"),
                                                                  unit_name=t("field.unit_id"))),
                                 hide_index=True, key="dir_posts_table")
                else:
                    st.info(t("page.directory.no_posts"), icon=":material/info:")
                st.markdown(f"**{t('page.directory.add_post')}**")
                post_spec = {"title": "str", "grp": groups, "unit_id": ui.optional(units), "valid_from": "date",
                             "valid_to": "date"}
                values = ui.fields("dir_pn_", post_spec)
                if st.button(t("page.directory.add_post"), type="primary", key="dir_pn_save", icon=":material/add:"):
                    if ui.write(leaders.create_post, {**values, "leader_id": person}):
                        ui.clear_state("dir_pn_")
                        st.session_state["dir_flash"] = t("page.directory.post_added")
                        st.rerun()
                open_posts = {p["id"]: f"{p['title'] or ''} — {p['grp_label']}" for p in posts if not p["valid_to"]}
                st.markdown(f"**{t('page.directory.end_post')}**")
                if not open_posts:
                    st.info(t("page.directory.no_open_posts"), icon=":material/info:")
                else:
                    c1, c2 = st.columns([3, 1])
                    pick = ui.field_input("dir_pe_", "pick", open_posts, label=t("page.directory.end_post_pick"),
                                          where=c1)
                    chosen = next(p for p in posts if p["id"] == pick)
                    if ui.needs_load("dir_pe_", pick, ()):
                        # The version the pick was made on: lib refuses to end a post changed meanwhile.
                        st.session_state["dir_pe_for"] = pick
                        st.session_state["dir_pe_version"] = ui.read(leaders.version_of, chosen)
                    last_day = ui.field_input("dir_pe_", "day", "date", label=t("page.directory.end_post_day"),
                                              where=c2)
                    if st.button(t("page.directory.end_post"), type="primary", key="dir_pe_save",
                                 icon=":material/event_busy:"):
                        if ui.write(leaders.end_post, pick, last_day, version=st.session_state["dir_pe_version"]):
                            ui.clear_state("dir_pe_")
                            st.session_state["dir_flash"] = t("page.directory.post_ended")
                            st.rerun()
    if box := ui.folding(t("page.directory.groups"), "dir_box_gn", icon=":material/groups:"):
        with box:
            st.caption(t("page.directory.groups_help"))
            group_rows = ui.read(leaders.list_groups)
            levels = ui.optional(UnitKind.labels(), t("page.directory.any_level"))
            st.dataframe(forms.frame([dict(g, level=levels.get(g["level"], "")) for g in group_rows],
                                     forms.headers("code", "label", "level", "sort_order", label=t("field.name"))),
                         hide_index=True, key="dir_groups_table")
            group_spec = {"code": "str", "name": "str", "level": levels, "sort_order": "int"}
            st.markdown(f"**{t('page.directory.add_group')}**")
            ui.init_state("dir_gn_", {"level": None})
            values = ui.fields("dir_gn_", group_spec)
            if st.button(t("page.directory.add_group"), type="primary", key="dir_gn_save", icon=":material/add:"):
                if ui.write(leaders.create_group, values):
                    ui.clear_state("dir_gn_")
                    st.session_state["dir_flash"] = t("page.directory.group_saved")
                    st.rerun()
            st.markdown(f"**{t('page.directory.edit_group')}**")
            codes = {g["code"]: f"{g['label']} ({g['code']})" for g in group_rows}
            code = ui.field_input("dir_ge_", "pick", codes, label=t("page.directory.pick"))
            row = next(g for g in group_rows if g["code"] == code)
            edit_spec = {"name": "str", "level": levels, "sort_order": "int"}
            if ui.needs_load("dir_ge_", code, tuple(edit_spec)):
                ui.init_state("dir_ge_", {"for": code, "name": row["name"], "level": row["level"],
                                          "sort_order": row["sort_order"]}, force=True)
            changes = ui.fields("dir_ge_", edit_spec)
            b1, b2 = st.columns(2)
            if b1.button(t("page.directory.save"), type="primary", key="dir_ge_save", icon=":material/save:"):
                if ui.write(leaders.update_group, code, changes):
                    st.session_state.pop("dir_ge_for", None)
                    st.session_state["dir_flash"] = t("page.directory.group_saved")
                    st.rerun()
            if b2.button(t("page.directory.delete_group"), key="dir_ge_delete", icon=":material/delete:"):
                if ui.write(leaders.delete_group, code):
                    ui.clear_state("dir_ge_")
                    st.session_state["dir_flash"] = t("page.directory.group_deleted")
                    st.rerun()


# Only the open tab is drawn, and a folded section's form is not drawn at all (ui.lazy_tabs, ui.folding): the
# three lists with every form under them were most of this page's time in the browser (bench/NOTES.md).
ui.lazy_tabs({t("page.directory.tab_units"): units_tab, t("page.directory.tab_cells"): cells_tab,
              t("page.directory.tab_leaders"): leaders_tab}, "dir_tabs")

"""Year-end classification of cells (admin, viewer): the level proposed per cell with its reasons, the committee's
decided level and decision; an administrator records decisions, one by one or the proposals of a unit at once."""

from datetime import date

import streamlit as st

from lib import classification, metrics, org, ui
from lib.domain import fmt_date
from lib.i18n import t

who = ui.require_page("pages/classification.py")
st.title(t("nav.classification"))
st.caption(t("class.page.intro"))

flash = st.session_state.pop("cls_flash", None)
if flash:
    st.success(flash, icon=":material/check_circle:")

today = date.today()
# Opens on the last complete year: a year in progress has no proposal yet.
opening = metrics.last_complete("year", today).start.year
years = sorted({*ui.read(metrics.data_years), opening}, reverse=True)
_report_units = ui.read(org.report_units, who)
_shown = ui.unit_names(_report_units)
units = {u["code"]: "\u2003" * (u["depth"] - 1) + _shown[u["code"]] for u in _report_units}
top = ui.read(org.scope_top, who)
c1, c2 = st.columns([1, 3])
year = c1.selectbox(t("class.page.year"), years, index=years.index(opening), key="cls_year")
unit_code = c2.selectbox(t("class.page.unit"), [None, *units], key="cls_unit",
                         format_func=lambda c: (top["name"] if top else t("class.page.all_units")) if c is None
                         else units[c])
criteria = classification.criteria_for(year)
if criteria is not None:
    st.caption(t("class.page.criteria", document=criteria.document))

rows = ui.cached(classification.classifications, year, unit_code, today=today)
# each level's words looked up once, not once a row (3,000 cells at 1,000,000 meetings)
named = {level: classification.level_label(level) for level in (None, *classification.LEVELS)}
shown = [{**r, "proposed_level": named.get(r["proposed_level"]) or classification.level_label(r["proposed_level"]),
          "decided_level": (named.get(r["decided_level"]) or classification.level_label(r["decided_level"]))
          if r["decided_level"] else "",
          "decision": t("class.page.decision_text", no=r["decision_no"], day=fmt_date(r["decision_date"]))
          if r["decision_no"] else ""} for r in rows]
COLUMNS = {"unit_name": t("chart.unit"), "cell_code": t("field.cell_code"), "cell_name": t("class.page.cell"),
           "proposed_level": t("class.page.proposed"), "reason": t("class.page.reasons"),
           "decided_level": t("class.page.decided"), "decision": t("class.page.decision")}
if not rows:
    st.info(t("class.page.no_cells"), icon=":material/info:")
    st.stop()
ui.table(shown, COLUMNS, f"xep-loai-chi-bo-{year}", "cls_table", pinned=("cell_name",),
         widths={"unit_name": 130, "cell_code": 80, "cell_name": 150, "proposed_level": 210, "reason": 420,
                 "decided_level": 210, "decision": 170})
if not all(r["basis"].get("flags_known") for r in rows):
    st.caption(t("class.why.flags_unknown"))

if not who.is_admin:
    st.caption(t("class.page.read_only"))
    st.stop()

levels = {lv: classification.level_label(lv) for lv in classification.LEVELS}
cells = {r["cell_id"]: f"{r['cell_name']} ({r['unit_name']})" for r in rows}
st.subheader(t("class.page.record_title"), divider="gray")
a, b = st.columns(2)
cell_id = ui.field_input("cls_one_", "cell_id", cells, label=t("class.page.pick_cell"), where=a)
chosen = next(r for r in rows if r["cell_id"] == cell_id)
# every criterion behind the picked cell's proposal, the table having only the one that decided
st.markdown("\n".join(f"- {ui.md_escape(line)}" for line in classification.reasons(chosen["basis"])))
if ui.needs_load("cls_one_", (year, cell_id), ("decided_level",)):
    # the form opens on the cell's decided level of the year, else its proposal
    st.session_state["cls_one_for"] = (year, cell_id)
    st.session_state["cls_one_decided_level"] = chosen["decided_level"] or chosen["proposed_level"] or "hoan_thanh"
level = ui.field_input("cls_one_", "decided_level", levels, where=b)
c, d = st.columns(2)
decision_no = ui.field_input("cls_one_", "decision_no", "str", where=c, placeholder="25-QĐ/ĐU")
decision_date = ui.field_input("cls_one_", "decision_date", "date", where=d)
if st.button(t("class.page.save"), type="primary", key="cls_one_save", icon=":material/save:"):
    if ui.write(classification.decide, cell_id, year, {"decided_level": level, "decision_no": decision_no,
                                                        "decision_date": decision_date}):
        ui.clear_state("cls_one_")
        st.session_state["cls_flash"] = t("class.page.saved")
        st.rerun()

st.subheader(t("class.page.accept_title"), divider="gray")
st.caption(t("class.page.accept_help"))
e, f = st.columns(2)
bulk_no = ui.field_input("cls_all_", "decision_no", "str", where=e, placeholder="25-QĐ/ĐU")
bulk_date = ui.field_input("cls_all_", "decision_date", "date", where=f)
g, h = st.columns(2)
if g.button(t("class.page.accept"), type="primary", key="cls_all_save", icon=":material/done_all:"):
    n = ui.write(classification.accept_proposals, year, unit_code, {"decision_no": bulk_no,
                                                                    "decision_date": bulk_date})
    if n:
        ui.clear_state("cls_all_")
        st.session_state["cls_flash"] = t("class.page.accepted", n=n)
        st.rerun()
if h.button(t("class.page.refresh"), key="cls_refresh", icon=":material/refresh:", help=t("class.page.refresh_help")):
    n = ui.write(classification.refresh, year, unit_code)
    if n is not None:
        st.session_state["cls_flash"] = t("class.page.refreshed", n=n)
        st.rerun()

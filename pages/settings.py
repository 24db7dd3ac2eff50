"""Settings (admin): the organisation's name, thresholds, report deadline, refresh interval; our party organisation
(the home node) and the bodies our documents are issued by (header, symbol, place, signer of every report)."""

import streamlit as st

from lib import forms, org, rules, settings, ui
from lib.i18n import t

ui.require_page("pages/settings.py")
st.title(t("nav.settings"))
if message := st.session_state.pop("settings_flash", None):
    st.success(message, icon=":material/check_circle:")

current = ui.read(settings.get_settings)


def _whole(key: str, low: int, high: int, column) -> int:
    return column.number_input(t(f"page.settings.{key}"), min_value=low, max_value=high, step=1,
                               value=min(max(int(float(current[key])), low), high), key=f"settings_{key}",
                               help=t(f"page.settings.{key}_help"))


with st.form("settings_form"):
    st.subheader(t("page.settings.organisation"))
    c1, c2 = st.columns(2)
    # The report's header, place and signer are the issuing body's (below), no longer settings of their own.
    org_name = c1.text_input(t("page.settings.org_name"), value=current["org_name"], key="settings_org_name",
                             help=t("page.settings.org_name_help"))
    criteria = c2.text_input(t("page.settings.criteria_version"), value=current["criteria_version"],
                             key="settings_criteria_version", help=t("page.settings.criteria_version_help"))

    st.subheader(t("page.settings.ratings"))
    c1, c2, c3 = st.columns(3)
    tot = _whole("threshold_tot", 0, 100, c1)
    kha = _whole("threshold_kha", 0, 100, c2)
    trung_binh = _whole("threshold_trung_binh", 0, 100, c3)

    st.subheader(t("page.settings.warnings"))
    c1, c2, c3, c4, c5 = st.columns(5)
    attendance = c1.number_input(t("page.settings.attendance_percent"), min_value=1, max_value=100, step=1,
                                 value=round(float(current["attendance_threshold"]) * 100),
                                 key="settings_attendance", help=t("page.settings.attendance_threshold_help"))
    min_duration = _whole("min_duration_minutes", 1, 1440, c2)
    report_days = _whole("report_days", 0, 365, c3)
    grace_days = _whole("grace_days", 0, 31, c4)
    refresh = _whole("refresh_seconds", 5, 3600, c5)
    save = st.form_submit_button(t("page.settings.save"), key="settings_submit", type="primary")

if save:
    values = {
        "org_name": org_name.strip(),
        "criteria_version": criteria.strip(),
        "threshold_tot": tot,
        "threshold_kha": kha,
        "threshold_trung_binh": trung_binh,
        "attendance_threshold": round(attendance / 100, 4),
        "min_duration_minutes": min_duration,
        "report_days": report_days,
        "grace_days": grace_days,
        "refresh_seconds": refresh,
    }
    if ui.write(settings.save_settings, values):
        st.session_state["settings_flash"] = t("page.settings.saved")
        st.rerun()


# ---- rule thresholds as versioned data (issue 12, branch rules): a new version from a day, history kept -------
st.divider()
st.subheader(t("rules.settings_title"))
st.caption(t("rules.settings_help"))
rule_names = {r: t(f"rules.rule.{r}") for r in rules.RULES}
st.dataframe(forms.frame([{**v, "rule": rule_names.get(v["rule"], v["rule"])} for v in ui.read(rules.versions)],
                         {"rule": t("field.rules.rule"), "value": t("field.rules.value"),
                          "valid_from": t("field.rules.valid_from"), "document": t("field.rules.document")}),
             hide_index=True, key="rules_versions")
with st.form("rules_form"):
    c1, c2, c3 = st.columns([2, 1, 1])
    rule = c1.selectbox(t("field.rules.rule"), list(rule_names), format_func=rule_names.get, key="rules_rule")
    value = c2.number_input(t("field.rules.value"), min_value=1, max_value=100, step=1, value=None,
                            key="rules_value")
    valid_from = c3.date_input(t("field.rules.valid_from"), value=None, format="DD/MM/YYYY", key="rules_valid_from")
    document = st.text_input(t("field.rules.document"), key="rules_document", help=t("rules.document_help"))
    add = st.form_submit_button(t("rules.add_version"), key="rules_submit")
if add and ui.write(rules.add_version, {"rule": rule, "value": value, "valid_from": valid_from,
                                        "document": document}):
    st.session_state["settings_flash"] = t("rules.version_added")
    st.rerun()


# ---- org: who we are, and the bodies our documents are issued by (issue 11) ---------------------------------
st.divider()
st.subheader(t("page.settings.org_title"))
tree = ui.read(org.tree)
if not tree:
    st.info(t("page.settings.org_empty"), icon=":material/info:")
    st.stop()
names = {u["code"]: "\u2003" * u["depth"] + u["name"] for u in tree}
home = ui.read(org.home_node)
c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
chosen = c1.selectbox(t("field.home_unit"), list(names), format_func=names.get, key="settings_home_unit",
                      index=list(names).index(home["code"]) if home else None, help=t("page.settings.home_unit_help"))
if c2.button(t("page.settings.save_home"), key="settings_home_save") and ui.write(org.set_home, chosen):
    st.session_state["settings_flash"] = t("page.settings.saved")
    st.rerun()

st.markdown(f"**{t('page.settings.bodies')}**")
st.caption(t("page.settings.bodies_help"))
bodies = ui.read(org.list_bodies)
if bodies:
    shown = [{**b, "effective_from": forms.date_label(b["effective_from"])} for b in bodies]
    st.dataframe(forms.frame(shown, forms.headers("unit_name", "effective_from", "upper_line", "committee", "board",
                                                  "symbol_suffix", "place", unit_name=t("page.settings.body_unit"))),
                 hide_index=True)
picks = {None: t("page.settings.body_new"),
         **{b["id"]: f"{b['unit_name']}: {forms.date_label(b['effective_from'])}" for b in bodies}}
pick = ui.field_input("body_", "pick", picks, label=t("page.settings.body_pick"))
node_choices = {u["id"]: names[u["code"]] for u in tree}
spec = {"unit_id": node_choices, "effective_from": "date", "upper_line": "str", "committee": "str", "board": "str",
        "symbol_suffix": "str", "place": "str", "signer_capacity": "str", "signer_title": "str", "recipients": "text"}
if ui.needs_load("body_", pick, tuple(spec)):
    row = next((b for b in bodies if b["id"] == pick), {})
    loaded = forms.widget_values({**row, "recipients": "\n".join(row.get("recipients") or [])}, spec)
    ui.init_state("body_", {**loaded, "for": pick}, force=True)
values = {"unit_id": ui.field_input("body_", "unit_id", node_choices, label=t("page.settings.body_unit")),
          **ui.fields("body_", {k: v for k, v in spec.items() if k != "unit_id"})}
if st.button(t("page.settings.save_body"), type="primary", key="body_save", icon=":material/save:"):
    saved = ui.write(org.create_body, values) if pick is None else ui.write(org.update_body, pick, values)
    if saved:
        ui.clear_state("body_")
        st.session_state["settings_flash"] = t("page.settings.saved")
        st.rerun()

# ---- what the body's documents add: the signer's name, the legal basis, the upper body (branch format36) ----------
if pick is not None:
    st.markdown(f"**{t('page.settings.f36.doc_title')}**")
    st.caption(t("page.settings.f36.doc_help"))
    doc_spec = {"signer_name": "str", "upper_body": "str", "legal_basis": "text"}
    if ui.needs_load("bodydoc_", pick, tuple(doc_spec)):
        extras = ui.read(org.body_document, pick)
        ui.init_state("bodydoc_", {**extras, "legal_basis": "\n".join(extras["legal_basis"]), "for": pick},
                      force=True)
    doc_values = {name: ui.field_input("bodydoc_", name, kind, label=t(f"page.settings.f36.{name}"),
                                       help=t(f"page.settings.f36.{name}_help"))
                  for name, kind in doc_spec.items()}
    if st.button(t("page.settings.f36.save_doc"), key="bodydoc_save", icon=":material/save:") \
            and ui.write(org.save_body_document, pick, doc_values):
        ui.clear_state("bodydoc_")
        st.session_state["settings_flash"] = t("page.settings.saved")
        st.rerun()

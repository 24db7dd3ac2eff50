"""Settings (admin): organisation name, report header, thresholds, report deadline, refresh interval."""

import streamlit as st

from lib import settings, ui
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
    org_name = c1.text_input(t("page.settings.org_name"), value=current["org_name"], key="settings_org_name")
    place_name = c2.text_input(t("page.settings.place_name"), value=current["place_name"], key="settings_place_name",
                               help=t("page.settings.place_name_help"))
    report_header = c1.text_input(t("page.settings.report_header"), value=current["report_header"],
                                  key="settings_report_header", help=t("page.settings.report_header_help"))
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
        "place_name": place_name.strip(),
        "report_header": report_header.strip(),
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

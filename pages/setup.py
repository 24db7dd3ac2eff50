"""First run: the organisation's name and the first administrator, optionally with demo data."""

import streamlit as st

from lib import auth, ui
from lib.config import DEFAULT_SETTINGS
from lib.domain import ValidationError
from lib.i18n import t

_, middle, _ = st.columns([1, 2, 1])
with middle:
    st.title(t("page.setup.title"))
    st.write(t("page.setup.intro"))
    with st.form("setup_form"):
        org_name = st.text_input(t("page.setup.org_name"), value=DEFAULT_SETTINGS["org_name"], key="setup_org_name")
        full_name = st.text_input(t("page.setup.full_name"), key="setup_full_name")
        username = st.text_input(t("page.setup.username"), key="setup_username", help=t("page.setup.username_help"))
        password = st.text_input(t("page.setup.password"), type="password", key="setup_password",
                                 help=t("page.setup.password_help"))
        confirm = st.text_input(t("page.setup.confirm"), type="password", key="setup_confirm")
        demo = False
        if auth.demo_available():
            demo = st.checkbox(t("page.setup.demo"), key="setup_demo", help=t("page.setup.demo_help"))
        submitted = st.form_submit_button(t("page.setup.submit"), key="setup_submit", type="primary", width="stretch")
    if submitted:
        try:
            with st.spinner(t("page.setup.working")):
                auth.first_run_setup(None, org_name, full_name, username, password, confirm, demo)
        except ValidationError as exc:
            ui.show_errors(exc.errors)
        else:
            st.session_state["setup_done"] = True
            st.rerun()

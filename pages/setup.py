"""First run: who we are (the home node and the body our documents are issued by) and the first administrator,
optionally with demo data instead of our own organisation."""

from datetime import date

import streamlit as st

from lib import auth, org, ui
from lib.domain import ValidationError
from lib.i18n import t

# The day the two-level local government began (communes and wards under the province): most new bodies start then.
REORGANISED = date(2025, 7, 1)
BODY_TEXT = ("upper_line", "committee", "board", "symbol_suffix", "place", "signer_capacity", "signer_title")

_, middle, _ = st.columns([1, 2, 1])
with middle:
    st.title(t("page.setup.title"))
    st.write(t("page.setup.intro"))
    with st.form("setup_form"):
        st.subheader(t("page.setup.who_title"))
        st.caption(t("page.setup.who_help"))
        home: dict = {}
        c1, c2 = st.columns(2)
        home["home_kind"] = c1.selectbox(t("field.home_kind"), [k.value for k in org.HOME_KINDS], index=None,
                                         format_func=lambda k: t(f"page.setup.kind_{k}"), key="setup_home_kind",
                                         placeholder=t("page.setup.kind_pick"),
                                         help=t("page.setup.home_kind_help"))
        home["home_code"] = c2.text_input(t("field.home_code"), key="setup_home_code",
                                          help=t("page.setup.home_code_help"))
        home["home_name"] = c1.text_input(t("field.home_name"), key="setup_home_name",
                                          help=t("page.setup.home_name_help"))
        home["effective_from"] = c2.date_input(t("field.effective_from"), value=REORGANISED, format="DD/MM/YYYY",
                                               key="setup_effective_from", help=t("page.setup.effective_from_help"))
        for i, name in enumerate(BODY_TEXT):
            home[name] = (c1, c2)[i % 2].text_input(t(f"field.{name}"), key=f"setup_{name}",
                                                    help=t(f"page.setup.{name}_help"))
        home["recipients"] = st.text_area(t("field.recipients"), key="setup_recipients",
                                          help=t("page.setup.recipients_help"))
        st.subheader(t("page.setup.admin_title"))
        full_name = st.text_input(t("page.setup.full_name"), key="setup_full_name")
        username = st.text_input(t("page.setup.username"), key="setup_username", help=t("page.setup.username_help"))
        password = st.text_input(t("page.setup.password"), type="password", key="setup_password",
                                 help=t("page.setup.password_help"))
        confirm = st.text_input(t("page.setup.confirm"), type="password", key="setup_confirm")
        demo = False
        if auth.demo_available():
            demo = st.checkbox(t("page.setup.demo"), key="setup_demo", help=t("page.setup.demo_help"))
            st.caption(t("page.setup.demo_note"))
        submitted = st.form_submit_button(t("page.setup.submit"), key="setup_submit", type="primary", width="stretch")
    if submitted:
        try:
            with st.spinner(t("page.setup.working")):
                auth.first_run_setup(None, "", full_name, username, password, confirm, demo, home=home)
        except ValidationError as exc:
            ui.show_errors(exc.errors)
        else:
            st.session_state["setup_done"] = True
            st.rerun()

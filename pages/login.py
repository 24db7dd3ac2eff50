"""Login: username and password; lockout and the audit entry are handled in lib."""

import streamlit as st

from lib import auth, ui, users
from lib.i18n import t
from lib.settings import get_settings

_, middle, _ = st.columns([1, 2, 1])
with middle:
    st.title(t("app.title"))
    st.caption(ui.md_escape(ui.read(get_settings)["org_name"]))
    if st.session_state.pop("setup_done", False):
        st.success(t("page.setup.done"), icon=":material/check_circle:")
    with st.form("login_form"):
        st.subheader(t("auth.form_name"))
        # Bounded in the browser; lib refuses longer values again before any work.
        username = st.text_input(t("auth.username"), key="login_username", autocomplete="username",
                                 max_chars=users.USERNAME_MAX)
        password = st.text_input(t("auth.password"), type="password", key="login_password",
                                 autocomplete="current-password", max_chars=users.MAX_PASSWORD_CHARS)
        submitted = st.form_submit_button(t("auth.login"), key="login_submit", type="primary", width="stretch")
    if submitted:
        outcome = auth.sign_in(username, password)
        if outcome == "ok":
            st.rerun()
        elif outcome in ("locked", "throttled"):
            until = auth.lockout_end(username) if outcome == "locked" else auth.throttle_end()
            st.error(t(f"auth.{outcome}", minutes=users.minutes_left(until),
                       until=until.strftime("%H:%M %d/%m/%Y") if until else ""), icon=":material/lock:")
        elif outcome == "inactive":
            st.error(t("auth.inactive"), icon=":material/block:")
        else:
            st.error(t("auth.bad"), icon=":material/error:")
